# Command workers end to end on the embedded store: listen_command --worker keeps Python workers
# that take one doc per line. Docs whose worker crashes, hangs or writes garbage fail alone (and
# park, with --max-attempts 1), their workers are replaced, and every other doc gets the step once.
. "$(dirname "$0")/lib.sh"

db=edw-cli-command-worker
write_embedded_config $db
expect_status 0 "$edw" db create
expect_status 0 "$edw" design push "$EDW_SOURCE_DIR/design-docs/process"
expect_status 0 "$edw" metadata make 20 --run ma26d001

"$listen_newfiles" --lock-dir "$work" --log-file newfiles.log &
newfiles=$!
for _ in $(seq 1 100); do
    [ "$(status_value s.positions.move_to_sps)" = 20 ] && break
    sleep 0.2
done
[ "$(status_value s.positions.move_to_sps)" = 20 ] && ok "20 docs moved to sps" ||
    fail "move_to_sps: $(status_value s.positions.move_to_sps)"
kill -TERM $newfiles
wait $newfiles && ok "listen_newfiles exited 0 on SIGTERM" || fail "listen_newfiles exited $?"

cat >worker.py <<'PY'
import json, os, sys, time

print("ready for step", os.environ["EDW_STEP"], "as worker", os.environ["EDW_WORKER"],
      file=sys.stderr, flush=True)
for line in sys.stdin:
    doc = json.loads(line)
    if doc["_id"] in ("ma26d001_003", "ma26d001_011"):
        raise ValueError("bad detector")
    if doc["_id"] == "ma26d001_007":
        time.sleep(60)
    if doc["_id"] == "ma26d001_015":
        print("not json", flush=True)
        continue
    print("took", doc["_id"], file=sys.stderr, flush=True)
    print(json.dumps({"pid": os.getpid()}), flush=True)
PY
"$listen_command" --step signal_processing --after move_to_sps --worker '/usr/bin/python3 worker.py' \
    --jobs 2 --timeout 1 --max-attempts 1 --lock-dir "$work" --log-file command.log &
command=$!
for _ in $(seq 1 150); do
    [ "$(status_value s.positions.signal_processing)" = 16 ] &&
        [ "$(status_value "step('signal_processing').failed")" = 4 ] && break
    sleep 0.2
done
[ "$(status_value s.positions.signal_processing)" = 16 ] && ok "16 docs went through the workers" ||
    fail "signal_processing: $(status_value s.positions.signal_processing)"
[ "$(status_value "step('signal_processing').failed")" = 4 ] && ok "4 docs parked" ||
    fail "parked: $(status_value "step('signal_processing').failed")"
ls "$work"/command-signal_processing-*.lock >/dev/null 2>&1 && ok "the lock is named command-signal_processing" ||
    fail "no lock named command-signal_processing: $(ls "$work")"
kill -TERM $command
wait $command && ok "listen_command exited 0 on SIGTERM" || fail "listen_command exited $?"

grep -q " command-signal_processing info: " command.log && ok "the log names the listener command-signal_processing" ||
    fail "no command-signal_processing in the log: $(head -3 command.log)"
grep -q "worker [0-9]* of step signal_processing: ready for step signal_processing as worker 1" command.log &&
    ok "a worker's stderr reached the log" || fail "no worker stderr in the log"
grep -q "worker [0-9]* of step signal_processing: took ma26d001_000" command.log &&
    ok "stderr written during a doc reached the log" || fail "no 'took' line in the log"
grep -q "worker [0-9]* of step signal_processing: ValueError: bad detector" command.log &&
    ok "a traceback reached the log" || fail "no traceback in the log"
started=$(grep -o "started worker [0-9]*" command.log | awk '{print $3}')
left=0
for pid in $started; do
    kill -0 "$pid" 2>/dev/null && left=$((left + 1))
done
[ -n "$started" ] && [ $left = 0 ] && ok "every worker ended with the listener" ||
    fail "workers started: '$started'; still there: $left"

embedded_all_docs $db >docs.json
verdict=$(node -e '
    const rows = JSON.parse(require("fs").readFileSync("docs.json")).rows
        .filter((row) => !row.id.startsWith("_design/"));
    const once = rows.filter((row) =>
        row.doc.process.map((entry) => entry.name).join(",") === "move_to_sps,signal_processing");
    const pids = new Set(once.map((row) => row.doc.process[1].pid));
    const failure = (id) => ((rows.find((row) => row.id === id) || {}).doc.edw_failures || [])[0] || {};
    const crashed = ["ma26d001_003", "ma26d001_011"].every((id) =>
        /the worker exited with status 1 before answering$/.test(failure(id).message) &&
        /Traceback[^]*ValueError: bad detector/.test(failure(id).detail));
    const hung = /on doc ma26d001_007: the worker gave no answer within 1000 ms and was killed$/
        .test(failure("ma26d001_007").message);
    const garbage = /not a JSON object: not json$/.test(failure("ma26d001_015").message);
    console.log([rows.length, once.length, pids.size <= 6, crashed, hung, garbage].join(" "));')
[ "$verdict" = "20 16 true true true true" ] &&
    ok "16 docs have the step once from at most 6 workers; the 4 failures say what happened" ||
    fail "docs, docs done once, few workers, crashes, hang, garbage: $verdict"

expect_status 0 "$edw" failed
expect_output "ma26d001_003  signal_processing  1 attempts  the worker exited with status 1 before answering: ValueError: bad detector"
expect_output "ma26d001_007  signal_processing  1 attempts  the worker gave no answer within 1000 ms and was killed"
expect_output "4 docs parked"
expect_no_output "on doc ma26d001_003:"
finish
