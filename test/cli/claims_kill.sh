# Four workers share one step through claims (--lease) on the embedded store; ten times, one of
# them, picked at random, is killed with SIGKILL in the middle of its callbacks (odd rounds: the
# first come while the backlog lasts, so that claims are left to take over) or stopped with
# SIGTERM (even rounds), and started again. Every doc must end with the step recorded exactly
# once, and the claims of the dead workers must have been taken over. The step is an external
# command (listen_command) that takes 50 ms per doc and notes each run, so runs can be counted: a
# doc may run twice (at-least-once execution), but it is recorded once. The step's worker records
# show the four running, the killed ones dead and the stopped ones stopped.
. "$(dirname "$0")/lib.sh"

db=edw-cli-claims
docs=${EDW_CLAIMS_DOCS:-600}
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
for w in 1 2 3 4; do start_worker $w; done
records() { status_value "step('move_to_sps').worker_records.filter((w) => w.state === '$1').length"; }
for _ in $(seq 1 100); do [ "$(records running)" = 4 ] && break; sleep 0.05; done

kills=0
terms=0
for round in $(seq 1 10); do
    sleep "0.$((RANDOM % 5 + 2))"
    w=$((RANDOM % 4 + 1))
    if [ $((round % 2)) = 1 ]; then
        kill -9 "${pids[$w]}" 2>/dev/null && kills=$((kills + 1))
    else
        kill -TERM "${pids[$w]}" 2>/dev/null && terms=$((terms + 1))
    fi
    wait "${pids[$w]}" 2>/dev/null
    # Started again, it writes its record at once: waited for, so that every kill and stop
    # below ends a worker that has one.
    before=$(grep -c "shares the step with" "worker$w.log")
    start_worker $w
    for _ in $(seq 1 100); do
        [ "$(grep -c "shares the step with" "worker$w.log")" -gt "$before" ] && break
        sleep 0.05
    done
done
ok "$kills workers killed with SIGKILL and $terms stopped with SIGTERM mid-run, each restarted"

done_count() { status_value s.positions.move_to_sps; }
for _ in $(seq 1 300); do
    [ "$(done_count)" = "$docs" ] && break
    sleep 0.2
done
[ "$(done_count)" = "$docs" ] && ok "all $docs docs reached move_to_sps" || fail "only $(done_count) of $docs docs done"
[ "$(records running)" = 4 ] && [ "$(records dead)" = $kills ] && [ "$(records stopped)" = $terms ] &&
    ok "worker records: 4 running, $kills dead, $terms stopped" ||
    fail "worker records: $(records running) running, $(records dead) dead, $(records stopped) stopped"
for w in 1 2 3 4; do kill -TERM "${pids[$w]}"; done
wait

embedded_all_docs $db >docs.json
verdict=$(claims_verdict docs.json)
[ "$verdict" = "$docs $docs 0" ] && ok "every doc has move_to_sps exactly once and no claim left" ||
    fail "docs, docs recorded once, docs still claimed: $verdict"
runs=$(wc -l <runs.txt)
repeats=$(sort runs.txt | uniq -d | wc -l)
taken=$(cat worker*.log | grep -c "took over doc" || true)
lost=$(cat worker*.log | grep -c "result dropped" || true)
echo "figures: docs=$docs kills=$kills terms=$terms runs=$runs docs_run_twice_or_more=$repeats taken_over=$taken results_dropped_as_already_recorded=$lost duplicates_recorded=0"
[ "$taken" -gt 0 ] && ok "expired claims were taken over ($taken)" || fail "no claim was taken over"
[ "$(sort -u runs.txt | wc -l)" = "$docs" ] && ok "every doc ran at least once" || fail "some doc never ran"
grep -h " error: " worker*.log && fail "errors in the worker logs" || ok "no errors logged"
finish
