#!/bin/sh
# HTTP tunnels end to end: a warren server with two workers (so that public
# connections move between them to reach the session that owns their host),
# three local web services (http_lib.py serve) published by two clients, one
# in quick mode and one from a client.yaml, and public requests by curl and
# the http_lib.py clients: routing by Host, the X-Forwarded-* and hop-by-hop
# rewriting, 32 MiB transfers both ways, keep-alive, pipelining, pooling,
# SSE, WebSocket, the errors (404, 400, 502, 504, a cut response), the token
# kept out of every log, and SIGTERM.
. "$(dirname "$0")/lib.sh"
unset WARREN_HTTP_BIND # this test serves HTTP: the file or flags say where

HL="$(cd "$(dirname "$0")" && pwd)/http_lib.py"
[ -x "$WARREN" ] || fail "warren not built"
command -v curl >/dev/null || skip "no curl"
# The interpreter itself: a pyenv shim costs ~0.3 s a start.
PY=$(python3 -c 'import sys; print(sys.executable)') || fail "no python3"
HL_() { "$PY" "$HL" "$@"; }

# The token reaches warren only through the environment, and must not show
# up in any log or output.
TOKEN="wr-http-tunnel-$$-s3cr3t"
export WARREN_TOKEN="$TOKEN"

# start_http NAME ARGS...: the service NAME; sets NAME_pid and NAME_port.
start_http() {
    _svc=$1; shift
    spawn "$TMPD/$_svc.log" "$PY" -u "$HL" serve --name "$_svc" "$@"
    eval "${_svc}_pid=$!"
    wait_log "$TMPD/$_svc.log" "^listening on" 10 || fail "$_svc service did not start: $(cat "$TMPD/$_svc.log")"
    eval "${_svc}_port=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$TMPD/$_svc.log")"
}
# hdr FILE NAME: the value of header NAME in a curl -D dump.
hdr() { tr -d '\r' <"$1" | sed -n "s/^$2: //Ip" | head -n 1; }
# hj FILE NAME: every value of header NAME in a /headers JSON, joined by '|'
# ("-" when there is none).
hj() {
    "$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
v = [x[1] for x in d["headers"] if x[0].lower() == sys.argv[2].lower()]
print("|".join(v) if v else "-")' "$1" "$2" || fail "/headers is not JSON: $(cat "$1")"
}
# soft_fail MSG: a failure that lets the remaining checks run; the script
# still fails at the end.
SOFT=0
soft_fail() { printf "FAIL: %s\n" "$*"; SOFT=$((SOFT + 1)); }
# ms_since T0: milliseconds since T0 (from date +%s.%N).
ms_since() { "$PY" -c "import time,sys; print(int((time.time()-float(sys.argv[1]))*1000))" "$1"; }

start_http alpha
start_http beta
start_http gamma

cport=$(free_port)
hport=$(free_port)
spawn "$TMPD/server.log" "$WARREN" server --bind "127.0.0.1:$cport" --http-bind "127.0.0.1:$hport" \
    --domain example.test --tcp-bind 127.0.0.1 --workers 2 --log-level debug
server=$!
wait_log "$TMPD/server.log" "http ingress on 127.0.0.1:$hport" 10 ||
    fail "server did not start: $(tail -3 "$TMPD/server.log")"
grep -q "warren server listening on 127.0.0.1:$cport" "$TMPD/server.log" ||
    fail "server log: $(cat "$TMPD/server.log")"

# Client 1, quick mode: app.example.test -> alpha.
"$WARREN" client --server "127.0.0.1:$cport" --local-addr "127.0.0.1:$alpha_port" --subdomain app \
    --log-level debug >"$TMPD/client1.out" 2>"$TMPD/client1.err" &
client1=$!
WR_PIDS="$WR_PIDS $client1"
wait_log "$TMPD/client1.out" "^tunnel web: " 10 || fail "client 1 not registered: $(tail -3 "$TMPD/client1.err")"
grep -qx "tunnel web: http://app.example.test:$hport -> 127.0.0.1:$alpha_port" "$TMPD/client1.out" ||
    fail "client 1 stdout: $(cat "$TMPD/client1.out")"
wait_log "$TMPD/server.log" "session 1: tunnel web on http://app.example.test:$hport" 5 ||
    fail "server: no tunnel line for app: $(tail -3 "$TMPD/server.log")"

# Client 2, client.yaml: api.example.test -> beta (which sees Host:
# beta.internal), gone.example.test -> gamma.
cat >"$TMPD/client.yaml" <<EOF
server: 127.0.0.1:$cport
name: http-test
reconnect:
  initial: 100ms
  max: 1s
tunnels:
  - name: api
    type: http
    local: 127.0.0.1:$beta_port
    hostname: api.example.test
    host_header: beta.internal
  - name: gone
    type: http
    local: 127.0.0.1:$gamma_port
    subdomain: gone
EOF
"$WARREN" client -c "$TMPD/client.yaml" --log-level debug >"$TMPD/client2.out" 2>"$TMPD/client2.err" &
client2=$!
WR_PIDS="$WR_PIDS $client2"
wait_log "$TMPD/client2.out" "^tunnel gone: " 10 || fail "client 2 not registered: $(tail -3 "$TMPD/client2.err")"
grep -qx "tunnel api: http://api.example.test:$hport -> 127.0.0.1:$beta_port" "$TMPD/client2.out" ||
    fail "client 2 stdout: $(cat "$TMPD/client2.out")"
grep -qx "tunnel gone: http://gone.example.test:$hport -> 127.0.0.1:$gamma_port" "$TMPD/client2.out" ||
    fail "client 2 stdout: $(cat "$TMPD/client2.out")"
wait_log "$TMPD/server.log" "session 2 from 127.0.0.1:[0-9]*: client 'http-test', 2 tunnel(s)" 5 ||
    fail "server did not log session 2: $(tail -3 "$TMPD/server.log")"
w1=$(sed -n 's/.*\[\(w[0-9]\)\] session 1 from.*/\1/p' "$TMPD/server.log")
w2=$(sed -n 's/.*\[\(w[0-9]\)\] session 2 from.*/\1/p' "$TMPD/server.log")
note "session 1 (app) on $w1, session 2 (api, gone) on $w2"

R="--resolve app.example.test:$hport:127.0.0.1 --resolve api.example.test:$hport:127.0.0.1"
R="$R --resolve gone.example.test:$hport:127.0.0.1 --resolve nope.example.test:$hport:127.0.0.1"
# c ARGS...: curl through the tunnel (bounded).
c() { curl -sS --max-time 30 $R "$@"; }
A="http://app.example.test:$hport"
B="http://api.example.test:$hport"

# 1. Routing by Host.
body=$(c -D "$TMPD/h" "$A/") || fail "GET / on app"
[ "$body" = "hello from alpha" ] || fail "GET / on app: '$body'"
[ "$(hdr "$TMPD/h" X-Service)" = alpha ] || fail "GET / on app: $(cat "$TMPD/h")"
body=$(c "$B/") || fail "GET / on api"
[ "$body" = "hello from beta" ] || fail "GET / on api: '$body'"
for i in 1 2 3 4; do # both workers accept, both hosts answer from each
    [ "$(c "$A/")" = "hello from alpha" ] && [ "$(c "$B/")" = "hello from beta" ] ||
        fail "routing round $i"
done
code=$(c -o "$TMPD/b" -w '%{http_code}' "http://nope.example.test:$hport/x") || fail "GET on an unknown host"
[ "$code" = 404 ] || fail "unknown host answered $code: $(cat "$TMPD/b")"
[ "$(head -n 1 "$TMPD/b")" = "404 Not Found" ] && grep -q "no tunnel serves this host" "$TMPD/b" ||
    fail "unknown host: page '$(cat "$TMPD/b")'"
out=$(HL_ raw 127.0.0.1 "$hport" 'GET / HTTP/1.1\r\nUser-Agent: x\r\n\r\n') || fail "$out"
[ "$out" = "raw: HTTP/1.1 400 Bad Request; closed" ] || fail "HTTP/1.1 without Host: $out"
# An unknown host on a keep-alive connection does not end it, nor does one
# for a HEAD request, whose 404 has no body. Twice each: consecutive
# connections are accepted by different workers, and the 404 is answered
# on the accepting worker, before the GET moves the connection to app's.
for i in 1 2; do
    out=$(HL_ raw 127.0.0.1 "$hport" --close-wait 0.3 'GET / HTTP/1.1\r\nHost: nope.example.test\r\n\r\nGET / HTTP/1.1\r\nHost: app.example.test\r\n\r\n' 2>&1)
    [ "$out" = "raw: HTTP/1.1 404 Not Found + HTTP/1.1 200 OK; open" ] ||
        soft_fail "404 then GET (connection $i): $(printf %s "$out" | tr '\n' '|')"
done
for i in 1 2; do
    out=$(HL_ raw 127.0.0.1 "$hport" --close-wait 0.3 'HEAD / HTTP/1.1\r\nHost: nope.example.test\r\n\r\nGET / HTTP/1.1\r\nHost: app.example.test\r\n\r\n' 2>&1)
    [ "$out" = "raw: HTTP/1.1 404 Not Found + HTTP/1.1 200 OK; open" ] ||
        soft_fail "HEAD on an unknown host, then GET (connection $i): $(printf %s "$out" | tr '\n' '|')"
done

# 2. Forwarding headers: X-Forwarded-* set (For appended to), hop-by-hop
# fields and those Connection lists removed, spoofed Proto and Host replaced.
c -H 'X-Forwarded-For: 10.1.2.3' -H 'X-Forwarded-Proto: https' -H 'X-Forwarded-Host: evil.test' \
    -H 'Connection: keep-alive, X-Custom' -H 'X-Custom: drop me' -H 'Keep-Alive: timeout=5' \
    -H 'Proxy-Connection: keep-alive' -H 'TE: trailers' -H 'X-Kept: yes' \
    "$A/headers" >"$TMPD/h.json" || fail "GET /headers"
for spec in "X-Forwarded-For=10.1.2.3, 127.0.0.1" "X-Forwarded-Proto=http" \
    "X-Forwarded-Host=app.example.test:$hport" "Host=app.example.test:$hport" "X-Kept=yes" \
    "Connection=-" "Keep-Alive=-" "Proxy-Connection=-" "TE=-" "X-Custom=-"; do
    got=$(hj "$TMPD/h.json" "${spec%%=*}")
    [ "$got" = "${spec#*=}" ] || fail "/headers: ${spec%%=*} is '$got', expected '${spec#*=}': $(cat "$TMPD/h.json")"
done
grep -qF '"request_line": "GET /headers HTTP/1.1"' "$TMPD/h.json" || fail "/headers: $(cat "$TMPD/h.json")"
c "$B/headers" >"$TMPD/h.json" || fail "GET /headers on api"
for spec in "Host=beta.internal" "X-Forwarded-For=127.0.0.1" "X-Forwarded-Proto=http" \
    "X-Forwarded-Host=api.example.test:$hport"; do
    got=$(hj "$TMPD/h.json" "${spec%%=*}")
    [ "$got" = "${spec#*=}" ] || fail "api /headers: ${spec%%=*} is '$got', expected '${spec#*=}': $(cat "$TMPD/h.json")"
done
# W3C trace context without plugins: a request without a valid
# traceparent gets one, a valid one passes as it is.
hj "$TMPD/h.json" traceparent | grep -Eqx '00-[0-9a-f]{32}-[0-9a-f]{16}-01' ||
    fail "api /headers: traceparent '$(hj "$TMPD/h.json" traceparent)'"
tp=00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00
c -H "traceparent: $tp" "$A/headers" >"$TMPD/h.json" || fail "GET /headers with a traceparent"
[ "$(hj "$TMPD/h.json" traceparent)" = "$tp" ] || fail "traceparent $tp became $(hj "$TMPD/h.json" traceparent)"
c -H "traceparent: 00-$tp" "$A/headers" >"$TMPD/h.json" || fail "GET /headers with a bad traceparent"
hj "$TMPD/h.json" traceparent | grep -Eqx '00-[0-9a-f]{32}-[0-9a-f]{16}-01' ||
    fail "a bad traceparent became '$(hj "$TMPD/h.json" traceparent)'"

# 3. 32 MiB down by Content-Length, chunked (with a trailer), and over
# HTTP/1.0 (the service ends the body by closing); HEAD; 204 and 304.
n=33554432
c -D "$TMPD/h" -o "$TMPD/dl" -w '%{speed_download} %{time_total}\n' "$A/bytes/$n" >"$TMPD/speed" ||
    fail "download"
sum=$(sha256sum "$TMPD/dl" | cut -d' ' -f1)
[ "$(hdr "$TMPD/h" X-SHA256)" = "$sum" ] || fail "download: sha256 $sum, X-SHA256 $(hdr "$TMPD/h" X-SHA256)"
[ "$(hdr "$TMPD/h" Content-Length)" = $n ] || fail "download: $(cat "$TMPD/h")"
note "32 MiB download through the tunnel: $(awk '{ printf "%.1f MB/s (%.2f s)", $1 / 1e6, $2 }' "$TMPD/speed")"
c -D "$TMPD/h" -o "$TMPD/dl" "$A/bytes/$n?chunked=1&trailer=1" || fail "chunked download"
[ "$(sha256sum "$TMPD/dl" | cut -d' ' -f1)" = "$sum" ] || fail "chunked download differs ($(wc -c <"$TMPD/dl") bytes)"
[ "$(hdr "$TMPD/h" Transfer-Encoding)" = chunked ] || fail "chunked download: $(cat "$TMPD/h")"
[ "$(hdr "$TMPD/h" X-Trailer-SHA256)" = "$sum" ] || fail "chunked download: trailer lost: $(cat "$TMPD/h")"
c -0 -D "$TMPD/h" -o "$TMPD/dl" "$B/bytes/$n" || fail "HTTP/1.0 download"
[ "$(sha256sum "$TMPD/dl" | cut -d' ' -f1)" = "$sum" ] || fail "HTTP/1.0 download differs ($(wc -c <"$TMPD/dl") bytes)"
[ "$(hdr "$TMPD/h" Connection)" = close ] || fail "HTTP/1.0 download: $(cat "$TMPD/h")"
rm -f "$TMPD/dl"
c -I "$A/bytes/$n" >"$TMPD/h" || fail "HEAD"
[ "$(hdr "$TMPD/h" Content-Length)" = $n ] && [ "$(hdr "$TMPD/h" X-SHA256)" = "$sum" ] ||
    fail "HEAD: $(cat "$TMPD/h")"
# No body after HEAD, 204, 304: the next pipelined response parses.
for first in "HEAD /bytes/1000" "GET /status/204" "GET /status/304"; do
    out=$(HL_ raw 127.0.0.1 "$hport" --close-wait 0.3 "$first"' HTTP/1.1\r\nHost: app.example.test\r\n\r\nGET /status/418 HTTP/1.1\r\nHost: app.example.test\r\n\r\n') ||
        fail "$first: $out"
    case $out in "raw: HTTP/1.1 "[23]0[04]" "*" + HTTP/1.1 418 I'm a teapot; open") ;; *) fail "$first + GET: $out" ;; esac
done
for code in 204 304; do
    got=$(c -D "$TMPD/h" -o "$TMPD/b" -w '%{http_code}' "$A/status/$code") || fail "/status/$code"
    [ "$got" = $code ] || fail "/status/$code answered $got"
    [ ! -s "$TMPD/b" ] || fail "/status/$code has a body"
    [ -z "$(hdr "$TMPD/h" Content-Length)" ] || fail "/status/$code has a Content-Length"
done

# 4. 32 MiB up: Content-Length, chunked from a pipe, and with Expect:
# 100-continue (the 100 must come through, curl must not wait it out).
head -c $n /dev/urandom >"$TMPD/up" || fail "no upload file"
up=$(sha256sum "$TMPD/up" | cut -d' ' -f1)
speed=$(c -H 'Expect:' --data-binary @"$TMPD/up" -o "$TMPD/b" -w '%{speed_upload}' "$A/upload") || fail "upload"
out=$(cat "$TMPD/b")
[ "$out" = "{\"length\": $n, \"sha256\": \"$up\", \"chunked\": false, \"trailers\": []}" ] ||
    fail "upload: $out"
note "32 MiB upload (Content-Length): $(echo "$speed" | awk '{ printf "%.1f MB/s", $1 / 1e6 }')"
out=$(cat "$TMPD/up" | c -X POST -T - "$A/upload") || fail "chunked upload"
[ "$out" = "{\"length\": $n, \"sha256\": \"$up\", \"chunked\": true, \"trailers\": []}" ] ||
    fail "chunked upload: $out"
t0=$(date +%s.%N)
out=$(c -v -H 'Expect: 100-continue' --expect100-timeout 5 --data-binary @"$TMPD/up" "$B/upload" 2>"$TMPD/curl.err") ||
    fail "upload with Expect: $(tail -3 "$TMPD/curl.err")"
ms=$(ms_since "$t0")
[ "$out" = "{\"length\": $n, \"sha256\": \"$up\", \"chunked\": false, \"trailers\": []}" ] ||
    fail "upload with Expect: $out"
grep -q '^< HTTP/1.1 100 Continue' "$TMPD/curl.err" ||
    fail "upload with Expect: no 100 Continue: $(grep '^[<>]' "$TMPD/curl.err")"
[ "$ms" -lt 4500 ] || fail "upload with Expect took $ms ms"
note "32 MiB upload with Expect: 100-continue: $ms ms"
rm -f "$TMPD/up"

# 5. Keep-alive, pipelining, and the client's pool of service connections.
out=$(HL_ keepalive 127.0.0.1 "$hport" 100 --host app.example.test) || fail "$out"
[ "$out" = "keepalive: 100 responses on 1 connection" ] || fail "$out"
out=$(HL_ pipeline 127.0.0.1 "$hport" 20 --host app.example.test) || fail "$out"
[ "$out" = "pipeline: 20 responses in order on 1 connection" ] || fail "$out"
# Pipelined requests for hosts of both sessions (on different workers), on
# one public connection that has to move between the workers with the
# previous response still going out. (Checked to the end: see soft_fail.)
out=$(HL_ raw 127.0.0.1 "$hport" --close-wait 0.5 'GET /bytes/3000000 HTTP/1.1\r\nHost: app.example.test\r\n\r\nGET /bytes/3000001 HTTP/1.1\r\nHost: api.example.test\r\n\r\nGET /bytes/3000002 HTTP/1.1\r\nHost: app.example.test\r\n\r\nGET /status/418 HTTP/1.1\r\nHost: api.example.test\r\n\r\n' 2>&1)
[ "$out" = "raw: HTTP/1.1 200 OK + HTTP/1.1 200 OK + HTTP/1.1 200 OK + HTTP/1.1 418 I'm a teapot; open" ] ||
    soft_fail "pipelined requests for hosts on different workers: $(printf %s "$out" | head -c 160 | tr -c '[:print:]' '?')"
out=$(HL_ raw 127.0.0.1 "$hport" --close-wait 0.5 'GET / HTTP/1.1\r\nHost: app.example.test\r\n\r\nGET / HTTP/1.1\r\nHost: api.example.test\r\n\r\n' --body 2>&1)
[ "$out" = "raw: HTTP/1.1 200 OK + HTTP/1.1 200 OK; open
hello from alpha
hello from beta" ] || soft_fail "two small pipelined requests for app and api: $(printf %s "$out" | tr '\n' '|')"
# Pipelined requests, then the client's FIN: every response still comes,
# in order, then the server closes.
out=$(HL_ raw 127.0.0.1 "$hport" --half-close 'GET /bytes/100000 HTTP/1.1\r\nHost: app.example.test\r\n\r\nGET /status/418 HTTP/1.1\r\nHost: app.example.test\r\n\r\nGET / HTTP/1.1\r\nHost: app.example.test\r\n\r\n' 2>&1)
[ "$out" = "raw: HTTP/1.1 200 OK + HTTP/1.1 418 I'm a teapot + HTTP/1.1 200 OK; closed" ] ||
    soft_fail "pipelined requests then a half-close: $(printf %s "$out" | head -c 200)"
c0=$(c "$A/conns") || fail "/conns"
out=$(HL_ conns 127.0.0.1 "$hport" 50 --host app.example.test) || fail "$out"
[ "$out" = "conns: 50 requests on 50 connections" ] || fail "$out"
c1=$(c "$A/conns") || fail "/conns"
note "pooling: 50 public connections (+1 /conns) made $((c1 - c0)) new connections to the service"
[ $((c1 - c0)) -le 5 ] || fail "pooling: /conns went from $c0 to $c1 over 51 public connections"
grep -q "is served on worker" "$TMPD/server.log" || fail "no connection ever moved between the workers"
note "connections moved between workers: $(grep -c "is served on worker" "$TMPD/server.log")"

# 6. SSE: every event comes through before the next is written.
out=$(HL_ sse "http://127.0.0.1:$hport/sse" 5 300 --host app.example.test) || fail "$out"
case $out in "sse: 5 events streamed, max latency "*) note "$out" ;; *) fail "$out" ;; esac

# 7. WebSocket. First the round trip of one 64 KiB message, ten times: a
# millisecond or two on 127.0.0.1, unless a socket on the way holds back the
# last segment for the peer's delayed ACK (Nagle: ~40 ms each time).
out=$("$PY" - "$HL" "$hport" <<'PY'
import base64, os, statistics, struct, sys, time
sys.path.insert(0, os.path.dirname(sys.argv[1]))
import http_lib as H
c = H.Client("127.0.0.1", int(sys.argv[2]), 10)
key = base64.b64encode(os.urandom(16)).decode()
c.send(H.request_bytes("GET", "/ws", "app.example.test", [
    ("Upgrade", "websocket"), ("Connection", "Upgrade"),
    ("Sec-WebSocket-Key", key), ("Sec-WebSocket-Version", "13")]))
r = H.read_response(c)
if r.status != 101:
    sys.exit("handshake: " + r.line)
ms = []
for i in range(10):
    p, k = os.urandom(65536), os.urandom(4)
    t0 = time.monotonic()
    c.send(H.ws_header(2, len(p), True, k) + H.ws_mask(p, k))
    b0, b1 = c.readexactly(2)
    n = struct.unpack("!Q", c.readexactly(8))[0] if b1 & 0x7F == 127 else struct.unpack("!H", c.readexactly(2))[0]
    if c.readexactly(n) != p:
        sys.exit("echo differs")
    ms.append((time.monotonic() - t0) * 1000)
print("%.1f %.1f" % (statistics.median(ms), max(ms)))
PY
) || fail "ws round trips: $out"
note "ws: 64 KiB echo round trip through the tunnel: median ${out% *} ms, max ${out#* } ms"
awk "BEGIN { exit !(${out% *} < 20) }" ||
    soft_fail "ws: a 64 KiB echo takes ${out% *} ms through the tunnel (delayed ACK? no TCP_NODELAY to the service?)"
# 1000 messages (0 B..1 MiB, fragmented, pings) echoed.
out=$(HL_ ws "ws://127.0.0.1:$hport/ws" 1000 --host app.example.test --timeout 20) || fail "$out"
case $out in "ws: 1000 messages echoed, "*" bytes, in "*" ms") note "$out" ;; *) fail "$out" ;; esac
wait_log "$TMPD/alpha.log" "^ws conn [0-9]*: 1000 messages, .*close 1000 from the client" 5 ||
    fail "ws: the service did not log the close: $(grep '^ws' "$TMPD/alpha.log")"

# 8. A service that is gone: 502 at once (its pooled connection had been
# used before), and the other tunnels do not mind.
[ "$(c "http://gone.example.test:$hport/")" = "hello from gamma" ] || fail "gamma before it stops"
kill -TERM "$gamma_pid"
wait_exit "$gamma_pid" 5
t0=$(date +%s.%N)
code=$(c -o "$TMPD/b" -w '%{http_code}' "http://gone.example.test:$hport/") || fail "GET on gone"
ms=$(ms_since "$t0")
[ "$code" = 502 ] || fail "a stopped service answered $code: $(cat "$TMPD/b")"
[ "$(head -n 1 "$TMPD/b")" = "502 Bad Gateway" ] || fail "502 page: $(cat "$TMPD/b")"
[ "$ms" -lt 2000 ] || fail "the 502 took $ms ms"
note "stopped service: 502 after $ms ms: $(sed -n 2p "$TMPD/b")"
[ "$(c "$A/")" = "hello from alpha" ] || fail "app after the 502"

# 8b. A pooled connection the service closes just as a request goes out on
# it: the GET, safe to repeat, goes again on a new connection.
[ "$(c "$A/drop-next")" = "the next one is dropped" ] || fail "GET /drop-next"
out=$(c -w ' %{http_code}' "$A/") || fail "GET after /drop-next: $out"
[ "$out" = "hello from alpha
 200" ] || fail "a GET the service dropped on a pooled connection was not sent again: $out"
wait_log "$TMPD/alpha.log" "^conn [0-9]*: dropped GET / " 5 ||
    fail "the service dropped nothing: the pooled connection was not the one used"
note "a request dropped on a pooled connection was sent again and answered"

# 9. /close-mid: half the body, then the service closes: the public client
# sees the connection end (not a hang, not a complete response).
for q in "n=1000000" "n=1000000&rst=1"; do
    t0=$(date +%s.%N)
    timeout 15 curl -sS $R -o "$TMPD/b" "$A/close-mid?$q" 2>"$TMPD/curl.err"
    rc=$?
    ms=$(ms_since "$t0")
    case $rc in
    18 | 56 | 52) ;;
    *) fail "close-mid?$q: curl exit $rc after $ms ms: $(cat "$TMPD/curl.err")" ;;
    esac
    got=$(wc -c <"$TMPD/b")
    [ "$got" -lt 1000000 ] || fail "close-mid?$q: $got bytes"
    note "close-mid?$q: curl exit $rc after $ms ms, $got of 1000000 bytes ($(tr -d '\n' <"$TMPD/curl.err"))"
done
[ "$(c "$A/")" = "hello from alpha" ] || fail "app after close-mid"

# 10. The service's slowness: a second server with response_timeout 1s.
cport2=$(free_port)
hport2=$(free_port)
cat >"$TMPD/server2.yaml" <<EOF
listen: 127.0.0.1:$cport2
tcp_bind: 127.0.0.1
http:
  bind: 127.0.0.1:$hport2
  domain: example.test
  response_timeout: 1s
EOF
spawn "$TMPD/server2.log" "$WARREN" server -c "$TMPD/server2.yaml" --workers 2
server2=$!
wait_log "$TMPD/server2.log" "http ingress on 127.0.0.1:$hport2" 10 ||
    fail "server 2 did not start: $(tail -3 "$TMPD/server2.log")"
"$WARREN" client --server "127.0.0.1:$cport2" --local-addr "127.0.0.1:$alpha_port" --subdomain slow \
    >"$TMPD/client3.out" 2>"$TMPD/client3.err" &
client3=$!
WR_PIDS="$WR_PIDS $client3"
wait_log "$TMPD/client3.out" "^tunnel web: http://slow.example.test:$hport2 " 10 ||
    fail "client 3 not registered: $(tail -3 "$TMPD/client3.err")"
S="http://slow.example.test:$hport2"
R2="--resolve slow.example.test:$hport2:127.0.0.1"
out=$(curl -sS --max-time 10 $R2 -o /dev/null -w '%{http_code}' "$S/slow?ms=300") || fail "/slow?ms=300"
[ "$out" = 200 ] || fail "/slow?ms=300 within the timeout answered $out"
out=$(curl -sS --max-time 10 $R2 -o "$TMPD/b" -w '%{http_code} %{time_total}' "$S/slow?ms=3000") ||
    fail "/slow?ms=3000"
[ "${out% *}" = 504 ] || fail "/slow?ms=3000 answered $out: $(cat "$TMPD/b")"
[ "$(head -n 1 "$TMPD/b")" = "504 Gateway Timeout" ] || fail "504 page: $(cat "$TMPD/b")"
awk "BEGIN { exit !(${out#* } >= 0.9 && ${out#* } < 2.5) }" || fail "the 504 came after ${out#* } s"
note "response_timeout 1s: 504 after ${out#* } s"
out=$(curl -sS --max-time 10 $R2 "$S/") || fail "GET / after the 504"
[ "$out" = "hello from alpha" ] || fail "GET / after the 504: $out"

# Nothing went wrong inside the services; the token is nowhere.
grep -E "internal error|^loop:|Traceback" "$TMPD/alpha.log" "$TMPD/beta.log" "$TMPD/gamma.log" &&
    fail "a service failed inside"
for p in $server $server2 $client1 $client2 $client3; do
    tr '\0' ' ' <"/proc/$p/cmdline" | grep -qF "$TOKEN" && fail "the token is on the command line of $p"
done
grep -lF "$TOKEN" "$TMPD"/* && fail "the token appears in the files above"

# 11. SIGTERM: a request in flight still gets its response, new
# connections are refused, and both servers exit 0.
c -o "$TMPD/drain.out" -w '%{http_code}' "$A/slow?ms=1500" >"$TMPD/drain.code" 2>&1 &
inflight=$!
WR_PIDS="$WR_PIDS $inflight"
sleep 0.5
t_term=$(date +%s.%N)
kill -TERM "$server"
wait_log "$TMPD/server.log" "signal 15: draining" 3 || fail "server did not log the drain: $(tail -3 "$TMPD/server.log")"
sleep 0.2
curl -sS --max-time 2 $R -o /dev/null "$A/" 2>/dev/null && fail "the HTTP port takes new connections while draining"
wait_exit "$inflight" 10 || fail "the request in flight at SIGTERM: curl $(cat "$TMPD/drain.code")"
[ "$(cat "$TMPD/drain.code")" = 200 ] && [ "$(cat "$TMPD/drain.out")" = "slow 1500" ] ||
    fail "the request in flight at SIGTERM: $(cat "$TMPD/drain.code") $(cat "$TMPD/drain.out")"
wait_exit "$server" 15
rc=$?
[ $rc -eq 0 ] || fail "server exit status $rc after SIGTERM: $(tail -5 "$TMPD/server.log")"
note "server exited 0 $(ms_since "$t_term") ms after SIGTERM (a 1.5 s request in flight)"
t0=$(date +%s.%N)
kill -TERM "$server2"
wait_exit "$server2" 15
rc=$?
[ $rc -eq 0 ] || fail "server 2 exit status $rc after SIGTERM: $(tail -5 "$TMPD/server2.log")"
note "server 2 exited 0 $(ms_since "$t0") ms after SIGTERM"
grep -F "$TOKEN" "$TMPD"/* && fail "the token appears in a log"
grep -l "AddressSanitizer\|LeakSanitizer\|runtime error" "$TMPD"/*.log "$TMPD"/*.err && fail "sanitizer report"
note "server log: $(wc -l <"$TMPD/server.log") lines, $(grep -c ' warn ' "$TMPD/server.log") warn, $(grep -c ' error ' "$TMPD/server.log") error"
[ $SOFT -eq 0 ] || fail "$SOFT check(s) failed above"
echo "ok"
