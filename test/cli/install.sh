# cmake --install: the programs, edw-js, the design docs, the man pages and the systemd units land
# under the prefix, and the installed programs find their own files from any folder.
. "$(dirname "$0")/lib.sh"

prefix="$work/prefix"
cmake --install "$EDW_BIN" --prefix "$prefix" >install.log 2>&1 || fail "cmake --install: $(cat install.log)"
for program in edw edw-js listen_newfiles listen_analysis1 listen_pipeline listen_command; do
    [ -x "$prefix/bin/$program" ] && ok "installed bin/$program" || fail "no bin/$program"
done
for page in edw listen_newfiles listen_analysis1 listen_pipeline listen_command; do
    [ -s "$prefix/share/man/man1/$page.1" ] && ok "man page $page.1" || fail "no man page $page.1"
done
grep -q '^\.SH DESIGN PUSH' "$prefix/share/man/man1/edw.1" && ok "edw.1 has each subcommand's help" ||
    fail "edw.1 lacks the design push section"
[ -f "$prefix/share/edw/design-docs/process/views/lastproc/map.js" ] && ok "design docs installed" ||
    fail "no installed design doc"
[ -f "$prefix/share/edw/systemd/edw-listen-newfiles.service" ] && ok "systemd units installed" ||
    fail "no systemd units"
[ -f "$prefix/share/doc/edw/edw.ini.example" ] && ok "edw.ini.example installed" || fail "no edw.ini.example"

# --version on every program.
for program in edw listen_newfiles listen_analysis1 listen_pipeline listen_command; do
    expect_status 0 "$prefix/bin/$program" --version
    expect_output "0.1.0"
done
expect_status 2 "$prefix/bin/edw"
expect_output "a subcommand is required"

# The scripts' --help prints their header and does nothing else.
expect_status 0 "$EDW_SOURCE_DIR/scripts/demo" --help
expect_output "Usage: scripts/demo [N] [--server] [--serve]"
expect_no_output "set -euo pipefail"
expect_status 0 "$EDW_SOURCE_DIR/scripts/test" --help
expect_output "Other arguments go to ctest"
expect_no_output "Test project"

# From a folder with no design-docs/ in it, `edw design push` pushes the installed design doc,
# whose functions the installed edw-js compiles.
mkdir elsewhere && cd elsewhere
write_embedded_config edelweiss
expect_status 0 "$prefix/bin/edw" db create
expect_status 0 "$prefix/bin/edw" design push
expect_output "created _design/process (rev 1-"
expect_output "from $prefix/share/edw/design-docs/process"
expect_status 0 "$prefix/bin/edw" metadata make 3
timeout 20 "$prefix/bin/listen_newfiles" --lock-dir "$work/locks" --log-file newfiles.log &
listener=$!
for _ in $(seq 1 100); do
    [ "$(status_value "step('move_to_sps').done")" = 3 ] && break
    sleep 0.1
done
[ "$(status_value "step('move_to_sps').done")" = 3 ] && ok "the installed listener moved the 3 docs" ||
    fail "installed listener: $(cat newfiles.log)"
kill -TERM $listener
wait $listener
finish
