# edw rerun with both EDELWEISS listeners running: 300 docs through both steps (version 1.0),
# then signal_processing (now 2.0) rerun over a selector while 100 new docs arrive, interrupted
# by SIGINT and resumed. Every chosen doc gets the step again exactly once with its old entry
# kept; the others are untouched; --dry-run writes nothing; bad options are refused.
# Usage: rerun.sh [server|embedded]  (default server: the test server)
. "$(dirname "$0")/lib.sh"

backend=${1:-server}
db=edw-cli-rerun
fresh_pipeline_database "$backend" $db

start_listener() { # NAME VERSION
    "$EDW_BIN/listeners/$1" --jobs 4 --lock-dir "$work" --log-file "$1-$2.log" --step-version "$2" &
}
docs_now() {
    if [ "$backend" = embedded ]; then embedded_all_docs $db >docs.json; else all_docs $db >docs.json; fi
}
# verdict JS: evaluates JS over `rows` (the non-design docs) and prints it.
verdict() {
    node -e '
        const rows = JSON.parse(require("fs").readFileSync("docs.json")).rows
            .filter((row) => !row.id.startsWith("_design/")).map((row) => row.doc);
        const steps = (doc) => doc.process.map((e) => e.name + "@" + e.step_version).join(",");
        console.log(eval(process.argv[1]));' "$1"
}

start_listener listen_newfiles 1.0
newfiles=$!
start_listener listen_analysis1 1.0
analysis=$!
expect_status 0 "$edw" metadata make 300
reached=$(wait_for_position signal_processing 300)
[ "$reached" = 300 ] && ok "300 docs through both steps" || fail "only $reached docs reached signal_processing"

chosen='{"run": "ma22a000", "_id": {"$regex": "[05]$"}}'
expect_status 0 "$edw" rerun signal_processing --selector "$chosen" --dry-run --json
sample=$(echo "$out" | node -e 'const s = require("fs").readFileSync(0, "utf8");
    const o = JSON.parse(s.slice(s.indexOf("{")));
    console.log(o.sent_back + " " + o.dry_run + " " + o.sample.length)')
[ "$sample" = "60 true 10" ] && ok "dry run: 60 docs would go back, 10 ids shown" || fail "dry run said: $sample"
expect_status 0 "$edw" rerun --list
expect_output "no rerun has been started"
docs_now
[ "$(verdict 'rows.filter((d) => d.edw_reruns).length')" = 0 ] && ok "the dry run wrote nothing" ||
    fail "the dry run changed docs"
expect_status 0 "$edw" rerun signal_processing --version 1.0 --dry-run
expect_output "300 of"
expect_status 0 "$edw" rerun signal_processing --version 9.9 --dry-run
expect_output "0 of"

# Refused before anything is written.
expect_status 2 "$edw" rerun signal_processing
expect_output "--all"
expect_status 2 "$edw" rerun calibrate --all
expect_output "not in the pipeline"
expect_status 2 "$edw" rerun signal_processing --processed-before yesterday
expect_output "invalid date"
expect_status 2 "$edw" rerun signal_processing --selector '{"run": {"$bogus": 1}}'
expect_output "invalid selector"
expect_status 2 "$edw" rerun --resume no-such-campaign

# The new version of signal_processing takes over; new docs keep arriving during the rerun.
kill -TERM $analysis
wait $analysis
start_listener listen_analysis1 2.0
analysis=$!
"$edw" metadata make 100 >/dev/null &
making=$!

# Held to 100 docs a second (3 s in all), so that the rerun is still going when it is interrupted.
"$edw" rerun signal_processing --selector "$chosen" --reason "new calibration" --batch 5 \
    --max-rate 100 >rerun.out 2>&1 &
rerun=$!
campaign=""
for _ in $(seq 1 400); do
    campaign=$("$edw" rerun --list --json 2>/dev/null | node -e '
        const l = JSON.parse(require("fs").readFileSync(0, "utf8") || "[]");
        console.log(l.length ? l[0].campaign : "")')
    [ -n "$campaign" ] && break
    sleep 0.05
done
sleep 0.3 # some docs sent back, most not yet
kill -INT $rerun
wait $rerun
status=$?
wait $making
if [ "$status" -eq 1 ] && grep -q "edw rerun --resume $campaign" rerun.out; then
    ok "the interrupted rerun exited 1 and says how to go on"
else
    fail "rerun $campaign exited $status when interrupted: $(cat rerun.out)"
fi
expect_status 0 "$edw" rerun --list
expect_output "interrupted"
expect_status 0 "$edw" rerun --resume "$campaign" --json
resumed=$(echo "$out" | node -e 'const s = require("fs").readFileSync(0, "utf8");
    const o = JSON.parse(s.slice(s.indexOf("{")));
    console.log(o.state + " " + o.sent_back + " " + o.refused)')
[ "$resumed" = "done 60 0" ] && ok "resumed: 60 docs sent back in all, none refused" ||
    fail "the resumed rerun says: $resumed"
expect_status 0 "$edw" rerun --resume "$campaign"
expect_output "done already"

reached=$(wait_for_position signal_processing 400)
[ "$reached" = 400 ] && ok "400 docs through both steps again" || fail "$reached docs at signal_processing"
sleep 1 # a second write of any doc would show now
docs_now
rerun_ok=$(verdict "rows.filter((d) => d.run === 'ma22a000' && /[05]\$/.test(d._id)
    && steps(d) === 'move_to_sps@1.0,signal_processing@2.0'
    && d.edw_reruns.length === 1 && d.edw_reruns[0].campaign === '$campaign'
    && d.edw_reruns[0].reason === 'new calibration'
    && d.edw_reruns[0].entries.length === 1
    && d.edw_reruns[0].entries[0].name === 'signal_processing'
    && d.edw_reruns[0].entries[0].step_version === '1.0').length")
[ "$rerun_ok" = 60 ] && ok "60 chosen docs: step run again by 2.0, the 1.0 entry kept" ||
    fail "$rerun_ok of 60 chosen docs have the 2.0 entry and the 1.0 one kept"
others=$(verdict "rows.filter((d) => d.run === 'ma22a000' && !/[05]\$/.test(d._id)
    && steps(d) === 'move_to_sps@1.0,signal_processing@1.0' && !d.edw_reruns).length")
[ "$others" = 240 ] && ok "the 240 others untouched" || fail "$others of 240 others untouched"
new_docs=$(verdict "rows.filter((d) => d.run !== 'ma22a000' && !d.edw_reruns
    && /^move_to_sps@1.0,signal_processing@(1|2).0\$/.test(steps(d))).length")
[ "$new_docs" = 100 ] && ok "the 100 new docs went through once" || fail "$new_docs of 100 new docs"
# Exactly once: the new version recorded the 60 rerun docs and whichever new docs it took.
recorded=$(recorded_in listen_analysis1-2.0.log signal_processing)
took=$(verdict "rows.filter((d) => steps(d).endsWith('signal_processing@2.0')).length")
[ "$recorded" = "$took" ] && ok "signal_processing 2.0 recorded $recorded docs, each once" ||
    fail "signal_processing 2.0 recorded $recorded docs for $took entries"

kill -TERM $newfiles $analysis
wait $newfiles $analysis
grep -h "error" listen_*.log && fail "errors in the logs" || ok "no errors logged"
finish
