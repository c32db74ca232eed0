# --help on every level, and exit statuses for bad settings, an unreachable server, a wrong password.
. "$(dirname "$0")/lib.sh"

for args in "--help" "db --help" "design push --help" "metadata make --help" "status --help" \
    "serve --help" "replicate --help" "bench replicate --help"; do
    # shellcheck disable=SC2086
    expect_status 0 "$edw" $args
done
expect_output "Usage"
expect_status 0 "$listen_newfiles" --help
expect_output "--metrics-port"
expect_status 0 "$listen_analysis1" --help

expect_status 2 "$edw"
expect_status 2 "$edw" frobnicate
expect_status 2 "$listen_newfiles" --jobs 0

expect_status 2 "$edw" db info --config missing.ini
expect_output "missing.ini"

printf '[database]\nurl = http://127.0.0.1:1\nthis line is wrong\n' >broken.ini
expect_status 2 "$edw" --config broken.ini db info
expect_output "broken.ini: line 3"

printf '[database]\nurl = htp://u:topsecret@host\nname = x\n' >badurl.ini
expect_status 2 "$edw" --config badurl.ini db info
expect_output "url"
expect_no_output "topsecret"

# The original EDELWEISS settings file works unchanged.
printf '[Cloudant]\nserver=http://127.0.0.1:1\ndbname=edwexample\nusername=u\npassword=p\nviewname=_design/process/_view/lastproc\n' >legacy.ini
expect_status 69 "$edw" --config legacy.ini db info
expect_output "http://127.0.0.1:1/edwexample"

# The status tools with the server down: status fails with 69; --watch says so and keeps
# watching until Ctrl-C; serve answers 502 with the reason, and its page keeps working.
expect_status 69 "$edw" --config legacy.ini status
expect_output "cannot read doc _design/process"
expect_no_output "password=p"
timeout --preserve-status -s INT 4 "$edw" --config legacy.ini status --watch --interval 0.5 >watch.txt 2>&1
watch_status=$?
[ $watch_status -eq 0 ] && ok "status --watch with the server down ends with 0 on Ctrl-C" ||
    fail "status --watch exited $watch_status"
grep -q "^cannot read the status: .*Couldn't connect" watch.txt &&
    ok "status --watch says it cannot read the status, and goes on" || fail "watch: $(head -3 watch.txt)"
"$edw" --config legacy.ini serve --port 0 >serve.log 2>&1 &
serve_pid=$!
serve_url=""
for _ in $(seq 1 50); do
    serve_url=$(grep -o 'http://127.0.0.1:[0-9]*/' serve.log | head -1)
    [ -n "$serve_url" ] && break
    sleep 0.1
done
answer=$(curl -s -w ' %{http_code}' "${serve_url}api/status")
case "$answer" in *'"error":"database"'*"Couldn't connect"*" 502") ok "serve answers 502 with the reason when the server is down" ;;
*) fail "serve with the server down: $answer" ;; esac
[ "$(curl -s -o /dev/null -w '%{http_code}' "$serve_url")" = 200 ] && ok "the page itself is still served" ||
    fail "page not served with the server down"
kill -TERM $serve_pid
wait $serve_pid

write_config edw-cli-codes
expect_status 0 "$edw" db create
# A user of its own: CouchDB 3.4 locks an account out for minutes after a few failed logins, and
# the admin's account must stay usable for the tests that follow.
export EDW_USERNAME=edw-no-such-user
EDW_PASSWORD=wrong-password expect_status 77 "$edw" db info
expect_output "401"
expect_no_output "wrong-password"
expect_no_output "$EDW_TEST_PASSWORD"
EDW_PASSWORD=wrong-password expect_status 77 "$edw" status
expect_no_output "wrong-password"
unset EDW_USERNAME

expect_status 2 "$listen_newfiles" --daemon
expect_output "--log-file"

finish
