# edw checkpoint list|show|set|reset, on the test server and on the embedded store: a running
# listener's checkpoint is not moved, a stopped one's is, and its next start follows it.
. "$(dirname "$0")/lib.sh"

# json_of EXPR COMMAND...: one value of a command's JSON output, as JSON text.
json_of() {
    local expression=$1
    shift
    "$@" | node -e '
        const j = JSON.parse(require("fs").readFileSync(0, "utf8"));
        console.log(JSON.stringify(eval(process.argv[1])));' "$expression"
}
wait_for_log() { # FILE TEXT
    for _ in $(seq 1 150); do grep -qF "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
    return 1
}

for backend in server embedded; do
    mkdir -p "$work/$backend" && cd "$work/$backend" || exit 1
    if [ $backend = server ]; then
        write_config edw-cli-checkpoint
        "$edw" db delete --yes >/dev/null 2>&1
    else
        write_embedded_config edw-cli-checkpoint
    fi
    expect_status 0 "$edw" db create
    expect_status 0 "$edw" design push "$EDW_SOURCE_DIR/design-docs/process"
    expect_status 0 "$edw" metadata make 5
    expect_status 2 "$edw" checkpoint
    expect_status 0 "$edw" checkpoint show cp-test
    expect_output "seq:          none"
    # A seq the feed does not take would stop the listener at its next start: refused. (CouchDB
    # and the embedded store refuse it; pouchdb-server takes any text as a seq.)
    if [ $backend = embedded ] || [ "${EDW_TEST_SERVER:-}" = couchdb ]; then
        expect_status 2 "$edw" checkpoint set cp-test not-a-seq
        expect_output "does not take seq"
    fi
    # Set before the listener ever saved one: a doc that names no step yet.
    expect_status 0 "$edw" checkpoint set cp-test 0

    "$listen_newfiles" --name cp-test --lock-dir "$PWD" --log-file first.log &
    listener=$!
    for _ in $(seq 1 100); do [ "$(status_value s.positions.move_to_sps)" = 5 ] && break; sleep 0.1; done
    [ "$(status_value s.positions.move_to_sps)" = 5 ] || fail "$backend: the listener did not move the 5 docs"
    # Running, it would write its own position over a new one: refused, and listed as live.
    expect_status 75 "$edw" checkpoint set cp-test 0
    expect_output "Stop it first"
    expect_status 75 "$edw" checkpoint reset cp-test
    [ "$(json_of 'j[0].live_workers.length' "$edw" checkpoint list cp-test --json)" = 1 ] &&
        ok "$backend: checkpoint list shows the running listener's worker" ||
        fail "$backend: $("$edw" checkpoint list cp-test --json)"
    kill -TERM $listener
    wait $listener || fail "$backend: the listener failed"

    # Stopped: its checkpoint is listed (found through the step's worker records) and shown.
    expect_status 0 "$edw" checkpoint list
    expect_output "cp-test"
    saved=$(json_of 'j.seq' "$edw" checkpoint show cp-test --json)
    [ "$saved" != null ] && ok "$backend: the stopped listener's checkpoint is $saved" ||
        fail "$backend: no checkpoint saved"
    [ "$(json_of 'j.live_workers.length' "$edw" checkpoint show cp-test --json)" = 0 ] ||
        fail "$backend: a stopped listener still shows live workers"

    # Set to the database's current seq: the next start resumes from exactly that.
    expect_status 0 "$edw" metadata make 2
    expect_status 0 "$edw" checkpoint set cp-test now
    moved=$(json_of 'j.seq' "$edw" checkpoint show cp-test --json)
    [ "$moved" != "$saved" ] && ok "$backend: checkpoint set now moved it to $moved" ||
        fail "$backend: checkpoint set now left it at $saved"
    "$listen_newfiles" --name cp-test --lock-dir "$PWD" --log-file second.log &
    listener=$!
    if [ $backend = server ]; then
        wait_for_log second.log "resuming from checkpoint seq $moved" &&
            ok "$backend: the next start resumes from the seq set" ||
            fail "$backend: $(grep -h "checkpoint" second.log)"
    else
        # The embedded store's listeners read the whole feed at each start: the tool says so.
        expect_output "reads the whole feed from its start"
        wait_for_log second.log "reading the whole feed from its start" ||
            fail "$backend: $(grep -h "catch-up" second.log)"
    fi
    # Docs waiting at the step are caught up on whatever the checkpoint says.
    for _ in $(seq 1 100); do [ "$(status_value s.positions.move_to_sps)" = 7 ] && break; sleep 0.1; done
    [ "$(status_value s.positions.move_to_sps)" = 7 ] && ok "$backend: the 2 docs made before were caught up on" ||
        fail "$backend: $(status_value s.positions.move_to_sps) docs moved, not 7"
    kill -TERM $listener
    wait $listener || fail "$backend: the listener failed"

    # Set to a seq given by hand (0: the whole feed again), then reset: no checkpoint at all.
    expect_status 0 "$edw" checkpoint set cp-test 0
    [ "$(json_of 'j.seq' "$edw" checkpoint show cp-test --json)" = 0 ] || fail "$backend: set 0"
    expect_status 0 "$edw" checkpoint reset cp-test
    expect_output "removed the checkpoint"
    [ "$(json_of 'j.seq' "$edw" checkpoint show cp-test --json)" = null ] ||
        fail "$backend: reset left a checkpoint"
    "$listen_newfiles" --name cp-test --lock-dir "$PWD" --log-file third.log &
    listener=$!
    if [ $backend = server ]; then
        wait_for_log third.log "no checkpoint yet" && ok "$backend: after reset the listener starts afresh" ||
            fail "$backend: $(grep -h "checkpoint" third.log)"
    else
        wait_for_log third.log "reading the whole feed from its start" ||
            fail "$backend: $(grep -h "catch-up" third.log)"
    fi
    kill -TERM $listener
    wait $listener || fail "$backend: the listener failed"
    expect_status 0 "$edw" checkpoint reset cp-nobody
    expect_output "has no checkpoint"
done
finish
