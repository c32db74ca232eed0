# Three workers share one step through claims (--lease) on the embedded store; ten times, one of
# them is killed with SIGKILL in the middle of its callbacks and started again. Every doc must
# end with the step recorded exactly once, and the claims of the dead workers must have been
# taken over. The step is an external command (listen_command) that takes 50 ms per doc and
# notes each run, so runs can be counted: a doc may run twice (at-least-once execution), but it
# is recorded once.
. "$(dirname "$0")/lib.sh"

db=edw-cli-claims
docs=${EDW_CLAIMS_DOCS:-300}
write_embedded_config $db
expect_status 0 "$edw" db create
expect_status 0 "$edw" design push "$EDW_SOURCE_DIR/design-docs/process"
expect_status 0 "$edw" metadata make "$docs" --run ma26c001

step='sleep 0.05; echo "$EDW_DOC_ID" >>runs.txt; printf "{\"worker\": \"%s\"}" "$PPID"'
start_worker() {
    "$listen_command" --step move_to_sps --exec "$step" --lease 1 --jobs 2 --name "worker$1" \
        --lock-dir "$work" --log-file "worker$1.log" &
    pids[$1]=$!
}
declare -a pids
for w in 1 2 3; do start_worker $w; done

kills=0
for round in $(seq 1 10); do
    sleep "0.$((RANDOM % 5 + 2))"
    w=$((RANDOM % 3 + 1))
    kill -9 "${pids[$w]}" 2>/dev/null && kills=$((kills + 1))
    wait "${pids[$w]}" 2>/dev/null
    start_worker $w
done
ok "$kills workers killed with SIGKILL mid-run and restarted"

done_count() { status_value s.positions.move_to_sps; }
for _ in $(seq 1 300); do
    [ "$(done_count)" = "$docs" ] && break
    sleep 0.2
done
[ "$(done_count)" = "$docs" ] && ok "all $docs docs reached move_to_sps" || fail "only $(done_count) of $docs docs done"
for w in 1 2 3; do kill -TERM "${pids[$w]}"; done
wait

embedded_all_docs $db >docs.json
verdict=$(claims_verdict docs.json)
[ "$verdict" = "$docs $docs 0" ] && ok "every doc has move_to_sps exactly once and no claim left" ||
    fail "docs, docs recorded once, docs still claimed: $verdict"
runs=$(wc -l <runs.txt)
repeats=$(sort runs.txt | uniq -d | wc -l)
taken=$(cat worker*.log | grep -c "took over doc" || true)
lost=$(cat worker*.log | grep -c "result dropped" || true)
echo "figures: docs=$docs kills=$kills runs=$runs docs_run_twice_or_more=$repeats taken_over=$taken results_dropped_as_already_recorded=$lost duplicates_recorded=0"
[ "$taken" -gt 0 ] && ok "expired claims were taken over ($taken)" || fail "no claim was taken over"
[ "$(sort -u runs.txt | wc -l)" = "$docs" ] && ok "every doc ran at least once" || fail "some doc never ran"
grep -h " error: " worker*.log && fail "errors in the worker logs" || ok "no errors logged"
finish
