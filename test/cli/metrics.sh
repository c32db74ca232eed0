# A listener's /metrics (--metrics-port) checked against the database state: docs done, failed
# attempts, retries, parked docs, the callback histogram's count, and the lag once caught up.
. "$(dirname "$0")/lib.sh"

write_embedded_config edw-cli-metrics
expect_status 0 "$edw" db create
expect_status 0 "$edw" design push "$EDW_SOURCE_DIR/design-docs/process"
expect_status 0 "$edw" metadata make 20 --run ma26d001
# Two docs lose the field move_to_sps needs: each fails twice (two attempts), then is parked.
for id in ma26d001_004 ma26d001_013; do
    "$edw" doc get $id | node -e '
        const doc = JSON.parse(require("fs").readFileSync(0, "utf8"));
        delete doc.original_file;
        console.log(JSON.stringify(doc));' >$id.json
    "$edw" doc put $id.json >/dev/null || fail "cannot break $id"
done

"$listen_newfiles" --lock-dir "$work" --log-file newfiles.log --max-attempts 2 --retry-delay 0.1 \
    --metrics-port 0 &
listener=$!
url=""
for _ in $(seq 1 100); do
    url=$(grep -o 'http://127.0.0.1:[0-9]*/metrics' newfiles.log | head -1)
    [ -n "$url" ] && break
    sleep 0.1
done
[ -n "$url" ] && ok "the listener logs its metrics URL: $url" || fail "no metrics URL in the log"

for _ in $(seq 1 100); do
    [ "$(status_value s.positions.move_to_sps)" = 18 ] &&
        [ "$(status_value "step('move_to_sps').failed")" = 2 ] && break
    sleep 0.2
done
# metric NAME: the value of one series of the listener's metrics.
metric() { curl -s "$url" | grep "^$1{" | head -1 | awk '{print $2}'; }
for _ in $(seq 1 50); do
    [ "$(metric edw_docs_done_total)" = 18 ] && [ "$(metric edw_feed_lag_seqs)" = 0 ] && break
    sleep 0.1
done
curl -s "$url" >metrics.txt
grep -q '^# TYPE edw_callback_duration_seconds histogram$' metrics.txt && ok "text format with TYPE lines" ||
    fail "no histogram TYPE: $(cat metrics.txt)"
[ "$(metric edw_docs_done_total)" = "$(status_value "step('move_to_sps').done")" ] &&
    ok "docs done = the database's move_to_sps entries (18)" || fail "done: $(metric edw_docs_done_total)"
[ "$(metric edw_docs_failed_total)" = 4 ] && ok "4 failed attempts" || fail "failed: $(metric edw_docs_failed_total)"
[ "$(metric edw_docs_retried_total)" = 2 ] && ok "2 retries" || fail "retried: $(metric edw_docs_retried_total)"
[ "$(metric edw_docs_parked_total)" = "$(status_value "step('move_to_sps').failed")" ] &&
    ok "parked = the database's failed count (2)" || fail "parked: $(metric edw_docs_parked_total)"
[ "$(metric edw_callback_duration_seconds_count)" = 22 ] && ok "22 callbacks timed (18 + 4)" ||
    fail "histogram count: $(metric edw_callback_duration_seconds_count)"
[ "$(metric edw_docs_in_flight)" = 0 ] && ok "nothing in flight when idle" || fail "in flight: $(metric edw_docs_in_flight)"
[ "$(metric edw_feed_lag_seqs)" = 0 ] && ok "no lag in seqs once caught up" || fail "lag seqs: $(metric edw_feed_lag_seqs)"
[ "$(metric edw_feed_lag_seconds)" = 0 ] && ok "no lag in seconds once caught up" || fail "lag s: $(metric edw_feed_lag_seconds)"
[ "$(metric edw_database_up)" = 1 ] && ok "database up" || fail "up: $(metric edw_database_up)"

# More docs: the counters go on from where they were.
expect_status 0 "$edw" metadata make 5 --run ma26d002
for _ in $(seq 1 100); do
    [ "$(metric edw_docs_done_total)" = 23 ] && break
    sleep 0.1
done
[ "$(metric edw_docs_done_total)" = 23 ] && ok "new docs counted live (23)" || fail "done: $(metric edw_docs_done_total)"

kill -TERM $listener
wait $listener
status=$?
[ $status -eq 0 ] && ok "the listener stops cleanly with its metrics server" || fail "listener exited $status"
expect_status 2 "$listen_newfiles" --metrics-port 99999
finish
