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
# directory. Skips (exit 0; under WR_STRICT=1 exit 1) without wrk or nginx.
# Progress on stderr, the report (markdown) on stdout. nginx, the server and
# the clients are started as in bench/http.sh, by bench/peers.sh; every
# process it starts is stopped by its PID on exit (Ctrl-C included).
# Not set -e: a step that fails says so and is counted in FAILED, instead
# of the script ending with no report.
set -u
LC_ALL=C
export LC_ALL
# No admin listener: 127.0.0.1:9090 may be taken, and is not measured here.
WARREN_ADMIN_BIND=off
export WARREN_ADMIN_BIND

cd "$(dirname "$0")/.." || exit 2

LOG_TAG=bench/dash.sh
# shellcheck source=bench/peers.sh
. ./bench/peers.sh

WARREN=${WARREN:-./warren}
if [ "${BENCH_QUICK:-0}" = 1 ]; then
    SECS=${BENCH_DASH_SECS:-2} ROUNDS=${BENCH_DASH_ROUNDS:-1}
else
    SECS=${BENCH_DASH_SECS:-5} ROUNDS=${BENCH_DASH_ROUNDS:-3}
fi
TOKEN=warren-dash-bench-$$
DOMAIN=bench.test

need_wrk_nginx
[ -x "$WARREN" ] || { log "$WARREN is not built (make)"; exit 2; }
PY=$(command -v python3) || { log "no python3"; exit 2; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/warren-dash-bench.XXXXXX") || exit 2
bench_traps
cp "$WARREN" "$TMP/warren" || exit 2
WBIN=$TMP/warren

rss_kb() { rk_=$(status_kb "$1" VmRSS); echo "${rk_:--}"; }

start_nginx 1 || exit 2
start_http_server "$TMP/server.log" || exit 2

# start_client NAME DASHBOARD-PORT|off: sets CPID. The whole address, so
# that a WARREN_DASHBOARD_BIND of the caller's cannot move it.
start_client() {
    sc_bind=off
    [ "$2" = off ] || sc_bind=$HOST:$2
    start_http_client "$TMP/$1.out" "$TMP/$1.err" "$1" --dashboard-bind "$sc_bind" || exit 2
}
dash_port() { free_port || { log "no free port for a dashboard"; exit 2; }; }
start_client off off
OFF_PID=$CPID
dash_port
DPORT=$FREE_PORT
start_client capture "$DPORT"
CAP_PID=$CPID

run() { # MODE ROUND
    out=$TMP/wrk.$1.$2
    if [ "$1" = off ]; then pid=$OFF_PID; else pid=$CAP_PID; fi
    t0=$(tree_ticks "$pid")
    run_limited $((SECS + 30)) "$out" "$out.err" wrk -t2 -c32 -d"${SECS}s" --latency \
        -H "Host: $1.$DOMAIN" "http://$HOST:$HPORT/1k.bin"
    [ "$RC" -eq 0 ] || { log "FAILED: $1 round $2: wrk exited with $RC"; FAILED=1; }
    if ! is_live "$pid"; then
        log "FAILED: $1 round $2: the client is gone"
        FAILED=1
        echo - >>"$TMP/cpu.$1"
        echo "- - - gone" >>"$TMP/res.$1"
        return
    fi
    t1=$(tree_ticks "$pid")
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
CAPTURED=$(curl -sS --max-time 10 "http://$HOST:$DPORT/api/requests?limit=1" |
    "$PY" -c 'import json,sys; c=json.load(sys.stdin)["capture"]; print(c["captured"], c["entries"], c["bytes"])') ||
    { log "FAILED: the capturing client's /api/requests"; FAILED=1; CAPTURED="- - -"; }
RSS_OFF_END=$(rss_kb "$OFF_PID")
RSS_CAP_END=$(rss_kb "$CAP_PID")

# A fresh capturing client: RSS before and after 1,000 captured requests.
dash_port
DPORT2=$FREE_PORT
start_client fresh "$DPORT2"
FRESH_PID=$CPID
nap 0.3
RSS0=$(rss_kb "$FRESH_PID")
cat >"$TMP/fresh.py" <<'PY'
import http.client, sys
c = http.client.HTTPConnection(sys.argv[1], int(sys.argv[2]), timeout=10)
for i in range(1000):
    c.request("GET", "/1k.bin?i=%d" % i, headers={"Host": sys.argv[3]})
    r = c.getresponse()
    r.read()
    assert r.status == 200, r.status
PY
run_limited 120 "$TMP/fresh.out" "$TMP/fresh.err" "$PY" "$TMP/fresh.py" "$HOST" "$HPORT" "fresh.$DOMAIN"
if [ "$RC" -ne 0 ]; then
    log "FAILED: the 1,000 requests to the fresh client"
    sed 's/^/  /' "$TMP/fresh.err" | tail -n 5 >&2
    FAILED=1
fi
nap 0.3
RSS1=$(rss_kb "$FRESH_PID")
FRESH=$(curl -sS --max-time 10 "http://$HOST:$DPORT2/api/requests?limit=1" |
    "$PY" -c 'import json,sys; c=json.load(sys.stdin)["capture"]; print(c["entries"], c["bytes"])') ||
    { log "FAILED: the fresh client's /api/requests"; FAILED=1; FRESH="- -"; }

# Medians as the other scripts take them ("-": a run with no figure);
# for an even count the mean of the middle two, with two decimals.
MOFF=$(median "$TMP/res.off" %.2f)
MCAP=$(median "$TMP/res.capture" %.2f)
COFF=$(median "$TMP/cpu.off" %.2f)
CCAP=$(median "$TMP/cpu.capture" %.2f)

echo "### Dashboard capture: HTTP requests/s through the tunnel (1 KiB file, wrk -t2 -c32 -d${SECS}s)"
echo
echo "| client | runs (req/s, p50, p99, errors) | median req/s | client CPU per request (median) |"
echo "|---|---|---|---|"
echo "| dashboard off | $(tr '\n' ';' <"$TMP/res.off" | sed 's/;$//; s/;/; /g') | $MOFF | $COFF us |"
echo "| dashboard on, capturing | $(tr '\n' ';' <"$TMP/res.capture" | sed 's/;$//; s/;/; /g') | $MCAP | $CCAP us |"
echo
# ratio prints "-" for a failed or zero median, where a division would stop awk.
echo "Capturing/off: $(ratio "$MCAP" "$MOFF") of the requests/s, $(ratio "$CCAP" "$COFF") of the client CPU per request (medians)."
echo
# shellcheck disable=SC2086 # the figures, split on purpose
set -- $CAPTURED
echo "The capturing client recorded $1 requests in these runs, keeping the newest $2 ($3 bytes)."
echo
echo "| RSS (VmRSS) | kB |"
echo "|---|---|"
echo "| fresh capturing client, before any request | $RSS0 |"
# shellcheck disable=SC2086 # the figures, split on purpose
set -- $FRESH
echo "| the same after 1,000 captured requests ($1 entries, $2 bytes held) | $RSS1 |"
echo "| client with the dashboard off, after the runs | $RSS_OFF_END |"
echo "| capturing client, after the runs | $RSS_CAP_END |"
if [ "$FAILED" != 0 ]; then
    log "some runs had errors (above): the figures do not count"
    exit 1
fi
