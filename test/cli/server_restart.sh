# The database server restarts in the middle of a run: both listeners ride it out (requests
# retried, feeds reopened from their last seq) and finish, with every doc through each step once.
# Runs its own server on another port, so the shared test server is not disturbed: a
# pouchdb-server, or under test/couchdb/with-couchdb a CouchDB node (EDW_TEST_COUCHDB_START).
. "$(dirname "$0")/lib.sh"

port=${EDW_RESTART_PORT:-15989}
docs=1500
server_state="$work/server"
if [ "${EDW_TEST_SERVER:-}" = couchdb ]; then
    if [ -z "${EDW_TEST_COUCHDB_START:-}" ]; then
        echo "skipped: EDW_TEST_COUCHDB_START (the script that starts a CouchDB node) is not set"
        exit 77
    fi
    start_server() {
        COUCHDB_PORT=$port COUCHDB_DATA=$server_state COUCHDB_USER=$EDW_TEST_USER \
            COUCHDB_PASSWORD=$EDW_TEST_PASSWORD "$EDW_TEST_COUCHDB_START" >/dev/null
    }
    stop_server() {
        local pid
        pid=$(cat "$server_state/couchdb.pid" 2>/dev/null) || return 0
        # The release's script runs the Erlang VM as its child: end the whole group of it.
        pkill -TERM -P "$pid" 2>/dev/null || true
        kill -TERM "$pid" 2>/dev/null || true
        while kill -0 "$pid" 2>/dev/null || curl -s -o /dev/null "http://127.0.0.1:$port/"; do
            sleep 0.1
        done
    }
    restart_server() { start_server; }
else
    start_server() { "$EDW_SOURCE_DIR/test/server/start" $port "$server_state" >/dev/null; }
    stop_server() { "$EDW_SOURCE_DIR/test/server/stop" "$server_state"; }
    restart_server() { "$EDW_SOURCE_DIR/test/server/start" $port "$server_state" --keep >/dev/null; }
fi
start_server || { fail "cannot start the server"; finish; }
trap 'stop_server; kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
cat >edw.ini <<INI
[database]
url = http://127.0.0.1:$port
name = edw-restart
username = $EDW_TEST_USER
password = $EDW_TEST_PASSWORD
heartbeat_ms = 1000
INI
expect_status 0 "$edw" db create
expect_status 0 "$edw" design push "$EDW_SOURCE_DIR/design-docs/process"
expect_status 0 "$edw" metadata make $docs

"$listen_newfiles" --jobs 4 --lock-dir "$work" --log-file newfiles.log &
newfiles=$!
"$listen_analysis1" --jobs 4 --lock-dir "$work" --log-file analysis1.log &
analysis1=$!

done_count() { "$edw" status --json 2>/dev/null | sed -n 's/.*"signal_processing":\([0-9]*\).*/\1/p'; }
# Mid-run: as soon as the second step has recorded something (read from its log, since a status
# query would make the server build its view index first).
for _ in $(seq 1 200); do
    grep -q "recorded signal_processing" analysis1.log 2>/dev/null && break
    sleep 0.05
done
before=$(grep -o "recorded signal_processing on [0-9]*" analysis1.log | awk '{s += $4} END {print s + 0}')
stop_server
[ "${before:-0}" -lt $docs ] && ok "server stopped mid-run, with ${before:-0} of $docs docs done" ||
    fail "the run was over before the server stopped"
sleep 3
restart_server || fail "cannot restart the server"
for _ in $(seq 1 300); do
    [ "$(done_count)" = "$docs" ] && break
    sleep 0.3
done
[ "$(done_count)" = "$docs" ] && ok "all $docs docs finished after the restart" || fail "only $(done_count) of $docs docs finished"
kill -TERM $newfiles $analysis1
wait $newfiles && ok "listen_newfiles stopped cleanly" || fail "listen_newfiles exited $?"
wait $analysis1 && ok "listen_analysis1 stopped cleanly" || fail "listen_analysis1 exited $?"

curl -sf -u "$EDW_TEST_USER:$EDW_TEST_PASSWORD" "http://127.0.0.1:$port/edw-restart/_all_docs?include_docs=true" >docs.json
verdict=$(exact_pipeline_docs)
[ "$verdict" = "$docs $docs" ] && ok "every doc has each step exactly once" || fail "docs, docs with each step once: $verdict"
reconnects=$(cat newfiles.log analysis1.log | grep -c "reconnecting from seq\|trying the batch again\|trying again in" || true)
echo "figures: docs=$docs done_before_restart=${before:-0} retries_and_reconnects_logged=$reconnects duplicates=0"
[ "$reconnects" -gt 0 ] && ok "the listeners retried and reconnected ($reconnects log lines)" || fail "no reconnect in the logs"
finish
