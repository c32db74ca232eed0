# edw metadata make: each call starts the next run; an existing doc is never overwritten.
. "$(dirname "$0")/lib.sh"

write_config edw-cli-metadata
"$edw" db delete --yes >/dev/null 2>&1
expect_status 0 "$edw" db create
expect_status 0 "$edw" metadata make 5
expect_output "created 5 docs of run ma22a000"
expect_status 0 "$edw" metadata make 3 --batch 2
expect_output "created 3 docs of run ma22a001"
expect_status 0 "$edw" db info
expect_output '"doc_count": 8'

docs=$(all_docs edw-cli-metadata)
for field in '"_id":"ma22a001_002"' '"status":"good"' '"process":[]' '"original_file":"/mnt/data/ma22a000_004.root"' '"detector_a"' '"md5sum"' '"datecreated"'; do
    case "$docs" in *"$field"*) ok "docs have $field" ;; *) fail "docs lack $field" ;; esac
done

before=$(all_docs edw-cli-metadata | grep -o '"_rev":"[^"]*"' | sort | md5sum)
expect_status 1 "$edw" metadata make 2 --run ma22a000
expect_output "run ma22a000 already has docs"
after=$(all_docs edw-cli-metadata | grep -o '"_rev":"[^"]*"' | sort | md5sum)
[ "$before" = "$after" ] && ok "no existing doc changed" || fail "existing docs were changed"
# Past run 999 the text order of ids no longer follows the run numbers; numbering must go on.
expect_status 0 "$edw" metadata make 1 --run ma22a999
expect_status 0 "$edw" metadata make 1
expect_output "run ma22a1000"
expect_status 0 "$edw" metadata make 1
expect_output "run ma22a1001"
finish
