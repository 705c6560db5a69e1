#!/bin/sh
# Warren-to-warren mux guarantees, with real muxpeer processes on 127.0.0.1:
# a slow reader does not slow another stream; a high-priority stream stays
# fast under a saturating low-priority one; a stopped peer is detected within
# two ping intervals; sessions spread over workers; SIGTERM exits cleanly.
. "$(dirname "$0")/lib.sh"

[ -x "$MUXPEER" ] || fail "muxpeer not built"

start_listener() { # NAME ARGS...
    _name=$1; shift
    _port=$(free_port)
    spawn "$TMPD/$_name.log" "$MUXPEER" --listen "127.0.0.1:$_port" --echo "$@"
    eval "${_name}_pid=$!"
    eval "${_name}_port=$_port"
    wait_log "$TMPD/$_name.log" "listening on 127.0.0.1:$_port" 10 || fail "$_name did not start"
}

# 1. Head-of-line: stream A's echo is never read; stream B moves 8 MiB.
start_listener hol --workers 2
out=$("$MUXPEER" --connect "127.0.0.1:$hol_port" --drive --scenario hol --bytes 8m --timeout 30s 2>"$TMPD/hol-drive.log")
rc=$?
note "$out"
[ $rc -eq 0 ] || { cat "$TMPD/hol-drive.log"; fail "hol scenario exit $rc"; }
echo "$out" | grep -q "^hol: fast stream 8388608 bytes intact .* while the slow stream held [1-9][0-9]* bytes unread" ||
    fail "slow stream did not stay stalled while the fast one completed"

# 2. Priority: 64-byte echoes on a high-priority stream while a low-priority
# stream saturates the session. Only a generous bound is asserted (the
# figure is reported); a FIFO mux would put each echo behind megabytes.
out=$("$MUXPEER" --connect "127.0.0.1:$hol_port" --drive --scenario prio --timeout 60s 2>"$TMPD/prio-drive.log")
rc=$?
note "$out"
[ $rc -eq 0 ] || { cat "$TMPD/prio-drive.log"; fail "prio scenario exit $rc"; }
loaded=$(echo "$out" | sed -n 's/.* p50 \([0-9]*\) us \/ p99.*/\1/p')
[ -n "$loaded" ] || fail "no loaded p50 in: $out"
[ "$loaded" -lt 50000 ] || fail "high-priority p50 under load is $loaded us (bound 50000 us)"

# 3. Dead peer: SIGSTOP the driver; the listener must end the session within
# 2 x ping interval (300 ms) of the stop, plus scheduling slack.
start_listener dead --ping-interval 300ms --keepalive-timeout 5s
spawn "$TMPD/holder.log" "$MUXPEER" --connect "127.0.0.1:$dead_port" --drive --streams 1 --bytes 1 \
    --hold --ping-interval 300ms --keepalive-timeout 5s
holder=$!
wait_log "$TMPD/holder.log" "1 passed, 0 failed" 10 || fail "holder did not connect"
sleep 1 # several PING/PONG rounds: the session is alive
grep -q "closed" "$TMPD/dead.log" && fail "session closed while the peer was alive"
stopped=$(date +%s.%N)
kill -STOP "$holder"
wait_log "$TMPD/dead.log" "closed: peer dead: no answer to PING within 300 ms" 5 ||
    fail "dead peer not detected: $(tail -3 "$TMPD/dead.log")"
line=$(grep "peer dead" "$TMPD/dead.log" | head -1)
elapsed=$(python3 -c '
import sys, datetime
ts = sys.argv[1].split()[0].rstrip("Z")
t = datetime.datetime.fromisoformat(ts).replace(tzinfo=datetime.timezone.utc).timestamp()
print(int((t - float(sys.argv[2])) * 1000))' "$line" "$stopped")
note "dead peer detected ${elapsed} ms after SIGSTOP (ping interval 300 ms)"
[ "$elapsed" -le 700 ] || fail "detection took $elapsed ms (bound 2 x 300 ms + 100 ms slack)"
kill -CONT "$holder"
kill -TERM "$holder"
wait_exit "$holder" 10 >/dev/null

# 4. Sessions on several workers at once (connections are handed off).
i=0; pids=""
while [ $i -lt 4 ]; do
    spawn "$TMPD/multi$i.log" "$MUXPEER" --connect "127.0.0.1:$hol_port" --drive --streams 20 --bytes 256k
    pids="$pids $!"
    i=$((i + 1))
done
for p in $pids; do
    wait_exit "$p" 60 || fail "a concurrent driver failed: $(cat "$TMPD"/multi*.log | grep -v ' info ' | tail -5)"
done
grep -c "session .* closed" "$TMPD/hol.log" >/dev/null || fail "listener logged no session ends"
grep -q "\[w1\] session" "$TMPD/hol.log" || fail "no session ran on the second worker"

# 5. SIGTERM: clean exit (leaks would show in a sanitizer build).
for v in hol dead; do
    eval "p=\$${v}_pid"
    kill -TERM "$p"
    wait_exit "$p" 10 || fail "$v listener exit status $? after SIGTERM"
done
echo "ok"
