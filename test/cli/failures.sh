# Failures end to end on the embedded store: docs missing a field the step needs fail, are
# retried, then parked with status failed:<step>; `edw failed` lists them; once fixed,
# `edw retry --all-failed` puts them back and the listeners finish them, each step once.
. "$(dirname "$0")/lib.sh"

db=edw-cli-failures
write_embedded_config $db
expect_status 0 "$edw" db create
expect_status 0 "$edw" design push "$EDW_SOURCE_DIR/design-docs/process"
expect_status 0 "$edw" metadata make 40 --run ma26b001

# Four docs lose the field move_to_sps needs: wrong input, a failure of those docs only.
broken="ma26b001_003 ma26b001_011 ma26b001_025 ma26b001_039"
for id in $broken; do
    "$edw" doc get $id | node -e '
        let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
            const doc = JSON.parse(s); doc.saved_file = doc.original_file; delete doc.original_file;
            console.log(JSON.stringify(doc)); });' >$id.json
    "$edw" doc put $id.json >/dev/null || fail "cannot break $id"
done

"$listen_newfiles" --lock-dir "$work" --log-file newfiles.log --max-attempts 3 --retry-delay 0.1 &
newfiles=$!
"$listen_analysis1" --lock-dir "$work" --log-file analysis1.log &
analysis1=$!

count_of() { status_value "$1"; }
for _ in $(seq 1 100); do
    [ "$(count_of s.positions.signal_processing)" = 36 ] && [ "$(count_of "step('move_to_sps').failed")" = 4 ] && break
    sleep 0.2
done
[ "$(count_of s.positions.signal_processing)" = 36 ] && ok "36 good docs went through" || fail "signal_processing: $(count_of s.positions.signal_processing)"
[ "$(count_of "step('move_to_sps').failed")" = 4 ] && ok "4 docs parked as failed:move_to_sps" || fail "parked: $(count_of "step('move_to_sps').failed")"

expect_status 0 "$edw" failed --step move_to_sps
expect_output "ma26b001_003  move_to_sps  3 attempts"
expect_output "has no original_file string"
expect_output "4 docs parked"
expect_status 0 "$edw" failed --json
expect_output '"parked": true'
expect_output '"attempt": 2'
grep -q "failed on doc ma26b001_011 (attempt 1 of 3)" newfiles.log && ok "the first failure was logged with a retry" || fail "no retry in the log"
grep -q "parked as status \"failed:move_to_sps\"" newfiles.log && ok "parking was logged" || fail "no parking in the log"

expect_status 2 "$edw" retry
expect_output "--id ID or --all-failed"
expect_status 1 "$edw" retry --id ma26b001_000
expect_output "is not parked"

# Fixed, and put back: they finish, each step once.
for id in $broken; do
    "$edw" doc get $id | node -e '
        let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
            const doc = JSON.parse(s); doc.original_file = doc.saved_file;
            console.log(JSON.stringify(doc)); });' >$id.json
    "$edw" doc put $id.json >/dev/null || fail "cannot fix $id"
done
expect_status 0 "$edw" retry --all-failed
expect_output "put back 4 docs"
for _ in $(seq 1 100); do
    [ "$(count_of s.positions.signal_processing)" = 40 ] && break
    sleep 0.2
done
[ "$(count_of s.positions.signal_processing)" = 40 ] && ok "the fixed docs finished after edw retry" || fail "signal_processing: $(count_of s.positions.signal_processing)"
expect_status 0 "$edw" failed
expect_output "0 docs parked"

kill -TERM $newfiles $analysis1
wait $newfiles $analysis1
embedded_all_docs $db >docs.json
verdict=$(node -e '
    const rows = JSON.parse(require("fs").readFileSync("docs.json")).rows
        .filter((row) => !row.id.startsWith("_design/"));
    const exact = rows.filter((row) =>
        row.doc.process.map((entry) => entry.name).join(",") === "move_to_sps,signal_processing" &&
        row.doc.status === "good");
    const retried = rows.filter((row) => (row.doc.edw_failures || []).length === 3 &&
        row.doc.edw_failures.every((entry) => entry.retried));
    console.log(rows.length + " " + exact.length + " " + retried.length);')
[ "$verdict" = "40 40 4" ] && ok "every doc has both steps once; the failure history stays on the 4" ||
    fail "docs, docs done once, docs with settled failures: $verdict"

# A doc whose process no step can route, and one after a step the pipeline does not place: both
# are counted by edw status, and edw failed lists the first with its reason.
echo '{"_id": "odd", "status": "good", "conditions": {"t": 1}, "process": "moved"}' >odd.json
echo '{"_id": "lost", "status": "good", "conditions": {"t": 1}, "process": [{"name": "nonexistent_step"}]}' >lost.json
"$edw" doc put odd.json >/dev/null && "$edw" doc put lost.json >/dev/null || fail "cannot put odd docs"
expect_status 0 "$edw" status
expect_output "40 docs have passed every step."
expect_output "1 doc sits after nonexistent_step, a step the pipeline does not place"
expect_output "1 doc no step can take: process is not an array"
expect_status 0 "$edw" failed
expect_output "odd  (no step)  process is not an array"
expect_output "0 docs parked and 1 doc no step can take"
[ "$(count_of 's.unroutable["process is not an array"]')" = 1 ] && ok "status --json counts it" ||
    fail "status --json: $("$edw" status --json)"
finish
