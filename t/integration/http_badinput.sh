#!/bin/sh
# Bad input on warren's public HTTP port: malformed and ambiguous requests
# (400, never forwarded), oversize heads (431), oversize bodies (413), slow
# heads (408 after header_timeout, while other clients are served), and a
# thousand garbage connections that must not stop the server or make it grow.
. "$(dirname "$0")/lib.sh"
unset WARREN_HTTP_BIND # this test serves HTTP: the file or flags say where

HL="$(cd "$(dirname "$0")" && pwd)/http_lib.py"
[ -x "$WARREN" ] || fail "warren not built"
command -v curl >/dev/null || skip "no curl"
PY=$(python3 -c 'import sys; print(sys.executable)') || fail "no python3"
HL_() { "$PY" "$HL" "$@"; }
export WARREN_TOKEN="wr-http-badinput-$$"

spawn "$TMPD/alpha.log" "$PY" -u "$HL" serve --name alpha
alpha=$!
wait_log "$TMPD/alpha.log" "^listening on" 10 || fail "service did not start: $(cat "$TMPD/alpha.log")"
alpha_port=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$TMPD/alpha.log")

cport=$(free_port)
hport=$(free_port)
cat >"$TMPD/server.yaml" <<EOF
listen: 127.0.0.1:$cport
tcp_bind: 127.0.0.1
workers: 2
http:
  bind: 127.0.0.1:$hport
  domain: example.test
  header_timeout: 2s
  max_body: 1m
EOF
spawn "$TMPD/server.log" "$WARREN" server -c "$TMPD/server.yaml"
server=$!
wait_log "$TMPD/server.log" "http ingress on 127.0.0.1:$hport" 10 ||
    fail "server did not start: $(tail -3 "$TMPD/server.log")"
"$WARREN" client --server "127.0.0.1:$cport" --local-addr "127.0.0.1:$alpha_port" --subdomain app \
    >"$TMPD/client.out" 2>"$TMPD/client.err" &
client=$!
WR_PIDS="$WR_PIDS $client"
wait_log "$TMPD/client.out" "^tunnel web: http://app.example.test:$hport " 10 ||
    fail "client not registered: $(tail -3 "$TMPD/client.err")"

R="--resolve app.example.test:$hport:127.0.0.1"
A="http://app.example.test:$hport"
c() { curl -sS --max-time 20 $R "$@"; }
# alive WHAT: the tunnel still answers.
alive() {
    _o=$(c "$A/") || fail "after $1: no answer"
    [ "$_o" = "hello from alpha" ] || fail "after $1: '$_o'"
}
# rss [PID]: the resident set of PID (default: the server) in kB.
rss() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/${1:-$server}/status"; }
alive "start"
# soft_fail MSG: a failure that lets the remaining checks run; the script
# still fails at the end.
SOFT=0
soft_fail() { printf "FAIL: %s\n" "$*"; SOFT=$((SOFT + 1)); }
served0=$(grep -c "^request " "$TMPD/alpha.log")

# 1. Malformed and ambiguous requests: a 400 page and the connection closed;
# none of them reaches the service.
# bad LABEL EXPECTED BYTES (H: the Host field of the tunnel)
H='Host: app.example.test\r\n'
bad() {
    _o=$(HL_ raw 127.0.0.1 "$hport" "$3") || fail "$1: $_o"
    case $_o in "raw: HTTP/1.1 "$2"; closed") ;; *) fail "$1: $_o" ;; esac
}
bad "malformed request line" "400 Bad Request" 'GET /  HTTP/1.1\r\n'"$H"'\r\n'
bad "no version" "400 Bad Request" 'GET /\r\n'"$H"'\r\n'
bad "space in the target" "400 Bad Request" 'GET /a b HTTP/1.1\r\n'"$H"'\r\n'
bad "invalid header byte" "400 Bad Request" 'GET / HTTP/1.1\r\n'"$H"'X-Bad: a\x01b\r\n\r\n'
bad "NUL in a header" "400 Bad Request" 'GET / HTTP/1.1\r\n'"$H"'X-Bad: a\x00b\r\n\r\n'
bad "space before the colon" "400 Bad Request" 'GET / HTTP/1.1\r\n'"$H"'X-Bad : a\r\n\r\n'
bad "CL + TE" "400 Bad Request" 'POST /upload HTTP/1.1\r\n'"$H"'Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'
bad "TE + CL" "400 Bad Request" 'POST /upload HTTP/1.1\r\n'"$H"'Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n'
bad "duplicate differing CL" "400 Bad Request" 'POST /upload HTTP/1.1\r\n'"$H"'Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd'
bad "CL list" "400 Bad Request" 'POST /upload HTTP/1.1\r\n'"$H"'Content-Length: 3, 4\r\n\r\nabcd'
bad "signed CL" "400 Bad Request" 'POST /upload HTTP/1.1\r\n'"$H"'Content-Length: +3\r\n\r\nabc'
bad "TE not ending in chunked" "400 Bad Request" 'POST /upload HTTP/1.1\r\n'"$H"'Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n'
bad "bad chunk size" "400 Bad Request" 'POST /upload HTTP/1.1\r\n'"$H"'Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n'
bad "bare CR" "400 Bad Request" 'GET / HTTP/1.1\rHost: app.example.test\r\n\r\n'
bad "CR in a value" "400 Bad Request" 'GET / HTTP/1.1\r\n'"$H"'X-A: 1\r2\r\n\r\n'
bad "obs-fold" "400 Bad Request" 'GET / HTTP/1.1\r\n'"$H"'X-A: 1\r\n 2\r\n\r\n'
bad "two Hosts" "400 Bad Request" 'GET / HTTP/1.1\r\n'"$H$H"'\r\n'
bad "HTTP/2.0" "[45]0[05] *" 'GET / HTTP/2.0\r\n'"$H"'\r\n'
bad "TLS bytes" "400 Bad Request" 'hex:1603010200010001fc0303'
bad "binary garbage" "400 Bad Request" 'hex:00ff00ff0d0a0d0a'
# Bare LF line ends: refused, or taken as CRLF (RFC 9112 2.2 allows either;
# warren writes the head anew with CRLF, so the service cannot see it
# differently).
out=$(HL_ raw 127.0.0.1 "$hport" --close-wait 0.3 'GET /headers HTTP/1.1\nHost: app.example.test\nX-A: 1\n\n') ||
    fail "bare LF: $out"
case $out in
"raw: HTTP/1.1 400 Bad Request; closed") note "bare LF: refused" ;;
"raw: HTTP/1.1 200 OK; open") note "bare LF: taken as CRLF" ;;
*) fail "bare LF: $out" ;;
esac
# 20 KiB of headers, the limit being 16 KiB: 431.
"$PY" -c 'import sys; sys.stdout.write("GET / HTTP/1.1\r\nHost: app.example.test\r\nX-Big: " + "a" * 20480 + "\r\n\r\n")' \
    >"$TMPD/bighead"
bad "20 KiB head" "431 Request Header Fields Too Large" "@$TMPD/bighead"
"$PY" -c 'import sys; sys.stdout.write("GET / HTTP/1.1\r\nHost: app.example.test\r\n" + "".join("X-%d: %s\r\n" % (i, "b" * 40) for i in range(500)) + "\r\n")' \
    >"$TMPD/manyhead"
bad "500 header fields" "431 Request Header Fields Too Large" "@$TMPD/manyhead"
# Just under the limit is fine.
"$PY" -c 'import sys; sys.stdout.write("GET / HTTP/1.1\r\nHost: app.example.test\r\nX-Big: " + "a" * 15000 + "\r\n\r\n")' \
    >"$TMPD/head15k"
out=$(HL_ raw 127.0.0.1 "$hport" --close-wait 0.3 "@$TMPD/head15k") || fail "15 KB head: $out"
[ "$out" = "raw: HTTP/1.1 200 OK; open" ] || fail "15 KB head: $out"
out=$(c -o /dev/null -w '%{http_code}' "$A/") || fail "GET after the bad requests"
[ "$out" = 200 ] || fail "GET after the bad requests: $out"
served=$(grep -c "^request " "$TMPD/alpha.log")
[ "$served" -le $((served0 + 3)) ] ||
    fail "the service saw $((served - served0 - 3)) of the bad requests: $(tail -5 "$TMPD/alpha.log")"
grep -q "^bad request" "$TMPD/alpha.log" && fail "a bad request reached the service: $(grep '^bad request' "$TMPD/alpha.log")"
note "$(grep -c ' 400 for ' "$TMPD/server.log") 400s, $(grep -c ' 431 for ' "$TMPD/server.log") 431s logged by the server"

# 2. Bodies over max_body (1m): 413 by Content-Length at once (nothing is
# forwarded), and chunked once the limit is crossed; 1000000 bytes pass.
head -c 1100000 /dev/urandom >"$TMPD/over"
head -c 1000000 "$TMPD/over" >"$TMPD/under"
out=$(c -o "$TMPD/b" -w '%{http_code}' --data-binary @"$TMPD/under" "$A/upload") || fail "1000000-byte upload"
[ "$out" = 200 ] && grep -q '"length": 1000000,' "$TMPD/b" || fail "1000000-byte upload: $out $(cat "$TMPD/b")"
before=$(grep -c "^request POST /upload" "$TMPD/alpha.log")
# is413 LABEL CURL-ARGS...: curl gets the 413 page.
is413() {
    _l=$1; shift
    rm -f "$TMPD/b"
    _o=$(c -o "$TMPD/b" -w '%{http_code}' "$@" "$A/upload" 2>&1)
    [ "$_o" = 413 ] || { echo "$_l answered '$_o': $(cat "$TMPD/b" 2>/dev/null)"; return 1; }
    [ "$(head -n 1 "$TMPD/b")" = "413 Payload Too Large" ] || [ "$(head -n 1 "$TMPD/b")" = "413 Content Too Large" ] ||
        { echo "$_l: 413 page: $(cat "$TMPD/b")"; return 1; }
}
# With Content-Length: refused on the head. Sent by raw, which reads the
# answer even when its sending ends in a reset (see the report).
"$PY" -c 'import sys; sys.stdout.buffer.write(b"POST /upload HTTP/1.1\r\nHost: app.example.test\r\nContent-Length: 1100000\r\n\r\n" + open(sys.argv[1], "rb").read())' \
    "$TMPD/over" >"$TMPD/over.cl"
out=$(HL_ raw 127.0.0.1 "$hport" --body "@$TMPD/over.cl") || fail "1.1 MB upload with Content-Length: $out"
[ "$out" = "raw: HTTP/1.1 413 Payload Too Large; closed
413 Payload Too Large
request body too large" ] || fail "1.1 MB upload with Content-Length: $out"
out=$(is413 "1.1 MB upload with Expect: 100-continue" -H "Expect: 100-continue" --data-binary @"$TMPD/over") ||
    fail "$out"
# Chunked: refused once the limit is crossed. The body never ends (no last
# chunk), so the 413 cannot wait for its end.
"$PY" -c '
import sys
body = open(sys.argv[1], "rb").read()
sys.stdout.buffer.write(b"POST /upload HTTP/1.1\r\nHost: app.example.test\r\nTransfer-Encoding: chunked\r\n\r\n")
for i in range(0, len(body), 65536):
    piece = body[i:i + 65536]
    sys.stdout.buffer.write(b"%x\r\n%s\r\n" % (len(piece), piece))' \
    "$TMPD/over" >"$TMPD/over.chunked"
out=$(HL_ raw 127.0.0.1 "$hport" --timeout 30 --body "@$TMPD/over.chunked") ||
    fail "1.1 MB chunked upload, never ended: $out"
[ "$out" = "raw: HTTP/1.1 413 Payload Too Large; closed
413 Payload Too Large
request body too large" ] || fail "1.1 MB chunked upload, never ended: $out"
after=$(grep -c "^request POST /upload" "$TMPD/alpha.log")
[ "$after" -eq "$before" ] || fail "the service answered $((after - before)) oversize uploads"
# Chunked with Expect: 100-continue: the service's 100 Continue goes out
# first, and the 413 must still follow it (an interim response is no
# response).
out=$(is413 "1.1 MB chunked upload with Expect: 100-continue" -H 'Expect: 100-continue' -X POST -T - <"$TMPD/over") ||
    soft_fail "$out"
alive "413"
note "$(grep -c ' 413 for ' "$TMPD/server.log") 413s logged by the server"

# 3. Slowloris: five slow heads get 408 after header_timeout (2 s), while
# other clients are served meanwhile.
"$PY" "$HL" slowloris 127.0.0.1 "$hport" --host app.example.test --seconds 8 --conns 5 \
    --ready "$TMPD/slow.ready" >"$TMPD/slow.txt" 2>&1 &
slow=$!
WR_PIDS="$WR_PIDS $slow"
i=0
while [ ! -f "$TMPD/slow.ready" ]; do
    [ $i -ge 600 ] && fail "the slow heads did not begin within 30 s: $(cat "$TMPD/slow.txt")"
    sleep 0.05; i=$((i + 1))
done
t0=$(date +%s.%N)
# A request is served while all five heads wait: by curl, which starts in
# little time, so that even a loaded machine fits it in the heads' 2 s.
out=$(c -o /dev/null -w '%{http_code}' "$A/") || fail "a request during the slowloris"
[ "$out" = 200 ] || fail "a request during the slowloris: $out"
[ -s "$TMPD/slow.txt" ] &&
    fail "the slow heads were over before another client was served: $(cat "$TMPD/slow.txt")"
# And more, of every kind; how long those take is the machine's load, not
# the heads', so they need not be over before the 408s.
out=$(HL_ keepalive 127.0.0.1 "$hport" 50 --host app.example.test) || fail "keepalive during slowloris: $out"
out=$(HL_ conns 127.0.0.1 "$hport" 20 --host app.example.test) || fail "conns during slowloris: $out"
out=$(c -o /dev/null -w '%{http_code}' "$A/bytes/1000000") || fail "download during slowloris"
[ "$out" = 200 ] || fail "download during slowloris: $out"
ms=$("$PY" -c "import time,sys; print(int((time.time()-float(sys.argv[1]))*1000))" "$t0")
note "72 requests by other clients from the start of the slowloris: $ms ms"
wait_exit "$slow" 10
rc=$?
[ $rc -eq 0 ] && [ "$(grep -c "^slowloris: got 408 after [0-9]* ms$" "$TMPD/slow.txt")" -eq 5 ] ||
    fail "slowloris (exit $rc): $(cat "$TMPD/slow.txt")"
for ms in $(sed 's/^slowloris: got 408 after \([0-9]*\) ms$/\1/' "$TMPD/slow.txt"); do
    [ "$ms" -ge 1900 ] && [ "$ms" -le 3500 ] ||
        fail "slowloris: 408 after $ms ms, header_timeout is 2 s"
done
note "slowloris: $(head -n 1 "$TMPD/slow.txt" | sed 's/^slowloris: //') (header_timeout 2s)"
alive "slowloris"

# 4. A thousand garbage connections (random bytes, partial heads, heads cut
# by RST, requests abandoned mid-response, oversize heads), after a warm-up
# round: the server still serves, and its RSS stays about the same.
cat >"$TMPD/garbage.py" <<'PY'
import os, random, socket, struct, sys, time
port, n, seed = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(seed)
host = b"Host: app.example.test\r\n"
kinds = [
    lambda: os.urandom(rng.randint(1, 4096)),
    lambda: b"GET / HTTP/1.1\r\n" + host,
    lambda: b"GET /bytes/2000000 HTTP/1.1\r\n" + host + b"\r\n",
    lambda: b"POST /upload HTTP/1.1\r\n" + host + b"Content-Length: 100000\r\n\r\n" + b"x" * rng.randint(0, 50000),
    lambda: b"POST /upload HTTP/1.1\r\n" + host + b"Transfer-Encoding: chunked\r\n\r\n10\r\n" + os.urandom(40),
    lambda: b"GET /ws HTTP/1.1\r\n" + host + b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n" + os.urandom(200),
    lambda: b"GET / HTTP/1.1\r\nHost: nope.example.test\r\nX: " + b"a" * 30000 + b"\r\n\r\n",
    lambda: b"\r\n" * rng.randint(1, 100),
    lambda: b"GET /slow?ms=200 HTTP/1.1\r\n" + host + b"\r\n",
]
t_end = time.time() + 240  # a ceiling for a very slow machine, not a budget
done = 0
for i in range(n):
    if time.time() > t_end:
        break
    data = kinds[i % len(kinds)]()
    s = socket.socket()
    s.settimeout(2)
    try:
        s.connect(("127.0.0.1", port))
        s.sendall(data)
        if i % 3 == 0:  # read a little of the answer, if one comes soon
            s.settimeout(0.05)
            try:
                s.recv(rng.choice([1, 100, 65536]))
            except OSError:
                pass
        if i % 2 == 0:  # RST instead of FIN
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    s.close()
    done += 1
print("garbage: %d connections" % done)
PY
out=$("$PY" "$TMPD/garbage.py" "$hport" 200 1) || fail "$out"
sleep 1
alive "warm-up garbage"
rss0=$(rss)
crss0=$(rss "$client")
t0=$(date +%s.%N)
out=$(timeout 300 "$PY" "$TMPD/garbage.py" "$hport" 1000 2) || fail "garbage: $out"
[ "$out" = "garbage: 1000 connections" ] || fail "$out"
ms=$("$PY" -c "import time,sys; print(int((time.time()-float(sys.argv[1]))*1000))" "$t0")
sleep 1
alive "1000 garbage connections"
out=$(HL_ keepalive 127.0.0.1 "$hport" 20 --host app.example.test) || fail "keepalive after the garbage: $out"
rss1=$(rss)
crss1=$(rss "$client")
note "1000 garbage connections in $ms ms; server VmRSS $rss0 kB before, $rss1 kB after ($((rss1 - rss0)) kB); client $crss0 kB, $crss1 kB"
# (Not in a sanitizer build: ASan holds freed memory in quarantine.)
if grep -q __asan_init "$WARREN"; then
    note "ASan build: RSS growth not checked"
else
    [ $((rss1 - rss0)) -le 4096 ] || fail "the server grew by $((rss1 - rss0)) kB over 1000 garbage connections"
    [ $((crss1 - crss0)) -le 4096 ] || fail "the client grew by $((crss1 - crss0)) kB over 1000 garbage connections"
fi
kill -0 "$client" 2>/dev/null || fail "the client is gone"
kill -0 "$alpha" 2>/dev/null || fail "the service is gone"
grep -E "internal error|^loop:|Traceback" "$TMPD/alpha.log" && fail "the service failed inside"
grep -E " error " "$TMPD/server.log" && fail "the server logged errors"
grep -l "AddressSanitizer\|LeakSanitizer\|runtime error" "$TMPD"/*.log "$TMPD"/client.* && fail "sanitizer report"

# SIGTERM: exit 0.
kill -TERM "$server"
wait_exit "$server" 15
rc=$?
[ $rc -eq 0 ] || fail "server exit status $rc after SIGTERM: $(tail -5 "$TMPD/server.log")"
grep -F "$WARREN_TOKEN" "$TMPD"/*.log "$TMPD"/client.* && fail "the token is in a log"
grep -l "AddressSanitizer\|LeakSanitizer\|runtime error" "$TMPD"/server.log && fail "sanitizer report at exit"
[ $SOFT -eq 0 ] || fail "$SOFT check(s) failed above"
echo "ok"
