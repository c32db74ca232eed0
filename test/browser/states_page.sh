# Runs states_page.mjs (headless Chromium) against edw serve on an embedded store holding a
# workflow of states alone (_design/states and OUS docs, no process design doc): the page shows
# the docs per state, and follows a move live.
. "$EDW_SOURCE_DIR/test/cli/lib.sh"
. "$EDW_SOURCE_DIR/test/cli/serve_fixture.sh"

write_embedded_config edw-browser-states
expect_status 0 "$edw" db create
expect_status 0 "$edw" design push "$EDW_SOURCE_DIR/test/data/design-docs/states"
for i in 1 2 3 4 5; do
    state=Processing
    [ "$i" -gt 3 ] && state=Delivered
    echo '{"_id": "ous-'$i'", "type": "ous", "state": "'$state'"}' | expect_status 0 "$edw" doc put -
done
start_serve serve.log || exit 1
# The page moves ous-1 itself once it has checked the first counts (MOVE_COMMAND), then waits
# for the counts to follow.
rev=$("$edw" doc get ous-1 | node -e 'let t="";process.stdin.on("data",d=>t+=d).on("end",()=>console.log(JSON.parse(t)._rev))')
cat >move.sh <<SH
echo '{"_id": "ous-1", "_rev": "$rev", "type": "ous", "state": "Delivered"}' | "$edw" doc put - >/dev/null
SH
if MOVE_COMMAND="sh $work/move.sh" node "$EDW_SOURCE_DIR/test/browser/states_page.mjs" "$serve_url" \
    "${EDW_ARTIFACTS:-$work/artifacts}"; then
    ok "the states page passed in headless Chromium (screenshots in ${EDW_ARTIFACTS:-$work/artifacts})"
else
    fail "the states page test failed (screenshots in ${EDW_ARTIFACTS:-$work/artifacts})"
fi
kill -TERM $serve_pid
wait $serve_pid
finish
