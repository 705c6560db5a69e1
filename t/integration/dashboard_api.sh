#!/bin/sh
# The client's dashboard API end to end: a warren server, a client whose
# client.yaml sets the dashboard (small caps), a local web service counting
# its requests (http_lib.py serve logs each), and curl: requests through the
# tunnel appear in /api/requests with their method, path, status and
# headers; bodies are captured, capped and flagged; filters and since;
# replay (as captured and edited) reaches the service again and is recorded
# with replay_of; HAR parses; the event stream delivers a new request;
# POST/DELETE without JSON or from another origin, and a foreign Host, are
# refused; the token (Bearer, ?token= cookie) on a second client; a
# non-loopback address without a token is a config error (warren -t and
# the flags); garbage on the port costs nothing; the total byte cap holds
# with many large bodies, and RSS stays bounded.
. "$(dirname "$0")/lib.sh"
unset WARREN_HTTP_BIND WARREN_DASHBOARD_PORT

HERE=$(cd "$(dirname "$0")" && pwd)
HL="$HERE/http_lib.py"
DL="$HERE/dash_lib.py"
[ -x "$WARREN" ] || fail "warren not built"
command -v curl >/dev/null || skip "no curl"
PY=$(python3 -c 'import sys; print(sys.executable)') || fail "no python3"
D_() { "$PY" "$DL" "$@"; }
export WARREN_TOKEN="wr-dash-$$-tunnel-token"
DTOKEN="wr-dash-$$-dashboard-token"

# chk FILE EXPR [WHAT]: a JSON check (dash_lib.py check).
chk() { D_ check "$@" || fail "${3:-$2}"; }
# hits PATTERN: requests the service logged whose line matches PATTERN.
hits() { grep -c -- "$1" "$TMPD/svc.log" || true; }
rss_kb() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status"; }

spawn "$TMPD/svc.log" "$PY" -u "$HL" serve --name alpha
wait_log "$TMPD/svc.log" "^listening on" 10 || fail "service did not start: $(cat "$TMPD/svc.log")"
sport=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$TMPD/svc.log")

cport=$(free_port)
hport=$(free_port)
dport=$(free_port)
spawn "$TMPD/server.log" "$WARREN" server --bind "127.0.0.1:$cport" --http-bind "127.0.0.1:$hport" \
    --domain example.test --tcp-bind 127.0.0.1
wait_log "$TMPD/server.log" "http ingress on 127.0.0.1:$hport" 10 ||
    fail "server did not start: $(tail -3 "$TMPD/server.log")"

cat >"$TMPD/client.yaml" <<EOF
server: 127.0.0.1:$cport
reconnect:
  initial: 100ms
  max: 1s
dashboard:
  bind: 127.0.0.1:$dport
  max_body: 64k
  max_total: 4m
  max_entries: 500
tunnels:
  - name: web
    type: http
    local: 127.0.0.1:$sport
    subdomain: app
EOF
"$WARREN" -t -c "$TMPD/client.yaml" >"$TMPD/t.out" 2>&1 || fail "warren -t: $(cat "$TMPD/t.out")"
"$WARREN" client -c "$TMPD/client.yaml" >"$TMPD/client.out" 2>"$TMPD/client.err" &
client=$!
WR_PIDS="$WR_PIDS $client"
wait_log "$TMPD/client.out" "^tunnel web: " 10 || fail "client not registered: $(tail -3 "$TMPD/client.err")"
grep -qx "dashboard: http://127.0.0.1:$dport/" "$TMPD/client.out" ||
    fail "client stdout: $(cat "$TMPD/client.out")"

R="--resolve app.example.test:$hport:127.0.0.1"
A="http://app.example.test:$hport"
DASH="http://127.0.0.1:$dport"
c() { curl -sS --max-time 20 $R "$@"; }
api() { curl -sS --max-time 20 "$@"; }

# 1. A request appears with its method, path, status and headers.
c -H 'X-Dash-Test: <b>one</b>' "$A/headers?x=1" >/dev/null || fail "GET /headers"
api "$DASH/api/requests" >"$TMPD/list.json" || fail "GET /api/requests"
chk "$TMPD/list.json" 'd["capture"]["enabled"] and d["capture"]["max_body"] == 65536 and d["capture"]["max_total"] == 4194304' "capture settings"
chk "$TMPD/list.json" 'len(d["requests"]) == 1' "one request listed"
chk "$TMPD/list.json" 'd["requests"][0]["method"] == "GET" and d["requests"][0]["path"] == "/headers?x=1"' "method and path"
chk "$TMPD/list.json" 'd["requests"][0]["status"] == 200 and d["requests"][0]["state"] == "done"' "status 200, done"
chk "$TMPD/list.json" 'd["requests"][0]["host"] == "app.example.test:'"$hport"'" and d["requests"][0]["tunnel"] == "web"' "host and tunnel"
id1=$(D_ get "$TMPD/list.json" 'd["requests"][0]["id"]')
api "$DASH/api/requests/$id1" >"$TMPD/d1.json" || fail "GET /api/requests/$id1"
chk "$TMPD/d1.json" '["X-Dash-Test", "<b>one</b>"] in d["request"]["headers"]' "the request header as sent"
chk "$TMPD/d1.json" '["X-Forwarded-For", "127.0.0.1"] in d["request"]["headers"]' "the server's X-Forwarded-For"
chk "$TMPD/d1.json" '["X-Service", "alpha"] in d["response"]["headers"] and d["response"]["status"] == 200' "the response headers"
chk "$TMPD/d1.json" 'd["response"]["body"]["encoding"] == "utf-8" and "X-Dash-Test" in d["response"]["body"]["data"]' "the response body as text"
note "GET /headers listed as #$id1 with its headers"

# 2. Bodies: a text body both ways, a binary one, and bodies over max_body.
c --data-binary 'hello dashboard' -H 'Content-Type: text/plain' "$A/upload" >/dev/null || fail "POST /upload"
api "$DASH/api/requests?limit=1" >"$TMPD/list.json"
idp=$(D_ get "$TMPD/list.json" 'd["requests"][0]["id"]')
api "$DASH/api/requests/$idp" >"$TMPD/dp.json"
chk "$TMPD/dp.json" 'd["method"] == "POST" and d["request"]["body"] == {"size": 15, "captured": 15, "truncated": False, "binary": False, "encoding": "utf-8", "data": "hello dashboard"}' "the request body"
chk "$TMPD/dp.json" '"\"length\": 15" in d["response"]["body"]["data"]' "the response body"
c -D "$TMPD/h" -o /dev/null "$A/bytes/1000" || fail "GET /bytes/1000"
sha=$(tr -d '\r' <"$TMPD/h" | sed -n 's/^X-SHA256: //Ip')
api "$DASH/api/requests?limit=1" >"$TMPD/list.json"
idb=$(D_ get "$TMPD/list.json" 'd["requests"][0]["id"]')
api "$DASH/api/requests/$idb" >"$TMPD/db.json"
chk "$TMPD/db.json" 'd["response"]["body"]["binary"] and d["response"]["body"]["encoding"] == "base64"' "a binary body is flagged"
chk "$TMPD/db.json" 'hashlib.sha256(base64.b64decode(d["response"]["body"]["data"])).hexdigest() == "'"$sha"'"' "the binary body, byte for byte"
api -o "$TMPD/raw.bin" "$DASH/api/requests/$idb/response/body" || fail "raw body download"
[ "$(sha256sum "$TMPD/raw.bin" | cut -d' ' -f1)" = "$sha" ] || fail "raw body download differs"
head -c 200000 /dev/urandom >"$TMPD/up.bin"
c --data-binary @"$TMPD/up.bin" "$A/upload" >/dev/null || fail "POST 200 kB"
c -o /dev/null "$A/bytes/300000?chunked=1" || fail "GET 300 kB chunked"
api "$DASH/api/requests?limit=2" >"$TMPD/list.json"
idbig=$(D_ get "$TMPD/list.json" 'd["requests"][1]["id"]')
idchk=$(D_ get "$TMPD/list.json" 'd["requests"][0]["id"]')
api "$DASH/api/requests/$idbig" >"$TMPD/dbig.json"
chk "$TMPD/dbig.json" 'd["request"]["body"]["size"] == 200000 and d["request"]["body"]["captured"] == 65536 and d["request"]["body"]["truncated"]' "an upload over max_body: capped and flagged"
api "$DASH/api/requests/$idchk" >"$TMPD/dchk.json"
chk "$TMPD/dchk.json" 'd["response"]["body"]["size"] == 300000 and d["response"]["body"]["captured"] == 65536 and d["response"]["body"]["truncated"]' "a chunked download over max_body: decoded size, capped"
chk "$TMPD/dchk.json" 'd["bytes_out"] > 300000' "bytes on the wire count the chunk framing"
note "bodies: text, binary (sha256 checked), 200 kB up and 300 kB chunked down capped at 64 KiB"

# 3. Filters and since.
c -o /dev/null "$A/status/418" || fail "GET /status/418"
api "$DASH/api/requests?status=4xx" >"$TMPD/f.json"
chk "$TMPD/f.json" 'len(d["requests"]) == 1 and d["requests"][0]["status"] == 418' "status=4xx"
api "$DASH/api/requests?q=UPLOAD" >"$TMPD/f.json"
chk "$TMPD/f.json" 'len(d["requests"]) == 2 and all(r["path"] == "/upload" for r in d["requests"])' "q=UPLOAD"
api "$DASH/api/requests?since=$idchk" >"$TMPD/f.json"
chk "$TMPD/f.json" 'len(d["requests"]) == 1 and d["requests"][0]["status"] == 418' "since"
code=$(api -o "$TMPD/f.json" -w '%{http_code}' "$DASH/api/requests?status=7xx")
[ "$code" = 400 ] || fail "status=7xx answered $code"
code=$(api -o "$TMPD/f.json" -w '%{http_code}' "$DASH/api/requests/999999")
[ "$code" = 404 ] || fail "an unknown id answered $code"

# 4. Replay, as captured and edited: the service is hit again, and the
# replay is an entry of its own with replay_of.
before=$(hits 'request POST /upload ')
code=$(api -o "$TMPD/r.json" -w '%{http_code}' -X POST -H 'Content-Type: application/json' -d '{}' \
    "$DASH/api/requests/$idp/replay") || fail "replay"
[ "$code" = 200 ] || fail "replay answered $code: $(cat "$TMPD/r.json")"
chk "$TMPD/r.json" 'd["replay_of"] == '"$idp"' and d["request"]["replay_of"] == '"$idp"' and d["request"]["status"] == 200' "the replay's answer"
idr=$(D_ get "$TMPD/r.json" 'd["id"]')
[ "$(hits 'request POST /upload ')" -eq $((before + 1)) ] || fail "the replay did not reach the service ($before before, $(hits 'request POST /upload ') after)"
api "$DASH/api/requests/$idr" >"$TMPD/dr.json"
chk "$TMPD/dr.json" 'd["replay_of"] == '"$idp"' and d["request"]["body"]["data"] == "hello dashboard" and "\"length\": 15" in d["response"]["body"]["data"]' "the replay's entry"
api -X POST -H 'Content-Type: application/json' \
    -d '{"method":"PUT","path":"/upload?edited=1","headers":[["Host","app.example.test"],["X-Edited","yes"]],"body":"edited body"}' \
    "$DASH/api/requests/$idp/replay" >"$TMPD/r2.json" || fail "edited replay"
chk "$TMPD/r2.json" 'd["request"]["method"] == "PUT" and d["request"]["path"] == "/upload?edited=1" and d["request"]["status"] == 200' "the edited replay's answer"
[ "$(hits 'request PUT /upload?edited=1 ')" -eq 1 ] || fail "the edited replay did not reach the service: $(tail -3 "$TMPD/svc.log")"
idr2=$(D_ get "$TMPD/r2.json" 'd["id"]')
api "$DASH/api/requests/$idr2" >"$TMPD/dr2.json"
chk "$TMPD/dr2.json" '["X-Edited", "yes"] in d["request"]["headers"] and "\"length\": 11" in d["response"]["body"]["data"]' "the edited replay's entry"
code=$(api -o "$TMPD/r3.json" -w '%{http_code}' -X POST -H 'Content-Type: application/json' -d '{}' \
    "$DASH/api/requests/$idbig/replay")
[ "$code" = 409 ] && grep -q "captured only in part" "$TMPD/r3.json" ||
    fail "replaying a truncated body answered $code: $(cat "$TMPD/r3.json")"
code=$(api -o "$TMPD/r3.json" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    -d '{"headers":[["Bad Name","x"]]}' "$DASH/api/requests/$idp/replay")
[ "$code" = 400 ] || fail "a bad header name answered $code: $(cat "$TMPD/r3.json")"
code=$(api -o "$TMPD/r3.json" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    -d '{"path":"/x y"}' "$DASH/api/requests/$idp/replay")
[ "$code" = 400 ] || fail "a path with a space answered $code: $(cat "$TMPD/r3.json")"
code=$(api -o "$TMPD/r3.json" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    -d '[1,' "$DASH/api/requests/$idp/replay")
[ "$code" = 400 ] || fail "bad JSON answered $code: $(cat "$TMPD/r3.json")"
note "replay #$idp -> #$idr, edited -> #$idr2; truncated body, bad edits refused"

# 5. HAR.
api -D "$TMPD/h" -o "$TMPD/all.har" "$DASH/api/har" || fail "GET /api/har"
out=$(D_ har "$TMPD/all.har") || fail "HAR: $out"
n=$(api "$DASH/api/requests?limit=1000" | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)["requests"]))')
[ "$out" = "har: $n entries" ] || fail "HAR has '$out', the list $n"
tr -d '\r' <"$TMPD/h" | grep -qi '^Content-Disposition: attachment; filename="warren.har"' || fail "HAR headers: $(cat "$TMPD/h")"
chk "$TMPD/all.har" 'any(e["_warren"]["replay_of"] == '"$idp"' for e in d["log"]["entries"])' "HAR keeps replay_of"
chk "$TMPD/all.har" 'any(e["request"]["url"] == "http://app.example.test:'"$hport"'/headers?x=1" and {"name": "x", "value": "1"} in e["request"]["queryString"] for e in d["log"]["entries"])' "HAR url and queryString"
note "HAR: $out"

# 6. The event stream delivers a new request.
"$PY" -u "$DL" events "$DASH/api/events" /sse-probe --timeout 10 >"$TMPD/ev.out" 2>&1 &
evpid=$!
WR_PIDS="$WR_PIDS $evpid"
wait_log "$TMPD/ev.out" '^ready' 5 || fail "event stream: $(cat "$TMPD/ev.out")"
c -o /dev/null "$A/sse-probe" # a 404 from the service is a request all the same
wait "$evpid" || fail "event stream: $(cat "$TMPD/ev.out")"
grep -q '^request [0-9]* /sse-probe ' "$TMPD/ev.out" || fail "event stream: $(cat "$TMPD/ev.out")"
note "event stream: $(tail -1 "$TMPD/ev.out")"
# A HEAD would hold one of the streams and never carry anything: refused.
code=$(api -o /dev/null -w '%{http_code}' -I "$DASH/api/events")
[ "$code" = 405 ] || fail "HEAD /api/events answered $code"

# 7. CSRF and DNS rebinding: refused, and nothing replayed.
before=$(hits 'request POST /upload ')
code=$(api -o "$TMPD/x.json" -w '%{http_code}' -X POST -d '{}' "$DASH/api/requests/$idp/replay")
[ "$code" = 415 ] || fail "POST without a content type answered $code"
code=$(api -o "$TMPD/x.json" -w '%{http_code}' -X POST -H 'Content-Type: text/plain' -d '{}' \
    "$DASH/api/requests/$idp/replay")
[ "$code" = 415 ] || fail "POST as text/plain answered $code"
code=$(api -o "$TMPD/x.json" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    -H 'Origin: http://evil.example' -d '{}' "$DASH/api/requests/$idp/replay")
[ "$code" = 403 ] || fail "POST from another origin answered $code"
code=$(api -o "$TMPD/x.json" -w '%{http_code}' -X DELETE "$DASH/api/requests")
[ "$code" = 415 ] || fail "DELETE without a content type answered $code"
[ "$(hits 'request POST /upload ')" -eq "$before" ] || fail "a refused replay reached the service"
code=$(api -o "$TMPD/x.json" -w '%{http_code}' -H 'Host: rebind.evil.example' "$DASH/api/requests")
[ "$code" = 403 ] || fail "a foreign Host answered $code"
code=$(api -o "$TMPD/x.json" -w '%{http_code}' -H "Host: localhost:$dport" "$DASH/api/requests")
[ "$code" = 200 ] || fail "Host localhost answered $code"
code=$(api -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    -H "Origin: http://127.0.0.1:$dport" -d '{}' "$DASH/api/requests/$idp/replay")
[ "$code" = 200 ] || fail "a same-origin replay answered $code"
api -D "$TMPD/h" -o "$TMPD/x.json" "$DASH/api/requests"
if tr -d '\r' <"$TMPD/h" | grep -qi '^Access-Control-'; then fail "a CORS header: $(cat "$TMPD/h")"; fi
api -D "$TMPD/h" -o "$TMPD/page.html" "$DASH/"
for want in "Content-Security-Policy: default-src 'self'" "X-Content-Type-Options: nosniff" \
    "X-Frame-Options: DENY" "Referrer-Policy: no-referrer" "Content-Type: text/html"; do
    tr -d '\r' <"$TMPD/h" | grep -qi "^$want" || fail "page headers lack '$want': $(cat "$TMPD/h")"
done
grep -q '<script src="/app.js"' "$TMPD/page.html" || fail "the page: $(head -c 300 "$TMPD/page.html")"
if grep -q '<script>' "$TMPD/page.html"; then fail "the page has an inline script"; fi
note "CSRF, foreign Host, CORS and page headers checked"

# 8. Garbage on the dashboard port costs nothing.
rss0=$(rss_kb "$client")
for i in 1 2 3; do D_ garbage 127.0.0.1 "$dport" >"$TMPD/garbage.out" 2>&1 || fail "garbage: $(cat "$TMPD/garbage.out")"; done
kill -0 "$client" 2>/dev/null || fail "the client died of garbage: $(tail -5 "$TMPD/client.err")"
grep -q "^binary: .*closed\|^binary: (nothing); closed" "$TMPD/garbage.out" || fail "garbage: $(cat "$TMPD/garbage.out")"
code=$(api -o /dev/null -w '%{http_code}' "$DASH/api/requests")
[ "$code" = 200 ] || fail "after garbage /api/requests answered $code"
rss1=$(rss_kb "$client")
note "garbage: $(tr '\n' '|' <"$TMPD/garbage.out"); client RSS $rss0 -> $rss1 kB"
[ "${WR_SANITIZE:-no}" = yes ] || [ $((rss1 - rss0)) -lt 8192 ] || fail "garbage cost $((rss1 - rss0)) kB of RSS"

# 9. The total byte cap holds with many large bodies, and RSS stays bounded.
head -c 300000 /dev/urandom >"$TMPD/up.bin"
c --data-binary @"$TMPD/up.bin" -o /dev/null "$A/upload" # warm up the buffers
rss0=$(rss_kb "$client")
i=0
while [ $i -lt 60 ]; do
    c --data-binary @"$TMPD/up.bin" -o /dev/null "$A/upload" || fail "upload $i"
    c -o /dev/null "$A/bytes/300000" || fail "download $i"
    i=$((i + 1))
done
api "$DASH/api/requests?limit=1000" >"$TMPD/list.json"
chk "$TMPD/list.json" 'd["capture"]["bytes"] <= 4194304' "the capture holds more than max_total"
chk "$TMPD/list.json" 'd["capture"]["dropped"] > 0 and d["capture"]["entries"] < 100' "old entries dropped for the total cap"
rss1=$(rss_kb "$client")
note "120 bodies of 300 kB: capture $(D_ get "$TMPD/list.json" 'd["capture"]["bytes"]') bytes in $(D_ get "$TMPD/list.json" 'd["capture"]["entries"]') entries; client RSS $rss0 -> $rss1 kB"
# (Under ASan, freed memory waits in its quarantine: RSS says nothing there.)
[ "${WR_SANITIZE:-no}" = yes ] || [ $((rss1 - rss0)) -lt 32768 ] ||
    fail "client RSS grew by $((rss1 - rss0)) kB (max_total is 4 MiB)"

# 10. Clear.
api -X DELETE -H 'Content-Type: application/json' "$DASH/api/requests" >"$TMPD/x.json" || fail "DELETE"
api "$DASH/api/requests" >"$TMPD/list.json"
chk "$TMPD/list.json" 'd["requests"] == [] and d["capture"]["entries"] == 0' "cleared"

# 11. The token, on a second client (loopback, token set).
dport2=$(free_port)
"$WARREN" client --server "127.0.0.1:$cport" --local-addr "127.0.0.1:$sport" --subdomain tok \
    --dashboard-port "$dport2" --dashboard-token "$DTOKEN" >"$TMPD/client2.out" 2>"$TMPD/client2.err" &
WR_PIDS="$WR_PIDS $!"
wait_log "$TMPD/client2.out" "^tunnel web: " 10 || fail "client 2: $(tail -3 "$TMPD/client2.err")"
if grep -q "$DTOKEN" "$TMPD/client2.out" "$TMPD/client2.err"; then fail "the dashboard token was printed"; fi
D2="http://127.0.0.1:$dport2"
code=$(api -o "$TMPD/x.json" -w '%{http_code}' -D "$TMPD/h" "$D2/api/requests")
[ "$code" = 401 ] || fail "no token answered $code"
tr -d '\r' <"$TMPD/h" | grep -qi '^WWW-Authenticate: Bearer' || fail "401 without WWW-Authenticate"
code=$(api -o /dev/null -w '%{http_code}' "$D2/")
[ "$code" = 401 ] || fail "the page without the token answered $code"
code=$(api -o /dev/null -w '%{http_code}' -H "Authorization: Bearer wrong" "$D2/api/requests")
[ "$code" = 401 ] || fail "a wrong token answered $code"
code=$(api -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $DTOKEN" "$D2/api/requests")
[ "$code" = 200 ] || fail "the right token answered $code"
code=$(api -o /dev/null -w '%{http_code}' "$D2/?token=wrong")
[ "$code" = 401 ] || fail "?token=wrong answered $code"
code=$(api -o /dev/null -w '%{http_code}' -D "$TMPD/h" "$D2/?token=$DTOKEN")
[ "$code" = 303 ] || fail "?token= answered $code"
cookie=$(tr -d '\r' <"$TMPD/h" | sed -n 's/^Set-Cookie: //Ip')
case $cookie in
warren_dash=*"; HttpOnly; SameSite=Strict"*) ;;
*) fail "Set-Cookie: '$cookie'" ;;
esac
case $cookie in *"$DTOKEN"*) fail "the cookie holds the token" ;; esac
[ "$(tr -d '\r' <"$TMPD/h" | sed -n 's/^Location: //Ip')" = / ] || fail "?token= does not send the browser to /"
code=$(api -o /dev/null -w '%{http_code}' -H "Cookie: ${cookie%%;*}" "$D2/api/requests")
[ "$code" = 200 ] || fail "the cookie answered $code"
code=$(api -o /dev/null -w '%{http_code}' -H "Cookie: warren_dash=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" "$D2/api/requests")
[ "$code" = 401 ] || fail "a made-up cookie answered $code"
note "token: Bearer and the ?token= cookie accepted; none, wrong ones and made-up cookies refused"

# 12. A non-loopback address without a token is a configuration error.
cat >"$TMPD/open.yaml" <<EOF
server: 127.0.0.1:$cport
tunnels:
  - name: web
    type: http
    local: 127.0.0.1:$sport
    subdomain: open
dashboard:
  bind: 0.0.0.0:$dport
EOF
if "$WARREN" -t -c "$TMPD/open.yaml" >"$TMPD/t.out" 2>&1; then fail "warren -t accepted a dashboard on 0.0.0.0 without a token"; fi
grep -q "open.yaml:8:9: the dashboard address 0.0.0.0:$dport is not a loopback address: a token is required" "$TMPD/t.out" ||
    fail "warren -t: $(cat "$TMPD/t.out")"
if "$WARREN" client -c "$TMPD/open.yaml" >"$TMPD/t.out" 2>&1; then fail "the client started with a dashboard on 0.0.0.0 without a token"; fi
grep -q "open.yaml:8:9: .*token is required" "$TMPD/t.out" || fail "client: $(cat "$TMPD/t.out")"
if "$WARREN" client --server "127.0.0.1:$cport" --local-addr "127.0.0.1:$sport" --subdomain open \
    --dashboard-bind 0.0.0.0 >"$TMPD/t.out" 2>&1; then fail "--dashboard-bind 0.0.0.0 without a token started"; fi
grep -q "^warren: the dashboard address 0.0.0.0:4040 is not a loopback address" "$TMPD/t.out" ||
    fail "--dashboard-bind 0.0.0.0: $(cat "$TMPD/t.out")"
printf '  token: a-dashboard-token\n' >>"$TMPD/open.yaml"
"$WARREN" -t -c "$TMPD/open.yaml" >"$TMPD/t.out" 2>&1 || fail "warren -t with a token: $(cat "$TMPD/t.out")"
printf 'server: 127.0.0.1:1\ntunnels: []\ndashboard:\n  bnd: 127.0.0.1:1\n' >"$TMPD/typo.yaml"
if "$WARREN" -t -c "$TMPD/typo.yaml" >"$TMPD/t.out" 2>&1; then fail "warren -t accepted dashboard.bnd"; fi
grep -q "typo.yaml:4:3: unknown key 'bnd' in 'dashboard'" "$TMPD/t.out" || fail "warren -t: $(cat "$TMPD/t.out")"
note "a non-loopback address without a token: refused by warren -t, from the file and from the flags"

# 13. capture: false: the dashboard runs, nothing is recorded.
dport3=$(free_port)
cat >"$TMPD/nocap.yaml" <<EOF
server: 127.0.0.1:$cport
tunnels:
  - name: web
    type: http
    local: 127.0.0.1:$sport
    subdomain: nocap
dashboard:
  bind: 127.0.0.1:$dport3
  capture: false
EOF
"$WARREN" client -c "$TMPD/nocap.yaml" >"$TMPD/client3.out" 2>"$TMPD/client3.err" &
WR_PIDS="$WR_PIDS $!"
wait_log "$TMPD/client3.out" "^tunnel web: " 10 || fail "client 3: $(tail -3 "$TMPD/client3.err")"
curl -sS --max-time 20 --resolve "nocap.example.test:$hport:127.0.0.1" -o /dev/null "http://nocap.example.test:$hport/" ||
    fail "GET through client 3"
api "http://127.0.0.1:$dport3/api/requests" >"$TMPD/list.json"
chk "$TMPD/list.json" 'd["capture"]["enabled"] is False and d["requests"] == []' "capture: false records nothing"

# The clients stop cleanly (sanitizer builds check for leaks at exit).
kill -TERM "$client"
wait_exit "$client" 10 || fail "client exit status $?"
note "dashboard API: all checks passed"
