#!/bin/sh
# The web service and HTTP clients of http_lib.py, directly, without warren:
# curl and the python clients against every endpoint, so that the HTTP tunnel
# tests can trust them to tell a tunnel's fault from their own.
. "$(dirname "$0")/lib.sh"

HL="$(cd "$(dirname "$0")" && pwd)/http_lib.py"
command -v curl >/dev/null || skip "no curl"
# The interpreter itself: a pyenv shim costs ~0.3 s a start.
PY=$(python3 -c 'import sys; print(sys.executable)') || fail "no python3"

# start_http NAME ARGS...: the service NAME; sets NAME_pid.
# port_of NAME: its port, once it listens.
start_http() {
    _svc=$1; shift
    spawn "$TMPD/$_svc.log" "$PY" -u "$HL" serve --name "$_svc" "$@"
    eval "${_svc}_pid=$!"
}
port_of() {
    wait_log "$TMPD/$1.log" "^listening on" 10 || fail "$1 service did not start: $(cat "$TMPD/$1.log")"
    sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$TMPD/$1.log"
}
start_http alpha --header-timeout 2
start_http beta
alpha_port=$(port_of alpha) || exit 1
beta_port=$(port_of beta) || exit 1
A="http://127.0.0.1:$alpha_port"
B="http://127.0.0.1:$beta_port"
HL_() { "$PY" "$HL" "$@"; }
# hdr FILE NAME: the value of header NAME in a curl -D dump.
hdr() { tr -d '\r' <"$1" | sed -n "s/^$2: //Ip" | head -n 1; }
# alive WHAT URL: the service still answers.
alive() {
    _o=$(curl -sS --max-time 5 "$2/") || fail "after $1: no answer"
    case $_o in "hello from "*) ;; *) fail "after $1: '$_o'" ;; esac
}

# Slowloris in the background meanwhile: alpha answers 408 after its 2 s
# header timeout, beta (no timeout) keeps the connection open.
"$PY" "$HL" slowloris 127.0.0.1 "$alpha_port" --seconds 8 >"$TMPD/slow_alpha.txt" 2>&1 &
sl_a=$!
WR_PIDS="$WR_PIDS $sl_a"
"$PY" "$HL" slowloris 127.0.0.1 "$beta_port" --seconds 2 >"$TMPD/slow_beta.txt" 2>&1 &
sl_b=$!
WR_PIDS="$WR_PIDS $sl_b"
# Its connection is accepted before the connection counts below.
wait_log "$TMPD/alpha.log" "^accept 1 from" 5 || fail "slowloris did not connect"

# 1. GET / names the service, in the body and in X-Service.
body=$(curl -sS -D "$TMPD/h" "$A/") || fail "GET /"
[ "$body" = "hello from alpha" ] || fail "GET / on alpha: '$body'"
[ "$(hdr "$TMPD/h" X-Service)" = alpha ] || fail "no X-Service: alpha: $(cat "$TMPD/h")"
body=$(curl -sS "$B/") || fail "GET / on beta"
[ "$body" = "hello from beta" ] || fail "GET / on beta: '$body'"

# 2. /headers: the request line and the headers as received, in order.
curl -sS -H 'X-Forwarded-For: 10.1.2.3' -H 'X-Second: two words' "$A/headers" >"$TMPD/headers.json" ||
    fail "GET /headers"
grep -qF '"request_line": "GET /headers HTTP/1.1"' "$TMPD/headers.json" || fail "/headers: $(cat "$TMPD/headers.json")"
grep -qxF '  ["X-Forwarded-For", "10.1.2.3"],' "$TMPD/headers.json" || fail "/headers: $(cat "$TMPD/headers.json")"
[ "$(grep -n '^  \["' "$TMPD/headers.json" | sed -n '$s/\(.*\)\["\([^"]*\)".*/\2/p')" = X-Second ] ||
    fail "/headers: order lost: $(cat "$TMPD/headers.json")"
"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["headers"][0][0] == "Host"' \
    "$TMPD/headers.json" || fail "/headers is not JSON: $(cat "$TMPD/headers.json")"

# 3. 32 MiB downloads, by Content-Length and chunked; HEAD.
n=33554432
curl -sS -D "$TMPD/h" -o "$TMPD/dl" "$A/bytes/$n" || fail "download"
sum=$(sha256sum "$TMPD/dl" | cut -d' ' -f1)
[ "$(hdr "$TMPD/h" X-SHA256)" = "$sum" ] || fail "download: sha256 $sum, X-SHA256 $(hdr "$TMPD/h" X-SHA256)"
[ "$(hdr "$TMPD/h" Content-Length)" = $n ] || fail "download: no Content-Length $n"
curl -sS -D "$TMPD/h" -o "$TMPD/dl" "$A/bytes/$n?chunked=1&trailer=1" || fail "chunked download"
[ "$(sha256sum "$TMPD/dl" | cut -d' ' -f1)" = "$sum" ] || fail "chunked download differs"
[ "$(hdr "$TMPD/h" Transfer-Encoding)" = chunked ] || fail "chunked download: $(cat "$TMPD/h")"
[ "$(hdr "$TMPD/h" X-Trailer-SHA256)" = "$sum" ] || fail "chunked download: no trailer: $(cat "$TMPD/h")"
curl -sS -I "$A/bytes/$n" >"$TMPD/h" || fail "HEAD"
[ "$(hdr "$TMPD/h" Content-Length)" = $n ] && [ "$(hdr "$TMPD/h" X-SHA256)" = "$sum" ] ||
    fail "HEAD: $(cat "$TMPD/h")"
rm -f "$TMPD/dl"
# HEAD has no body: the next pipelined response parses.
out=$(HL_ raw 127.0.0.1 "$alpha_port" --close-wait 0.3 'HEAD /bytes/1000 HTTP/1.1\r\nHost: a\r\n\r\nGET /status/418 HTTP/1.1\r\nHost: a\r\n\r\n') ||
    fail "$out"
[ "$out" = "raw: HTTP/1.1 200 OK + HTTP/1.1 418 I'm a teapot; open" ] || fail "HEAD + GET: $out"

# 4. 32 MiB uploads: chunked (curl -T -), Content-Length with Expect:
# 100-continue, a small one with Expect, and chunked with trailers.
head -c $n /dev/urandom >"$TMPD/up" || fail "no upload file"
sum=$(sha256sum "$TMPD/up" | cut -d' ' -f1)
out=$(curl -sS -T - "$A/upload" <"$TMPD/up") || fail "chunked upload"
[ "$out" = "{\"length\": $n, \"sha256\": \"$sum\", \"chunked\": true, \"trailers\": []}" ] ||
    fail "chunked upload: $out"
out=$(curl -sS -v -H 'Expect: 100-continue' --data-binary @"$TMPD/up" "$A/upload" 2>"$TMPD/curl.err") ||
    fail "upload: $(tail -3 "$TMPD/curl.err")"
[ "$out" = "{\"length\": $n, \"sha256\": \"$sum\", \"chunked\": false, \"trailers\": []}" ] || fail "upload: $out"
grep -q '^< HTTP/1.1 100 Continue' "$TMPD/curl.err" || fail "upload: no 100 Continue: $(cat "$TMPD/curl.err")"
rm -f "$TMPD/up"
out=$(curl -sS -v -H 'Expect: 100-continue' --data-binary 'abc' "$A/upload" 2>"$TMPD/curl.err") || fail "small upload"
grep -q '^< HTTP/1.1 100 Continue' "$TMPD/curl.err" || fail "small upload: no 100 Continue"
case $out in
*'"length": 3, "sha256": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"'*) ;;
*) fail "small upload: $out" ;;
esac
out=$(HL_ raw 127.0.0.1 "$alpha_port" --close-wait 0.3 --body 'POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n0\r\nX-Check: 1\r\n\r\n') ||
    fail "$out"
[ "$out" = 'raw: HTTP/1.1 200 OK; open
{"length": 3, "sha256": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "chunked": true, "trailers": [["X-Check", "1"]]}' ] ||
    fail "upload with trailers: $out"

# 5. /status/CODE: 204 and 304 without body or Content-Length.
for code in 204 304 418 503; do
    got=$(curl -sS -D "$TMPD/h" -o "$TMPD/b" -w '%{http_code}' "$A/status/$code") || fail "/status/$code"
    [ "$got" = $code ] || fail "/status/$code answered $got"
    case $code in
    204 | 304)
        [ ! -s "$TMPD/b" ] || fail "/status/$code has a body"
        [ -z "$(hdr "$TMPD/h" Content-Length)" ] || fail "/status/$code has a Content-Length" ;;
    *) [ "$(cat "$TMPD/b")" = "status $code" ] || fail "/status/$code body: $(cat "$TMPD/b")" ;;
    esac
done
[ "$(curl -sS -o /dev/null -w '%{http_code}' "$A/nope")" = 404 ] || fail "no 404"
[ "$(curl -sS -o /dev/null -w '%{http_code}' -X POST "$A/")" = 404 ] || fail "POST / is not a 404"

# 6. /close-mid: half the promised body, then the connection ends.
curl -sS -o "$TMPD/b" "$A/close-mid?n=1000000" 2>"$TMPD/curl.err"
rc=$?
[ $rc = 18 ] || fail "close-mid: curl exit $rc, expected 18 (partial file): $(cat "$TMPD/curl.err")"
[ "$(wc -c <"$TMPD/b")" -eq 500000 ] || fail "close-mid: $(wc -c <"$TMPD/b") bytes"
curl -sS -o /dev/null "$A/close-mid?n=1000000&rst=1" 2>/dev/null && fail "close-mid with RST: curl succeeded"

# 7. /slow, /close, HTTP/1.0.
t=$(curl -sS -o /dev/null -w '%{time_total}' "$A/slow?ms=300") || fail "/slow"
awk "BEGIN { exit !($t >= 0.3) }" || fail "/slow?ms=300 answered after $t s"
curl -sS -v "$A/close" >"$TMPD/b" 2>"$TMPD/curl.err" || fail "/close"
grep -qi '^< Connection: close' "$TMPD/curl.err" && [ "$(cat "$TMPD/b")" = bye ] || fail "/close: $(cat "$TMPD/curl.err")"
out=$(HL_ raw 127.0.0.1 "$alpha_port" 'GET /close HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n') ||
    fail "$out"
[ "$out" = "raw: HTTP/1.1 200 OK; closed" ] || fail "/close then GET: $out"
body=$(curl -sS -0 -D "$TMPD/h" "$A/") || fail "HTTP/1.0 GET"
[ "$body" = "hello from alpha" ] && [ "$(hdr "$TMPD/h" Connection)" = close ] || fail "HTTP/1.0: $(cat "$TMPD/h")"

# 8. Connection counts: curl reuses one connection for three URLs; the
# conns client makes one per request.
out=$(curl -sS "$A/conns" "$A/" "$A/conns" | tr '\n' ' ') || fail "/conns"
set -- $out
[ "$1" = "$5" ] || fail "curl's three requests took $(($5 - $1 + 1)) connections: $out"
c0=$5
out=$(HL_ conns 127.0.0.1 "$alpha_port" 10) || fail "$out"
note "$out"
out=$(HL_ conns 127.0.0.1 "$alpha_port" 5 --close --path /bytes/100000) || fail "$out"
[ "$out" = "conns: 5 requests on 5 connections" ] || fail "$out"
c1=$(curl -sS "$A/conns")
[ "$c1" -eq $((c0 + 16)) ] || fail "/conns went from $c0 to $c1 over 10 + 5 + 1 connections"

# 9. The python clients.
out=$(HL_ keepalive 127.0.0.1 "$alpha_port" 50) || fail "$out"
[ "$out" = "keepalive: 50 responses on 1 connection" ] || fail "$out"
out=$(HL_ keepalive 127.0.0.1 "$alpha_port" 3 --path /bytes/3000000 --host alpha.example) || fail "$out"
note "$out"
[ "$(curl -sS "$A/conns")" -eq $((c1 + 3)) ] || fail "keepalive used more than one connection each"
out=$(HL_ pipeline 127.0.0.1 "$alpha_port" 20) || fail "$out"
[ "$out" = "pipeline: 20 responses in order on 1 connection" ] || fail "$out"
note "$out"
out=$(HL_ ws "ws://127.0.0.1:$alpha_port/ws" 40 --host alpha.example) || fail "$out"
case $out in "ws: 40 messages echoed, "*" bytes, in "*" ms") note "$out" ;; *) fail "$out" ;; esac
wait_log "$TMPD/alpha.log" "^ws conn [0-9]*: 40 messages, .*close 1000 from the client" 5 ||
    fail "ws: the service did not log the close: $(grep '^ws' "$TMPD/alpha.log")"
out=$(HL_ sse "$A/sse" 4 200) || fail "$out"
case $out in "sse: 4 events streamed, max latency "*) note "$out" ;; *) fail "$out" ;; esac
out=$(curl -sS -N "$A/sse?n=3&interval=10") || fail "sse by curl"
[ "$(echo "$out" | grep -c '^data: [0-9] [0-9.]*$')" = 3 ] || fail "sse by curl: $out"
out=$(curl -sS -o /dev/null -w '%{http_code}' "$A/ws") || fail "/ws without upgrade"
[ "$out" = 400 ] || fail "/ws without an upgrade answered $out"

# 10. Bad input: a 400 (431, 505) and the connection closed, on beta.
# bad LABEL EXPECTED BYTES
bad() {
    _o=$(HL_ raw 127.0.0.1 "$beta_port" "$3") || fail "$1: $_o"
    [ "$_o" = "raw: HTTP/1.1 $2; closed" ] || fail "$1: $_o"
}
bad "malformed request line" "400 Bad Request" 'GET /  HTTP/1.1\r\nHost: a\r\n\r\n'
bad "invalid header byte" "400 Bad Request" 'GET / HTTP/1.1\r\nHost: a\r\nX-Bad: a\x01b\r\n\r\n'
bad "CL + TE" "400 Bad Request" 'POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'
bad "duplicate CL" "400 Bad Request" 'POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd'
bad "bare LF" "400 Bad Request" 'GET / HTTP/1.1\nHost: a\n\n'
bad "obs-fold" "400 Bad Request" 'GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n 2\r\n\r\n'
bad "HTTP/2.0" "505 HTTP Version Not Supported" 'GET / HTTP/2.0\r\nHost: a\r\n\r\n'
bad "TLS bytes" "400 Bad Request" 'hex:160301020001fc0303'
"$PY" -c 'import sys; sys.stdout.write("GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + "a" * 70000 + "\r\n\r\n")' >"$TMPD/bighead"
bad "oversize headers" "431 Request Header Fields Too Large" "@$TMPD/bighead"

# 11. Clients that vanish: mid-download, and while waiting for /slow.
curl -sS "$A/bytes/$n" 2>/dev/null | head -c 1000 >/dev/null
curl -sS --max-time 0.2 "$A/slow?ms=600" >/dev/null 2>&1
alive "vanishing clients" "$A"
wait_log "$TMPD/alpha.log" "ConnectionResetError\|BrokenPipeError" 3 || fail "no reset logged"

# The slowloris verdicts.
wait_exit "$sl_a" 10
rc=$?
grep -q "^slowloris: got 408 after [0-9]* ms$" "$TMPD/slow_alpha.txt" && [ $rc = 0 ] ||
    fail "slowloris on alpha (exit $rc): $(cat "$TMPD/slow_alpha.txt")"
note "$(cat "$TMPD/slow_alpha.txt")"
wait_exit "$sl_b" 10
rc=$?
[ "$(cat "$TMPD/slow_beta.txt")" = "slowloris: still open after 2 s" ] && [ $rc = 1 ] ||
    fail "slowloris on beta (exit $rc): $(cat "$TMPD/slow_beta.txt")"

# The services logged what they did, and nothing went wrong inside.
grep -q "^request GET /bytes/$n -> 200$" "$TMPD/alpha.log" || fail "no request line logged"
grep -q "^bad request on conn [0-9]*: both Content-Length and Transfer-Encoding -> 400$" "$TMPD/beta.log" ||
    fail "beta log: $(tail -5 "$TMPD/beta.log")"
grep -q "^bad request on conn [0-9]*: request head incomplete after 2.0 s -> 408$" "$TMPD/alpha.log" ||
    fail "no 408 logged"
grep -E "internal error|^loop:|Traceback" "$TMPD/alpha.log" "$TMPD/beta.log" && fail "the service failed inside"
kill -0 "$alpha_pid" 2>/dev/null && kill -0 "$beta_pid" 2>/dev/null || fail "a service is gone"
echo "ok"
