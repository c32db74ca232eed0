# edw serve --replication-api: the server's own replicator (pouchdb-server's here, CouchDB's
# _replicate under ctest -L couchdb) pulls an embedded store, the docs change on the server, and
# the server pushes them back into the store through the same API. Both sides must end with the
# same ids and revisions.
. "$(dirname "$0")/lib.sh"

server_db=edw-cli-serve-repl
credentials="$EDW_TEST_USER:$EDW_TEST_PASSWORD"
server_root=${EDW_TEST_URL/:\/\//://$credentials@}
curl -sf -u "$credentials" -X DELETE "$EDW_TEST_URL/$server_db" >/dev/null

store_revs() { sqlite3 edw-data/site.db "SELECT id || ' ' || rev FROM docs WHERE deleted = 0 ORDER BY id"; }
server_revs() {
    curl -sf -u "$credentials" "$EDW_TEST_URL/$server_db/_all_docs" |
        node -e 'const r = JSON.parse(require("fs").readFileSync(0, "utf8")).rows;
                 for (const x of r.map((x) => x.id + " " + x.value.rev).sort()) console.log(x);'
}
server_replicate() { # server_replicate SOURCE TARGET: the test server's own _replicate, one-shot
    curl -s -u "$credentials" -H "Content-Type: application/json" -X POST "$EDW_TEST_URL/_replicate" \
        -d "{\"source\": \"$1\", \"target\": \"$2\", \"create_target\": true}"
}

write_embedded_config site
expect_status 0 "$edw" db create
expect_status 0 "$edw" design push "$EDW_SOURCE_DIR/design-docs/process"
expect_status 0 "$edw" metadata make 50 --run ma26s001

expect_status 2 env EDW_URL=http://127.0.0.1:1 EDW_DB=x "$edw" serve --replication-api
expect_output "serves the embedded store"
"$edw" serve --port 0 --replication-api >serve.log 2>&1 &
serve_pid=$!
store_url=""
for _ in $(seq 1 100); do
    store_url=$(grep -o "http://127.0.0.1:[0-9]*/" serve.log | head -1)
    [ -n "$store_url" ] && break
    sleep 0.1
done
[ -n "$store_url" ] || fail "edw serve did not say where it listens: $(cat serve.log)"
store_url="${store_url}site"

answer=$(server_replicate "$store_url" "$server_root/$server_db")
case "$answer" in *'"ok":true'*) ok "the server pulled the store: $answer" | cut -c1-200 ;; *) fail "pull: $answer" ;; esac
[ "$(store_revs)" = "$(server_revs)" ] && ok "the server holds the store's 51 docs at their revisions" ||
    fail "after the pull the server differs: $(server_revs | wc -l) docs against $(store_revs | wc -l)"

# Edit five docs on the server, then let the server push them back into the store.
curl -sf -u "$credentials" "$EDW_TEST_URL/$server_db/_all_docs?include_docs=true&limit=5&startkey=%22ma%22" |
    node -e 'const r = JSON.parse(require("fs").readFileSync(0, "utf8")).rows;
             console.log(JSON.stringify({docs: r.map((x) => Object.assign(x.doc, {edited: true}))}));' >edits.json
curl -sf -u "$credentials" -H "Content-Type: application/json" -X POST "$EDW_TEST_URL/$server_db/_bulk_docs" -d @edits.json >/dev/null
answer=$(server_replicate "$server_root/$server_db" "$store_url")
case "$answer" in *'"ok":true'*) ok "the server pushed to the store" ;; *) fail "push: $answer" ;; esac
[ "$(store_revs)" = "$(server_revs)" ] && ok "after the push both sides hold the same ids and revisions" ||
    fail "after the push the sides differ"
edited=$(sqlite3 edw-data/site.db "SELECT count(*) FROM docs WHERE body LIKE '%\"edited\":true%'")
[ "$edited" = 5 ] && ok "the 5 docs edited on the server are edited in the store" || fail "$edited docs edited in the store"
kill -TERM $serve_pid
wait $serve_pid
finish
