#!/bin/sh
# bench/http.sh: warren's HTTP tunnel benchmark (run by `make bench` after
# bench/mux.sh and bench/tunnel.sh).
#
# wrk against a private nginx serving two static files (1 KiB and 100 KiB),
# reached these ways, all on 127.0.0.1:
#
#   direct:  wrk -> nginx;
#   haproxy, haproxy2, ssh, gosmux, goyamux, wtcp: wrk -> a public TCP port
#            forwarded to nginx by haproxy in TCP mode, by two haproxy relays
#            in a row (a reference), ssh -R to a private sshd, the
#            Go reverse tunnel over xtaci/smux or hashicorp/yamux
#            (bench/gotunnel), or warren's own plain TCP tunnel (the same
#            paths as bench/tunnel.sh, from bench/peers.sh);
#   plain:   wrk -> warren server (HTTP ingress, routed by Host
#            app.bench.test) -> mux stream on the client's control connection
#            (no TLS) -> warren client -> its keep-alive pool -> nginx;
#   plugins: the same through a second server and client whose server loads
#            the four shipped plugins (auth with a token list and a deny
#            list checked on every request, ratelimit by client IP with a
#            limit no run reaches, access_log writing combined lines to a
#            file, circuit_breaker): what the plugins cost. Skipped when
#            plugins/*.so are not built.
#
# wrk keeps its connections alive: -t2 -c32 -dSECONDS --latency, the same
# Host header on every path (nginx has one server and ignores it). For each
# row: the median requests/s of 3 runs (BENCH_QUICK=1: 1 run of 2 s), p50 and
# p99 latency and the path's CPU time per request of the median run, and
# every error wrk counted in any run (non-2xx/3xx responses; socket errors:
# connect, read, write, timeout). The paths take turns within a round, so
# that a shared machine's noise falls on all of them. The warren HTTP
# server's and client's VmRSS are read before any load and after the first
# and the last run of the 1 KiB series (and at the end): it should not grow
# from run to run.
#
# Settings: BENCH_QUICK=1, BENCH_RUNS=N (runs per row), BENCH_HTTP_SECS=S
# (seconds per wrk run; default 4, quick 2), WARREN=PATH (default ./warren,
# copied first), BENCH_KEEP=1 (keep the temporary directory: every
# process's log; WARREN_LOG_LEVEL=debug for more).
#
# Builds nothing (`make bench` builds warren first). Skips (exit 0) when wrk
# or nginx is missing, and a path whose tool is missing is a row reading
# "skipped: <reason>"; with WR_STRICT=1 (CI) either is a failure (exit 1).
# Progress goes to stderr, the report (markdown) to stdout. Exit status: 0
# when every run was clean, 1 when any run had an error or a process died,
# 2 on a setup error. Every process it starts is stopped by its PID on exit
# (Ctrl-C included); the system's nginx service is never touched.

set -u
LC_ALL=C
export LC_ALL
# Two warren processes may run at once: no admin or dashboard listener
# (they would both want 127.0.0.1:9090 and :4040).
WARREN_ADMIN_BIND=off WARREN_DASHBOARD_BIND=off
export WARREN_ADMIN_BIND WARREN_DASHBOARD_BIND

cd "$(dirname "$0")/.." || exit 2

LOG_TAG=bench/http.sh
TCPBULK=bench/tcpbulk
# shellcheck source=bench/peers.sh
. ./bench/peers.sh

WARREN=${WARREN:-./warren}
DOMAIN=bench.test
SUB=app
VHOST=$SUB.$DOMAIN
TOKEN=warren-http-bench-$$
THREADS=2
CONNS=32
if [ "${BENCH_QUICK:-0}" = 1 ]; then
    MODE=quick RUNS=1 SECS=${BENCH_HTTP_SECS:-2}
else
    MODE=full RUNS=3 SECS=${BENCH_HTTP_SECS:-4}
fi
RUNS=${BENCH_RUNS:-$RUNS}
WORKLOADS="1k 100k"
# Rows in report order: the TCP forwarders (bench/peers.sh's paths; wtcp is
# its "plain", warren's TCP tunnel), then warren's HTTP ingress.
TCP_ROWS="haproxy haproxy2 ssh gosmux goyamux wtcp"
ALL_ROWS="direct $TCP_ROWS plain plugins"
NOPLUGINS=
for p_ in auth ratelimit access_log circuit_breaker; do
    [ -f "plugins/$p_.so" ] || NOPLUGINS="plugins/$p_.so is not built (make)"
done

# --- what it needs ---------------------------------------------------------

need_wrk_nginx
for b in "$WARREN" "$TCPBULK"; do
    if [ ! -x "$b" ]; then
        log "$b is not built (make all $TCPBULK)"
        exit 2
    fi
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/warren-http-bench.XXXXXX") || exit 2
bench_traps

# The TCP paths' check that they work (see path_probe in peers.sh): one
# GET through them answered 200, by curl if there is one, else by wrk
# (1 s, its shortest run).
# shellcheck disable=SC2317 # called through PROBE_CMD
http_probe() {
    if command -v curl >/dev/null 2>&1; then
        run_limited 10 "$2/probe.out" "$2/probe.err" curl -sSf -o /dev/null --max-time 5 \
            -H "Host: $VHOST" "http://$HOST:$1/1k.bin"
        [ "$RC" -eq 0 ]
        return
    fi
    run_limited 10 "$2/probe.out" "$2/probe.err" wrk -t1 -c1 -d1s --timeout 2s \
        -H "Host: $VHOST" "http://$HOST:$1/1k.bin"
    [ "$RC" -eq 0 ] && grep -q ' requests in ' "$2/probe.out" &&
        ! grep -qE 'Non-2xx|Socket errors' "$2/probe.out"
}
PROBE_CMD=http_probe

# --- warren: a server (HTTP ingress) and a client (one HTTP tunnel) ---------

cp "$WARREN" "$TMP/warren" || exit 2
WBIN=$TMP/warren

# start_tunnel PREFIX [SERVER ARGS...]: a server and a client (sets SPID,
# CPID, HPORT and WORKERS); logs in $TMP/PREFIXserver.log, client.out and
# client.err.
start_tunnel() {
    st_=$1
    shift
    start_http_server "$TMP/${st_}server.log" "$@" &&
        start_http_client "$TMP/${st_}client.out" "$TMP/${st_}client.err" "$SUB"
}

# The plugins path: the same pair, its server loading the four plugins.
start_plugins_tunnel() {
    cat >"$TMP/plugins.yaml" <<EOF
plugins:
  - plugin: auth
    config:
      tokens:
        - id: bench
          sha256: $(printf %s "$TOKEN" | sha256sum | cut -d' ' -f1)
          subdomains: [$SUB]
      protect:
        - hostname: $VHOST
          deny: [10.0.0.0/8, "fd00::/8"]
  - plugin: ratelimit
    config:
      rate: 1000000
      burst: 1000000
      key: ip
  - plugin: access_log
    config:
      path: $TMP/access.log
      format: combined
  - plugin: circuit_breaker
EOF
    PLAIN_SPID=$SPID PLAIN_CPID=$CPID PLAIN_CPORT=$CPORT PLAIN_HPORT=$HPORT
    WARREN_PLUGIN_DIR=$(pwd)/plugins
    export WARREN_PLUGIN_DIR
    start_tunnel plugins. -c "$TMP/plugins.yaml" || return 1
    PLUG_SPID=$SPID PLUG_CPID=$CPID PLUG_HPORT=$HPORT
    SPID=$PLAIN_SPID CPID=$PLAIN_CPID CPORT=$PLAIN_CPORT HPORT=$PLAIN_HPORT
}

# --- the rows ----------------------------------------------------------------

# peer ROW: the bench/peers.sh path behind a TCP row.
peer() { if [ "$1" = wtcp ]; then echo plain; else echo "$1"; fi; }
# row_roots ROW: the PIDs of the row's forwarder (nothing for direct).
row_roots() {
    case $1 in
    direct) ;;
    plain) echo "$SPID $CPID" ;;
    plugins) echo "$PLUG_SPID $PLUG_CPID" ;;
    *)
        rr_=''
        eval "rr_=\${ROOTS_$(peer "$1"):-}"
        echo "$rr_"
        ;;
    esac
}
row_alive() {
    [ "$1" = direct ] && return 0
    ra_=$(row_roots "$1")
    [ -n "$ra_" ] || return 1
    for ra_p in $ra_; do is_live "$ra_p" || return 1; done
    return 0
}
gone() { # ROW: which of its processes are gone
    case $1 in
    plain | plugins)
        # shellcheck disable=SC2046 # two PIDs
        set -- $(row_roots "$1")
        if ! is_live "$1" && ! is_live "$2"; then echo "the warren server and client are gone"
        elif ! is_live "$1"; then echo "the warren server (pid $1) is gone"
        else echo "the warren client (pid $2) is gone"; fi
        ;;
    *) path_gone "$(peer "$1")" ;;
    esac
}
url() { # ROW WORKLOAD
    case $1 in
    direct) echo "http://$HOST:$NPORT/$2.bin" ;;
    plain) echo "http://$HOST:$HPORT/$2.bin" ;;
    plugins) echo "http://$HOST:$PLUG_HPORT/$2.bin" ;;
    *)
        up_=''
        eval "up_=\${PORT_$(peer "$1"):-}"
        echo "http://$HOST:$up_/$2.bin"
        ;;
    esac
}
row_name() {
    case $1 in
    direct) echo "direct (wrk -> nginx)" ;;
    wtcp) echo "warren TCP tunnel (plain)" ;;
    plain) echo "warren HTTP, plain (wrk -> server ingress -> tunnel -> client -> nginx)" ;;
    plugins) echo "warren HTTP, plain + auth, ratelimit, access_log, circuit_breaker" ;;
    *) path_name "$1" ;;
    esac
}

# --- the runs ---------------------------------------------------------------

mkdir "$TMP/res" || exit 2

# wrk_run ROW WORKLOAD ROUND: one wrk run; appends "rps p50 p99 errors
# requests MB/s cpu" (cpu: the forwarder's CPU us per request, "-" for
# direct) to res/WORKLOAD.ROW and its error breakdown to
# res/WORKLOAD.ROW.err.
wrk_run() {
    out_=$TMP/wrk.$2.$1.$3
    res_=$TMP/res/$2.$1
    if ! row_alive "$1"; then
        echo "FAIL - - - - - -" >>"$res_"
        echo "round $3: not run: $(gone "$1")" >>"$res_.err"
        FAILED=1
        log "FAILED: $2 $1 round $3: not run: $(gone "$1")"
        return 0
    fi
    roots_=$(row_roots "$1")
    n0_=$(tree_ticks "$NGINX_PID")
    t0_=$(tree_ticks "$roots_")
    run_limited $((SECS + 30)) "$out_" "$out_.err" wrk -t$THREADS -c$CONNS -d"${SECS}s" --latency \
        -H "Host: $VHOST" "$(url "$1" "$2")"
    rc_=$RC
    n1_=$(tree_ticks "$NGINX_PID")
    t1_=$(tree_ticks "$roots_")

    # One awk for every figure: "rps p50 p99 requests MB/s non2xx connect
    # read write timeout" ("-" for what is missing), latencies in ms.
    # shellcheck disable=SC2046 # ten fields
    set -- "$1" "$2" "$3" $(awk '
        function ms(v,  u) { u = v; sub(/^[0-9.]+/, "", u); v += 0
            if (u == "us") v /= 1000; else if (u == "s") v *= 1000; else if (u == "m") v *= 60000
            return sprintf("%.3f", v) }
        $1 == "Requests/sec:" && rps == "" { rps = $2 }
        $1 == "50%" && p50 == "" { p50 = ms($2) }
        $1 == "99%" && p99 == "" { p99 = ms($2) }
        / requests in / && reqs == "" { reqs = $1 }
        $1 == "Transfer/sec:" { v = $2 + 0; u = $2; sub(/^[0-9.]+/, "", u)
            if (u == "KB") v /= 1024; else if (u == "GB") v *= 1024; else if (u == "B") v /= 1048576
            mbs = sprintf("%.1f", v * 1.048576) }
        /Non-2xx or 3xx responses:/ { n2xx = $NF + 0 }
        /Socket errors: connect/ { gsub(/,/, ""); sock = $4 " " $6 " " $8 " " $10 }
        END { if (sock == "") sock = "0 0 0 0"
            print (rps == "" ? "-" : rps), (p50 == "" ? "-" : p50), (p99 == "" ? "-" : p99),
                (reqs == "" ? 0 : reqs), (mbs == "" ? 0 : mbs), n2xx + 0, sock }' "$out_")
    rps_=$4 p50_=$5 p99_=$6 reqs_=$7 mbs_=$8
    # From here: $4 non-2xx/3xx, $5..$8 socket errors connect, read, write, timeout.
    set -- "$1" "$2" "$3" "$9" "${10}" "${11}" "${12}" "${13}"
    errs_=$(($4 + $5 + $6 + $7 + $8))
    if [ "$rc_" -ne 0 ] || [ "$rps_" = - ] || [ "$p50_" = - ] || [ "$p99_" = - ]; then
        echo "FAIL - - - - - -" >>"$res_"
        echo "round $3: wrk exit $rc_: $(cat "$out_" "$out_.err" | tr '\n' ' ' | tail -c 300)" >>"$res_.err"
        FAILED=1
        log "FAILED: $2 $1 round $3: wrk exit $rc_"
        cat "$out_" "$out_.err" | sed 's/^/  /' | tail -n 5 >&2
        return 0
    fi
    cpu_=-
    [ "$1" = direct ] || cpu_=$(awk -v a="$t0_" -v b="$t1_" -v t="$TICKS" -v n="${reqs_:-0}" \
        'BEGIN { if (n > 0) printf "%.1f", (b - a) / t * 1e6 / n; else print "-" }')
    echo "$rps_ $p50_ $p99_ $errs_ ${reqs_:-0} ${mbs_:-0} $cpu_" >>"$res_"
    if [ $errs_ -ne 0 ]; then
        FAILED=1
        echo "round $3: $errs_ errors in ${reqs_:-?} requests: non-2xx/3xx $4, connect $5, read $6, write $7, timeout $8" >>"$res_.err"
    fi
    load_=$(awk -v a="$n0_" -v b="$n1_" -v c="$t0_" -v d="$t1_" -v t="$TICKS" -v s="$SECS" -v direct="$1" \
        'BEGIN { printf "nginx %.0f%%", (b - a) / t / s * 100
                 if (direct != "direct") printf ", forwarder %.0f%%", (d - c) / t / s * 100 }')
    msg_="$2 $1 round $3: $rps_ req/s, $mbs_ MB/s, p50 $p50_ ms, p99 $p99_ ms, ${reqs_:-?} requests, $errs_ errors; CPU $load_"
    [ "$cpu_" = - ] || msg_="$msg_ ($cpu_ us/request)"
    [ $errs_ -eq 0 ] || msg_="$msg_ (non-2xx/3xx $4; connect $5, read $6, write $7, timeout $8)"
    if ! row_alive "$1"; then
        FAILED=1
        msg_="$msg_; DIED: $(gone "$1")"
        echo "round $3: died during the run: $(gone "$1")" >>"$res_.err"
    fi
    log "$msg_"
}

rss() { # -> "server client" VmRSS in kB ("-" when unreadable)
    rs_=$(status_kb "$SPID" VmRSS)
    rc_=$(status_kb "$CPID" VmRSS)
    echo "${rs_:--} ${rc_:--}"
}

START=$(date +%s)
LOAD0=$(cut -d" " -f1-3 /proc/loadavg 2>/dev/null)
log "$MODE mode: $RUNS run(s) of ${SECS} s per row; wrk -t$THREADS -c$CONNS; $(wrk --version 2>&1 | head -n 1 | cut -d' ' -f1-2)"
start_nginx 1 100 || exit 2
start_tunnel "" || exit 2
log "nginx $NGINX_VERSION on $HOST:$NPORT (pid $NGINX_PID); warren server pid $SPID (HTTP ingress $HOST:$HPORT, ${WORKERS:-?} workers), client pid $CPID"
ROWS="direct"
for p in $TCP_ROWS; do
    if why=$(path_have "$(peer "$p")"); then
        if path_start "$(peer "$p")" "$NPORT"; then
            ROWS="$ROWS $p"
        else
            # Its cells read FAIL: the row stays, its runs find it not running.
            ROWS="$ROWS $p"
            FAILED=1
        fi
    else
        echo "$why" >"$TMP/res/skip.$p"
        log "skipped $p: $why"
        [ "$STRICT" != 1 ] || STRICT_SKIP=1
    fi
done
ROWS="$ROWS plain"
if [ -z "$NOPLUGINS" ]; then
    start_plugins_tunnel || exit 2
    ROWS="$ROWS plugins"
    log "with the four plugins: warren server pid $PLUG_SPID (HTTP ingress $HOST:$PLUG_HPORT), client pid $PLUG_CPID"
else
    echo "$NOPLUGINS" >"$TMP/res/skip.plugins"
    log "no plugins row: $NOPLUGINS"
    [ "$STRICT" != 1 ] || STRICT_SKIP=1
fi
RSS0=$(rss)
RSS_FIRST="- -"
RSS_LAST="- -"
for wl in $WORKLOADS; do
    r=1
    while [ "$r" -le "$RUNS" ]; do
        for p in $ROWS; do wrk_run "$p" "$wl" "$r"; done
        if [ "$wl" = 1k ]; then
            v_=$(rss)
            [ "$r" -ne 1 ] || RSS_FIRST=$v_
            [ "$r" -ne "$RUNS" ] || RSS_LAST=$v_
            log "warren VmRSS after 1k round $r: server ${v_% *} kB, client ${v_#* } kB"
        fi
        r=$((r + 1))
    done
done
RSS_END=$(rss)
ELAPSED=$(($(date +%s) - START))
LOAD1=$(cut -d" " -f1-3 /proc/loadavg 2>/dev/null)
WARN_S=$(grep -cE ' (warn|error) ' "$TMP/server.log")
WARN_C=$(grep -cE ' (warn|error) ' "$TMP/client.err")
NGERR=$(grep -cE '\[(error|crit|alert|emerg)\]' "$NG/error.log" 2>/dev/null)

# --- the report -------------------------------------------------------------

# pick FILE: the median run's line (by req/s; the upper middle when the count
# is even); "FAIL" when a run failed, "-" when there is none.
pick() {
    if [ ! -s "$1" ]; then echo "- - - - - - -"; return; fi
    if grep -q '^FAIL' "$1"; then echo "FAIL - - - - - -"; return; fi
    sort -n -k1,1 "$1" | awk '{ l[NR] = $0 } END { print l[int(NR / 2) + 1] }'
}
total_errors() { # FILE: errors over every run; "FAIL" when a run failed, "-" when none ran
    if [ ! -s "$1" ]; then echo -; return; fi
    awk '$1 == "FAIL" { f = 1 } { s += $4 } END { if (f) print "FAIL"; else print s + 0 }' "$1"
}
wl_name() { case $1 in 1k) echo "GET 1 KiB" ;; 100k) echo "GET 100 KiB" ;; esac; }
growth() { # a b
    case "$1 $2" in *-*) echo "?" ;; *) awk -v a="$1" -v b="$2" 'BEGIN { printf "%+d", b - a }' ;; esac
}

echo "## warren HTTP benchmark: $(date -u '+%Y-%m-%d %H:%M:%SZ'), Linux $(uname -r), nproc $(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN), $MODE mode, median of $RUNS run(s), took ${ELAPSED}s, load average ${LOAD0:-?} before / ${LOAD1:-?} after"
echo
echo "Settings: \`wrk -t$THREADS -c$CONNS -d${SECS}s --latency -H 'Host: $VHOST' URL\` (keep-alive), $RUNS run(s) per row, paths taking turns; nginx ${NGINX_VERSION:-?} (worker_processes 1, keepalive_requests 100000, access_log off, sendfile on) on $HOST:NPORT; \`warren server --bind $HOST:0 --http-bind $HOST:0 --domain $DOMAIN --tcp-bind $HOST --token TOKEN\` (${WORKERS:-?} workers, the default) and \`warren client --server $HOST:CPORT --token TOKEN --local-addr $HOST:NPORT --subdomain $SUB\`; URL: http://$HOST:NPORT/FILE direct, http://$HOST:HPORT/FILE through warren's HTTP ingress, http://$HOST:PUB/FILE through a TCP forwarder (started as in bench/tunnel.sh, TARGET = NPORT; commands below)."
echo
echo "| workload | path | req/s | ratio | p50 ms | p99 ms | forwarder CPU us/req | errors |"
echo "|---|---|---:|---:|---:|---:|---:|---:|"
for wl in $WORKLOADS; do
    # shellcheck disable=SC2046 # seven fields
    set -- $(pick "$TMP/res/$wl.direct")
    drps=$1
    for p in $ALL_ROWS; do
        if [ -s "$TMP/res/skip.$p" ]; then
            echo "| $(wl_name "$wl") | $(row_name "$p") | skipped: $(cat "$TMP/res/skip.$p") | | | | | |"
            continue
        fi
        # shellcheck disable=SC2046 # seven fields
        set -- $(pick "$TMP/res/$wl.$p")
        e=$(total_errors "$TMP/res/$wl.$p")
        case $e in 0 | -) ;; *) e="**$e**" ;; esac
        cpu=$(fmt "$7" 1)
        [ "$p" != direct ] || cpu="n/a"
        echo "| $(wl_name "$wl") | $(row_name "$p") | $(fmt "$1" 0) | $(ratio "$1" "$drps") | $(fmt "$2" 2) | $(fmt "$3" 2) | $cpu | $e |"
    done
done
echo
echo "Forwarder CPU: user+system time of the forwarder's processes (all threads and descendants; haproxy, both for x2; sshd and ssh; the Go or warren server and client) during the median run, per request; nginx and wrk not counted."
case " $ROWS " in
*" plugins "*)
    echo
    for wl in $WORKLOADS; do
        # shellcheck disable=SC2046 # seven fields
        set -- $(pick "$TMP/res/$wl.plain")
        prps=$1
        # shellcheck disable=SC2046 # seven fields
        set -- $(pick "$TMP/res/$wl.plugins")
        echo "With the four plugins, $(wl_name "$wl"): $(ratio "$1" "$prps") of plain warren's requests/s."
    done
    echo "access_log had written $(wc -l <"$TMP/access.log" 2>/dev/null || echo 0) line(s) by the end of the runs (it flushes every second)."
    ;;
*) echo; echo "No plugins row: $NOPLUGINS." ;;
esac
echo
r0s=${RSS0% *} r0c=${RSS0#* }
r1s=${RSS_FIRST% *} r1c=${RSS_FIRST#* }
rNs=${RSS_LAST% *} rNc=${RSS_LAST#* }
rEs=${RSS_END% *} rEc=${RSS_END#* }
echo "warren HTTP VmRSS (kB), 1 KiB series: server $r1s after run 1 -> $rNs after run $RUNS ($(growth "$r1s" "$rNs") kB), client $r1c -> $rNc ($(growth "$r1c" "$rNc") kB)."
echo "Before any load: server $r0s, client $r0c; at the end (after the 100 KiB series): server $rEs, client $rEc."
echo
echo "TCP forwarders (TARGET: nginx's port; PUB: the public port; CTRL: a control port):"
echo
echo '```'
for p in $TCP_ROWS; do
    [ -s "$TMP/res/skip.$p" ] || path_describe "$(peer "$p")"
done
echo '```'
echo
echo "Runs (req/s): $(for wl in $WORKLOADS; do for p in $ROWS; do printf '%s %s: %s; ' "$wl" "$p" "$(spread "$TMP/res/$wl.$p")"; done; done | sed 's/; $//')."
echo "Latency: wrk's --latency percentiles of the median run (by req/s), in ms; errors: non-2xx/3xx responses plus socket errors (connect, read, write, timeout: no response within wrk's 2 s), summed over every run of the row."
echo "Logs: warren HTTP server $WARN_S warn/error line(s), client $WARN_C; nginx error log $NGERR error line(s)."
for wl in $WORKLOADS; do
    for p in $ROWS; do
        if [ -s "$TMP/res/$wl.$p.err" ]; then
            sed "s/^/- $wl $p: /" "$TMP/res/$wl.$p.err"
        fi
    done
done
if [ "$FAILED" -ne 0 ]; then
    for w_ in "server $SPID" "client $CPID"; do
        if ! is_live "${w_#* }"; then
            st_=0
            wait "${w_#* }" 2>/dev/null || st_=$?
            forget "${w_#* }"
            [ $st_ -le 128 ] || st_="$st_ (signal $((st_ - 128)))"
            echo
            echo "The warren ${w_% *} (pid ${w_#* }) exited during the runs, status $st_."
        fi
    done
    if [ "$WARN_S" != 0 ]; then
        echo
        echo "Server log (last warn/error lines):"
        grep -E ' (warn|error) ' "$TMP/server.log" | tail -n 5 | sed 's/^/    /'
    fi
    if [ "$WARN_C" != 0 ]; then
        echo
        echo "Client log (last warn/error lines):"
        grep -E ' (warn|error) ' "$TMP/client.err" | tail -n 5 | sed 's/^/    /'
    fi
    echo
    echo "**Some runs had errors or FAILED (see above and stderr).**"
    exit 1
fi
if [ "$STRICT_SKIP" -ne 0 ]; then
    echo
    echo "**WR_STRICT=1: a skipped row is a failure.**"
    exit 1
fi
exit 0
