# Runs status_page.mjs (headless Chromium) against edw serve on the serve fixture, with an access
# token, so that the page is also checked to work through the token cookie.
. "$EDW_SOURCE_DIR/test/cli/lib.sh"
. "$EDW_SOURCE_DIR/test/cli/serve_fixture.sh"

make_serve_fixture
# A pause shows on the step's box; the fixture's stopped listener in the step's workers table.
expect_status 0 "$edw" pause move_to_sps --reason "browser test"
export EDW_SERVE_TOKEN=browser-test-token-0123456789
start_serve serve.log || exit 1
expected='{"steps": {"move_to_sps": {"total": 3, "failed": 3},
                     "signal_processing": {"total": 27, "failed": 0}},
           "failed_step": "move_to_sps",
           "traceback": "OSError: no space left on /sps for ma26c001_003",
           "done_doc": "ma26c001_000", "done_doc_steps": ["move_to_sps"],
           "paused_step": "move_to_sps", "worker_state": "stopped"}'
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
