#!/bin/sh
# The dashboard in a real headless browser: Debian's chromium driven by
# playwright-core (t/browser/dashboard.mjs), against a warren server, a
# client with its dashboard on a free port, and a local web service; all on
# 127.0.0.1. Skips (77) without Node.js 20+, chromium or
# t/browser/node_modules (apt-get install chromium; cd t/browser && npm ci),
# which WR_STRICT=1 turns into a failure. The screenshot and the downloaded HAR
# are left in t/out/browser/.
. "$(dirname "$0")/lib.sh"
unset WARREN_HTTP_BIND WARREN_DASHBOARD_PORT

HERE=$(cd "$(dirname "$0")" && pwd)
HL="$HERE/http_lib.py"
BROWSER_DIR="$WR_TOP/t/browser"
[ -x "$WARREN" ] || fail "warren not built"
command -v node >/dev/null || skip "no node (Node.js 20 or later, with npm)"
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' ||
    skip "node $(node --version) is older than 20, which playwright-core needs"
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || skip "no chromium at $CHROMIUM (Debian: apt-get install chromium)"
[ -f "$BROWSER_DIR/node_modules/playwright-core/package.json" ] ||
    skip "no playwright-core in t/browser/node_modules (cd t/browser && npm ci)"
PY=$(python3 -c 'import sys; print(sys.executable)') || fail "no python3"
export WARREN_TOKEN="wr-browser-$$-token"

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
"$WARREN" client --server "127.0.0.1:$cport" --local-addr "127.0.0.1:$sport" --subdomain app \
    --dashboard-port "$dport" >"$TMPD/client.out" 2>"$TMPD/client.err" &
client=$!
WR_PIDS="$WR_PIDS $client"
wait_log "$TMPD/client.out" "^tunnel web: " 10 || fail "client not registered: $(tail -3 "$TMPD/client.err")"

out="$WR_OUT/browser"
mkdir -p "$out"
# node runs in the background, recorded like every other process, with a
# bound on its run time.
DASH_URL="http://127.0.0.1:$dport" TUNNEL_PORT="$hport" TUNNEL_HOST="app.example.test:$hport" \
    SVC_LOG="$TMPD/svc.log" OUT="$out" CHROMIUM="$CHROMIUM" \
    node "$BROWSER_DIR/dashboard.mjs" >"$TMPD/node.out" 2>&1 &
nodepid=$!
WR_PIDS="$WR_PIDS $nodepid"
wait_exit "$nodepid" 120
rc=$?
cat "$TMPD/node.out"
[ $rc -eq 0 ] || fail "the browser test failed (exit $rc); client log: $(tail -3 "$TMPD/client.err")"
[ -s "$out/dashboard.png" ] || fail "no screenshot"
kill -TERM "$client"
wait_exit "$client" 10 || fail "client exit status $?"
