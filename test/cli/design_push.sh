# edw design push: created, then unchanged (no new revision), then updated; bad JS refused; a
# server copy changed by someone else is kept unless --force.
. "$(dirname "$0")/lib.sh"

write_config edw-cli-design
"$edw" db delete --yes >/dev/null 2>&1
expect_status 0 "$edw" db create

expect_status 0 "$edw" design push "$EDW_SOURCE_DIR/design-docs/process"
expect_output "created _design/process (rev 1-"
expect_status 0 "$edw" design push "$EDW_SOURCE_DIR/design-docs/process" --config edw.ini
expect_output "unchanged _design/process (rev 1-"

cp -r "$EDW_SOURCE_DIR/design-docs/process" process
printf 'function (doc) {\n  // counts every doc\n  emit(doc._id, 1);\n}\n' >process/views/status/map.js
expect_status 0 "$edw" design push process
expect_output "updated _design/process (rev 2-"

printf 'function (doc) {\n  emit(doc._id, 1;\n}\n' >process/views/status/map.js
expect_status 2 "$edw" design push process
expect_output "views/status/map.js:3: unmatched"
expect_status 0 "$edw" design push "$EDW_SOURCE_DIR/design-docs/process"
expect_output "updated _design/process (rev 3-"

# A server copy changed behind edw's back is not overwritten without --force.
"$edw" doc get _design/process | node -e '
    let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
        const doc = JSON.parse(s); doc.edited_by_hand = true; console.log(JSON.stringify(doc)); });' >edited.json
expect_status 0 "$edw" doc put edited.json
printf 'function (doc) {\n  emit(doc._id, 2);\n}\n' >process/views/status/map.js
expect_status 1 "$edw" design push process
expect_output "was changed since the last edw design push (server rev 4-"
expect_output "--force"
expect_status 0 "$edw" design push process --force
expect_output "updated _design/process (rev 5-"
expect_status 0 "$edw" design push "$EDW_SOURCE_DIR/design-docs/process"
expect_output "updated _design/process (rev 6-"

expect_status 2 "$edw" design push no-such-folder
expect_output "no-such-folder"

# The embedded store compiles a design doc when it is written: JavaScript that the syntax check
# lets through but the engine cannot compile is refused with the engine's reason, and nothing is
# stored.
write_embedded_config edw-cli-design
expect_status 0 "$edw" db create
printf 'function (doc) {\n  emit(doc._id, doc.x +* 2);\n}\n' >process/views/status/map.js
expect_status 65 "$edw" design push process
expect_output "compilation_error: Compilation of the map function in the 'status' view failed: SyntaxError"
expect_status 1 "$edw" doc get _design/process
expect_status 0 "$edw" design push "$EDW_SOURCE_DIR/design-docs/process"
expect_output "created _design/process (rev 1-"
finish
