# The EDELWEISS pipeline end to end: design push, 200 docs, both listeners as separate processes
# (one of them killed and restarted half-way), then every doc has exactly
# [move_to_sps, signal_processing] and no step was recorded twice.
# Usage: end_to_end.sh [server|embedded]  (default server: the test server; embedded: a store file)
. "$(dirname "$0")/lib.sh"

backend=${1:-server}
db=edw-cli-e2e
fresh_pipeline_database "$backend" $db
expect_status 0 "$edw" metadata make 100

"$listen_newfiles" --jobs 4 --lock-dir "$work" --log-file newfiles.log &
newfiles=$!
"$listen_analysis1" --jobs 4 --lock-dir "$work" --log-file analysis1.log --pidfile analysis1.pid &
analysis1=$!

# A second listener with the same name must refuse to start.
sleep 1
expect_status 75 "$listen_newfiles" --lock-dir "$work"
expect_output "already running"

# Kill the analysis listener hard while work is in progress, then more docs arrive, then restart.
"$edw" metadata make 100 >/dev/null
sleep 0.5
kill -9 $analysis1
wait $analysis1 2>/dev/null
"$listen_analysis1" --jobs 4 --lock-dir "$work" --log-file analysis1.log &
analysis1=$!

reached=$(wait_for_position signal_processing 200)
[ "$reached" = "200" ] && ok "200 docs reached signal_processing" || fail "only $reached docs reached signal_processing"

kill -TERM $newfiles $analysis1
wait $newfiles
status_newfiles=$?
wait $analysis1
status_analysis1=$?
[ $status_newfiles -eq 0 ] && ok "listen_newfiles stopped cleanly on SIGTERM" || fail "listen_newfiles exited $status_newfiles"
[ $status_analysis1 -eq 0 ] && ok "listen_analysis1 stopped cleanly on SIGTERM" || fail "listen_analysis1 exited $status_analysis1"
grep -q "catch-up" analysis1.log && ok "the restarted listener caught up" || fail "no catch-up in the log"

# Every doc: exactly two entries, in order, each step once (node came with the test server).
if [ "$backend" = embedded ]; then embedded_all_docs $db >docs.json; else all_docs $db >docs.json; fi
verdict=$(exact_pipeline_docs)
[ "$verdict" = "200 200" ] && ok "200 docs have exactly [move_to_sps, signal_processing]" ||
    fail "docs, and docs with exactly both steps: $verdict"
grep -h "error" newfiles.log analysis1.log && fail "errors in the listener logs" || ok "no errors logged"
finish
