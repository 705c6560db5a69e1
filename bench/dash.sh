#!/bin/sh
# bench/dash.sh: what the client's dashboard capture costs (docs/dashboard.md).
#
# One warren server (HTTP ingress) and two warren clients on 127.0.0.1, each
# publishing the same private nginx (a 1 KiB file, as bench/http.sh) under
# its own name: "off" has no dashboard (--dashboard-port off), "capture" has
# the dashboard on, capturing every request (the default caps: 1,000
# entries, 1 MiB per body, 64 MiB in all). wrk -t2 -c32 -dSECONDS against
# the server's ingress, the two taking turns ROUNDS times (default 3), so
# that the machine's noise falls on both. Then the RSS of a fresh capturing
# client before and after 1,000 captured requests (one keep-alive
# connection), and of both clients after all the runs.
#
# Settings: BENCH_DASH_SECS (default 5), BENCH_DASH_ROUNDS (default 3;
# BENCH_QUICK=1: 1 round of 2 s),
# WARREN (default ./warren, copied first), BENCH_KEEP=1 keeps the temporary
# directory. Skips (exit 0; under WR_STRICT=1 exit 1) without wrk or nginx. Progress on stderr, the
# report (markdown) on stdout. Every process it starts is stopped by PID.
# Not set -e: a step that fails says so and is counted in FAILED, instead
# of the script ending with no report.
set -u
LC_ALL=C
export LC_ALL
cd "$(dirname "$0")/.."

WARREN=${WARREN:-./warren}
if [ "${BENCH_QUICK:-0}" = 1 ]; then
    SECS=${BENCH_DASH_SECS:-2} ROUNDS=${BENCH_DASH_ROUNDS:-1}
else
    SECS=${BENCH_DASH_SECS:-5} ROUNDS=${BENCH_DASH_ROUNDS:-3}
fi
TOKEN=warren-dash-bench-$$
DOMAIN=bench.test
log() { echo "bench/dash.sh: $*" >&2; }

# A skip is a failure under WR_STRICT=1 (CI).
SKIP_RC=0
[ "${WR_STRICT:-0}" = 1 ] && SKIP_RC=1
command -v wrk >/dev/null 2>&1 || { echo "bench/dash.sh: skipped: no wrk (Debian: apt-get install wrk)"; exit $SKIP_RC; }
NGINX=$(command -v nginx 2>/dev/null || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || { echo "bench/dash.sh: skipped: no nginx (Debian: apt-get install nginx-light)"; exit $SKIP_RC; }
[ -x "$WARREN" ] || { log "$WARREN is not built (make)"; exit 2; }
PY=$(command -v python3) || { log "no python3"; exit 2; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/warren-dash-bench.XXXXXX") || exit 2
PIDS=
cleanup() {
    for p in $PIDS; do kill -TERM "$p" 2>/dev/null || true; done
    for p in $PIDS; do
        i=0
        while kill -0 "$p" 2>/dev/null && [ $i -lt 40 ]; do sleep 0.05; i=$((i + 1)); done
        kill -KILL "$p" 2>/dev/null || true
    done
    [ "${BENCH_KEEP:-0}" = 1 ] && log "kept $TMP" || rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 141' PIPE # e.g. piped into head: still stop everything
trap 'exit 143' TERM
# No admin listener: 127.0.0.1:9090 may be taken, and is not measured here.
WARREN_ADMIN_BIND=off
export WARREN_ADMIN_BIND

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_line() { # FILE PATTERN SECONDS
    i=0
    while ! grep -q -- "$2" "$1" 2>/dev/null; do
        [ $i -ge $(($3 * 20)) ] && return 1
        sleep 0.05
        i=$((i + 1))
    done
}
rss_kb() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status" 2>/dev/null || echo -; }
# utime + stime of a process, in clock ticks
cpu_ticks() { awk '{ sub(/.*\) /, ""); split($0, f, " "); print f[12] + f[13] }' "/proc/$1/stat"; }
TICKS=$(getconf CLK_TCK 2>/dev/null || echo 100)

cp "$WARREN" "$TMP/warren" || exit 2
W=$TMP/warren
TIMEOUT=
command -v timeout >/dev/null 2>&1 && TIMEOUT=timeout

# nginx, private to this run
mkdir -p "$TMP/ng/www" "$TMP/ng/tmp"
head -c 1024 /dev/urandom >"$TMP/ng/www/1k.bin"
# nginx's worker runs as an unprivileged user when the script runs as root.
chmod 711 "$TMP" "$TMP/ng"
chmod 755 "$TMP/ng/www"
chmod 644 "$TMP/ng/www/1k.bin"
NPORT=$(free_port)
cat >"$TMP/ng/nginx.conf" <<EOF
worker_processes 1;
pid $TMP/ng/nginx.pid;
error_log $TMP/ng/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    default_type application/octet-stream;
    sendfile on;
    tcp_nodelay on;
    keepalive_requests 100000;
    keepalive_timeout 60s;
    client_body_temp_path $TMP/ng/tmp/body;
    proxy_temp_path $TMP/ng/tmp/proxy;
    fastcgi_temp_path $TMP/ng/tmp/fastcgi;
    uwsgi_temp_path $TMP/ng/tmp/uwsgi;
    scgi_temp_path $TMP/ng/tmp/scgi;
    server { listen 127.0.0.1:$NPORT; root $TMP/ng/www; location / { } }
}
EOF
"$NGINX" -p "$TMP/ng/" -c "$TMP/ng/nginx.conf" -e "$TMP/ng/error.log" -g 'daemon off;' \
    >"$TMP/ng/out" 2>&1 &
PIDS="$PIDS $!"
wait_line "$TMP/ng/nginx.pid" . 10 || { log "nginx did not start: $(cat "$TMP/ng/out" "$TMP/ng/error.log")"; exit 2; }

CPORT=$(free_port)
HPORT=$(free_port)
"$W" server --bind "127.0.0.1:$CPORT" --http-bind "127.0.0.1:$HPORT" --domain "$DOMAIN" \
    --tcp-bind 127.0.0.1 --token "$TOKEN" >"$TMP/server.log" 2>&1 &
SPID=$!
PIDS="$PIDS $SPID"
wait_line "$TMP/server.log" "http ingress on" 10 || { log "server: $(tail -3 "$TMP/server.log")"; exit 2; }

# start_client NAME DASHBOARD-PORT|off: sets CLIENT_PID. The whole address,
# so that a WARREN_DASHBOARD_BIND of the caller's cannot move it.
start_client() {
    sc_bind=off
    [ "$2" = off ] || sc_bind=127.0.0.1:$2
    "$W" client --server "127.0.0.1:$CPORT" --token "$TOKEN" --local-addr "127.0.0.1:$NPORT" \
        --subdomain "$1" --dashboard-bind "$sc_bind" >"$TMP/$1.out" 2>"$TMP/$1.err" &
    CLIENT_PID=$!
    PIDS="$PIDS $CLIENT_PID"
    wait_line "$TMP/$1.out" "^tunnel " 10 || { log "client $1: $(tail -3 "$TMP/$1.err")"; exit 2; }
}
start_client off off
OFF_PID=$CLIENT_PID
DPORT=$(free_port)
start_client capture "$DPORT"
CAP_PID=$CLIENT_PID

run() { # MODE ROUND
    out=$TMP/wrk.$1.$2
    if [ "$1" = off ]; then pid=$OFF_PID; else pid=$CAP_PID; fi
    t0=$(cpu_ticks "$pid")
    $TIMEOUT $((SECS + 30)) wrk -t2 -c32 -d"${SECS}s" --latency -H "Host: $1.$DOMAIN" \
        "http://127.0.0.1:$HPORT/1k.bin" >"$out" 2>&1 ||
        { log "FAILED: $1 round $2: wrk exited with $?"; FAILED=1; }
    if ! t1=$(cpu_ticks "$pid" 2>/dev/null) || [ -z "$t0" ]; then
        log "FAILED: $1 round $2: the client is gone"
        FAILED=1
        echo - >>"$TMP/cpu.$1"
        echo "- - - gone" >>"$TMP/res.$1"
        return
    fi
    reqs=$(sed -n 's/^ *\([0-9]*\) requests in .*/\1/p' "$out")
    cpu=$(awk -v a="$t0" -v b="$t1" -v t="$TICKS" -v n="${reqs:-0}" \
        'BEGIN { if (n > 0) printf "%.1f", (b - a) / t * 1e6 / n; else print "-" }')
    echo "$cpu" >>"$TMP/cpu.$1"
    rps=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$out")
    p50=$(awk '$1 == "50%" { print $2 }' "$out")
    p99=$(awk '$1 == "99%" { print $2 }' "$out")
    errs=$(sed -n 's/.*Non-2xx or 3xx responses: *\([0-9]*\).*/\1/p' "$out")
    sock=$(sed -n 's/.*Socket errors: \(.*\)/\1/p' "$out")
    echo "$rps $p50 $p99 ${errs:-0}${sock:+ ($sock)}" >>"$TMP/res.$1"
    [ -z "$errs" ] && [ -z "$sock" ] || FAILED=1
    log "$1 round $2: $rps req/s, p50 $p50, p99 $p99, client CPU $cpu us/request, errors ${errs:-0}${sock:+, socket $sock}"
}

FAILED=0
log "wrk -t2 -c32 -d${SECS}s, $ROUNDS rounds, off and capture taking turns"
r=1
while [ $r -le "$ROUNDS" ]; do
    run off $r
    run capture $r
    r=$((r + 1))
done
CAPTURED=$(curl -sS --max-time 10 "http://127.0.0.1:$DPORT/api/requests?limit=1" |
    "$PY" -c 'import json,sys; c=json.load(sys.stdin)["capture"]; print(c["captured"], c["entries"], c["bytes"])') ||
    { log "FAILED: the capturing client's /api/requests"; FAILED=1; CAPTURED="- - -"; }
RSS_OFF_END=$(rss_kb "$OFF_PID")
RSS_CAP_END=$(rss_kb "$CAP_PID")

# A fresh capturing client: RSS before and after 1,000 captured requests.
DPORT2=$(free_port)
start_client fresh "$DPORT2"
FRESH_PID=$CLIENT_PID
sleep 0.3
RSS0=$(rss_kb "$FRESH_PID")
$TIMEOUT 120 "$PY" - "$HPORT" "fresh.$DOMAIN" <<'PY' || { log "FAILED: the 1,000 requests to the fresh client"; FAILED=1; }
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
for i in range(1000):
    c.request("GET", "/1k.bin?i=%d" % i, headers={"Host": sys.argv[2]})
    r = c.getresponse()
    r.read()
    assert r.status == 200, r.status
PY
sleep 0.3
RSS1=$(rss_kb "$FRESH_PID")
FRESH=$(curl -sS --max-time 10 "http://127.0.0.1:$DPORT2/api/requests?limit=1" |
    "$PY" -c 'import json,sys; c=json.load(sys.stdin)["capture"]; print(c["entries"], c["bytes"])') ||
    { log "FAILED: the fresh client's /api/requests"; FAILED=1; FRESH="- -"; }

# The median of the numbers on stdin ("-" lines skipped); for an even count
# the mean of the middle two, as tunnel.sh and mux.sh take it.
median() {
    grep -v '^-' | sort -n | awk '{ v[NR] = $1 }
        END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2];
              else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
MOFF=$(cut -d' ' -f1 "$TMP/res.off" | median)
MCAP=$(cut -d' ' -f1 "$TMP/res.capture" | median)
COFF=$(median <"$TMP/cpu.off")
CCAP=$(median <"$TMP/cpu.capture")

echo "### Dashboard capture: HTTP requests/s through the tunnel (1 KiB file, wrk -t2 -c32 -d${SECS}s)"
echo
echo "| client | runs (req/s, p50, p99, errors) | median req/s | client CPU per request (median) |"
echo "|---|---|---|---|"
echo "| dashboard off | $(tr '\n' ';' <"$TMP/res.off" | sed 's/;$//; s/;/; /g') | $MOFF | $COFF us |"
echo "| dashboard on, capturing | $(tr '\n' ';' <"$TMP/res.capture" | sed 's/;$//; s/;/; /g') | $MCAP | $CCAP us |"
echo
awk -v a="$MOFF" -v b="$MCAP" -v c="$COFF" -v d="$CCAP" 'BEGIN {
    printf "Capturing/off: %.2f of the requests/s, %.2f of the client CPU per request (medians).\n", b / a, d / c }'
echo
set -- $CAPTURED
echo "The capturing client recorded $1 requests in these runs, keeping the newest $2 ($3 bytes)."
echo
echo "| RSS (VmRSS) | kB |"
echo "|---|---|"
echo "| fresh capturing client, before any request | $RSS0 |"
set -- $FRESH
echo "| the same after 1,000 captured requests ($1 entries, $2 bytes held) | $RSS1 |"
echo "| client with the dashboard off, after the runs | $RSS_OFF_END |"
echo "| capturing client, after the runs | $RSS_CAP_END |"
if [ "$FAILED" != 0 ]; then
    log "some runs had errors (above): the figures do not count"
    exit 1
fi
