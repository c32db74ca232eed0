# edw replicate between the embedded store and the test server, with the EDELWEISS pipeline
# carried across: the first step runs on a store, the store is replicated to the server, the
# second step runs there, and the server is replicated back. Both sides must then hold the same
# docs at the same revisions, each step recorded once. Then a replication killed with SIGKILL
# mid-run is started again: nothing lost, no revision written twice, only the rest copied.
. "$(dirname "$0")/lib.sh"

server_db=edw-cli-repl
store=file:edw-data/site.db
server_url="$EDW_TEST_URL/$server_db"
export EDW_USERNAME=$EDW_TEST_USER EDW_PASSWORD=$EDW_TEST_PASSWORD
curl -sf -u "$EDW_TEST_USER:$EDW_TEST_PASSWORD" -X DELETE "$server_url" >/dev/null
curl -sf -u "$EDW_TEST_USER:$EDW_TEST_PASSWORD" -X DELETE "$server_url-kill" >/dev/null

# id and rev of every doc, design docs included, sorted: from the store and from the server.
store_revs() { sqlite3 "edw-data/$1.db" "SELECT id || ' ' || rev FROM docs WHERE deleted = 0 ORDER BY id"; }
server_revs() {
    curl -sf -u "$EDW_TEST_USER:$EDW_TEST_PASSWORD" "$EDW_TEST_URL/$1/_all_docs" |
        node -e 'const r = JSON.parse(require("fs").readFileSync(0, "utf8")).rows;
                 for (const x of r.map((x) => x.id + " " + x.value.rev).sort()) console.log(x);'
}
wait_for() { # wait_for VALUE COMMAND...: up to 60 s for COMMAND to print VALUE
    local want=$1
    shift
    for _ in $(seq 1 300); do
        [ "$("$@")" = "$want" ] && return 0
        sleep 0.2
    done
    return 1
}

# 1. The first step on one machine's store.
write_embedded_config site
expect_status 0 "$edw" db create
expect_status 0 "$edw" design push "$EDW_SOURCE_DIR/design-docs/process"
expect_status 0 "$edw" metadata make 100 --run ma26r001
"$listen_newfiles" --jobs 2 --lock-dir "$work" --log-file newfiles.log &
newfiles=$!
wait_for 100 status_value s.positions.move_to_sps && ok "100 docs at move_to_sps on the store" ||
    fail "the store's docs did not reach move_to_sps: $(status_value s.positions.move_to_sps)"
kill -TERM $newfiles
wait $newfiles

# 2. To the server, which does not exist yet.
expect_status 2 "$edw" replicate "$store" "$server_url"
expect_output "--create-target"
expect_status 0 "$edw" replicate "$store" "$server_url" --create-target
expect_output "101 written, 0 failed"
expect_no_output "$EDW_TEST_PASSWORD"
[ "$(store_revs site)" = "$(server_revs $server_db)" ] && ok "the server has the store's docs at the same revisions" ||
    fail "the server's docs or revisions differ from the store's"
expect_status 0 "$edw" replicate "$store" "$server_url"
expect_output "0 written"

# 3. The second step on the server, from where the store left off.
write_config $server_db
"$listen_analysis1" --jobs 2 --lock-dir "$work" --log-file analysis1.log &
analysis1=$!
wait_for 100 status_value s.positions.signal_processing && ok "the server's listener took all 100 docs" ||
    fail "only $(status_value s.positions.signal_processing) docs reached signal_processing on the server"
kill -TERM $analysis1
wait $analysis1
[ "$(recorded_in analysis1.log signal_processing)" = 100 ] && ok "signal_processing recorded 100 times, once per doc" ||
    fail "signal_processing recorded $(recorded_in analysis1.log signal_processing) times"

# 4. Back to the store: both sides equal, every doc with both steps once.
expect_status 0 "$edw" replicate "$server_url" "$store"
expect_output "100 written, 0 failed"
[ "$(store_revs site)" = "$(server_revs $server_db)" ] && ok "after the round trip both sides hold the same ids and revisions" ||
    fail "after the round trip the sides differ"
write_embedded_config site
embedded_all_docs site >docs.json
verdict=$(node -e '
    const rows = JSON.parse(require("fs").readFileSync("docs.json")).rows
        .filter((row) => !row.id.startsWith("_design/"));
    const both = rows.filter((row) => row.doc.process.map((p) => p.name).join() ===
        "move_to_sps,signal_processing");
    console.log(rows.length + " " + both.length);')
[ "$verdict" = "100 100" ] && ok "every doc in the store has move_to_sps then signal_processing, once each" ||
    fail "docs, docs with both steps once: $verdict"

# 5. SIGKILL mid-run, then again: nothing lost, nothing written twice, only the rest copied.
expect_status 0 "$edw" metadata make 20000 --run ma26r002
"$edw" replicate "$store" "$server_url-kill" --create-target --batch-size 100 --quiet >kill.log 2>&1 &
replication=$!
count_on_server() {
    curl -sf -u "$EDW_TEST_USER:$EDW_TEST_PASSWORD" "$server_url-kill" |
        node -e 'console.log(JSON.parse(require("fs").readFileSync(0, "utf8")).doc_count > 8000 ? "yes" : "no")'
}
wait_for yes count_on_server || fail "the killed replication never wrote 8,000 docs"
kill -9 $replication
wait $replication 2>/dev/null
expect_status 0 "$edw" replicate "$store" "$server_url-kill" --batch-size 100
expect_output "checkpoint"
read_again=$(echo "$out" | grep -o "replicated .*: [0-9]* changes read" | grep -o "[0-9]* changes read" | cut -d' ' -f1)
total=$(store_revs site | wc -l)
[ -n "$read_again" ] && [ "$read_again" -lt "$total" ] && ok "the second run read $read_again of $total changes: it resumed from a checkpoint" ||
    fail "the second run read '$read_again' of $total changes"
[ "$(store_revs site)" = "$(server_revs $server_db-kill)" ] && ok "after the kill and a second run, the server has every doc at its revision" ||
    fail "after the kill the server's docs differ from the store's"
# One write per doc on the target: a revision written twice would have taken another seq.
writes=$(curl -sf -u "$EDW_TEST_USER:$EDW_TEST_PASSWORD" "$server_url-kill" |
    node -e 'const i = JSON.parse(require("fs").readFileSync(0, "utf8")); console.log(parseInt(String(i.update_seq), 10))')
[ "$writes" = "$total" ] && ok "the target took $writes writes for $total docs: no revision written twice" ||
    fail "the target took $writes writes for $total docs"
finish
