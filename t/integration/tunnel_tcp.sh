#!/bin/sh
# TCP tunnels end to end, with a real warren server and client on 127.0.0.1
# in front of a Python echo service: 64 MiB both ways at once, 200 concurrent
# connections, half-close in each direction, and SIGTERM on the server.
. "$(dirname "$0")/lib.sh"

TL="$(cd "$(dirname "$0")" && pwd)/tunnel_lib.py"
[ -x "$WARREN" ] || fail "warren not built"

# start_echo NAME [--banner]: a local service; sets NAME_port and NAME_pid.
start_echo() {
    _svc=$1; shift
    spawn "$TMPD/$_svc.log" python3 -u "$TL" echo "$@"
    eval "${_svc}_pid=$!"
    wait_log "$TMPD/$_svc.log" "^listening on" 10 || fail "$_svc service did not start"
    eval "${_svc}_port=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$TMPD/$_svc.log")"
}
# accepts NAME: connections the service NAME accepted so far.
accepts() { grep -c "^accept " "$TMPD/$1.log"; }

start_echo echo
start_echo ban --banner
lo=$(python3 "$TL" freerange 10) || fail "no free port range"
hi=$((lo + 9)); rport=$((lo + 3)); bport=$((lo + 4))
cport=$(free_port)

spawn "$TMPD/server.log" "$WARREN" server --bind "127.0.0.1:$cport" --tcp-bind 127.0.0.1 \
    --tcp-ports "$lo-$hi" --token tcp-test-token --workers 2
server=$!
wait_log "$TMPD/server.log" "warren server listening on 127.0.0.1:$cport" 10 ||
    fail "server did not start: $(tail -3 "$TMPD/server.log")"

cat >"$TMPD/client.yaml" <<EOF
server: 127.0.0.1:$cport
token: tcp-test-token
name: tcp-test
reconnect:
  initial: 100ms
  max: 1s
tunnels:
  - name: echo
    local: 127.0.0.1:$echo_port
    remote_port: $rport
  - name: banner
    type: tcp
    local: 127.0.0.1:$ban_port
    remote_port: $bport
    priority: high
EOF
"$WARREN" client -c "$TMPD/client.yaml" >"$TMPD/client.out" 2>"$TMPD/client.err" &
client=$!
WR_PIDS="$WR_PIDS $client"
wait_log "$TMPD/client.out" "^tunnel banner: " 10 ||
    fail "client not registered: $(tail -3 "$TMPD/client.err")"
grep -qx "tunnel echo: tcp://127.0.0.1:$rport -> 127.0.0.1:$echo_port" "$TMPD/client.out" ||
    fail "client stdout: $(cat "$TMPD/client.out")"
grep -qx "tunnel banner: tcp://127.0.0.1:$bport -> 127.0.0.1:$ban_port" "$TMPD/client.out" ||
    fail "client stdout: $(cat "$TMPD/client.out")"
grep -q "session 1 from 127.0.0.1:[0-9]*: client 'tcp-test', 2 tunnel(s)" "$TMPD/server.log" ||
    fail "server did not log the session: $(tail -3 "$TMPD/server.log")"
grep -q "session 1: tunnel echo on 127.0.0.1:$rport" "$TMPD/server.log" || fail "server: no tunnel line"

# 1. 64 MiB of random bytes both ways at once; sha256 of sent == echoed.
out=$(timeout 50 python3 "$TL" bulk "$rport" 64) || fail "bulk: $out"
note "$out"
[ "$(accepts echo)" -eq 1 ] || fail "bulk: the service accepted $(accepts echo) connections, expected 1"

# 2. 200 concurrent connections, 1 MiB each, all intact, each its own
# connection to the service.
before=$(accepts echo)
out=$(timeout 70 python3 "$TL" many "$rport" 200 1048576) || fail "many: $out"
note "$out"
n=$(( $(accepts echo) - before ))
[ "$n" -eq 200 ] || fail "200 public connections made $n service connections"

# 3. Half-close public -> service: after our FIN, the whole echo, then EOF.
out=$(timeout 20 python3 "$TL" halfclose "$rport" 1048576) || fail "$out"
note "$out"
wait_log "$TMPD/echo.log" "done: 1048576 bytes echoed" 5 || fail "service did not see the public FIN"

# 4. Half-close service -> public: the service sends a banner and shuts down
# writing; we see the banner and EOF, and can still send to it.
out=$(timeout 20 python3 "$TL" banner "$bport" "sent-after-the-service-eof") || fail "$out"
note "$out"
wait_log "$TMPD/ban.log" "received 26 bytes after its EOF: b'sent-after-the-service-eof'" 5 ||
    fail "bytes sent after the service's EOF did not reach it: $(tail -3 "$TMPD/ban.log")"

# The public side's connection ends were logged, nothing else went wrong.
grep -E " (error|warn) " "$TMPD/client.err" && fail "client logged warnings"
grep -E " (error|warn) " "$TMPD/server.log" && fail "server logged warnings"

# 5. SIGTERM: the server drains (an open connection finishes, the tunnel
# port takes no new ones) and exits 0; the client notices and retries.
mkdir "$TMPD/flags"
python3 "$TL" inflight "$rport" "$TMPD/flags" >"$TMPD/inflight.txt" 2>&1 &
inflight=$!
WR_PIDS="$WR_PIDS $inflight"
i=0
while [ ! -f "$TMPD/flags/ready" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -f "$TMPD/flags/ready" ] || fail "inflight connection not set up: $(cat "$TMPD/inflight.txt")"
t0=$(date +%s.%N)
kill -TERM "$server"
wait_log "$TMPD/server.log" "signal 15: draining" 3 || fail "server did not log the drain"
python3 -c "
import socket, sys, time
end = time.time() + 3
while time.time() < end:
    try:
        socket.create_connection(('127.0.0.1', $rport), 1).close()
    except ConnectionRefusedError:
        sys.exit(0)
    time.sleep(0.05)
sys.exit(1)" || fail "tunnel port $rport still accepts connections while draining"
kill -0 "$server" 2>/dev/null || fail "server exited with a connection still open"
touch "$TMPD/flags/go"
wait_exit "$inflight" 10 || fail "$(cat "$TMPD/inflight.txt")"
note "$(cat "$TMPD/inflight.txt")"
wait_exit "$server" 15
rc=$?
note "server exited $(python3 -c "import time,sys; print(int((time.time()-float(sys.argv[1]))*1000))" "$t0") ms after SIGTERM (drain_timeout 10 s)"
[ $rc -eq 0 ] || fail "server exit status $rc after SIGTERM: $(tail -5 "$TMPD/server.log")"
grep -q "signal 15: draining" "$TMPD/server.log" || fail "server did not log the drain"
wait_log "$TMPD/client.err" "reconnecting in" 5 ||
    fail "client did not notice the server going away: $(tail -5 "$TMPD/client.err")"
grep -qE "server notice: server shutting down|disconnected from 127.0.0.1:$cport" "$TMPD/client.err" ||
    fail "client did not log losing the server: $(tail -5 "$TMPD/client.err")"
kill -0 "$client" 2>/dev/null || fail "client exited when the server went away"
note "client: $(grep -E 'notice|disconnected' "$TMPD/client.err" | head -2 | cut -d' ' -f4- | tr '\n' ';')"
echo "ok"
