#!/bin/sh
# Hostile bytes on the control port: garbage, a TLS ClientHello to a plain
# server, silence, and hand-written HELLOs (tunnel_lib.py speaks the wire
# format) that are malformed or ask for too much. Each connection is closed
# with a reason logged; the server keeps serving a real client throughout.
. "$(dirname "$0")/lib.sh"

TL="$(cd "$(dirname "$0")" && pwd)/tunnel_lib.py"
[ -x "$WARREN" ] || fail "warren not built"

TOKEN=badinput-token
spawn "$TMPD/echo.log" python3 -u "$TL" echo
wait_log "$TMPD/echo.log" "^listening on" 10 || fail "echo service did not start"
echo_port=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$TMPD/echo.log")
lo=$(python3 "$TL" freerange 70) || fail "no free port range"
hi=$((lo + 69))
cport=$(free_port)
cat >"$TMPD/server.yaml" <<EOF
listen: 127.0.0.1:$cport
tcp_bind: 127.0.0.1
tcp_ports: $lo-$hi
handshake_timeout: 1s
workers: 2
EOF
spawn "$TMPD/server.log" "$WARREN" server -c "$TMPD/server.yaml" --token "$TOKEN"
server=$!
wait_log "$TMPD/server.log" "warren server listening on 127.0.0.1:$cport" 10 || fail "server did not start"

# A real client, up all along; check_alive: the server runs and the tunnel echoes.
rport=$((lo + 69))
"$WARREN" client --server "127.0.0.1:$cport" --token "$TOKEN" --local-addr "127.0.0.1:$echo_port" \
    --remote-port "$rport" >"$TMPD/client.out" 2>"$TMPD/client.err" &
client=$!
WR_PIDS="$WR_PIDS $client"
wait_log "$TMPD/client.out" "^tunnel tcp-$rport: " 10 || fail "client not registered: $(tail -3 "$TMPD/client.err")"
check_alive() {
    kill -0 "$server" 2>/dev/null || fail "after $1: the server is gone: $(tail -5 "$TMPD/server.log")"
    _o=$(timeout 60 python3 "$TL" echo1 "$rport" 65536) ||
        fail "after $1: the tunnel is broken: $_o"
}
# logged PATTERN: how many server log lines match.
logged() { grep -c -- "$1" "$TMPD/server.log"; }
# wait_new PATTERN BEFORE: waits for more than BEFORE such lines (up to 30 s:
# a ceiling for a loaded machine; the line normally comes at once).
wait_new() {
    _i=0
    while [ "$(logged "$1")" -le "$2" ]; do
        [ $_i -ge 300 ] && return 1
        sleep 0.1; _i=$((_i + 1))
    done
}
# closes_with KIND LOG-PATTERN: garbage of KIND is answered by a close and
# the server logs a new line matching the pattern; $closed says how.
closes_with() {
    _b=$(logged "$2")
    closed=$(timeout 60 python3 "$TL" garbage "$cport" "$1") || fail "$1: $closed"
    note "$closed"
    wait_new "$2" "$_b" || fail "$1: server logged no '$2': $(tail -3 "$TMPD/server.log")"
    check_alive "$1"
}

# 1. Garbage on the control port.
closes_with http "closed: protocol error: first byte 0x47 is neither smux nor warren"
closes_with random "closed: protocol error: first byte 0xff is neither smux nor warren"
closes_with clienthello "closed: protocol error: first byte 0x16 is neither smux nor warren"
closes_with smux "closed: .*\(protocol error\|smux\|warren\)"
closes_with badpreface "closed: protocol error: unsupported warren mux version 9"
# Silence, and a preface with no HELLO: ended by the handshake timeout (1 s),
# as each connection measures it (what the test does around them, starting
# processes and checking the tunnel, takes what the machine's load makes it).
for kind in silent preface; do
    closes_with $kind "closed: handshake timeout: no HELLO in time"
    ms=$(echo "$closed" | sed -n "s/^$kind: .* after \([0-9]*\) ms$/\1/p")
    [ -n "$ms" ] && [ "$ms" -ge 900 ] && [ "$ms" -le 5000 ] ||
        fail "$kind: the handshake timeout is 1 s: $closed"
done

# 2. Hand-written HELLOs. First a valid one: proves the encoder, so the
# refusals below are about what they break and nothing else.
ended=$(logged "closed: peer closed the connection")
out=$(timeout 90 python3 "$TL" hello "$cport" valid "$TOKEN" "$lo") || fail "valid HELLO: $out"
note "valid: $out"
echo "$out" | grep -qx "WELCOME tunnels=1 first=127.0.0.1:$lo" || fail "valid HELLO: $out"
wait_log "$TMPD/server.log" "client 'handmade', 1 tunnel(s)" 30 ||
    fail "server did not log the handmade session"
# It ends with the helper, and its port is free again (64 tunnels below).
wait_new "closed: peer closed the connection" "$ended" || fail "the handmade session did not end"

# hello_refused KIND CODE TEXT-PATTERN LOG-PATTERN: a REFUSE with CODE and
# a matching text, then the connection closed; the reason logged.
hello_refused() {
    _b=$(logged "refused: $4")
    _o=$(timeout 90 python3 "$TL" hello "$cport" "$1" "$TOKEN" "$lo") || fail "$1: $_o"
    note "$1: $_o"
    echo "$_o" | grep -q "^REFUSE code=$2 text=$3; then \(EOF\|[A-Za-z]*Error\)" ||
        fail "$1: expected REFUSE code $2 '$3' and a close, got: $_o"
    wait_new "refused: $4" "$_b" || fail "$1: server logged no reason: $(tail -3 "$TMPD/server.log")"
    check_alive "$1"
}
hello_refused runpast 5 "field in HELLO runs past the message (500 bytes)" \
    "bad request: field in HELLO runs past the message (500 bytes)"
hello_refused nested 5 "tunnel field runs past its message (4000 bytes)" \
    "bad request: tunnel field runs past its message (4000 bytes)"
hello_refused tunnels65 5 "more than 64 tunnels" "bad request: more than 64 tunnels"
hello_refused badname 5 ".*name.*" "bad request: .*name"
hello_refused msgversion 5 ".*version 2.*" "bad request: .*version 2"
hello_refused version 1 ".*version.*" "no common protocol version: "
hello_refused notoken 2 "a token is required" "authentication failed: a token is required"

# 64 tunnels is the limit, and allowed (the valid session above is over:
# its port is free).
out=$(timeout 90 python3 "$TL" hello "$cport" tunnels64 "$TOKEN" "$lo") || fail "64 tunnels: $out"
echo "$out" | grep -q "^WELCOME tunnels=64 " || fail "64 tunnels: $out"
note "tunnels64: $out"
check_alive "64 tunnels"

grep -q "AddressSanitizer\|runtime error" "$TMPD/server.log" && fail "sanitizer report in the server log"
kill -TERM "$client"
wait_exit "$client" 5 || fail "client exit status $? after SIGTERM"
kill -TERM "$server"
wait_exit "$server" 15 || fail "server exit status $? after SIGTERM"
echo "ok"
