#!/bin/sh
# The warren binary: version, and 'warren -t -c FILE' on the shipped example
# and on bad files, each error checked to the letter.
. "$(dirname "$0")/lib.sh"

[ -x "$WARREN" ] || fail "warren not built"
"$WARREN" version | grep -q "^warren [0-9]*\.[0-9]*\.[0-9]*" || fail "warren version"
"$WARREN" -t -c "$WR_TOP/conf/warren.yaml" >"$TMPD/ok.out" 2>&1 || fail "conf/warren.yaml: $(cat "$TMPD/ok.out")"
grep -q "configuration ok" "$TMPD/ok.out" || fail "no 'configuration ok'"

# check NAME EXPECTED-MESSAGE: YAML on stdin must be refused with exactly it.
check() {
    f="$TMPD/$1.yaml"
    cat >"$f"
    out=$("$WARREN" -t -c "$f" 2>&1)
    rc=$?
    [ $rc -eq 1 ] || fail "$1: exit $rc, expected 1 ($out)"
    [ "$out" = "warren: $f:$2" ] || fail "$1: got    '$out'
expected 'warren: $f:$2'"
    note "$1: $2"
}

check unknown_key "3:3: unknown key 'stream_windw' in 'mux' (expected one of: max_frame, stream_window, session_budget, max_streams, accept_backlog, send_buffer, ping_interval, keepalive_timeout)" <<'Y'
workers: 2
mux:
  stream_windw: 128k
Y
check top_unknown "1:1: unknown key 'wokers' at the top level (expected one of: listen, tcp_bind, tcp_ports, tokens, tls, plugins, http, admin, handshake_timeout, heartbeat, drain_timeout, workers, log, mux)" <<'Y'
wokers: 2
Y
check bad_int "1:10: 'workers' expects an integer from 0 to 64, got \"lots\"" <<'Y'
workers: lots
Y
check bad_enum "2:10: 'log.level' expects one of: error, warn, info, debug, got \"loud\"" <<'Y'
log:
  level: loud
Y
check no_unit "2:18: 'mux.ping_interval' expects a duration with a unit (us, ms, s, m or h, e.g. 30s), got \"10\": a unit is required" <<'Y'
mux:
  ping_interval: 10
Y
check kind "1:6: 'mux' expects a map, got a sequence" <<'Y'
mux: [1, 2]
Y
check cross "2:3: bad mux settings: keepalive timeout 5000 ms below the ping interval 50000 ms" <<'Y'
mux:
  ping_interval: 50s
  keepalive_timeout: 5s
Y
check syntax "3:1: YAML syntax error: could not find expected ':' (while scanning a simple key at line 2, column 1)" <<'Y'
mux:
bad
Y
check ports "1:12: 'tcp_ports' expects a range LOW-HIGH within 1-65535, got \"9-1\"" <<'Y'
tcp_ports: 9-1
Y
check token_hex "2:5: 'tokens' entries are SHA-256 digests: 64 hex digits (printf %s TOKEN | sha256sum)" <<'Y'
tokens:
  - not-a-digest
Y
check client_tunnel "3:5: missing required key 'local' in 'tunnels[0]'" <<'Y'
server: 127.0.0.1:7835
tunnels:
  - name: db
    remote_port: 20001
Y
check client_port "5:18: 'tunnels[0].remote_port' expects an integer from 1 to 65535, got \"70000\"" <<'Y'
server: 127.0.0.1:7835
tunnels:
  - name: db
    local: 127.0.0.1:5432
    remote_port: 70000
Y
for f in server client warren; do
    "$WARREN" -t -c "$WR_TOP/conf/$f.yaml" >"$TMPD/$f.out" 2>&1 || fail "conf/$f.yaml: $(cat "$TMPD/$f.out")"
done
grep -q "client configuration ok" "$TMPD/client.out" || fail "conf/client.yaml not read as a client file"
out=$("$WARREN" -t -c "$TMPD/missing.yaml" 2>&1)
[ $? -eq 1 ] || fail "missing file: wrong exit"
[ "$out" = "warren: $TMPD/missing.yaml: cannot open: No such file or directory" ] || fail "missing file: $out"

# WARREN_* variables stand for flags: they override the file, and a flag on
# the command line overrides them.
printf 'tcp_ports: 20000-20010\n' >"$TMPD/env.yaml"
out=$(WARREN_TCP_PORTS=bad "$WARREN" server -c "$TMPD/env.yaml" 2>&1)
[ $? -eq 1 ] || fail "WARREN_TCP_PORTS=bad: wrong exit"
[ "$out" = "warren: --tcp-ports expects LOW-HIGH within 1-65535, got 'bad'" ] ||
    fail "WARREN_TCP_PORTS=bad did not override the file: $out"
out=$(WARREN_TCP_PORTS=bad "$WARREN" server -c "$TMPD/env.yaml" --tcp-ports 9-1 2>&1)
[ "$out" = "warren: --tcp-ports expects LOW-HIGH within 1-65535, got '9-1'" ] ||
    fail "the flag did not win over WARREN_TCP_PORTS: $out"
out=$(WARREN_TLS=maybe "$WARREN" client --local-addr 127.0.0.1:1 --remote-port 20001 2>&1)
[ $? -eq 1 ] || fail "WARREN_TLS=maybe: wrong exit"
[ "$out" = "warren: WARREN_TLS expects true or false, got 'maybe'" ] || fail "WARREN_TLS=maybe: $out"
out=$(WARREN_LOCAL_ADDR=127.0.0.1:1 WARREN_TOKEN= timeout 10 "$WARREN" client --remote-port 20001 </dev/null 2>&1)
[ "$out" = "warren: no token: give --token, WARREN_TOKEN, token_file: or type it at the prompt" ] ||
    fail "WARREN_LOCAL_ADDR not taken as --local-addr: $out"
echo ok
