# edw serve's JSON API checked against the database state (edw status, edw failed, edw doc get),
# its errors, retry, the access token, and its refusals: no token off loopback, a port in use.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_fixture.sh"

make_serve_fixture

# The table and --watch, before the page: the same counts as text.
"$edw" status >table.txt
grep -Eq '^move_to_sps +\(new docs\) +0 +0 +0 +3 +27 ' table.txt &&
    grep -Eq '^signal_processing +move_to_sps +27 +0 +0 +0 +0 ' table.txt &&
    ok "edw status prints a row per step" || fail "table: $(cat table.txt)"
timeout --preserve-status -s INT 3 "$edw" status --watch --interval 0.5 >watch.txt
watch_status=$?
[ $watch_status -eq 0 ] && ok "edw status --watch ends with 0 on Ctrl-C" || fail "--watch exited $watch_status"
reports=$(grep -c '^step ' watch.txt)
[ "$reports" -ge 3 ] && ok "--watch printed $reports reports in 3 s" || fail "--watch printed $reports reports"
expect_status 2 "$edw" status --watch --interval 0

start_serve serve.log || exit 1

# json_of URL EXPR: one value of a JSON answer (EXPR on `j`), read by node.
json_of() {
    curl -s "$1" | node -e '
        const j = JSON.parse(require("fs").readFileSync(0, "utf8"));
        console.log(JSON.stringify(eval(process.argv[1])));' "$2"
}
counts='j.steps.map((s) => [s.name, s.after, s.waiting, s.in_progress, s.retrying, s.failed, s.done])'
api_counts=$(json_of "${serve_url}api/status" "$counts")
cli_counts=$("$edw" status --json | node -e '
    const j = JSON.parse(require("fs").readFileSync(0, "utf8"));
    console.log(JSON.stringify(eval(process.argv[1])));' "$counts")
[ "$api_counts" = "$cli_counts" ] && ok "/api/status counts are edw status's: $api_counts" ||
    fail "/api/status $api_counts, edw status $cli_counts"
[ "$api_counts" = '[["move_to_sps",0,0,0,0,3,27],["signal_processing","move_to_sps",27,0,0,0,0]]' ] &&
    ok "the counts are the fixture's" || fail "counts: $api_counts"
[ "$(json_of "${serve_url}api/status" 'j.steps[0].done_last_60_min')" = 27 ] &&
    ok "27 done in the last hour" || fail "throughput: $(json_of "${serve_url}api/status" 'j.steps[0]')"

failed_ids=$(json_of "${serve_url}api/steps/move_to_sps/failed" 'j.rows.map((r) => r.id).sort()')
cli_failed=$("$edw" failed --json | node -e '
    const j = JSON.parse(require("fs").readFileSync(0, "utf8"));
    console.log(JSON.stringify(j.map((d) => d.id).sort()));')
[ "$failed_ids" = "$cli_failed" ] && [ "$failed_ids" = '["ma26c001_003","ma26c001_011","ma26c001_025"]' ] &&
    ok "the failed list is edw failed's: $failed_ids" || fail "failed: $failed_ids, edw failed: $cli_failed"
message=$(json_of "${serve_url}api/steps/move_to_sps/failed" 'j.rows[0].detail.message')
case "$message" in *"exited with status 1"* | *"status 1"*) ok "a failed row carries its message: $message" ;;
*) fail "failed row message: $message" ;; esac

page=$(json_of "${serve_url}api/steps/signal_processing/waiting?skip=20&limit=10" '[j.total, j.rows.length, j.rows[0].id]')
[ "$page" = '[27,7,"ma26c001_022"]' ] && ok "waiting docs page by skip and limit: $page" || fail "page: $page"

api_doc=$(curl -s "${serve_url}api/docs/ma26c001_003" | node -e 'console.log(JSON.stringify(JSON.parse(require("fs").readFileSync(0, "utf8"))))')
cli_doc=$("$edw" doc get ma26c001_003 | node -e 'console.log(JSON.stringify(JSON.parse(require("fs").readFileSync(0, "utf8"))))')
[ "$api_doc" = "$cli_doc" ] && ok "/api/docs/ID is the doc as stored" || fail "doc: $api_doc"
case "$api_doc" in *"no space left on /sps for ma26c001_003"*) ok "the doc holds the stderr tail" ;;
*) fail "no stderr tail in $api_doc" ;; esac

code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
[ "$(code "${serve_url}api/docs/no-such-doc")" = 404 ] && ok "a missing doc is 404" || fail "missing doc"
[ "$(code "${serve_url}api/steps/no-such-step/waiting")" = 404 ] && ok "a missing step is 404" || fail "missing step"
[ "$(code "${serve_url}api/steps/move_to_sps/waiting?limit=many")" = 400 ] && ok "a bad limit is 400" || fail "bad limit"
[ "$(code "${serve_url}api/nothing")" = 404 ] && ok "an unknown API path is 404" || fail "unknown path"
[ "$(code "${serve_url}")" = 200 ] && [ "$(code "${serve_url}app.js")" = 200 ] && ok "the page and its script are served" ||
    fail "page not served"

retry_url="${serve_url}api/docs/ma26c001_011/retry"
[ "$(code -X POST -d '{}' -H 'Content-Type: text/plain' "$retry_url")" = 415 ] &&
    ok "retry without a JSON content type is refused (no cross-site form posts)" || fail "415"
# A POST without a body: cpp-httplib refuses it (400), and the answer says why, as JSON.
no_body=$(curl -s -X POST -H 'Content-Type: application/json' "$retry_url")
case "$no_body" in
*'"error":"bad_request"'*'send {} with Content-Type: application/json'*) ok "a retry without a body is told why" ;;
*) fail "retry without a body answered: '$no_body'" ;;
esac
[ "$(code -X POST -d '{}' -H 'Content-Type: application/json' "$retry_url")" = 200 ] && ok "retry answers 200" || fail "retry"
[ "$(status_value "step('move_to_sps').failed")" = 2 ] && ok "the doc left the failed count" || fail "failed after retry"
"$edw" doc get ma26c001_011 | grep -q '"status": *"good"' && ok "the retried doc is good again" || fail "status after retry"
[ "$(code -X POST -d '{}' -H 'Content-Type: application/json' "$retry_url")" = 409 ] &&
    ok "retrying a doc that is not parked is 409" || fail "second retry"
for _ in $(seq 1 50); do
    [ "$(json_of "${serve_url}api/status" 'j.steps[0].failed')" = 2 ] && break
    sleep 0.1
done
[ "$(json_of "${serve_url}api/status" 'j.steps[0].failed')" = 2 ] && ok "/api/status follows the retry" || fail "stale status"

# Reruns from the API: refused with the reason (400) before anything is written, a dry run
# counted at once, a real one started (202) and followed in /api/status, resume refused (409)
# while a rerun runs and after it is done.
rerun_url="${serve_url}api/rerun"
post() { curl -s -o post.json -w '%{http_code}' -X POST -H 'Content-Type: application/json' "$@"; }
refused() { # BODY WORDS: 400, and the reason holds WORDS
    local got
    got=$(post -d "$1" "$rerun_url")
    if [ "$got" = 400 ] && grep -q "$2" post.json; then ok "rerun $1: 400, $2"; else fail "rerun $1: $got $(cat post.json)"; fi
}
refused '{"step": ' "not JSON"
refused '{"step": "move_to_sps", "selector": {"run": {"$bogus": 1}}, "reason": "r"}' "invalid selector"
refused '{"step": "move_to_sps", "processed_before": "yesterday", "reason": "r"}' "invalid date"
refused '{"step": "calibrate", "all": true, "reason": "r"}' "not in the pipeline"
refused '{"step": "move_to_sps", "reason": "r"}' "all: true"
refused '{"step": "move_to_sps", "all": true}' "reason"
[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST -d '{}' -H 'Content-Type: text/plain' "$rerun_url")" = 415 ] &&
    ok "a rerun without a JSON content type is refused" || fail "rerun 415"
chosen='{"step": "move_to_sps", "selector": {"_id": {"$regex": "[05]$"}}, "reason": "new disk layout"'
[ "$(post -d "$chosen, \"dry_run\": true}" "$rerun_url")" = 200 ] &&
    [ "$(node -e 'const j = require("./post.json"); console.log(j.sent_back, j.sample.length)')" = "5 5" ] &&
    ok "a dry run: 5 docs would go back" || fail "dry run: $(cat post.json)"
"$edw" doc get ma26c001_005 | grep -q edw_reruns && fail "the dry run wrote"
[ "$(post -d "$chosen}" "$rerun_url")" = 202 ] && ok "a rerun started: 202" || fail "rerun: $(cat post.json)"
campaign=$(node -e 'console.log(require("./post.json").campaign)')
for _ in $(seq 1 50); do
    [ "$(json_of "${serve_url}api/status" "(j.reruns.find((r) => r.campaign === '$campaign') || {}).state")" = '"done"' ] && break
    sleep 0.1
done
rerun=$(json_of "${serve_url}api/status" "j.reruns.filter((r) => r.campaign === '$campaign')
    .map((r) => [r.state, r.step, r.sent_back, r.marked, r.run_again, r.by])[0]")
[ "$rerun" = '["done","move_to_sps",5,5,0,"edw serve (127.0.0.1)"]' ] &&
    ok "/api/status follows the rerun to its end: $rerun" || fail "rerun in the status: $rerun"
"$edw" doc get ma26c001_005 | grep -q "\"campaign\": *\"$campaign\"" &&
    ok "the doc keeps the rerun in edw_reruns" || fail "doc: $("$edw" doc get ma26c001_005)"
"$edw" status >table.txt
grep -q "^  $campaign  move_to_sps  done: 5 sent back, 31 looked at of 31; run again 0 of 5$" table.txt &&
    grep -q '^    reason new disk layout, by edw serve (127.0.0.1), started ' table.txt &&
    ok "edw status lists the rerun" || fail "edw status: $(cat table.txt)"
[ "$(post -d '{}' "${rerun_url}/$campaign/resume")" = 409 ] && ok "resuming a done rerun: 409" || fail "resume done"
[ "$(post -d '{}' "${rerun_url}/no-such-rerun/resume")" = 404 ] && ok "resuming no rerun: 404" || fail "resume missing"
# A rerun another process runs now (this shell's pid, its record fresh), then the same stopped.
record() { # STATE PID
    echo '{"_id": "_local/edw-rerun-hand", "campaign": "hand", "criteria": {"step": "move_to_sps",
        "ids": ["ma26c001_007"]}, "reason": "by hand", "by": "test", "host": "'"$(hostname)"'",
        "pid": '"$2"', "started": "'"$(date -u +%FT%T.000Z)"'", "updated": "'"$(date -u +%FT%T.000Z)"'",
        "state": "'"$1"'", "total": 1, "scanned": 0, "sent_back": 0, "already": 0, "refused": 0,
        "position": ""}' | "$edw" doc put - >/dev/null
}
record running $$
[ "$(post -d '{}' "${rerun_url}/hand/resume")" = 409 ] && grep -q "is running" post.json &&
    ok "resuming a rerun that runs: 409" || fail "resume running: $(cat post.json)"
record interrupted 0
[ "$(post -d '{}' "${rerun_url}/hand/resume")" = 202 ] && ok "resuming an interrupted rerun: 202" ||
    fail "resume interrupted: $(cat post.json)"
for _ in $(seq 1 50); do
    "$edw" doc get ma26c001_007 | grep -q '"campaign": *"hand"' && break
    sleep 0.1
done
"$edw" doc get ma26c001_007 | grep -q '"campaign": *"hand"' && ok "the resumed rerun sent its doc back" ||
    fail "resumed rerun: $("$edw" doc get _local/edw-rerun-hand)"

kill -TERM $serve_pid
wait $serve_pid
serve_status=$?
[ $serve_status -eq 0 ] && ok "edw serve stops on SIGTERM with 0" || fail "edw serve exited $serve_status"

# With an access token: 401 without it; the header, the cookie or ?token= let a request in.
export EDW_SERVE_TOKEN=0123456789abcdef-serve-token
start_serve token.log || exit 1
[ "$(code "${serve_url}api/status")" = 401 ] && ok "no token: 401" || fail "no token"
[ "$(code -H 'Authorization: Bearer wrong-token-wrong-token' "${serve_url}api/status")" = 401 ] &&
    ok "a wrong token: 401" || fail "wrong token"
[ "$(code -H "Authorization: Bearer $EDW_SERVE_TOKEN" "${serve_url}api/status")" = 200 ] &&
    ok "a Bearer token: 200" || fail "bearer"
[ "$(code -X POST -H 'Content-Type: application/json' -d '{"step": "move_to_sps", "all": true, "reason": "r"}' \
    "${serve_url}api/rerun")" = 401 ] && ok "a rerun without the token: 401" || fail "rerun without token"
curl -s -c cookies.txt -o /dev/null "${serve_url}?token=$EDW_SERVE_TOKEN"
[ "$(code -b cookies.txt "${serve_url}api/status")" = 200 ] && ok "?token= once, then the cookie: 200" || fail "cookie"
grep -q "$EDW_SERVE_TOKEN" token.log && fail "the log holds the token" || ok "the log does not hold the token"
kill -TERM $serve_pid
wait $serve_pid
unset EDW_SERVE_TOKEN

expect_status 2 "$edw" serve --address 0.0.0.0 --port 0
expect_output "set an access token"
start_serve again.log || exit 1
port=${serve_url##*:}
port=${port%/}
expect_status 1 "$edw" serve --port "$port"
expect_output "cannot listen on 127.0.0.1:$port"
kill -TERM $serve_pid
wait $serve_pid

finish
