# --help on every level, and exit statuses for bad settings, an unreachable server, a wrong password.
. "$(dirname "$0")/lib.sh"

for args in "--help" "db --help" "design push --help" "metadata make --help" "status --help" \
    "serve --help"; do
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

write_config edw-cli-codes
expect_status 0 "$edw" db create
EDW_PASSWORD=wrong-password expect_status 77 "$edw" db info
expect_output "401"
expect_no_output "wrong-password"
expect_no_output "$EDW_TEST_PASSWORD"

expect_status 2 "$listen_newfiles" --daemon
expect_output "--log-file"

finish
