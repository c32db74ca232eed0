# edw bench pipeline on the test server at a small size: it runs, prints its JSON line, and every
# doc goes through both steps. No timing is asserted. --keep leaves the databases: pouchdb-server
# crashes when a database is deleted while a listener's longpoll on it is still pending there.
. "$(dirname "$0")/lib.sh"

write_config unused
expect_status 0 "$edw" bench pipeline -n 200 --trickle 3 --puts 20 --keep --dir "$work/bench"
expect_output '"benchmark":"pipeline"'
expect_output '"backend":"server"'
expect_output '"docs":200'
expect_output '"latency_ms":{"docs":3,'
recorded=$(recorded_in "$work/bench/signal_processing.log" signal_processing)
if [ "$recorded" = 203 ]; then
    ok "signal_processing recorded 200 docs and 3 single ones"
else
    fail "signal_processing recorded $recorded docs, not 203"
fi
# The password never reaches the listeners' command lines or logs.
if grep -rq "$EDW_TEST_PASSWORD" "$work/bench"; then
    fail "a listener log shows the password"
else
    ok "no listener log shows the password"
fi
finish
