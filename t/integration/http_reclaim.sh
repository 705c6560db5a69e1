#!/bin/sh
# A hostname belongs to one session, and its owner gets it back at once
# after a reconnect. The client's path to the server dies without a word to
# the server (a relay cuts the client's side and keeps the server's side
# open and silent), so the server still holds the old session, and the
# hostname, when the client comes back through a new connection: the new
# session of the same client takes the hostname over at once instead of
# waiting for the old one's heartbeat timeout (20 s here), and public
# requests reach the service again. Another client asking for the same
# subdomain meanwhile is refused, and retries.
. "$(dirname "$0")/lib.sh"
unset WARREN_HTTP_BIND

HL="$(cd "$(dirname "$0")" && pwd)/http_lib.py"
[ -x "$WARREN" ] || fail "warren not built"
command -v curl >/dev/null || skip "no curl"
PY=$(python3 -c 'import sys; print(sys.executable)') || fail "no python3"
ms_since() { "$PY" -c "import time,sys; print(int((time.time()-float(sys.argv[1]))*1000))" "$1"; }
code() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H "Host: app.example.test" "$1"; }

spawn "$TMPD/svc.log" "$PY" -u "$HL" serve --name svc
wait_log "$TMPD/svc.log" "^listening on" 10 || fail "service did not start"
sport=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$TMPD/svc.log")

cport=$(free_port)
hport=$(free_port)
export WARREN_TOKEN=reclaim-token
spawn "$TMPD/server.log" "$WARREN" server --bind "127.0.0.1:$cport" --http-bind "127.0.0.1:$hport" \
    --domain example.test --log-level debug
server=$!
wait_log "$TMPD/server.log" "http ingress on" 10 || fail "server did not start: $(tail -3 "$TMPD/server.log")"

spawn "$TMPD/relay.log" "$PY" -u "$HL" cutrelay "$cport"
relay=$!
wait_log "$TMPD/relay.log" "^listening on" 10 || fail "relay did not start"
rport=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$TMPD/relay.log")

cat >"$TMPD/client.yaml" <<EOF
server: 127.0.0.1:$rport
reconnect:
  initial: 100ms
  max: 500ms
tunnels:
  - {name: app, type: http, local: 127.0.0.1:$sport, subdomain: app}
EOF
spawn "$TMPD/client.log" "$WARREN" client -c "$TMPD/client.yaml" --log-level debug
client=$!
wait_log "$TMPD/client.log" "^tunnel app: " 10 || fail "client: $(tail -3 "$TMPD/client.log")"
[ "$(code "http://127.0.0.1:$hport/")" = 200 ] || fail "app before the cut"

# Another client (another process) asks for the same subdomain: refused,
# and it keeps retrying.
spawn "$TMPD/other.log" "$WARREN" client --server "127.0.0.1:$cport" --local-addr "127.0.0.1:$sport" \
    --subdomain app
other=$!
wait_log "$TMPD/other.log" "hostname app.example.test is taken by another client" 5 ||
    fail "the other client was not refused: $(tail -3 "$TMPD/other.log")"
kill -0 "$other" 2>/dev/null || fail "the other client gave up: a taken name is worth a retry"
kill "$other"
wait_exit "$other" 5 >/dev/null

# The path dies; the server is not told.
t0=$(date +%s.%N)
kill -USR1 "$relay"
i=0
while [ "$(grep -c '^tunnel app: ' "$TMPD/client.log")" -lt 2 ] && [ $i -lt 50 ]; do
    sleep 0.1; i=$((i + 1))
done
[ $i -lt 50 ] || fail "the client did not get app back within 5 s: $(tail -5 "$TMPD/client.log")"
ms=$(ms_since "$t0")
grep -q "replaced by a new session of the same client" "$TMPD/server.log" ||
    fail "the old session was not replaced: $(tail -5 "$TMPD/server.log")"
[ "$(code "http://127.0.0.1:$hport/")" = 200 ] || fail "app after the reconnect"
note "hostname app.example.test back to its owner $ms ms after the path died (old session's heartbeat timeout: 20 s)"
kill "$client"
wait_exit "$client" 5 || fail "client exit after SIGTERM"
kill "$server"
wait_exit "$server" 10 || fail "server exit after SIGTERM"
echo "ok"
