# The EDELWEISS steps doing real file work: `edw metadata make --with-files` writes raw trace
# files, listen_pipeline with an [edelweiss] section copies them into the data directory (md5
# checked) and writes amplitude files into the results directory; every entry names a file that
# exists with the md5 it records. A doc whose raw file was deleted before processing fails with
# a reason naming the file, and finishes once the file is back and the doc retried. Without the
# section the steps simulate, and say so at start, in --help and in every entry's log.
# Usage: edelweiss_files.sh [server|embedded]  (default server: the test server)
. "$(dirname "$0")/lib.sh"
listen_pipeline="$EDW_BIN/listeners/listen_pipeline"

backend=${1:-server}
db=edw-cli-edelweiss-files
fresh_pipeline_database "$backend" $db
cp edw.ini database.ini

expect_status 0 "$listen_pipeline" --help
expect_output "only simulate"
expect_output "[edelweiss]"
expect_status 0 "$listen_newfiles" --help
expect_output "data_directory"
expect_status 0 "$edw" metadata make --help
expect_output "--with-files"

# Directories that are not there stop the listener at start, naming the key, rather than failing
# every doc.
cat database.ini - >edw.ini <<INI
[edelweiss]
data_directory = sps/data
INI
expect_status 2 "$listen_pipeline" --lock-dir "$work"
expect_output "[edelweiss] data_directory $work/sps/data: no such file or directory"
cat database.ini - >edw.ini <<INI
[edelweiss]
data_directry = sps/data
INI
expect_status 2 "$listen_pipeline" --lock-dir "$work"
expect_output "[edelweiss] data_directry: unknown key"

mkdir -p sps/data sps/results
cat database.ini - >edw.ini <<INI
[edelweiss]
data_directory = sps/data
results_directory = sps/results
hostname = sps.test
INI
echo "not a directory" >taken
expect_status 74 "$edw" metadata make 2 --run ma26c000 --with-files taken
expect_output "cannot create the raw file directory taken"
expect_status 0 "$edw" metadata make 30 --run ma26c001 --with-files raw
expect_output "created 30 docs of run ma26c001"
expect_output "their raw files in $work/raw"
[ "$(ls raw | grep -c '^ma26c001_0[0-9][0-9]\.edwtrace$')" = 30 ] && ok "30 raw files written" ||
    fail "raw files: $(ls raw)"

# One raw file goes missing before the pipeline sees its doc.
mv raw/ma26c001_007.edwtrace saved.edwtrace
"$listen_pipeline" --jobs 4 --lock-dir "$work" --log-file pipeline.log --max-attempts 2 \
    --retry-delay 0.1 &
pipeline=$!
for _ in $(seq 1 200); do
    [ "$(status_value s.positions.signal_processing)" = 29 ] &&
        [ "$(status_value "step('move_to_sps').failed")" = 1 ] && break
    sleep 0.3
done
[ "$(status_value s.positions.signal_processing)" = 29 ] && ok "29 docs went through both steps" ||
    fail "signal_processing: $(status_value s.positions.signal_processing)"
[ "$(status_value "step('move_to_sps').failed")" = 1 ] && ok "the doc without its file is parked" ||
    fail "parked: $(status_value "step('move_to_sps').failed")"
grep -q "files: move_to_sps copies raw files into $work/sps/data and checks their md5" \
    pipeline.log && ok "the log says where files go" || fail "no files line: $(head -5 pipeline.log)"
expect_status 0 "$edw" failed --step move_to_sps
expect_output "ma26c001_007  move_to_sps  2 attempts"
expect_output "cannot read raw file $work/raw/ma26c001_007.edwtrace: no such file or directory"
expect_status 0 "$edw" doc get ma26c001_007
expect_output "cannot read raw file $work/raw/ma26c001_007.edwtrace: no such file or directory"

# Back in place and retried, it finishes like the others.
mv saved.edwtrace raw/ma26c001_007.edwtrace
expect_status 0 "$edw" retry --id ma26c001_007
for _ in $(seq 1 100); do
    [ "$(status_value s.positions.signal_processing)" = 30 ] && break
    sleep 0.2
done
[ "$(status_value s.positions.signal_processing)" = 30 ] && ok "the retried doc finished" ||
    fail "signal_processing after the retry: $(status_value s.positions.signal_processing)"
kill -TERM $pipeline
wait $pipeline && ok "listen_pipeline stopped cleanly" || fail "listen_pipeline exited $?"

if [ "$backend" = embedded ]; then embedded_all_docs $db >docs.json; else all_docs $db >docs.json; fi
# Every doc's entries name files that exist, with the md5s they record: the copy has the raw
# file's md5 (the doc's md5sum), and the amplitudes are those of the copy.
verdict=$(node -e '
    const fs = require("fs");
    const crypto = require("crypto");
    const read = (path) => { try { return fs.readFileSync(path); } catch (error) { return null; } };
    const md5 = (path) => { const bytes = read(path);
        return bytes === null ? "missing" : crypto.createHash("md5").update(bytes).digest("hex"); };
    const [work] = process.argv.slice(1);
    const rows = JSON.parse(fs.readFileSync("docs.json")).rows
        .filter((row) => !row.id.startsWith("_design/"));
    const problems = [];
    let good = 0;
    for (const { doc } of rows) {
        const [moved, processed] = doc.process;
        const names = doc.process.map((entry) => entry.name).join(",");
        const check = (what, ok) => { if (!ok) problems.push(doc._id + ": " + what); return ok; };
        let result = {};
        try { result = JSON.parse(read(processed.file)); } catch (error) { /* checked below */ }
        if (check("steps " + names, names === "move_to_sps,signal_processing") &&
            check("raw file " + doc.original_file,
                  doc.original_file === work + "/raw/" + doc._id + ".edwtrace" &&
                  md5(doc.original_file) === doc.md5sum) &&
            check("moved file " + moved.file,
                  moved.file === work + "/sps/data/" + doc._id + ".edwtrace" &&
                  md5(moved.file) === moved.md5sum && moved.md5sum === doc.md5sum &&
                  moved.hostname === "sps.test" && moved.log.startsWith("copied ")) &&
            check("result file " + processed.file,
                  processed.file === work + "/sps/results/" + doc._id + ".amplitudes.json" &&
                  md5(processed.file) === processed.md5sum &&
                  result.source === moved.file && result.source_md5 === moved.md5sum &&
                  (result.channels || []).length === 4 &&
                  processed.amplitudes.pulses.join() ===
                      result.channels.map((c) => c.pulses).join()))
            good += 1;
    }
    console.log(rows.length + " " + good + (problems.length ? " " + problems.slice(0, 3).join("; ") : ""));
' "$work")
[ "$verdict" = "30 30" ] && ok "30 docs name real copies and results with their md5s" ||
    fail "docs, docs whose files check out: $verdict"
leftovers=$(ls -A sps/data sps/results | grep -c '\.part-')
[ "$leftovers" = 0 ] && ok "no temporary file left behind" || fail "$leftovers temporary files"

# Without [edelweiss] the same steps simulate, on docs naming files that exist nowhere.
fresh_pipeline_database "$backend" $db-simulated
expect_status 0 "$edw" metadata make 5 --run ma26c002
"$listen_pipeline" --lock-dir "$work" --log-file simulated.log &
pipeline=$!
reached=$(wait_for_position signal_processing 5)
[ "$reached" = 5 ] && ok "simulated docs went through" || fail "simulated: $reached"
kill -TERM $pipeline
wait $pipeline
grep -q "simulating: no \[edelweiss\] data_directory in edw.ini" simulated.log &&
    ok "the log says the steps simulate" || fail "no simulating line: $(head -5 simulated.log)"
expect_status 0 "$edw" doc get ma26c002_000
expect_output '"log": "simulated: /mnt/data/ma26c002_000.root would be copied to'
expect_output '"log": "simulated: pulse amplitudes of'
grep -h "error" pipeline.log simulated.log | grep -v "ma26c001_007" &&
    fail "errors in the logs" || ok "no other errors logged"
finish
