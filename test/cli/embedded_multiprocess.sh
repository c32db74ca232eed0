# Several processes on one embedded store: both listeners, 4 writers (`edw metadata make`, each
# its own run) and `edw status` in a loop, all at once. Afterwards every written doc is there and
# every doc went through each step exactly once.
. "$(dirname "$0")/lib.sh"

db=edw-multiprocess
per_writer=${EDW_MULTIPROCESS_DOCS:-250}
write_embedded_config $db
expect_status 0 "$edw" db create
expect_status 0 "$edw" design push "$EDW_SOURCE_DIR/design-docs/process"

"$listen_newfiles" --jobs 4 --lock-dir "$work" --log-file newfiles.log &
newfiles=$!
"$listen_analysis1" --jobs 4 --lock-dir "$work" --log-file analysis1.log &
analysis1=$!

# Readers alongside: status answers throughout, and never fails for a busy store.
(
    while [ ! -e writers.done ]; do
        "$edw" status --json >/dev/null || echo "status failed" >>status.errors
    done
) &
status_loop=$!

writers=()
for run in ma26a101 ma26a102 ma26a103 ma26a104; do
    # Small batches, so that the writers' transactions interleave with each other and the
    # listeners' writes.
    "$edw" metadata make "$per_writer" --run $run --batch 10 >"writer-$run.log" 2>&1 &
    writers+=($!)
done
writer_failures=0
for pid in "${writers[@]}"; do
    wait "$pid" || writer_failures=$((writer_failures + 1))
done
touch writers.done
wait $status_loop
[ $writer_failures -eq 0 ] && ok "4 writers finished" || fail "$writer_failures writers failed: $(cat writer-*.log)"
[ -e status.errors ] && fail "edw status failed $(wc -l <status.errors) times" || ok "edw status never failed"

total=$((4 * per_writer))
done_count() {
    status_value s.positions.signal_processing
}
for _ in $(seq 1 240); do
    [ "$(done_count)" = "$total" ] && break
    sleep 0.5
done
[ "$(done_count)" = "$total" ] && ok "$total docs reached signal_processing" || fail "only $(done_count) of $total docs reached signal_processing"

kill -TERM $newfiles $analysis1
wait $newfiles && ok "listen_newfiles stopped cleanly" || fail "listen_newfiles exited $?"
wait $analysis1 && ok "listen_analysis1 stopped cleanly" || fail "listen_analysis1 exited $?"

embedded_all_docs $db >docs.json
verdict=$(node -e '
    const rows = JSON.parse(require("fs").readFileSync("docs.json")).rows
        .filter((row) => !row.id.startsWith("_design/"));
    const perRun = {};
    let exact = 0;
    for (const row of rows) {
        const run = row.id.slice(0, 8);
        perRun[run] = (perRun[run] || 0) + 1;
        if (row.doc.process.map((entry) => entry.name).join(",") === "move_to_sps,signal_processing") {
            exact++;
        }
    }
    const runs = Object.keys(perRun).sort().map((run) => run + "=" + perRun[run]).join(" ");
    console.log(rows.length + " " + exact + " " + runs);')
want="$total $total ma26a101=$per_writer ma26a102=$per_writer ma26a103=$per_writer ma26a104=$per_writer"
[ "$verdict" = "$want" ] && ok "every write is there and every doc went through each step once" ||
    fail "docs, docs with exactly both steps, docs per run: $verdict (expected $want)"
[ "$(sqlite3 edw-data/$db.db 'PRAGMA integrity_check')" = ok ] && ok "the store passes integrity_check" || fail "integrity_check failed"
grep -h "error" newfiles.log analysis1.log && fail "errors in the listener logs" || ok "no errors logged"

# Programs started at once on new stores (a workflow's daemons on a fresh machine, each opening
# several databases): none may find a store half-created. Each round, 8 processes create the
# same 4 new stores in the same order.
rm -f race.errors
for round in $(seq 1 15); do
    for process in 1 2 3 4 5 6 7 8; do
        (for store in a b c d; do
            EDW_URL="file:race-$round/$store.db" "$edw" db create >/dev/null 2>>race.errors ||
                echo "round $round process $process store $store failed" >>race.errors
        done) &
    done
    wait
done
[ ! -s race.errors ] && ok "8 processes creating the same new stores at once all open them (15 rounds)" ||
    fail "a process found a new store half-created: $(sort race.errors | uniq -c | head -5)"
finish
