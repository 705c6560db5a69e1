#!/bin/sh
# Failures around a tunnel: the local service down, the client killed
# mid-transfer, the server killed and replaced, and a stopped client found
# dead by the heartbeat watchdog.
. "$(dirname "$0")/lib.sh"

TL="$(cd "$(dirname "$0")" && pwd)/tunnel_lib.py"
[ -x "$WARREN" ] || fail "warren not built"

# start_echo NAME: a local echo service; sets NAME_port and NAME_pid.
start_echo() {
    spawn "$TMPD/$1.log" python3 -u "$TL" echo
    eval "${1}_pid=$!"
    wait_log "$TMPD/$1.log" "^listening on" 10 || fail "$1 service did not start"
    eval "${1}_port=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$TMPD/$1.log")"
}
lo=$(python3 "$TL" freerange 10) || fail "no free port range"
hi=$((lo + 9))
cport=$(free_port)

cat >"$TMPD/server.yaml" <<EOF
listen: 127.0.0.1:$cport
tcp_bind: 127.0.0.1
tcp_ports: $lo-$hi
workers: 2
heartbeat: 500ms
EOF
# start_server NAME: sets server (its PID).
start_server() {
    spawn "$TMPD/$1.log" "$WARREN" server -c "$TMPD/server.yaml" --token faults-token
    server=$!
    wait_log "$TMPD/$1.log" "warren server listening on 127.0.0.1:$cport" 10 ||
        fail "$1 did not start: $(tail -3 "$TMPD/$1.log")"
}
# client NAME ARGS...: its PID in $!.
client() {
    _cn=$1; shift
    "$WARREN" client --server "127.0.0.1:$cport" --token faults-token "$@" \
        >"$TMPD/$_cn.out" 2>"$TMPD/$_cn.err" &
    WR_PIDS="$WR_PIDS $!"
}
ms_since() { python3 -c "import time,sys; print(int((time.time()-float(sys.argv[1]))*1000))" "$1"; }

start_server server1

# 1. The local service is down: a public connection is closed at once.
start_echo gone
rport=$((lo + 1))
client c1 --local-addr "127.0.0.1:$gone_port" --remote-port "$rport"
c1=$!
wait_log "$TMPD/c1.out" "^tunnel tcp-$rport: " 10 || fail "c1 not registered: $(tail -3 "$TMPD/c1.err")"
out=$(timeout 20 python3 "$TL" echo1 "$rport" 4096) || fail "echo before the service died: $out"
kill -KILL "$gone_pid"
wait_exit "$gone_pid" 5 >/dev/null
out=$(timeout 10 python3 "$TL" closed "$rport" 2) || fail "local service down: $out"
note "local service down: public connection $out"
wait_log "$TMPD/c1.err" "tunnel tcp-$rport: cannot connect to 127.0.0.1:$gone_port" 3 ||
    fail "client did not log the failed local connect: $(tail -3 "$TMPD/c1.err")"
kill -0 "$c1" 2>/dev/null || fail "client exited when its service was down"
kill -TERM "$c1"
wait_exit "$c1" 5 || fail "c1 exit status $? after SIGTERM"

# 2. kill -9 the client mid-transfer: the public connection is closed within
# 2 s, the server logs the session's end, keeps running, and a new client
# gets the same port at once.
start_echo echo
rport=$((lo + 2))
client c2 --local-addr "127.0.0.1:$echo_port" --remote-port "$rport"
c2=$!
wait_log "$TMPD/c2.out" "^tunnel tcp-$rport: " 10 || fail "c2 not registered: $(tail -3 "$TMPD/c2.err")"
sessions=$(grep -c " closed: " "$TMPD/server1.log")
out=$(timeout 20 python3 "$TL" killmid "$rport" "$c2" 2) || fail "client killed mid-transfer: $out"
note "$out"
wait_exit "$c2" 5 >/dev/null
wait_log "$TMPD/server1.log" "session [0-9]* from 127.0.0.1:[0-9]* closed: " 3 || fail "no session end logged"
i=0
while [ "$(grep -c " closed: " "$TMPD/server1.log")" -le "$sessions" ] && [ $i -lt 30 ]; do
    sleep 0.1; i=$((i + 1))
done
[ $i -lt 30 ] || fail "server did not log the killed client's session as closed: $(tail -3 "$TMPD/server1.log")"
note "server: $(grep " closed: " "$TMPD/server1.log" | tail -1 | cut -d' ' -f5-)"
# Everything of the session is freed (the count is taken after the frees;
# the sanitizer build also checks the heap at exit).
grep " closed: " "$TMPD/server1.log" | tail -1 | grep -q "; 0 session(s) open" ||
    fail "the killed client's session is still counted: $(grep " closed: " "$TMPD/server1.log" | tail -1)"
kill -0 "$server" 2>/dev/null || fail "server died with the client"
t0=$(date +%s.%N)
client c3 --local-addr "127.0.0.1:$echo_port" --remote-port "$rport"
c3=$!
wait_log "$TMPD/c3.out" "^tunnel tcp-$rport: " 3 ||
    fail "new client did not get port $rport back at once: $(tail -3 "$TMPD/c3.err")"
note "new client got port $rport after $(ms_since "$t0") ms"
out=$(timeout 10 python3 "$TL" wait_echo "$rport" 3) || fail "new client's tunnel: $out"
kill -TERM "$c3"
wait_exit "$c3" 5 || fail "c3 exit status $? after SIGTERM"

# 3. The server killed and a new one started on the same port: a client with
# a short backoff (tunnels from its client.yaml) works again within 5 s.
rport=$((lo + 3))
cat >"$TMPD/client.yaml" <<EOF
server: 127.0.0.1:$cport
token: faults-token
reconnect:
  initial: 100ms
  max: 1s
tunnels:
  - name: svc
    local: 127.0.0.1:$echo_port
    remote_port: $rport
EOF
"$WARREN" client -c "$TMPD/client.yaml" >"$TMPD/c4.out" 2>"$TMPD/c4.err" &
c4=$!
WR_PIDS="$WR_PIDS $c4"
wait_log "$TMPD/c4.out" "^tunnel svc: tcp://127.0.0.1:$rport -> 127.0.0.1:$echo_port" 10 ||
    fail "c4 not registered: $(tail -3 "$TMPD/c4.err")"
out=$(timeout 10 python3 "$TL" echo1 "$rport" 65536) || fail "c4 tunnel: $out"
kill -KILL "$server"
wait_exit "$server" 5 >/dev/null
wait_log "$TMPD/c4.err" "disconnected from 127.0.0.1:$cport" 3 || fail "c4 did not notice the server's death"
sleep 1 # a few failed attempts: the client is backing off
start_server server2
t0=$(date +%s.%N)
out=$(timeout 10 python3 "$TL" wait_echo "$rport" 5) ||
    fail "tunnel not back within 5 s of the new server: $out; client: $(tail -3 "$TMPD/c4.err")"
note "tunnel back $(ms_since "$t0") ms after the new server started"
[ "$(grep -c "^tunnel svc: " "$TMPD/c4.out")" -eq 2 ] || fail "c4 did not print its tunnel again"

# 4. SIGSTOP the client: the server (heartbeat 500 ms; the mux keepalive at
# its 10 s default) ends the session within 2 x 500 ms + slack; after
# SIGCONT the client comes back.
sleep 1.5 # several heartbeats: the session is alive
grep -q "client silent" "$TMPD/server2.log" && fail "session found dead while the client was alive"
stopped=$(date +%s.%N)
kill -STOP "$c4"
wait_log "$TMPD/server2.log" "closed: client silent: no heartbeat within 1000 ms" 5 ||
    fail "stopped client not detected: $(tail -3 "$TMPD/server2.log")"
line=$(grep "client silent" "$TMPD/server2.log" | head -1)
elapsed=$(python3 -c '
import sys, datetime
ts = sys.argv[1].split()[0].rstrip("Z")
t = datetime.datetime.fromisoformat(ts).replace(tzinfo=datetime.timezone.utc).timestamp()
print(int((t - float(sys.argv[2])) * 1000))' "$line" "$stopped")
note "stopped client found dead ${elapsed} ms after SIGSTOP (heartbeat 500 ms)"
[ "$elapsed" -le 1300 ] || fail "detection took $elapsed ms (bound 2 x 500 ms heartbeat + 300 ms slack)"
# The port is free again at once: a public connection is refused.
python3 -c "
import socket, sys
try:
    socket.create_connection(('127.0.0.1', $rport), 2).close()
except ConnectionRefusedError:
    sys.exit(0)
sys.exit(1)" || fail "port $rport still open after its session ended"
kill -CONT "$c4"
out=$(timeout 15 python3 "$TL" wait_echo "$rport" 10) ||
    fail "client did not come back after SIGCONT: $out; $(tail -3 "$TMPD/c4.err")"
note "after SIGCONT: $out"

# 5. SIGSTOP the server: the client, whose heartbeats go unanswered, ends
# the session within 2-3 periods, retries with backoff, and is back with its
# port once the server runs again.
stopped=$(date +%s.%N)
kill -STOP "$server"
wait_log "$TMPD/c4.err" "server silent: no heartbeat answer" 5 ||
    fail "stopped server not detected by the client: $(tail -3 "$TMPD/c4.err")"
note "stopped server found silent by the client $(ms_since "$stopped") ms after SIGSTOP (heartbeat 500 ms)"
kill -CONT "$server"
out=$(timeout 15 python3 "$TL" wait_echo "$rport" 10) ||
    fail "tunnel not back after the server resumed: $out; $(tail -3 "$TMPD/c4.err")"
note "after the server resumed: $out"
kill -TERM "$c4"
wait_exit "$c4" 5 || fail "c4 exit status $? after SIGTERM"
kill -TERM "$server"
wait_exit "$server" 15 || fail "server exit status $? after SIGTERM"
echo "ok"
