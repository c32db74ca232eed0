# Runs status_page.mjs (headless Chromium) against edw serve on the serve fixture, with an access
# token, so that the page is also checked to work through the token cookie. The fixture's pipeline
# is then made to branch (preview, beside signal_processing, after move_to_sps), and docs are left
# as steps would leave them: some past each end, some after calibrate_v1, a step the pipeline no
# longer has (retired).
. "$EDW_SOURCE_DIR/test/cli/lib.sh"
. "$EDW_SOURCE_DIR/test/cli/serve_fixture.sh"

make_serve_fixture
# A pause shows on the step's box; the fixture's stopped listener in the step's workers table.
expect_status 0 "$edw" pause move_to_sps --reason "browser test"

mkdir branch && cp -r "$EDW_SOURCE_DIR/design-docs/process" branch/
cat >branch/process/pipeline.json <<'JSON'
["move_to_sps",
 {"name": "signal_processing", "after": "move_to_sps"},
 {"name": "preview", "after": "move_to_sps"}]
JSON
expect_status 0 "$edw" design push branch/process
# 6 docs past signal_processing a moment ago, 4 past preview two minutes ago, 3 past calibrate_v1
# ten minutes ago: each doc's entries as the steps write them.
expect_status 0 "$edw" metadata make 13 --run ma26c002
node -e '
    const { execFileSync } = require("child_process");
    const edw = process.argv[1];
    const ago = (seconds) => new Date(Date.now() - seconds * 1000).toISOString();
    const plan = [[6, "signal_processing", 1], [4, "preview", 120], [3, "calibrate_v1", 600]];
    let n = 0;
    for (const [docs, last, seconds] of plan) {
        for (let i = 0; i < docs; i++, n++) {
            const id = "ma26c002_" + String(n).padStart(3, "0");
            const doc = JSON.parse(execFileSync(edw, ["doc", "get", id]));
            doc.process = [{ name: "move_to_sps", date: ago(seconds + 1) }, { name: last, date: ago(seconds) }];
            execFileSync(edw, ["doc", "put", "-"], { input: JSON.stringify(doc) });
        }
    }' "$edw" || fail "could not write the branch's docs"

# edw status says what the page shows.
"$edw" status >table.txt
grep -q '^10 docs have passed every step (4 after preview, 6 after signal_processing)\.$' table.txt &&
    ok "edw status counts the docs past each end of the branch" || fail "finished: $(cat table.txt)"
grep -Eq '^  calibrate_v1 +3 done, 3 stranded after it$' table.txt &&
    ok "edw status lists calibrate_v1 as retired" || fail "retired: $(cat table.txt)"
grep -Eq '^3 docs sit after calibrate_v1, a step the pipeline does not place \(retired\)' table.txt &&
    ok "edw status says the docs after the retired step are stranded" || fail "stranded: $(cat table.txt)"
grep -Eq '^preview +move_to_sps +27 +0 +0 +0 +4 .* [0-9.]+/min over [0-9.]+ min ' table.txt &&
    ok "edw status gives preview's rate over the minutes since its first doc" || fail "rate: $(cat table.txt)"
if grep -Eq '^calibrate_v1 ' table.txt; then
    fail "the retired step is a row of the pipeline's table"
fi

export EDW_SERVE_TOKEN=browser-test-token-0123456789
start_serve serve.log || exit 1
expected='{"steps": {"move_to_sps": {"total": 3, "failed": 3},
                     "signal_processing": {"total": 27, "failed": 0},
                     "preview": {"total": 27, "failed": 0}},
           "failed_step": "move_to_sps",
           "traceback": "OSError: no space left on /sps for ma26c001_003",
           "done_doc": "ma26c001_000", "done_doc_steps": ["move_to_sps"],
           "paused_step": "move_to_sps", "worker_state": "stopped",
           "graph": {"steps": ["move_to_sps", "signal_processing", "preview"],
                     "edges": [["new", "move_to_sps"], ["move_to_sps", "signal_processing"],
                               ["move_to_sps", "preview"], ["signal_processing", "finished"],
                               ["preview", "finished"]],
                     "branch": ["move_to_sps", "signal_processing", "preview"],
                     "finished": {"signal_processing": 6, "preview": 4},
                     "finished_total": "10 docs have passed every step",
                     "retired": {"calibrate_v1": {"done": "3", "stranded": "3"}},
                     "rates": {"signal_processing": {"docs": 6, "unit": "s"},
                               "preview": {"docs": 4, "unit": "min"}}}}'
if node "$EDW_SOURCE_DIR/test/browser/status_page.mjs" "${serve_url}?token=$EDW_SERVE_TOKEN" \
    "${EDW_ARTIFACTS:-$work/artifacts}" "$expected"; then
    ok "the status page passed in headless Chromium (screenshots in ${EDW_ARTIFACTS:-$work/artifacts})"
else
    fail "the status page test failed (screenshots in ${EDW_ARTIFACTS:-$work/artifacts})"
fi
[ "$(status_value "step('move_to_sps').failed")" = 2 ] && ok "the page's retry reached the database" ||
    fail "failed after the page's retry: $(status_value "step('move_to_sps').failed")"
kill -TERM $serve_pid
wait $serve_pid
finish
