#!/bin/sh
# Metrics, the admin routes and trace context on real traffic: a warren
# server (two workers, the HTTP ingress, the access_log and ratelimit
# plugins) and a client that publishes a local web service, driven with
# curl through the tunnel. promtool validates /metrics of both while
# requests flow; N requests move the request counters, the streams and
# the duration histogram by exactly N on both sides; /status parses and
# lists the session and its tunnel; /healthz, 405, 404, HEAD, garbage and
# oversized heads on the admin port; handshake failures by reason; a
# refused tunnel takes no tunnel label; a taken admin or dashboard port
# stops warren with a clear error; the service gets a valid traceparent (a
# new one, or the one sent), and the access log writes it.
. "$(dirname "$0")/lib.sh"
unset WARREN_HTTP_BIND WARREN_ADMIN_BIND WARREN_DASHBOARD_PORT # set here, by file or flag

HL="$(cd "$(dirname "$0")" && pwd)/http_lib.py"
[ -x "$WARREN" ] || fail "warren not built"
command -v curl >/dev/null || skip "no curl"
command -v promtool >/dev/null ||
    skip "promtool not found: install the Debian package prometheus to validate /metrics"
PY=$(python3 -c 'import sys; print(sys.executable)') || fail "no python3"
for p in access_log ratelimit; do
    [ -f "$WR_TOP/plugins/$p.so" ] || fail "plugins/$p.so not built"
done
export WARREN_PLUGIN_DIR="$WR_TOP/plugins"
TOKEN="wr-metrics-$$-token"

# mval URL SERIES: the value of one series of URL's /metrics, as warren
# writes it (labels in its order), 0 when it is not there; fails when
# /metrics cannot be read.
mval() {
    curl -sf --max-time 5 "$1" >"$TMPD/mval.prom" || fail "cannot read $1"
    awk -v k="$2" '$1 == k { print $2; f = 1 } END { if (!f) print 0 }' "$TMPD/mval.prom"
}
# code ARGS...: the status curl gets.
code() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@"; }

spawn "$TMPD/alpha.log" "$PY" -u "$HL" serve --name alpha
wait_log "$TMPD/alpha.log" "^listening on" 10 || fail "service did not start"
sport=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$TMPD/alpha.log")

cport=$(free_port)
hport=$(free_port)
aport=$(free_port)
dport=$(free_port)
cat >"$TMPD/server.yaml" <<EOF
listen: 127.0.0.1:$cport
workers: 2
log:
  level: debug
http:
  bind: 127.0.0.1:$hport
  domain: example.test
admin:
  bind: 127.0.0.1:$aport
plugins:
  - plugin: ratelimit
    id: rl
    config: {rate: 100000, burst: 100000, key: ip}
  - plugin: access_log
    id: json
    config: {path: $TMPD/access.json, format: json, flush: 10ms}
  - plugin: access_log
    id: combined
    config: {path: $TMPD/access.log, format: combined, flush: 10ms}
EOF
"$WARREN" -t -c "$TMPD/server.yaml" >/dev/null || fail "server.yaml: $("$WARREN" -t -c "$TMPD/server.yaml" 2>&1)"
spawn "$TMPD/server.log" "$WARREN" server -c "$TMPD/server.yaml" --token "$TOKEN"
server=$!
wait_log "$TMPD/server.log" "admin listener on 127.0.0.1:$aport port $aport" 10 ||
    fail "no admin listener: $(tail -3 "$TMPD/server.log")"
wait_log "$TMPD/server.log" "http ingress on" 10 || fail "server did not start"

"$WARREN" client --server "127.0.0.1:$cport" --token "$TOKEN" --local-addr "127.0.0.1:$sport" \
    --subdomain app --dashboard-port "$dport" --log-level debug \
    >"$TMPD/client.out" 2>"$TMPD/client.log" &
client=$!
WR_PIDS="$WR_PIDS $client"
wait_log "$TMPD/client.out" "^tunnel web: " 10 || fail "client not registered: $(tail -3 "$TMPD/client.log")"
grep -q "dashboard on http://127.0.0.1:$dport/" "$TMPD/client.log" ||
    fail "no client listener: $(cat "$TMPD/client.log")"

S="http://127.0.0.1:$aport"
C="http://127.0.0.1:$dport"
A="http://app.example.test:$hport"
R="--resolve app.example.test:$hport:127.0.0.1"

# --- 1. /metrics under traffic: promtool on both sides
(
    i=0
    while [ $i -lt 30 ]; do
        curl -s -o /dev/null --max-time 5 $R "$A/bytes/20000" || exit 1
        i=$((i + 1))
    done
) &
load=$!
WR_PIDS="$WR_PIDS $load"
n=0
while kill -0 "$load" 2>/dev/null && [ $n -lt 5 ]; do
    curl -s --max-time 5 "$S/metrics" >"$TMPD/server.$n.prom" || fail "server /metrics"
    curl -s --max-time 5 "$C/metrics" >"$TMPD/client.$n.prom" || fail "client /metrics"
    n=$((n + 1))
done
wait "$load" || fail "requests through the tunnel failed under load"
[ $n -gt 0 ] || fail "the load ended before any scrape"
for f in "$TMPD"/server.*.prom "$TMPD"/client.*.prom; do
    promtool check metrics <"$f" >"$TMPD/promtool.out" 2>&1 ||
        fail "promtool check metrics $(basename "$f"): $(head -20 "$TMPD/promtool.out")"
    [ -s "$TMPD/promtool.out" ] && fail "promtool on $(basename "$f"): $(head -20 "$TMPD/promtool.out")"
done
note "promtool: $n scrapes of each side under load are valid"
grep -q '^warren_tunnel_inbound_bytes_total{tunnel="web"} [1-9]' "$TMPD/server.$((n - 1)).prom" ||
    fail "no inbound bytes for web: $(grep inbound "$TMPD/server.$((n - 1)).prom")"
grep -q '^process_resident_memory_bytes [1-9]' "$TMPD/server.0.prom" || fail "no resident memory"
grep -q '^process_open_fds [1-9]' "$TMPD/client.0.prom" || fail "no open fds"
grep -q '^process_start_time_seconds [1-9]' "$TMPD/client.0.prom" || fail "no start time"
grep -q '^warren_build_info{version="[0-9.]*"} 1$' "$TMPD/server.0.prom" || fail "no build info"
grep -q '^warren_client_session_state{state="active"} 1$' "$TMPD/client.0.prom" ||
    fail "client state: $(grep session_state "$TMPD/client.0.prom")"

# --- 2. N requests move the counters by exactly N, on both sides
N=7
RQ='warren_http_requests_total{tunnel="web",code="2xx"}'
ST='warren_streams_opened_total{tunnel="web"}'
HC='warren_http_request_duration_seconds_count{tunnel="web"}'
VD='warren_plugin_verdicts_total{plugin="rl",verdict="ok"}'
s_rq=$(mval "$S/metrics" "$RQ"); c_rq=$(mval "$C/metrics" "$RQ")
s_st=$(mval "$S/metrics" "$ST"); c_st=$(mval "$C/metrics" "$ST")
s_hc=$(mval "$S/metrics" "$HC"); c_hc=$(mval "$C/metrics" "$HC")
s_vd=$(mval "$S/metrics" "$VD")
c_pool=$(mval "$C/metrics" 'warren_client_pool_reused_total{tunnel="web"}')
i=0
while [ $i -lt $N ]; do
    [ "$(code $R "$A/")" = 200 ] || fail "request $i through the tunnel"
    i=$((i + 1))
done
# Both ends count a request as it ends, before the public client has its
# last byte; allow for a slow machine anyway, then require exactness.
i=0
while [ $i -lt 30 ]; do
    [ "$(mval "$S/metrics" "$RQ")" = $((s_rq + N)) ] && [ "$(mval "$C/metrics" "$RQ")" = $((c_rq + N)) ] && break
    sleep 0.1; i=$((i + 1))
done
sleep 0.2
for side in S C; do
    eval "url=\$$side"
    if [ $side = S ]; then
        pre_rq=$s_rq pre_st=$s_st pre_hc=$s_hc
    else
        pre_rq=$c_rq pre_st=$c_st pre_hc=$c_hc
    fi
    got=$(mval "$url/metrics" "$RQ")
    [ "$got" = $((pre_rq + N)) ] || fail "$side: $RQ went from $pre_rq to $got after $N requests"
    got=$(mval "$url/metrics" "$ST")
    [ "$got" = $((pre_st + N)) ] || fail "$side: $ST went from $pre_st to $got after $N requests"
    got=$(mval "$url/metrics" "$HC")
    [ "$got" = $((pre_hc + N)) ] || fail "$side: $HC went from $pre_hc to $got after $N requests"
    got=$(mval "$url/metrics" 'warren_streams_active{tunnel="web"}')
    [ "$got" = 0 ] || fail "$side: $got streams still active"
    [ "$(mval "$url/metrics" warren_sessions_active)" = 1 ] || fail "$side: sessions_active"
done
got=$(mval "$S/metrics" "$VD")
[ "$got" = $((s_vd + N)) ] || fail "$VD went from $s_vd to $got after $N requests"
got=$(mval "$C/metrics" 'warren_client_pool_reused_total{tunnel="web"}')
[ "$got" -ge $((c_pool + N - 1)) ] || fail "pool reuse went from $c_pool to $got after $N requests"
note "$N requests: +$N requests, streams, durations on both sides, +$N ratelimit verdicts"
curl -s "$S/metrics" >"$TMPD/server.final.prom"
curl -s "$C/metrics" >"$TMPD/client.final.prom"
for f in server client; do
    promtool check metrics <"$TMPD/$f.final.prom" >"$TMPD/promtool.out" 2>&1 ||
        fail "promtool on the $f after the requests: $(head -20 "$TMPD/promtool.out")"
done

# --- 3. /status
curl -s --max-time 5 "$S/status" >"$TMPD/server.status" || fail "server /status"
curl -s --max-time 5 "$C/status" >"$TMPD/client.status" || fail "client /status"
"$PY" - "$TMPD/server.status" "$TMPD/client.status" "$hport" "$sport" <<'PY' || fail "/status: $(cat "$TMPD/server.status" "$TMPD/client.status")"
import json, sys
s = json.load(open(sys.argv[1]))
c = json.load(open(sys.argv[2]))
hport, sport = sys.argv[3], sys.argv[4]
assert s["side"] == "server" and c["side"] == "client", (s["side"], c["side"])
assert s["version"] and s["uptime_seconds"] >= 0 and s["workers"] == 2, s
assert len(s["sessions"]) == 1, s["sessions"]
ss = s["sessions"][0]
assert ss["state"] == "active" and ss["peer"].startswith("127.0.0.1:"), ss
assert ss["bytes_received"] > 0 and ss["bytes_sent"] > 0 and ss["streams"] == 0, ss
assert ss["tunnels"] == [{"name": "web", "type": "http", "hostname": "app.example.test",
                          "url": "http://app.example.test:" + hport}], ss["tunnels"]
assert c["state"] == "active" and c["reconnects"] == 0 and len(c["sessions"]) == 1, c
ct = c["sessions"][0]["tunnels"]
assert ct == [{"name": "web", "type": "http", "url": "http://app.example.test:" + hport,
               "local": "127.0.0.1:" + sport}], ct
print("status: server and client list the session and the tunnel")
PY

# --- 4. the routes' answers, and bad input on the admin port
for u in "$S" "$C"; do
    [ "$(curl -s --max-time 5 "$u/healthz")" = ok ] || fail "$u/healthz"
    [ "$(code -I "$u/healthz")" = 200 ] || fail "HEAD $u/healthz"
    [ "$(code -X POST -d x=1 "$u/metrics")" = 405 ] || fail "POST $u/metrics is not 405"
    [ "$(code -X DELETE "$u/status")" = 405 ] || fail "DELETE $u/status is not 405"
    [ "$(code -X PUT -d x=1 "$u/metrics")" = 405 ] || fail "PUT $u/metrics is not 405"
    [ "$(code "$u/nope")" = 404 ] || fail "$u/nope is not 404"
done
# / is nothing on the server, the dashboard's page on the client.
[ "$(code "$S/")" = 404 ] || fail "$S/ is not 404"
[ "$(code "$C/")" = 200 ] || fail "$C/ is not the dashboard page"
# The client's routes follow the dashboard's rules: without a token, only a
# loopback Host (a page elsewhere cannot read them by DNS rebinding).
[ "$(code -H "Host: rebound.example:$dport" "$C/metrics")" = 403 ] ||
    fail "the client's /metrics answered a foreign Host"
[ "$(code -H "Host: rebound.example:$aport" "$S/metrics")" = 200 ] || fail "server /metrics by Host"
curl -s -D "$TMPD/h" -o /dev/null -X POST "$S/metrics"
tr -d '\r' <"$TMPD/h" | grep -qi '^Allow: GET, HEAD$' || fail "405 without Allow: $(cat "$TMPD/h")"
curl -s -D "$TMPD/h" -o /dev/null "$S/metrics"
tr -d '\r' <"$TMPD/h" | grep -qi '^Content-Type: text/plain; version=0.0.4' ||
    fail "/metrics content type: $(cat "$TMPD/h")"
"$PY" - "$aport" <<'PY' || fail "bad input on the admin port"
import os, socket, sys, time
port = int(sys.argv[1])
def send(data, half_close=True):
    s = socket.create_connection(("127.0.0.1", port), 5)
    s.settimeout(12)
    try:
        s.sendall(data)
        if half_close:
            s.shutdown(socket.SHUT_WR)
        out = b""
        while True:
            d = s.recv(65536)
            if not d:
                return out
            out += d
    except (ConnectionResetError, BrokenPipeError):
        return b"(reset)"
    finally:
        s.close()
# garbage, binary and text
for g in (os.urandom(4096), b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + os.urandom(64),
          b"GET\x00/metrics HTTP/1.1\r\n\r\n", b"HELLO\r\n\r\n"):
    r = send(g)
    assert not r.startswith(b"HTTP/1.1 200"), r[:80]
# a head over the 8 KiB limit
r = send(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n", False)
assert not r.startswith(b"HTTP/1.1 200"), r[:80]
# a body over the limit
r = send(b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + b"b" * 100000, False)
assert not r.startswith(b"HTTP/1.1 200"), r[:80]
# a silent connection does not hold the others up
idle = socket.create_connection(("127.0.0.1", port), 5)
r = send(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
assert r.startswith(b"HTTP/1.1 200") and r.endswith(b"ok\n"), r
idle.close()
print("admin port: garbage, a big head, a big body and a silent peer cost nothing")
PY
[ "$(curl -s --max-time 5 "$S/healthz")" = ok ] || fail "the admin listener died of bad input"
[ "$(code $R "$A/")" = 200 ] || fail "the tunnel died of bad input on the admin port"

# --- 5. trace context
hdrs() { curl -s --max-time 5 $R "$@" "$A/headers"; }
tp_of() {
    "$PY" -c '
import json, sys
v = [x[1] for x in json.load(sys.stdin)["headers"] if x[0].lower() == "traceparent"]
print("|".join(v) if v else "-")'
}
made=$(hdrs | tp_of) || fail "/headers"
echo "$made" | grep -Eqx '00-[0-9a-f]{32}-[0-9a-f]{16}-01' || fail "the service got traceparent '$made'"
[ "$made" != 00-00000000000000000000000000000000-0000000000000000-01 ] || fail "zero ids"
again=$(hdrs | tp_of)
[ "$again" != "$made" ] || fail "two requests got the same traceparent $made"
sent=00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00
kept=$(hdrs -H "traceparent: $sent" | tp_of)
[ "$kept" = "$sent" ] || fail "a valid traceparent was not kept: sent $sent, the service got $kept"
for bad in 00-00000000000000000000000000000000-b7ad6b7169203331-01 \
    00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01 ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01 \
    00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01 garbage; do
    got=$(hdrs -H "traceparent: $bad" | tp_of)
    echo "$got" | grep -Eqx '00-[0-9a-f]{32}-[0-9a-f]{16}-01' || fail "invalid '$bad' became '$got'"
done
got=$(hdrs -H "traceparent: $sent" -H "traceparent: $sent" | tp_of)
echo "$got" | grep -Eqx '00-[0-9a-f]{32}-[0-9a-f]{16}-01' || fail "two traceparents became '$got'"
note "traceparent: made $made; kept $sent"
# The access log writes what the service got.
i=0
while ! grep -q "$kept" "$TMPD/access.json" 2>/dev/null && [ $i -lt 30 ]; do sleep 0.1; i=$((i + 1)); done
grep -q "\"traceparent\":\"$made\"" "$TMPD/access.json" || fail "access.json lacks $made: $(tail -3 "$TMPD/access.json")"
grep -q "\"traceparent\":\"$kept\"" "$TMPD/access.json" || fail "access.json lacks $kept"
grep -q "\"GET /headers HTTP/1.1\" 200 [0-9]* \"-\" \"curl/[^\"]*\" \"$made\"\$" "$TMPD/access.log" ||
    fail "the combined line lacks $made: $(grep /headers "$TMPD/access.log" | head -2)"

# --- 6. handshake failures, by reason
auth0=$(mval "$S/metrics" 'warren_handshake_failures_total{reason="auth"}')
pre0=$(mval "$S/metrics" 'warren_handshake_failures_total{reason="bad_preface"}')
"$WARREN" client --server "127.0.0.1:$cport" --token wrong --local-addr "127.0.0.1:$sport" \
    --remote-port 20001 --dashboard-bind off >/dev/null 2>"$TMPD/bad.err" &
bad=$!
WR_PIDS="$WR_PIDS $bad"
wait_exit "$bad" 10
[ $? = 1 ] || fail "a refused client did not exit 1: $(cat "$TMPD/bad.err")"
"$PY" -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)
s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
s.settimeout(5)
while s.recv(4096):
    pass
' "$cport" || fail "garbage on the control port"
i=0
while [ $i -lt 30 ]; do
    [ "$(mval "$S/metrics" 'warren_handshake_failures_total{reason="bad_preface"}')" = $((pre0 + 1)) ] && break
    sleep 0.1; i=$((i + 1))
done
[ "$(mval "$S/metrics" 'warren_handshake_failures_total{reason="auth"}')" = $((auth0 + 1)) ] ||
    fail "a bad token did not count as an auth failure"
[ "$(mval "$S/metrics" 'warren_handshake_failures_total{reason="bad_preface"}')" = $((pre0 + 1)) ] ||
    fail "HTTP on the control port did not count as bad_preface"
[ "$(mval "$S/metrics" warren_sessions_active)" = 1 ] || fail "sessions_active after the refusals"

# --- 7. a refused tunnel takes none of the 1,000 tunnel labels: neither a
# hostname that is taken, nor a free one asked for in the same HELLO
taken0=$(mval "$S/metrics" 'warren_handshake_failures_total{reason="taken"}')
"$WARREN" client --server "127.0.0.1:$cport" --token "$TOKEN" --local-addr "127.0.0.1:$sport" \
    --subdomain app --name refused-taken --dashboard-bind off >/dev/null 2>"$TMPD/refused1.err" &
r1=$!
WR_PIDS="$WR_PIDS $r1"
cat >"$TMPD/refused.yaml" <<EOF
server: 127.0.0.1:$cport
tunnels:
  - name: refused-free
    type: http
    local: 127.0.0.1:$sport
    subdomain: free
  - name: refused-second
    type: http
    local: 127.0.0.1:$sport
    subdomain: app
dashboard:
  bind: "off"
EOF
"$WARREN" client -c "$TMPD/refused.yaml" --token "$TOKEN" >/dev/null 2>"$TMPD/refused2.err" &
r2=$!
WR_PIDS="$WR_PIDS $r2"
# (A taken hostname is worth a retry: the clients stay until stopped below.)
for f in refused1 refused2; do
    wait_log "$TMPD/$f.err" "server refused: .*app.example.test is taken" 20 ||
        fail "$f: not refused: $(cat "$TMPD/$f.err")"
done
curl -sf --max-time 5 "$S/metrics" >"$TMPD/refused.prom" || fail "server /metrics"
leaked=$(grep -o 'tunnel="refused-[^"]*"' "$TMPD/refused.prom" | sort -u | tr '\n' ' ')
[ -z "$leaked" ] || fail "refused tunnels took labels: $leaked"
got=$(mval "$S/metrics" 'warren_handshake_failures_total{reason="taken"}')
[ "$got" -ge $((taken0 + 2)) ] || fail "taken refusals went from $taken0 to $got"
grep -q '^warren_streams_opened_total{tunnel="web"} [1-9]' "$TMPD/refused.prom" ||
    fail "the accepted tunnel lost its label: $(grep streams_opened "$TMPD/refused.prom")"
kill -TERM "$r1" "$r2"
wait_exit "$r1" 10
wait_exit "$r2" 10
[ "$(mval "$S/metrics" warren_sessions_active)" = 1 ] || fail "sessions_active after the refusals"
note "refused tunnels took no label ($((got - taken0)) refusals for a taken hostname)"

# --- 8. a port that is taken is a clear error; off is off
"$WARREN" server --bind "127.0.0.1:$(free_port)" --http-bind off --admin-bind "127.0.0.1:$aport" \
    --token x >"$TMPD/taken.log" 2>&1 &
p=$!
WR_PIDS="$WR_PIDS $p"
wait_exit "$p" 10
[ $? = 1 ] || fail "a server with a taken admin port did not exit 1"
grep -q "cannot listen on 127.0.0.1:$aport (admin.bind): Address already in use" "$TMPD/taken.log" ||
    fail "taken admin port: $(cat "$TMPD/taken.log")"
"$WARREN" client --server "127.0.0.1:$cport" --token "$TOKEN" --local-addr "127.0.0.1:$sport" \
    --subdomain other --dashboard-bind "127.0.0.1:$dport" >/dev/null 2>"$TMPD/taken.err" &
p=$!
WR_PIDS="$WR_PIDS $p"
wait_exit "$p" 10
[ $? = 1 ] || fail "a client with a taken dashboard port did not exit 1"
grep -q "dashboard: cannot listen on 127.0.0.1:$dport (dashboard.bind): Address already in use" "$TMPD/taken.err" ||
    fail "taken dashboard port: $(cat "$TMPD/taken.err")"
printf 'admin:\n  bind: "off"\n' >"$TMPD/off.yaml"
"$WARREN" -t -c "$TMPD/off.yaml" >/dev/null 2>&1 || fail "admin: {bind: off} refused"
printf 'admin:\n  bnid: 127.0.0.1:1\n' >"$TMPD/typo.yaml"
out=$("$WARREN" -t -c "$TMPD/typo.yaml" 2>&1) && fail "a typo in admin: was accepted"
echo "$out" | grep -q "typo.yaml:2:3: unknown key 'bnid' in 'admin' (expected one of: bind)" ||
    fail "typo in admin: $out"
out=$("$WARREN" client --server 127.0.0.1:1 --token t --local-addr 127.0.0.1:1 --remote-port 1 \
    --dashboard-port 70000 2>&1) && fail "--dashboard-port 70000 accepted"
echo "$out" | grep -q "dashboard-port expects 0..65535" || fail "--dashboard-port 70000: $out"

# --- 9. a clean stop
kill -TERM "$client" "$server"
wait_exit "$client" 10 || fail "client did not stop cleanly"
wait_exit "$server" 15 || fail "server did not stop cleanly: $(tail -3 "$TMPD/server.log")"
echo "metrics: ok"
