# Shared by the edw serve tests: an embedded store where step move_to_sps (a command that prints a
# traceback and fails for three docs) has run on 30 docs with one attempt each, so that 27 docs
# wait at signal_processing and 3 are parked as failed:move_to_sps.
broken_docs="ma26c001_003 ma26c001_011 ma26c001_025"

make_serve_fixture() {
    write_embedded_config edw-cli-serve
    expect_status 0 "$edw" db create
    expect_status 0 "$edw" design push "$EDW_SOURCE_DIR/design-docs/process"
    expect_status 0 "$edw" metadata make 30 --run ma26c001
    cat >move.sh <<'SH'
case " $BROKEN " in
*" $EDW_DOC_ID "*)
    echo "Traceback (most recent call last):" >&2
    echo "  File \"move_to_sps.py\", line 42, in <module>" >&2
    echo "OSError: no space left on /sps for $EDW_DOC_ID" >&2
    exit 1 ;;
esac
echo '{"file": "/sps/'"$EDW_DOC_ID"'.root"}'
SH
    BROKEN="$broken_docs" "$listen_command" --step move_to_sps --exec "sh $work/move.sh" \
        --max-attempts 1 --lock-dir "$work" --log-file move.log &
    local mover=$!
    for _ in $(seq 1 150); do
        [ "$(status_value s.positions.move_to_sps)" = 27 ] &&
            [ "$(status_value "step('move_to_sps').failed")" = 3 ] && break
        sleep 0.2
    done
    kill -TERM $mover
    wait $mover
    [ "$(status_value "step('move_to_sps').failed")" = 3 ] || fail "fixture: 3 docs should be parked"
}

# start_serve LOG [OPTIONS...]: edw serve on a free port in the background; sets $serve_pid and
# $serve_url once the log names the port.
start_serve() {
    local log=$1
    shift
    "$edw" serve --port 0 "$@" >"$log" 2>&1 &
    serve_pid=$!
    serve_url=""
    for _ in $(seq 1 100); do
        serve_url=$(grep -o 'http://127.0.0.1:[0-9]*/' "$log" | head -1)
        [ -n "$serve_url" ] && return 0
        sleep 0.1
    done
    fail "edw serve did not start: $(cat "$log")"
    return 1
}
