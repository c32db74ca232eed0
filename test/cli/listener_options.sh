# Listener options: --daemon with --pidfile and --log-file, SIGTERM, --since now, a missing design doc.
. "$(dirname "$0")/lib.sh"

write_config edw-cli-listener
"$edw" db delete --yes >/dev/null 2>&1
expect_status 0 "$edw" db create

# Without the design doc, a listener stops at once and says what is missing.
expect_status 76 "$listen_newfiles" --lock-dir "$work"
expect_output "edw design push"

expect_status 0 "$edw" design push "$EDW_SOURCE_DIR/design-docs/process"
expect_status 0 "$edw" metadata make 3

# --since now: the three waiting docs are left alone, a new one is processed.
"$listen_newfiles" --since now --name from-now --lock-dir "$work" --log-file now.log &
from_now=$!
sleep 2
expect_status 0 "$edw" metadata make 1
moved() { "$edw" status --json | grep -o '"move_to_sps":[0-9]*' | cut -d: -f2 || true; }
for _ in $(seq 1 100); do [ "$(moved)" = "1" ] && break; sleep 0.1; done
[ "$(moved)" = "1" ] && ok "--since now took only the new doc" || fail "--since now moved $(moved) docs"
kill -TERM $from_now
wait $from_now && ok "stopped with status 0 on SIGTERM" || fail "--since now listener failed"
grep -q "no catch-up" now.log && ok "--since now logged that it skips the catch-up" || fail "log: $(cat now.log)"

# The feed filter follows what the server says it is: a _selector on CouchDB, the design doc's
# filter on pouchdb-server (which a _selector crashes); --feed-filter overrides it.
if [ "${EDW_TEST_SERVER:-}" = couchdb ]; then expected="selector (the server is couchdb 3"; else
    expected="design (the server is express-pouchdb"; fi
grep -q "feed filter: $expected" now.log && ok "feed filter chosen from GET /: $expected" ||
    fail "feed filter: $(grep "feed filter" now.log)"
expect_status 2 "$listen_newfiles" --feed-filter mango --lock-dir "$work"
expect_output "feed-filter"
"$listen_newfiles" --since now --name asked --feed-filter all --lock-dir "$work" --log-file asked.log &
asked=$!
for _ in $(seq 1 100); do grep -q "feed filter" asked.log 2>/dev/null && break; sleep 0.1; done
kill -TERM $asked
wait $asked || fail "the --feed-filter all listener failed"
grep -q "feed filter: all (as asked" asked.log && ok "--feed-filter all is used as asked" ||
    fail "log: $(cat asked.log)"

# --daemon: detaches, writes its pid, logs to the file, and stops on SIGTERM removing the pid file.
expect_status 0 "$listen_newfiles" --daemon --pidfile "$work/newfiles.pid" --log-file daemon.log \
    --lock-dir "$work"
for _ in $(seq 1 50); do [ -s newfiles.pid ] && break; sleep 0.1; done
pid=$(cat newfiles.pid 2>/dev/null || true)
[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && ok "daemon runs as pid $pid" || fail "no daemon running"
for _ in $(seq 1 100); do [ "$(moved)" = "4" ] && break; sleep 0.1; done
[ "$(moved)" = "4" ] && ok "the daemon caught up on the waiting docs" || fail "moved: $(moved)"
kill -TERM "$pid"
for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && fail "daemon still running after SIGTERM" || ok "daemon stopped"
[ -e newfiles.pid ] && fail "pid file left behind" || ok "pid file removed"
grep -q "stopped step move_to_sps:" daemon.log && ok "daemon logged its stop" || fail "daemon log: $(cat daemon.log)"

expect_status 2 "$listen_newfiles" --shard 5/4 --lock-dir "$work"
expect_output "shard 5/4: K/N needs 1 <= K <= N"
expect_status 2 "$listen_newfiles" --shard half --lock-dir "$work"
expect_output "expected K/N"
finish
