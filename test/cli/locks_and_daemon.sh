# Listener locks are per listener name and store, not per database name; --daemon returns only
# once its pid file is written. Embedded stores only: no server needed.
. "$(dirname "$0")/lib.sh"

locks="$work/locks"
for store in one two; do
    mkdir -p "$store" && (cd "$store" && write_embedded_config edelweiss &&
        "$edw" db create >/dev/null && "$edw" design push "$EDW_SOURCE_DIR/design-docs/process" >/dev/null)
done

# Two stores in two folders, both with the database name "edelweiss": two listeners may run.
(cd one && exec "$listen_newfiles" --lock-dir "$locks" --log-file run.log) &
first=$!
for _ in $(seq 1 100); do grep -q "starting step" one/run.log 2>/dev/null && break; sleep 0.1; done
(cd two && exec "$listen_newfiles" --lock-dir "$locks" --log-file run.log) &
second=$!
for _ in $(seq 1 100); do grep -q "starting step" two/run.log 2>/dev/null && break; sleep 0.1; done
kill -0 $second 2>/dev/null && ok "a second store with the same database name gets its own listener" ||
    fail "second store refused: $(cat two/run.log)"

# The same store spelled another way (an absolute path, a symlinked folder) is the same store.
ln -s one alias
cat >abs.ini <<INI
[database]
url = file:$work/alias/edw-data/edelweiss.db
name = edelweiss
INI
expect_status 75 "$listen_newfiles" --config abs.ini --lock-dir "$locks"
expect_output "already running on file:$work/one/edw-data/edelweiss.db (pid $first)"
# Another listener name on the same store is another instance: its lock lets it start, and
# then the step's worker records refuse it, a second worker of move_to_sps without --lease.
status=0
(cd one && exec "$listen_newfiles" --name other --lock-dir "$locks" >other.out 2>&1) || status=$?
[ $status = 2 ] && grep -q "its live worker .*/listen_newfiles, and two workers without --lease" \
    one/other.out && ok "another --name on the same store gets past the lock, then is refused as a second unleased worker (exit 2)" ||
    fail "another --name: exit $status: $(cat one/other.out)"
kill -TERM $first $second
wait $first $second || fail "a listener failed to stop"

# The lock file names its holder; the files live in the lock folder, not loose in /tmp.
[ "$(ls "$locks" | wc -l)" = 3 ] && ok "three lock files in the lock folder" || fail "$(ls "$locks")"
grep -qx "file:$work/one/edw-data/edelweiss.db" "$locks"/listen_newfiles-*.lock &&
    ok "a lock file says which store it locks" || fail "$(cat "$locks"/*)"
stat -c %a "$locks" | grep -qx 700 && ok "the lock folder is private" || fail "$(stat -c %a "$locks")"

# Two servers with a database of the same name are two stores too. The "servers" accept
# connections and never answer, so that the listeners wait on them while the locks are checked.
node -e 'for (const port of [15971, 15972]) require("net").createServer(() => {}).listen(port, "127.0.0.1")' &
silent=$!
for port in 15971 15972; do
    cat >srv$port.ini <<INI
[database]
url = http://127.0.0.1:$port/
name = edelweiss
INI
done
for _ in $(seq 1 50); do (exec 3<>/dev/tcp/127.0.0.1/15972) 2>/dev/null && break; sleep 0.1; done
"$listen_newfiles" --config srv15971.ini --lock-dir "$locks" --log-file srv1.log &
srv1=$!
for _ in $(seq 1 50); do [ -s srv1.log ] && break; sleep 0.1; done
expect_status 75 "$listen_newfiles" --config srv15971.ini --lock-dir "$locks"
expect_output "already running on http://127.0.0.1:15971/edelweiss"
"$listen_newfiles" --config srv15972.ini --lock-dir "$locks" --log-file srv2.log &
srv2=$!
sleep 1
kill -0 $srv2 2>/dev/null && ok "a database of the same name on another server is another store" ||
    fail "$(cat srv2.log)"
kill -9 $srv1 $srv2 $silent 2>/dev/null
wait $srv1 $srv2 $silent 2>/dev/null

# --daemon --pidfile: when the command returns, the pid file holds the daemon's pid, even when a
# stale one (a kill -9 leaves it) was there before. Loaded with busy loops, as a restart at boot.
cd one
busy=()
for _ in 1 2 3 4; do (while :; do :; done) & busy+=($!); done
for round in 1 2 3 4 5 6 7 8; do
    echo 99999999 >daemon.pid
    expect_status 0 "$listen_newfiles" --daemon --pidfile daemon.pid --log-file daemon.log \
        --lock-dir "$locks"
    pid=$(cat daemon.pid)
    if [ "$pid" != 99999999 ] && [ -n "$pid" ] && grep -q listen_newfiles "/proc/$pid/cmdline" 2>/dev/null; then
        kill -TERM "$pid"
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    else
        fail "round $round: the pid file held '$pid' when --daemon returned"
    fi
done
kill "${busy[@]}"
ok "--daemon returned with the daemon's pid in the file, 8 times under load"
ls daemon.pid.tmp-* 2>/dev/null && fail "a temporary pid file was left"

# A daemon that cannot start says why on the starter's terminal, with the error's status.
expect_status 74 "$listen_newfiles" --daemon --pidfile /nonexistent/dir/x.pid --log-file daemon.log \
    --lock-dir "$locks"
expect_output "cannot write pid file /nonexistent/dir/x.pid"
# --daemon returns 0 only once the daemon has reached its database: a server nobody listens on
# is the starter's failure (exit 69, unavailable), said on its terminal.
mkdir -p unreachable && cd unreachable
printf '[database]\nurl = http://127.0.0.1:9\nname = nowhere\n' >edw.ini
expect_status 69 "$listen_newfiles" --daemon --log-file daemon.log --lock-dir "$locks"
expect_output "Couldn't connect to server"
cd "$work"
# Under systemd (Type=notify): READY=1 once started, WATCHDOG=1 while it runs, STOPPING=1 at a stop.
if ldd "$listen_newfiles" | grep -q libsystemd; then
    /usr/bin/python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(0.2)
end = time.time() + 15
with open(sys.argv[2], "w") as out:
    while time.time() < end:
        try:
            out.write(s.recv(4096).decode() + "\n")
            out.flush()
        except socket.timeout:
            pass' "$work/notify.sock" "$work/notify.txt" &
    receiver=$!
    for _ in $(seq 1 50); do [ -S "$work/notify.sock" ] && break; sleep 0.1; done
    (cd one && NOTIFY_SOCKET="$work/notify.sock" WATCHDOG_USEC=400000 \
        exec "$listen_newfiles" --lock-dir "$locks" --name notified --log-file notified.log) &
    notified=$!
    for _ in $(seq 1 50); do grep -q "WATCHDOG=1" notify.txt 2>/dev/null && break; sleep 0.1; done
    kill -TERM $notified
    wait $notified
    sleep 0.3
    kill $receiver 2>/dev/null
    for word in READY=1 WATCHDOG=1 STOPPING=1; do
        grep -q "^$word" notify.txt && ok "systemd heard $word" || fail "no $word: $(cat notify.txt)"
    done
else
    echo "skipped: the listeners are built without libsystemd (no libsystemd-dev)"
fi
# Held lock: refused before detaching, exit 75. In the folder of a store: where there is none,
# the holder would end at once (no store) and free the lock before the daemon looked.
cd "$work/one"
"$listen_newfiles" --lock-dir "$locks" --log-file held.log &
holder=$!
for _ in $(seq 1 100); do grep -q "starting step" held.log 2>/dev/null && break; sleep 0.1; done
expect_status 75 "$listen_newfiles" --daemon --pidfile d2.pid --log-file daemon.log --lock-dir "$locks"
kill -TERM $holder
wait $holder
finish
