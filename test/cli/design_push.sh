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
expect_status 65 "$edw" design push process
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

# Every function is compiled before the push, whatever the server: JavaScript that the syntax
# check lets through but no engine can compile is refused with the engine's reason and line
# (pouchdb-server would store it and its view would stay empty without a word).
printf 'function (doc) {\n  emit(doc._id, doc.x +* 2);\n}\n' >process/views/status/map.js
expect_status 65 "$edw" design push process
expect_output "views/status/map.js: does not compile: SyntaxError: parse error (line 2)"
expect_status 0 "$edw" doc get _design/process
expect_output '"_rev": "6-'
printf 'function (doc, req) {\n  return (doc.process || []).some((p) => p.name === req.query.last);\n}\n' \
    >process/filters/with_process.js
printf 'function (doc) {\n  emit(doc._id, 1);\n}\n' >process/views/status/map.js
expect_status 65 "$edw" design push process
expect_output "filters/with_process.js: does not compile"
expect_output "edw expects design doc functions in ES5"
cp "$EDW_SOURCE_DIR/design-docs/process/filters/with_process.js" process/filters/

# The same on the embedded store: nothing is stored.
write_embedded_config edw-cli-design
expect_status 0 "$edw" db create
printf 'function (doc) {\n  emit(doc._id, doc.x +* 2);\n}\n' >process/views/status/map.js
expect_status 65 "$edw" design push process
expect_output "views/status/map.js: does not compile: SyntaxError"
expect_status 1 "$edw" doc get _design/process
expect_status 0 "$edw" design push "$EDW_SOURCE_DIR/design-docs/process"
expect_output "created _design/process (rev 1-"
finish
