#!/bin/sh
# The four shipped plugins on real traffic: a warren server loads auth,
# ratelimit, access_log (twice: JSON and combined) and circuit_breaker from
# its YAML; clients with different tokens, curl on the HTTP ingress and on a
# TCP tunnel. auth: tokens with rights (refusals printed by the client),
# basic auth 401 -> 200 with the credentials kept from the service, a deny
# list 403; ratelimit: 429 with Retry-After after the burst, then recovery;
# access_log: one line per request, matching status and bytes, JSON that
# parses; circuit_breaker: opens after failures, answers 503 fast,
# half-opens after the cool-down and closes when the service is back. Also
# the loader's refusals as `warren -t` reports them.
. "$(dirname "$0")/lib.sh"
unset WARREN_HTTP_BIND

HL="$(cd "$(dirname "$0")" && pwd)/http_lib.py"
[ -x "$WARREN" ] || fail "warren not built"
command -v curl >/dev/null || skip "no curl"
PY=$(python3 -c 'import sys; print(sys.executable)') || fail "no python3"
PLUGINS="$WR_TOP/plugins"
for p in auth ratelimit access_log circuit_breaker; do
    [ -f "$PLUGINS/$p.so" ] || fail "plugins/$p.so not built"
done
export WARREN_PLUGIN_DIR="$PLUGINS"

sha() { printf %s "$1" | sha256sum | cut -d' ' -f1; }
# code URL [CURL ARGS...]: the HTTP status curl gets.
code() { _u=$1; shift; curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@" "$_u"; }

spawn "$TMPD/alpha.log" "$PY" -u "$HL" serve --name alpha
alpha=$!
wait_log "$TMPD/alpha.log" "^listening on" 10 || fail "service did not start"
aport=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$TMPD/alpha.log")

cport=$(free_port)
hport=$(free_port)
tport=$(free_port)
H="http://127.0.0.1:$hport"
cat >"$TMPD/server.yaml" <<EOF
listen: 127.0.0.1:$cport
tcp_bind: 127.0.0.1
tcp_ports: $tport-$tport
log:
  level: debug
workers: 2
http:
  bind: 127.0.0.1:$hport
  domain: example.test
plugins:
  - plugin: auth
    config:
      tokens:
        - id: alice
          sha256: $(sha alice-token)
          subdomains: [app, api, flaky, rl]
          ports: [$tport]
        - id: bob
          sha256: $(sha bob-token)
          subdomains: [bob]
      protect:
        - hostname: app.example.test
          basic:
            - user: carol
              sha256: $(sha carol-pw)
        - hostname: api.example.test
          deny: [127.0.0.0/8, "::1/128"]
  - plugin: ratelimit
    id: rl
    config:
      rate: 2
      burst: 20
      key: tunnel
  - plugin: access_log
    id: json
    config:
      path: $TMPD/access.json
      format: json
      flush: 100ms
  - plugin: access_log
    id: combined
    config:
      path: $TMPD/access.log
      format: combined
      flush: 100ms
  - plugin: circuit_breaker
    id: cb
    config:
      failures: 3
      window: 10s
      cooldown: 2s
      probes: 1
EOF
"$WARREN" -t -c "$TMPD/server.yaml" >"$TMPD/t.out" 2>&1 || fail "warren -t: $(cat "$TMPD/t.out")"
spawn "$TMPD/server.log" "$WARREN" server -c "$TMPD/server.yaml"
server=$!
wait_log "$TMPD/server.log" "http ingress on" 10 || fail "server did not start: $(tail -5 "$TMPD/server.log")"
for id in auth rl json combined cb; do
    grep -q "plugin $id: .* loaded from $PLUGINS/" "$TMPD/server.log" || fail "plugin $id not loaded"
done

cat >"$TMPD/client.yaml" <<EOF
server: 127.0.0.1:$cport
token: alice-token
tunnels:
  - {name: app, type: http, local: 127.0.0.1:$aport, subdomain: app}
  - {name: api, type: http, local: 127.0.0.1:$aport, subdomain: api}
  - {name: flaky, type: http, local: 127.0.0.1:$aport, subdomain: flaky}
  - {name: rl, type: http, local: 127.0.0.1:$aport, subdomain: rl}
  - {name: raw, type: tcp, local: 127.0.0.1:$aport, remote_port: $tport}
plugins:
  - plugin: access_log
    config:
      path: $TMPD/client-access.json
      format: json
      flush: 100ms
EOF
spawn "$TMPD/client.log" "$WARREN" client -c "$TMPD/client.yaml" --log-level debug
client=$!
wait_log "$TMPD/client.log" "tunnel raw" 10 || fail "alice's client not up: $(tail -5 "$TMPD/client.log")"
grep -q "token alice" "$TMPD/server.log" || fail "the session's token id is not in the server log"

# --- auth: tokens and their rights
"$WARREN" client --server "127.0.0.1:$cport" --token bob-token --local-addr "127.0.0.1:$aport" \
    --subdomain app >"$TMPD/bob.out" 2>"$TMPD/bob.err" &
bob=$!
WR_PIDS="$WR_PIDS $bob"
wait_exit "$bob" 5 || true
grep -q "token bob may not use" "$TMPD/bob.err" || fail "bob on app: $(cat "$TMPD/bob.err")"
"$WARREN" client --server "127.0.0.1:$cport" --token nobody --local-addr "127.0.0.1:$aport" \
    --subdomain bob >"$TMPD/none.out" 2>"$TMPD/none.err" &
none=$!
WR_PIDS="$WR_PIDS $none"
wait_exit "$none" 5 || true
grep -q "unknown token" "$TMPD/none.err" || fail "unknown token: $(cat "$TMPD/none.err")"
grep -q "nobody" "$TMPD/server.log" "$TMPD/none.err" && fail "a token reached a log"
note "auth: bob refused on app, an unknown token refused"

# --- auth: basic auth on app, deny list on api
curl -s -D "$TMPD/401.h" -o /dev/null --max-time 5 -H "Host: app.example.test" "$H/" ||
    fail "curl app"
tr -d '\r' <"$TMPD/401.h" | grep -q '^HTTP/1.1 401' || fail "app without credentials: $(head -1 "$TMPD/401.h")"
tr -d '\r' <"$TMPD/401.h" | grep -qi '^WWW-Authenticate: Basic realm=' || fail "no WWW-Authenticate"
[ "$(code "$H/" -H "Host: app.example.test" -u carol:wrong)" = 401 ] || fail "wrong password not 401"
curl -s --max-time 5 -H "Host: app.example.test" -u carol:carol-pw "$H/headers" >"$TMPD/ok.json" ||
    fail "curl app with credentials"
grep -q '"hello from alpha"\|"headers"' "$TMPD/ok.json" || fail "app with credentials: $(head -c 300 "$TMPD/ok.json")"
grep -qi '"authorization"' "$TMPD/ok.json" && fail "the credentials reached the service"
[ "$(code "$H/" -H "Host: api.example.test")" = 403 ] || fail "api from 127.0.0.1 not 403"
note "auth: 401 -> 200 with basic auth, Authorization removed, deny list 403"

# --- ratelimit: a burst of 20 passes, then 429 with Retry-After, then the
# bucket refills (2 per second). A loaded machine may refill a token or two
# during the burst, so the count is bounded, not exact.
n200=0
i=0
ra=
while [ $i -lt 40 ]; do
    curl -s -D "$TMPD/rl.h" -o /dev/null --max-time 5 -H "Host: rl.example.test" "$H/"
    c=$(tr -d '\r' <"$TMPD/rl.h" | sed -n 's/^HTTP\/1.1 \([0-9]*\).*/\1/p')
    if [ "$c" = 429 ]; then
        ra=$(tr -d '\r' <"$TMPD/rl.h" | sed -n 's/^Retry-After: //Ip')
        break
    fi
    [ "$c" = 200 ] || fail "ratelimit: request $i got '$c'"
    n200=$((n200 + 1))
    i=$((i + 1))
done
[ "$c" = 429 ] || fail "ratelimit: no 429 after $n200 requests"
[ $n200 -ge 20 ] || fail "ratelimit: 429 after only $n200 requests (burst 20)"
[ "$ra" = 1 ] || fail "ratelimit: Retry-After is '$ra', expected 1"
n429=0
for i in 1 2 3 4 5; do
    [ "$(code "$H/" -H "Host: rl.example.test")" = 429 ] && n429=$((n429 + 1))
done
[ $n429 -ge 3 ] || fail "ratelimit: only $n429 of 5 requests right after the burst got 429"
n429=$((n429 + 1))
sleep 1.2
[ "$(code "$H/" -H "Host: rl.example.test")" = 200 ] || fail "ratelimit: no recovery after the refill"
note "ratelimit: $n200 x 200, then 429 with Retry-After $ra, recovered after 1.2 s"

# --- circuit breaker: 3 failures open it, then 503 at once, then a probe
for i in 1 2 3; do
    [ "$(code "$H/status/500" -H "Host: flaky.example.test")" = 500 ] || fail "flaky: failure $i not 500"
done
before=$(grep -c '"GET /' "$TMPD/alpha.log" || true)
t0=$(date +%s.%N)
[ "$(code "$H/" -H "Host: flaky.example.test")" = 503 ] || fail "circuit not open after 3 failures"
ms=$("$PY" -c "import time,sys; print(int((time.time()-float(sys.argv[1]))*1000))" "$t0")
after=$(grep -c '"GET /' "$TMPD/alpha.log" || true)
[ "$before" = "$after" ] || fail "an open circuit let a request reach the service"
wait_log "$TMPD/server.log" "circuit .*flaky.example.test.* open" 2 || fail "no open circuit logged"
sleep 2.2
[ "$(code "$H/" -H "Host: flaky.example.test")" = 200 ] || fail "half-open probe not let through"
[ "$(code "$H/" -H "Host: flaky.example.test")" = 200 ] || fail "circuit not closed after the probe"
wait_log "$TMPD/server.log" "circuit .*flaky.example.test.* closed" 2 || fail "no closed circuit logged"
note "circuit breaker: open after 3 x 500, 503 in $ms ms, half-open after 2 s, closed"

# --- TCP tunnel through the plugins: a stream logged like a request
[ "$(code "http://127.0.0.1:$tport/" -H "Host: whatever")" = 200 ] || fail "tcp tunnel"

# --- access_log: every request above, in both formats
sleep 0.5
total=$(wc -l <"$TMPD/access.json")
ctotal=$(wc -l <"$TMPD/access.log")
[ "$total" -eq "$ctotal" ] || fail "json has $total lines, combined $ctotal"
"$PY" - "$TMPD/access.json" <<'PY' || fail "access.json"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
by = {}
for d in lines:
    by.setdefault((d.get("host"), d.get("status")), []).append(d)
def n(host, status):
    return len(by.get((host, status), []))
assert n("rl.example.test", 429) >= 4, by.keys()
assert n("app.example.test", 401) == 2, n("app.example.test", 401)
assert n("app.example.test", 200) == 1
assert n("api.example.test", 403) == 1
assert n("flaky.example.test", 500) == 3
assert n("flaky.example.test", 503) == 1
tcp = [d for d in lines if d.get("type") == "tcp"]
assert len(tcp) == 1 and tcp[0]["bytes_out"] > 0 and tcp[0]["tunnel"] == "raw", tcp
ok = by[("app.example.test", 200)][0]
assert ok["method"] == "GET" and ok["path"] == "/headers" and ok["tunnel"] == "app", ok
assert ok["bytes_out"] > 0 and ok["client"] == "127.0.0.1", ok
print("access_log: %d json lines" % len(lines))
PY
grep -q '"GET /headers HTTP/1.1" 200 ' "$TMPD/access.log" || fail "combined line: $(head -3 "$TMPD/access.log")"
# The client runs its own plugins: what reached it, as the local service
# answered (the server's refusals never reach it).
"$PY" - "$TMPD/client-access.json" <<'PY' || fail "client-access.json"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
st = [(d["tunnel"], d["status"]) for d in lines]
assert st.count(("flaky", 500)) == 3 and st.count(("flaky", 200)) == 2, st
assert st.count(("app", 200)) == 1 and ("app", 401) not in st and ("api", 403) not in st, st
assert all(d["status"] != 429 and d["status"] != 503 for d in lines), st
tcp = [d for d in lines if d.get("type") == "tcp"]
assert len(tcp) == 1 and tcp[0]["tunnel"] == "raw" and tcp[0]["bytes_out"] > 0, tcp
assert tcp[0]["status"] == 0 and tcp[0]["client"] == "127.0.0.1", tcp
print("client access_log: %d json lines" % len(lines))
PY

# Rotation: SIGUSR1 reopens the files.
mv "$TMPD/access.json" "$TMPD/access.json.1"
kill -USR1 "$server"
sleep 0.2
[ "$(code "$H/" -H "Host: rl.example.test")" = 200 ] || fail "after SIGUSR1"
wait_log "$TMPD/access.json" '"rl.example.test"' 3 || fail "no new access.json after SIGUSR1"
note "access_log: $total lines in each format, reopened on SIGUSR1"

# --- SIGTERM: clean exit with the plugins loaded
kill "$client"
kill "$server"
wait_exit "$server" 15
rc=$?
[ $rc -eq 0 ] || fail "server exit $rc"

# --- the loader's refusals, as warren -t prints them
cp "$PLUGINS/auth.so" "$TMPD/ww.so"
chmod 0666 "$TMPD/ww.so"
printf 'plugins:\n  - path: %s\n' "$TMPD/ww.so" >"$TMPD/ww.yaml"
"$WARREN" -t -c "$TMPD/ww.yaml" >"$TMPD/ww.out" 2>&1 && fail "a world-writable plugin was accepted"
grep -q "ww.yaml:2:.*writable by group or others" "$TMPD/ww.out" || fail "world-writable: $(cat "$TMPD/ww.out")"
printf 'plugins:\n  - plugin: auth\n  - plugin: auth\n' >"$TMPD/dup.yaml"
"$WARREN" -t -c "$TMPD/dup.yaml" >"$TMPD/dup.out" 2>&1 && fail "a duplicate id was accepted"
grep -q "dup.yaml:3:.*duplicate plugin id 'auth'" "$TMPD/dup.out" || fail "duplicate: $(cat "$TMPD/dup.out")"
printf 'plugins:\n  - plugin: ratelimit\n    config:\n      rate: 0\n' >"$TMPD/bad.yaml"
"$WARREN" -t -c "$TMPD/bad.yaml" >"$TMPD/bad.out" 2>&1 && fail "rate 0 was accepted"
grep -q "bad.yaml:4:" "$TMPD/bad.out" || fail "bad config: $(cat "$TMPD/bad.out")"
printf 'plugins:\n  - plugin: nosuch\n' >"$TMPD/no.yaml"
"$WARREN" -t -c "$TMPD/no.yaml" >"$TMPD/no.out" 2>&1 && fail "a missing plugin was accepted"
grep -q "no.yaml:2:.*nosuch.so" "$TMPD/no.out" || fail "missing: $(cat "$TMPD/no.out")"
note "loader: world-writable, duplicate id, bad config and missing file refused with file:line"

# --- a plugin that cannot start on a worker stops the server (exit 1)
cat >"$TMPD/failing.c" <<'C'
#include <warren/plugin.h>
static int failing_init_worker(wr_ctx_t *ctx)
{
    return wr_num(ctx, WR_KEY_WORKER, 0) == 1 ? WR_ERROR : WR_OK;
}
WR_PLUGIN_DEFINE(failing, "1.0.0", .init_worker = failing_init_worker);
C
${CC:-cc} -std=c11 -fPIC -shared -Wl,-z,defs -I"$WR_TOP/include" -o "$TMPD/failing.so" \
    "$TMPD/failing.c" || fail "cannot build the failing plugin"
chmod 0755 "$TMPD/failing.so"
cat >"$TMPD/failing.yaml" <<Y
listen: 127.0.0.1:$(free_port)
workers: 2
http:
  bind: "off"
plugins:
  - path: $TMPD/failing.so
Y
spawn "$TMPD/failing.log" "$WARREN" server -c "$TMPD/failing.yaml"
failing=$!
wait_exit "$failing" 10
rc=$?
[ $rc -eq 1 ] || fail "a failed init_worker: server exit $rc (expected 1): $(tail -3 "$TMPD/failing.log")"
grep -q "plugin failing: init_worker failed on worker 1" "$TMPD/failing.log" ||
    fail "no init_worker failure logged: $(tail -3 "$TMPD/failing.log")"
note "a plugin failing init_worker on worker 1: server exit 1"
echo "ok"
