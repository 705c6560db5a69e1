#!/bin/sh
# Who may open a tunnel: a bad token is refused for good and never logged,
# a port outside the range is refused naming the range, a taken port makes
# the second client wait and retry, and a bad server.yaml is caught by -t.
. "$(dirname "$0")/lib.sh"

TL="$(cd "$(dirname "$0")" && pwd)/tunnel_lib.py"
[ -x "$WARREN" ] || fail "warren not built"

# Distinctive strings: neither may appear in any log line of this script.
TOKEN="Kq7vX-good-tunnel-SECRET-3fd1"
BADTOKEN="Zr9wY-bad-tunnel-SECRET-77b2"

spawn "$TMPD/echo.log" python3 -u "$TL" echo
wait_log "$TMPD/echo.log" "^listening on" 10 || fail "echo service did not start"
echo_port=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$TMPD/echo.log")
lo=$(python3 "$TL" freerange 6) || fail "no free port range"
hi=$((lo + 4)); rport=$((lo + 1)); outside=$((hi + 1))
cport=$(free_port)

spawn "$TMPD/server.log" "$WARREN" server --bind "127.0.0.1:$cport" --tcp-bind 127.0.0.1 \
    --tcp-ports "$lo-$hi" --token "$TOKEN" --log-level debug
server=$!
wait_log "$TMPD/server.log" "warren server listening on" 10 || fail "server did not start"

# client NAME ARGS...: runs a client in the background (stdout NAME.out,
# stderr NAME.err); its PID in $!.
client() {
    _cn=$1; shift
    "$WARREN" client --server "127.0.0.1:$cport" --log-level debug "$@" \
        >"$TMPD/$_cn.out" 2>"$TMPD/$_cn.err" &
    WR_PIDS="$WR_PIDS $!"
}
elapsed_ms() { python3 -c "import time,sys; print(int((time.time()-float(sys.argv[1]))*1000))" "$1"; }

# 1. A bad token: refused, exit 1, within 3 s, with the exact message.
t0=$(date +%s.%N)
client bad --token "$BADTOKEN" --local-addr "127.0.0.1:$echo_port" --remote-port "$rport"
bad=$!
wait_exit "$bad" 3
rc=$?
[ $rc -eq 1 ] || fail "bad token: client exit $rc (expected 1 within 3 s): $(tail -3 "$TMPD/bad.err")"
note "bad token: exit 1 after $(elapsed_ms "$t0") ms"
grep -qx "warren: server refused: authentication failed: invalid token" "$TMPD/bad.err" ||
    fail "bad token: stderr is: $(cat "$TMPD/bad.err")"
grep -q "refused: authentication failed: invalid token" "$TMPD/server.log" ||
    fail "server did not log the refusal"
grep -q "^tunnel " "$TMPD/bad.out" && fail "refused client printed a tunnel"

# The same through WARREN_TOKEN.
WARREN_TOKEN="$BADTOKEN" "$WARREN" client --server "127.0.0.1:$cport" --log-level debug \
    --local-addr "127.0.0.1:$echo_port" --remote-port "$rport" >"$TMPD/badenv.out" 2>"$TMPD/badenv.err" &
badenv=$!
WR_PIDS="$WR_PIDS $badenv"
wait_exit "$badenv" 3
rc=$?
[ $rc -eq 1 ] || fail "bad WARREN_TOKEN: client exit $rc"
grep -q "authentication failed: invalid token" "$TMPD/badenv.err" || fail "bad WARREN_TOKEN: $(cat "$TMPD/badenv.err")"

# 2. The good token (from WARREN_TOKEN) works end to end.
WARREN_TOKEN="$TOKEN" "$WARREN" client --server "127.0.0.1:$cport" --log-level debug \
    --local-addr "127.0.0.1:$echo_port" --remote-port "$rport" >"$TMPD/good.out" 2>"$TMPD/good.err" &
good=$!
WR_PIDS="$WR_PIDS $good"
wait_log "$TMPD/good.out" "^tunnel tcp-$rport: tcp://127.0.0.1:$rport -> 127.0.0.1:$echo_port" 10 ||
    fail "good client not registered: $(tail -3 "$TMPD/good.err")"
out=$(timeout 20 python3 "$TL" echo1 "$rport" 1048576) || fail "echo through the tunnel: $out"

# 3. A port outside the range: refused naming the range, exit 1.
client outside --token "$TOKEN" --local-addr "127.0.0.1:$echo_port" --remote-port "$outside"
op=$!
wait_exit "$op" 3
rc=$?
[ $rc -eq 1 ] || fail "port outside the range: client exit $rc: $(tail -3 "$TMPD/outside.err")"
grep -q "^warren: server refused: not allowed: .*$outside.*$lo-$hi" "$TMPD/outside.err" ||
    fail "port outside the range: stderr is: $(cat "$TMPD/outside.err")"
note "$(grep 'server refused' "$TMPD/outside.err")"

# 4. The port is taken: the second client is told so, keeps running and
# retries; it gets the port once the first one is gone.
client second --token "$TOKEN" --local-addr "127.0.0.1:$echo_port" --remote-port "$rport"
second=$!
wait_log "$TMPD/second.err" "warren: server refused: already taken: port $rport is taken by another client" 5 ||
    fail "second client: no 'already taken': $(cat "$TMPD/second.err")"
wait_log "$TMPD/second.err" "reconnecting in" 3 || fail "second client does not retry: $(tail -3 "$TMPD/second.err")"
sleep 0.5
kill -0 "$second" 2>/dev/null || fail "second client exited on 'already taken'"
grep -q "^tunnel " "$TMPD/second.out" && fail "second client got the taken port"
out=$(timeout 20 python3 "$TL" echo1 "$rport" 65536) || fail "first client's tunnel broken by the second: $out"
kill -TERM "$good"
wait_exit "$good" 5 || fail "first client exit status $? after SIGTERM"
# The refusal asked for a retry after 5 s; allow that and the backoff.
wait_log "$TMPD/second.out" "^tunnel tcp-$rport: " 12 ||
    fail "second client did not get the freed port: $(tail -3 "$TMPD/second.err")"
out=$(timeout 20 python3 "$TL" wait_echo "$rport" 5) || fail "second client's tunnel: $out"
kill -TERM "$second"
wait_exit "$second" 5 || fail "second client exit status $? after SIGTERM"

# 5. A token from server.yaml (as its SHA-256) and a client's token_file.
digest=$(printf %s "$TOKEN" | sha256sum | cut -d' ' -f1)
cport2=$(free_port)
cat >"$TMPD/server.yaml" <<EOF
listen: 127.0.0.1:$cport2
tcp_bind: 127.0.0.1
tcp_ports: $lo-$hi
tokens:
  - $digest
log:
  level: debug
EOF
"$WARREN" -t -c "$TMPD/server.yaml" >"$TMPD/t.out" 2>&1 || fail "server.yaml: $(cat "$TMPD/t.out")"
spawn "$TMPD/server2.log" "$WARREN" server -c "$TMPD/server.yaml"
wait_log "$TMPD/server2.log" "warren server listening on 127.0.0.1:$cport2" 10 || fail "server2 did not start"
printf '%s\n' "$TOKEN" >"$TMPD/token"
cat >"$TMPD/client.yaml" <<EOF
server: 127.0.0.1:$cport2
token_file: $TMPD/token
log:
  level: debug
tunnels:
  - name: filed
    local: 127.0.0.1:$echo_port
    remote_port: $((rport + 1))
EOF
"$WARREN" client -c "$TMPD/client.yaml" >"$TMPD/filed.out" 2>"$TMPD/filed.err" &
WR_PIDS="$WR_PIDS $!"
wait_log "$TMPD/filed.out" "^tunnel filed: " 10 || fail "token_file client: $(tail -3 "$TMPD/filed.err")"
out=$(timeout 20 python3 "$TL" echo1 "$((rport + 1))" 65536) || fail "token_file tunnel: $out"

# 6. No log line anywhere holds either token.
for f in "$TMPD"/*.log "$TMPD"/*.err "$TMPD"/*.out; do
    grep -lF -e "$TOKEN" -e "$BADTOKEN" "$f" && fail "a token appears in $(basename "$f"): $(grep -F -e "$TOKEN" -e "$BADTOKEN" "$f" | head -2)"
done
grep -q "session" "$TMPD/server.log" || fail "server log empty?"

kill -0 "$server" 2>/dev/null || fail "the server exited"

# 7. warren -t on a bad server.yaml: exit 1, file:line:col.
printf 'listen: 127.0.0.1:7835\ntcp_ports: 9-1\n' >"$TMPD/bad.yaml"
out=$("$WARREN" -t -c "$TMPD/bad.yaml" 2>&1)
rc=$?
[ $rc -eq 1 ] || fail "-t on a bad file: exit $rc ($out)"
[ "$out" = "warren: $TMPD/bad.yaml:2:12: 'tcp_ports' expects a range LOW-HIGH within 1-65535, got \"9-1\"" ] ||
    fail "-t on a bad file: $out"
# A server started on it refuses to run.
"$WARREN" server -c "$TMPD/bad.yaml" >"$TMPD/badstart.txt" 2>&1 &
bs=$!
WR_PIDS="$WR_PIDS $bs"
wait_exit "$bs" 5
rc=$?
[ $rc -eq 1 ] || fail "server on a bad file: exit $rc: $(cat "$TMPD/badstart.txt")"
grep -q "bad.yaml:2:12:" "$TMPD/badstart.txt" || fail "server on a bad file: $(cat "$TMPD/badstart.txt")"
echo "ok"
