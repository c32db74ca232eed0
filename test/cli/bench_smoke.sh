# edw bench at a small size: each benchmark runs and prints its figures as one JSON line. No
# timing is asserted: CI machines differ.
. "$(dirname "$0")/lib.sh"

expect_status 0 "$edw" bench parse --lines 20000 --chunk 1000
expect_output '"benchmark":"feed_parse"'
expect_output '"lines":20000'
expect_output '"lines_per_s":'
expect_status 2 "$edw" bench parse --lines 0
expect_status 2 "$edw" bench

# The synthetic pipeline on the embedded store: listeners first, then a backlog; 3 steps.
for mode in "" --backlog; do
    expect_status 0 "$edw" bench pipeline --backend embedded -n 300 -k 3 --trickle 5 --puts 20 \
        $mode --dir "$work/bench$mode"
    expect_output '"benchmark":"pipeline"'
    expect_output '"docs":300'
    expect_output '"steps":3'
    expect_output '"fraction_of_null":'
    expect_output '"latency_ms":{"docs":5,'
    # One peak RSS per listener process, each a number of MB.
    if echo "$out" | grep -qE '"listener_peak_rss_mb":\[[0-9.]+,[0-9.]+,[0-9.]+\]'; then
        ok "a peak RSS for each of the 3 listeners ($mode)"
    else
        fail "no peak RSS for each listener: $out"
    fi
    # Each listener read at least one feed row per doc that reached it.
    rows=$(echo "$out" | grep -oE '"listener_feed_rows":\[[0-9]+,[0-9]+,[0-9]+\]' |
        grep -oE '[0-9]+' | sort -n | head -1)
    if [ -n "$rows" ] && [ "$rows" -ge 305 ]; then
        ok "each listener read at least 305 feed rows ($mode)"
    else
        fail "feed rows per listener missing or too few: $out"
    fi
    # Every doc went through all three steps: the listeners' logs say so.
    recorded=$(recorded_in "$work/bench$mode/step3.log" step3)
    if [ "$recorded" = 305 ]; then
        ok "step3 recorded 300 docs and 5 single ones ($mode)"
    else
        fail "step3 recorded $recorded docs, not 305 ($mode)"
    fi
done
expect_status 2 "$edw" bench pipeline --steps 0
expect_status 2 "$edw" bench pipeline --backend nowhere
# No server in the settings (none here: the embedded default), so no server backend.
expect_status 2 "$edw" bench pipeline --backend server
expect_output "needs a server URL"
# Workers without --lease each take a fixed share of the docs (--shard K/W): every doc once.
expect_status 0 "$edw" bench pipeline --backend embedded -n 40 --trickle 0 --puts 1 --workers 2
expect_output '"workers":2'

# A design doc folder that is not there is a usage error, named.
expect_status 2 "$edw" bench pipeline --backend embedded -n 10 --design "$work/none"
expect_output "$work/none"
finish
