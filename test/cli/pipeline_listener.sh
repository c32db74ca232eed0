# listen_pipeline: both EDELWEISS steps in one process on one feed. 200 docs, the process killed
# with -9 half-way and restarted, then every doc has exactly [move_to_sps, signal_processing],
# one checkpoint for the feed, and --steps refuses an unknown step.
# Usage: pipeline_listener.sh [server|embedded]  (default server: the test server)
. "$(dirname "$0")/lib.sh"
listen_pipeline="$EDW_BIN/listeners/listen_pipeline"

backend=${1:-server}
db=edw-cli-pipeline
fresh_pipeline_database "$backend" $db

expect_status 2 "$listen_pipeline" --steps move_to_sps,calibrate --lock-dir "$work"
expect_output "calibrate"
expect_status 0 "$listen_pipeline" --help
expect_output "--steps"

if [ "$backend" = server ]; then
    # A design doc pushed by an older edw has no at_any_step filter: refused before any feed
    # asks for it (pouchdb-server would go down on a live feed with a missing filter).
    "$edw" doc get _design/process | node -e '
        const doc = JSON.parse(require("fs").readFileSync(0, "utf8"));
        delete doc.filters.at_any_step;
        console.log(JSON.stringify(doc));' >old-design.json
    expect_status 0 "$edw" doc put old-design.json
    # The design filter is CouchDB's too when asked for (pouchdb-server's by default).
    expect_status 76 "$listen_pipeline" --feed-filter design --lock-dir "$work"
    expect_output "has no filter at_any_step"
    expect_output "edw design push"
    # Changed by hand since the last push, so the push wants --force.
    expect_status 0 "$edw" design push --force "$EDW_SOURCE_DIR/design-docs/process"
fi

expect_status 0 "$edw" metadata make 100
"$listen_pipeline" --jobs 4 --lock-dir "$work" --log-file pipeline.log &
pipeline=$!
sleep 1
expect_status 75 "$listen_pipeline" --lock-dir "$work"
"$edw" metadata make 100 >/dev/null
sleep 0.5
kill -9 $pipeline
wait $pipeline 2>/dev/null
"$listen_pipeline" --jobs 4 --lock-dir "$work" --log-file pipeline.log &
pipeline=$!

reached=$(wait_for_position signal_processing 200)
[ "$reached" = "200" ] && ok "200 docs reached signal_processing" ||
    fail "only $reached docs reached signal_processing"
kill -TERM $pipeline
wait $pipeline && ok "listen_pipeline stopped cleanly on SIGTERM" || fail "listen_pipeline exited $?"
grep -q "one feed for steps move_to_sps, signal_processing" pipeline.log &&
    ok "one feed for both steps" || fail "the log does not show one feed: $(head -20 pipeline.log)"

if [ "$backend" = embedded ]; then embedded_all_docs $db >docs.json; else all_docs $db >docs.json; fi
verdict=$(exact_pipeline_docs)
[ "$verdict" = "200 200" ] && ok "200 docs have exactly [move_to_sps, signal_processing]" ||
    fail "docs, and docs with exactly both steps: $verdict"
expect_status 0 "$edw" doc get _local/edw-checkpoint-listen_pipeline
expect_output '"step": "move_to_sps,signal_processing"'
grep -h "error" pipeline.log && fail "errors in the log" || ok "no errors logged"
finish
