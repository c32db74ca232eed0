# edw bench at a small size: it runs and prints its figures as one JSON line. No timing is
# asserted: CI machines differ.
. "$(dirname "$0")/lib.sh"

expect_status 0 "$edw" bench parse --lines 20000 --chunk 1000
expect_output '"benchmark":"feed_parse"'
expect_output '"lines":20000'
expect_output '"lines_per_s":'
expect_status 2 "$edw" bench parse --lines 0
expect_status 2 "$edw" bench
finish
