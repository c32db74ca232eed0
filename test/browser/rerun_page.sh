# Runs rerun_page.mjs (headless Chromium) against edw serve, with an access token, while both
# EDELWEISS listeners run on an embedded store: the page dry-runs and starts a rerun of
# signal_processing (now version 2.0) and follows it to "done" and "run again 8 of 8"; an
# interrupted rerun written by hand is resumed from its button. The docs are then checked here.
. "$EDW_SOURCE_DIR/test/cli/lib.sh"
. "$EDW_SOURCE_DIR/test/cli/serve_fixture.sh"

fresh_pipeline_database embedded edw-browser-rerun
start_listener() { # NAME VERSION
    "$EDW_BIN/listeners/$1" --jobs 2 --lock-dir "$work" --log-file "$1-$2.log" --step-version "$2" &
}
start_listener listen_newfiles 1.0
newfiles=$!
start_listener listen_analysis1 1.0
analysis=$!
expect_status 0 "$edw" metadata make 40
reached=$(wait_for_position signal_processing 40)
[ "$reached" = 40 ] && ok "40 docs through both steps" || fail "only $reached docs reached signal_processing"
kill -TERM $analysis
wait $analysis
start_listener listen_analysis1 2.0
analysis=$!

# An interrupted rerun of one doc, as a process that died would leave it.
now=$(date -u +%FT%T.000Z)
echo '{"_id": "_local/edw-rerun-by-hand", "campaign": "by-hand", "criteria": {"step": "signal_processing",
    "ids": ["ma22a000_001"]}, "reason": "left by a dead process", "by": "tester@host", "host": "elsewhere",
    "pid": 1, "started": "'"$now"'", "updated": "'"$now"'", "state": "interrupted", "error": "stopped before the end",
    "total": 1, "scanned": 0, "sent_back": 0, "already": 0, "refused": 0, "position": ""}' |
    "$edw" doc put - >/dev/null || fail "cannot write the interrupted rerun"
echo '{"_id": "_local/edw-reruns", "campaigns": ["by-hand"]}' | "$edw" doc put - >/dev/null

export EDW_SERVE_TOKEN=browser-rerun-token-0123456789
start_serve serve.log || exit 1
without_token=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    -d '{"step": "signal_processing", "all": true, "reason": "no token"}' "${serve_url}api/rerun")
[ "$without_token" = 401 ] && ok "a rerun without the token: 401" || fail "without the token: $without_token"

selector='{"run": "ma22a000", "_id": {"$regex": "[05]$"}}'
if node "$EDW_SOURCE_DIR/test/browser/rerun_page.mjs" "${serve_url}?token=$EDW_SERVE_TOKEN" \
    "${EDW_ARTIFACTS:-$work/artifacts}" "$selector" 8; then
    ok "the reruns on the status page passed in headless Chromium (screenshots in ${EDW_ARTIFACTS:-$work/artifacts})"
else
    fail "the rerun page test failed (screenshots in ${EDW_ARTIFACTS:-$work/artifacts})"
fi

campaign=$("$edw" rerun --list --json | node -e '
    const list = JSON.parse(require("fs").readFileSync(0, "utf8"));
    console.log(list.filter((c) => c.campaign !== "by-hand").map((c) => c.campaign + " " + c.by + " " + c.state).join(";"))')
case "$campaign" in
"signal_processing-"*" edw serve (127.0.0.1) done") ok "one rerun started from the page: $campaign" ;;
*) fail "the reruns started from the page: '$campaign'" ;;
esac
campaign=${campaign%% *}
embedded_all_docs edw-browser-rerun >docs.json
checked=$(node -e '
    const rows = JSON.parse(require("fs").readFileSync("docs.json")).rows
        .filter((row) => !row.id.startsWith("_design/")).map((row) => row.doc);
    const steps = (doc) => doc.process.map((e) => e.name + "@" + e.step_version).join(",");
    const chosen = rows.filter((d) => /[05]$/.test(d._id));
    const again = chosen.filter((d) => steps(d) === "move_to_sps@1.0,signal_processing@2.0"
        && d.edw_reruns.length === 1 && d.edw_reruns[0].campaign === process.argv[1]
        && d.edw_reruns[0].reason === "new calibration from the page"
        && d.edw_reruns[0].entries[0].step_version === "1.0");
    const resumed = rows.filter((d) => d._id === "ma22a000_001" && d.edw_reruns[0].campaign === "by-hand"
        && steps(d) === "move_to_sps@1.0,signal_processing@2.0");
    const others = rows.filter((d) => !/[05]$/.test(d._id) && d._id !== "ma22a000_001" && !d.edw_reruns
        && steps(d) === "move_to_sps@1.0,signal_processing@1.0");
    console.log(chosen.length, again.length, resumed.length, others.length);' "$campaign")
[ "$checked" = "8 8 1 31" ] && ok "8 chosen docs ran signal_processing again (2.0), the 1.0 entry kept; the resumed doc too; 31 untouched" ||
    fail "docs: chosen, run again, resumed, untouched = $checked"

kill -TERM $serve_pid
wait $serve_pid
kill -TERM $newfiles $analysis
wait $newfiles $analysis
grep -h "error" listen_*.log serve.log && fail "errors in the logs" || ok "no errors logged"
finish
