# Shared by the command-line tests: a scratch folder with an edw.ini for the test server, and
# small assertions that print what went wrong.
set -u
: "${EDW_BIN:?set by ctest: the build folder}"
: "${EDW_SOURCE_DIR:?set by ctest: the source folder}"
EDW_TEST_URL=${EDW_TEST_URL:-http://127.0.0.1:15984}
EDW_TEST_USER=${EDW_TEST_USER:-edw-admin}
EDW_TEST_PASSWORD=${EDW_TEST_PASSWORD:-edw-test-password}
edw="$EDW_BIN/tools/edw"
listen_newfiles="$EDW_BIN/listeners/listen_newfiles"
listen_analysis1="$EDW_BIN/listeners/listen_analysis1"
listen_command="$EDW_BIN/listeners/listen_command"

work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
cd "$work"

failures=0

# status_value EXPR [EDW OPTIONS...]: one value of `edw status --json`, read by node (which the
# test server needs anyway); EXPR is a JavaScript expression on `s`, e.g. s.positions.move_to_sps.
status_value() {
    local expression=$1
    shift
    "$edw" "$@" status --json | node -e '
        const s = JSON.parse(require("fs").readFileSync(0, "utf8"));
        const step = (name) => s.steps.find((x) => x.name === name) || {};
        const value = eval(process.argv[1]);
        console.log(value === undefined ? 0 : value);' "$expression"
}
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }

# write_config DB: an edw.ini for database DB on the test server, password in the file.
write_config() {
    cat >edw.ini <<INI
[database]
url = $EDW_TEST_URL
name = $1
username = $EDW_TEST_USER
password = $EDW_TEST_PASSWORD
heartbeat_ms = 1000
INI
}

# write_embedded_config DB: an edw.ini for the embedded store edw-data/DB.db in the scratch folder.
write_embedded_config() {
    cat >edw.ini <<INI
[database]
url = file:edw-data/$1.db
name = $1
heartbeat_ms = 1000
INI
}

# embedded_all_docs DB: the live docs of embedded store DB, shaped as _all_docs?include_docs=true.
embedded_all_docs() {
    sqlite3 -json "edw-data/$1.db" "SELECT id, body FROM docs WHERE deleted = 0" |
        node -e '
            let s = "";
            process.stdin.on("data", (d) => (s += d)).on("end", () => {
                const rows = (s.trim() ? JSON.parse(s) : []).map((r) =>
                    ({ id: r.id, doc: Object.assign({ _id: r.id }, JSON.parse(r.body)) }));
                console.log(JSON.stringify({ rows }));
            });'
}

# fresh_pipeline_database BACKEND DB: an edw.ini for DB on BACKEND (server or embedded), the
# database made anew with the process design doc in it.
fresh_pipeline_database() {
    if [ "$1" = embedded ]; then write_embedded_config "$2"; else write_config "$2"; fi
    "$edw" db delete --yes >/dev/null 2>&1
    expect_status 0 "$edw" db create
    expect_status 0 "$edw" design push "$EDW_SOURCE_DIR/design-docs/process"
}

# exact_pipeline_docs [FILE]: "<docs> <docs with exactly [move_to_sps, signal_processing]>" of
# an _all_docs?include_docs=true answer in FILE (default docs.json), design docs left out.
exact_pipeline_docs() {
    node -e '
        const rows = JSON.parse(require("fs").readFileSync(process.argv[1])).rows
            .filter((row) => !row.id.startsWith("_design/"));
        const exact = rows.filter((row) =>
            row.doc.process.map((entry) => entry.name).join(",") === "move_to_sps,signal_processing");
        console.log(rows.length + " " + exact.length);' "${1:-docs.json}"
}

# wait_for_position STEP COUNT: waits up to 2 minutes until COUNT docs have STEP as their last
# entry (edw status), and prints how many have.
wait_for_position() {
    local at=0
    for _ in $(seq 1 240); do
        at=$(status_value "s.positions.$1")
        [ "$at" = "$2" ] && break
        sleep 0.5
    done
    echo "$at"
}

# claims_verdict FILE: of the docs in an _all_docs?include_docs answer, "<docs> <with exactly
# move_to_sps> <still claimed>", for the tests of workers sharing that step through claims.
claims_verdict() {
    node -e '
        const rows = JSON.parse(require("fs").readFileSync(process.argv[1])).rows
            .filter((row) => !row.id.startsWith("_design/"));
        const once = rows.filter((row) =>
            row.doc.process.length === 1 && row.doc.process[0].name === "move_to_sps");
        const claimed = rows.filter((row) => row.doc.edw_claim !== undefined);
        console.log(rows.length + " " + once.length + " " + claimed.length);' "$1"
}

# recorded_in LOG STEP: how many docs a listener's log says it recorded STEP on.
recorded_in() {
    grep -ho "recorded $2 on [0-9]*" "$1" | awk '{s += $4} END {print s + 0}'
}

# expect_status N COMMAND...: runs COMMAND, keeps its output in $out, checks its exit status.
expect_status() {
    local want=$1
    shift
    out=$("$@" 2>&1)
    local got=$?
    if [ "$got" -ne "$want" ]; then
        fail "'$*' exited $got, expected $want; output: $out"
    else
        ok "'$*' exited $want"
    fi
}

# expect_output TEXT: the last command's output contains TEXT.
expect_output() {
    case "$out" in
    *"$1"*) ok "output has '$1'" ;;
    *) fail "output lacks '$1': $out" ;;
    esac
}

expect_no_output() {
    case "$out" in
    *"$1"*) fail "output shows '$1': $out" ;;
    *) ok "output does not show '$1'" ;;
    esac
}

# all_docs: every doc of the configured database with its body, as the server sends it.
all_docs() {
    curl -sf -u "$EDW_TEST_USER:$EDW_TEST_PASSWORD" "$EDW_TEST_URL/$1/_all_docs?include_docs=true"
}

finish() {
    if [ "$failures" -ne 0 ]; then
        echo "$failures check(s) failed" >&2
        exit 1
    fi
    echo "all checks passed"
}
