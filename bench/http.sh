#!/bin/sh
# bench/http.sh: warren's HTTP tunnel benchmark (run by `make bench` after
# bench/mux.sh and bench/tunnel.sh).
#
# wrk against a private nginx serving two static files (1 KiB and 100 KiB),
# reached two ways, all on 127.0.0.1:
#
#   direct:  wrk -> nginx;
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
# Host header on both paths (nginx has one server and ignores it). For each
# row: the median requests/s of 3 runs (BENCH_QUICK=1: 1 run of 3 s), p50 and
# p99 latency of the median run, and every error wrk counted in any run
# (non-2xx/3xx responses; socket errors: connect, read, write, timeout). The
# paths take turns within a round, so that a shared machine's noise falls on
# both. The warren server's and client's VmRSS are read before any load and
# after the first and the last run of the 1 KiB series (and at the end): it
# should not grow from run to run.
#
# Settings: BENCH_QUICK=1, BENCH_RUNS=N (runs per row), BENCH_HTTP_SECS=S
# (seconds per wrk run; default 5, quick 3), WARREN=PATH (default ./warren,
# copied first), BENCH_KEEP=1 (keep the temporary directory: warren's and
# nginx's logs; WARREN_LOG_LEVEL=debug for more).
#
# Builds nothing (`make bench` builds warren first). Skips (exit 0) when wrk
# or nginx is missing. Progress goes to stderr, the report (markdown) to
# stdout. Exit status: 0 when every run was clean, 1 when any run had an
# error or a process died, 2 on a setup error. Every process it starts is
# stopped by its PID on exit (Ctrl-C included); the system's nginx service
# is never touched.

set -eu
LC_ALL=C
export LC_ALL
# The clients measured here serve no dashboard (bench/dash.sh measures it).
WARREN_DASHBOARD_PORT=off
export WARREN_DASHBOARD_PORT

cd "$(dirname "$0")/.."

WARREN=${WARREN:-./warren}
HOST=127.0.0.1
DOMAIN=bench.test
SUB=app
VHOST=$SUB.$DOMAIN
TOKEN=warren-http-bench-$$
THREADS=2
CONNS=32
if [ "${BENCH_QUICK:-0}" = 1 ]; then
    MODE=quick RUNS=1 SECS=${BENCH_HTTP_SECS:-3}
else
    MODE=full RUNS=3 SECS=${BENCH_HTTP_SECS:-5}
fi
RUNS=${BENCH_RUNS:-$RUNS}
WORKLOADS="1k 100k"
PATHS="direct plain"
for p_ in auth ratelimit access_log circuit_breaker; do
    [ -f "plugins/$p_.so" ] || NOPLUGINS="plugins/$p_.so is not built (make)"
done
[ -n "${NOPLUGINS:-}" ] || PATHS="$PATHS plugins"

log() { echo "bench/http.sh: $*" >&2; }

# --- what it needs ---------------------------------------------------------

if ! command -v wrk >/dev/null 2>&1; then
    echo "bench/http.sh: skipped: no wrk (Debian: apt-get install wrk)"
    exit 0
fi
NGINX=$(command -v nginx 2>/dev/null || true)
[ -n "$NGINX" ] || for n in /usr/sbin/nginx /usr/local/sbin/nginx /usr/local/nginx/sbin/nginx; do
    if [ -x "$n" ]; then NGINX=$n; break; fi
done
if [ -z "$NGINX" ]; then
    echo "bench/http.sh: skipped: no nginx (Debian: apt-get install nginx-light)"
    exit 0
fi
if [ ! -x "$WARREN" ]; then
    log "$WARREN is not built (make)"
    exit 2
fi
TIMEOUT=
command -v timeout >/dev/null 2>&1 && TIMEOUT=timeout

TMP=$(mktemp -d "${TMPDIR:-/tmp}/warren-http-bench.XXXXXX")
PIDS= # every process started, stopped by PID on exit

nap() { sleep "$1" 2>/dev/null || sleep 1; }
proc_state() { awk '{ sub(/.*\) /, ""); split($0, f, " "); print f[1] }' "/proc/$1/stat" 2>/dev/null || true; }
is_live() {
    s_=$(proc_state "$1")
    [ -n "$s_" ] && [ "$s_" != Z ]
}
# utime+stime in clock ticks; an entry (kB) of /proc/PID/status.
cpu_ticks() { awk '{ sub(/.*\) /, ""); split($0, f, " "); print f[12] + f[13] }' "/proc/$1/stat" 2>/dev/null || echo 0; }
status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null || true; }
TICKS=$(getconf CLK_TCK 2>/dev/null || echo 100)
forget() { PIDS=$(echo " $PIDS " | sed "s/ $1 / /; s/^ *//; s/ *\$//"); }
# The children of a process (nginx's worker), from /proc.
children() {
    cat /proc/[0-9]*/stat 2>/dev/null |
        awk -v pp="$1" '{ p = $1; sub(/.*\) /, ""); split($0, f, " "); if (f[2] == pp) print p }' || true
}

# stop_pid PID: SIGTERM, a second one after 1 s, SIGKILL after 2 s (and its
# children, for nginx's worker, if it had to be killed).
stop_pid() {
    [ -n "$1" ] || return 0
    kids_=
    [ "$1" != "${NGINX_PID:-}" ] || kids_=$(children "$1")
    kill -TERM "$1" 2>/dev/null || true
    sp_=0
    while is_live "$1" && [ $sp_ -lt 40 ]; do
        nap 0.05
        sp_=$((sp_ + 1))
        if [ $sp_ -eq 20 ]; then kill -TERM "$1" 2>/dev/null || true; fi
    done
    if is_live "$1"; then
        kill -KILL "$1" 2>/dev/null || true
        for k_ in $kids_; do kill -KILL "$k_" 2>/dev/null || true; done
    fi
    wait "$1" 2>/dev/null || true
    forget "$1"
}

# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
    set +e
    rev=
    for p in $PIDS; do rev="$p $rev"; done
    for p in $rev; do stop_pid "$p"; done
    if [ "${BENCH_KEEP:-0}" = 1 ]; then log "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 141' PIPE
trap 'exit 143' TERM

# wait_line FILE PATTERN PID SECONDS: until grep -E finds PATTERN in FILE;
# 1 when PID died or time ran out first.
wait_line() {
    wl_=0
    while [ $wl_ -lt $(($4 * 20)) ]; do
        if grep -qE "$2" "$1" 2>/dev/null; then return 0; fi
        if ! is_live "$3"; then
            grep -qE "$2" "$1" 2>/dev/null
            return
        fi
        nap 0.05
        wl_=$((wl_ + 1))
    done
    return 1
}

# A port on 127.0.0.1 no socket uses now, below the ephemeral range.
PORT_SEQ=0
free_port() {
    fp_=0
    eph_=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
    span_=$((eph_ - 20000))
    [ $span_ -ge 1000 ] || span_=10000
    while [ $fp_ -lt 100 ]; do
        PORT_SEQ=$((PORT_SEQ + 1))
        FREE_PORT=$((20000 + ($$ * 31 + PORT_SEQ * 7919 + $(date +%s)) % span_))
        hex_=$(printf '%04X' "$FREE_PORT")
        if ! cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | grep -q ":$hex_ "; then return 0; fi
        fp_=$((fp_ + 1))
    done
    return 1
}

# --- nginx: a private instance, a plain process ------------------------------

NG=$TMP/nginx
mkdir -p "$NG/www" "$NG/tmp"
head -c 1024 /dev/urandom >"$NG/www/1k.bin"
head -c 102400 /dev/urandom >"$NG/www/100k.bin"
# nginx's worker runs as an unprivileged user when the script runs as root:
# it must reach the files (the directories stay unlistable to others).
chmod 711 "$TMP" "$NG"
chmod 755 "$NG/www"
chmod 644 "$NG/www/1k.bin" "$NG/www/100k.bin"

start_nginx() {
    sn_=0
    while [ $sn_ -lt 3 ]; do
        sn_=$((sn_ + 1))
        free_port || { log "no free port for nginx"; return 1; }
        NPORT=$FREE_PORT
        cat >"$NG/nginx.conf" <<EOF
worker_processes 1;
pid $NG/nginx.pid;
error_log $NG/error.log warn;
events {
    worker_connections 1024;
}
http {
    access_log off;
    default_type application/octet-stream;
    sendfile on;
    tcp_nodelay on;
    keepalive_requests 100000;
    keepalive_timeout 60s;
    client_body_temp_path $NG/tmp/body;
    proxy_temp_path $NG/tmp/proxy;
    fastcgi_temp_path $NG/tmp/fastcgi;
    uwsgi_temp_path $NG/tmp/uwsgi;
    scgi_temp_path $NG/tmp/scgi;
    server {
        listen $HOST:$NPORT;
        server_name _;
        root $NG/www;
        location / { }
    }
}
EOF
        rm -f "$NG/nginx.pid"
        : >"$NG/nginx.out"
        "$NGINX" -p "$NG/" -c "$NG/nginx.conf" -e "$NG/error.log" -g 'daemon off;' \
            >"$NG/nginx.out" 2>&1 &
        NGINX_PID=$!
        PIDS="$PIDS $NGINX_PID"
        # The pid file is written once the listener is bound.
        w_=0
        while [ ! -s "$NG/nginx.pid" ] && is_live "$NGINX_PID" && [ $w_ -lt 200 ]; do
            nap 0.05
            w_=$((w_ + 1))
        done
        if [ -s "$NG/nginx.pid" ] && is_live "$NGINX_PID"; then
            NGINX_WORKER=
            while [ -z "$NGINX_WORKER" ] && [ $w_ -lt 200 ]; do
                NGINX_WORKER=$(children "$NGINX_PID" | head -n 1)
                [ -n "$NGINX_WORKER" ] || nap 0.05
                w_=$((w_ + 1))
            done
            NGINX_VERSION=$("$NGINX" -v 2>&1 | sed 's/.*nginx\///' || true)
            return 0
        fi
        stop_pid "$NGINX_PID"
    done
    log "nginx did not start:"
    cat "$NG/nginx.out" "$NG/error.log" 2>/dev/null | tail -n 5 | sed 's/^/  /' >&2
    return 1
}

# --- warren: a server (HTTP ingress) and a client (one HTTP tunnel) ---------

cp "$WARREN" "$TMP/warren"
WBIN=$TMP/warren

# start_tunnel [SERVER ARGS...]: a server and a client; sets SPID, CPID,
# HPORT and WORKERS, logs in $TMP/server.log, client.out, client.err.
start_tunnel() {
    : >"$TMP/server.log"
    : >"$TMP/client.out"
    : >"$TMP/client.err"
    "$WBIN" server "$@" --bind "$HOST:0" --http-bind "$HOST:0" --domain "$DOMAIN" \
        --tcp-bind "$HOST" --token "$TOKEN" >"$TMP/server.log" 2>&1 &
    SPID=$!
    PIDS="$PIDS $SPID"
    if ! wait_line "$TMP/server.log" 'http ingress on ' "$SPID" 10 ||
        ! wait_line "$TMP/server.log" 'warren server listening on ' "$SPID" 10; then
        log "the warren server did not start:"
        tail -n 5 "$TMP/server.log" | sed 's/^/  /' >&2
        return 1
    fi
    CPORT=$(sed -n "s/.*warren server listening on $HOST:\([0-9]*\) .*/\1/p" "$TMP/server.log" | head -n 1)
    HPORT=$(sed -n 's/.*http ingress on .* port \([0-9]*\),.*/\1/p' "$TMP/server.log" | head -n 1)
    [ -n "$HPORT" ] ||
        HPORT=$(sed -n "s/.*http ingress on $HOST:\([1-9][0-9]*\).*/\1/p" "$TMP/server.log" | head -n 1)
    WORKERS=$(sed -n 's/.*, \([0-9]*\) workers.*/\1/p' "$TMP/server.log" | head -n 1)
    if [ -z "$CPORT" ] || [ -z "$HPORT" ]; then
        log "cannot read the server's ports from its log:"
        sed 's/^/  /' "$TMP/server.log" >&2
        return 1
    fi
    "$WBIN" client --server "$HOST:$CPORT" --token "$TOKEN" --local-addr "$HOST:$NPORT" \
        --subdomain "$SUB" >"$TMP/client.out" 2>"$TMP/client.err" &
    CPID=$!
    PIDS="$PIDS $CPID"
    if ! wait_line "$TMP/client.out" '^tunnel ' "$CPID" 10; then
        log "the tunnel did not come up:"
        tail -n 5 "$TMP/client.err" | sed 's/^/  client: /' >&2
        tail -n 5 "$TMP/server.log" | sed 's/^/  server: /' >&2
        return 1
    fi
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
    for f_ in server.log client.out client.err; do
        [ ! -f "$TMP/$f_" ] || mv "$TMP/$f_" "$TMP/plain.$f_"
    done
    PLAIN_SPID=$SPID PLAIN_CPID=$CPID PLAIN_HPORT=$HPORT
    WARREN_PLUGIN_DIR=$(pwd)/plugins
    export WARREN_PLUGIN_DIR
    start_tunnel -c "$TMP/plugins.yaml" || return 1
    PLUG_SPID=$SPID PLUG_CPID=$CPID PLUG_HPORT=$HPORT
    for f_ in server.log client.out client.err; do mv "$TMP/$f_" "$TMP/plugins.$f_"; done
    for f_ in server.log client.out client.err; do mv "$TMP/plain.$f_" "$TMP/$f_"; done
    SPID=$PLAIN_SPID CPID=$PLAIN_CPID HPORT=$PLAIN_HPORT
}

# pids PATH: "server client" of the path's warren pair.
pids() {
    case $1 in
    plugins) echo "$PLUG_SPID $PLUG_CPID" ;;
    *) echo "$SPID $CPID" ;;
    esac
}
tunnel_alive() { # PATH
    set -- $(pids "${1:-plain}")
    is_live "$1" && is_live "$2"
}
gone() { # PATH: which warren process is gone
    set -- $(pids "${1:-plain}")
    if ! is_live "$1" && ! is_live "$2"; then echo "the warren server and client are gone"
    elif ! is_live "$1"; then echo "the warren server (pid $1) is gone"
    else echo "the warren client (pid $2) is gone"; fi
}

# --- the runs ---------------------------------------------------------------

FAILED=0
mkdir "$TMP/res"

url() { # path workload
    case $1 in
    direct) echo "http://$HOST:$NPORT/$2.bin" ;;
    plain) echo "http://$HOST:$HPORT/$2.bin" ;;
    plugins) echo "http://$HOST:$PLUG_HPORT/$2.bin" ;;
    esac
}

# to_ms VALUE: wrk's "123.45us" / "1.23ms" / "1.02s" / "2.00m" in ms.
to_ms() {
    echo "$1" | awk '{
        v = $1 + 0; u = $1; sub(/^[0-9.]+/, "", u)
        if (u == "us") v /= 1000; else if (u == "s") v *= 1000; else if (u == "m") v *= 60000
        printf "%.3f\n", v }'
}

# wrk_run PATH WORKLOAD ROUND: one wrk run; appends "rps p50 p99 errors
# requests MB/s" to res/WORKLOAD.PATH and its error breakdown to
# res/WORKLOAD.PATH.err.
wrk_run() {
    out_=$TMP/wrk.$2.$1.$3
    res_=$TMP/res/$2.$1
    if [ "$1" != direct ] && ! tunnel_alive "$1"; then
        echo "FAIL - - - - -" >>"$res_"
        echo "round $3: not run: $(gone "$1")" >>"$res_.err"
        FAILED=1
        log "FAILED: $2 $1 round $3: not run: $(gone "$1")"
        return 0
    fi
    wp_pids_=$(pids "$1")
    c0_="$(cpu_ticks "$NGINX_PID") $(cpu_ticks "$NGINX_WORKER")"
    [ "$1" = direct ] || c0_="$c0_ $(cpu_ticks "${wp_pids_% *}") $(cpu_ticks "${wp_pids_#* }")"
    # In the background, so that a signal to the script stops it at once.
    if [ -n "$TIMEOUT" ]; then
        $TIMEOUT -k 5 $((SECS + 30)) wrk -t$THREADS -c$CONNS -d"${SECS}s" --latency \
            -H "Host: $VHOST" "$(url "$1" "$2")" >"$out_" 2>&1 &
    else
        wrk -t$THREADS -c$CONNS -d"${SECS}s" --latency -H "Host: $VHOST" "$(url "$1" "$2")" \
            >"$out_" 2>&1 &
    fi
    wp_=$!
    PIDS="$PIDS $wp_"
    rc_=0
    wait "$wp_" || rc_=$?
    forget "$wp_"
    c1_="$(cpu_ticks "$NGINX_PID") $(cpu_ticks "$NGINX_WORKER")"
    [ "$1" = direct ] || c1_="$c1_ $(cpu_ticks "${wp_pids_% *}") $(cpu_ticks "${wp_pids_#* }")"

    rps_=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$out_" | head -n 1)
    p50_=$(awk '$1 == "50%" { print $2; exit }' "$out_")
    p99_=$(awk '$1 == "99%" { print $2; exit }' "$out_")
    reqs_=$(sed -n 's/^ *\([0-9]*\) requests in .*/\1/p' "$out_" | head -n 1)
    mbs_=$(awk '$1 == "Transfer/sec:" {
        v = $2 + 0; u = $2; sub(/^[0-9.]+/, "", u)
        if (u == "KB") v /= 1024; else if (u == "GB") v *= 1024; else if (u == "B") v /= 1048576
        printf "%.1f", v * 1.048576 }' "$out_")
    n2xx_=$(sed -n 's/.*Non-2xx or 3xx responses: *\([0-9]*\).*/\1/p' "$out_" | head -n 1)
    sock_=$(sed -n 's/.*Socket errors: connect \([0-9]*\), read \([0-9]*\), write \([0-9]*\), timeout \([0-9]*\).*/\1 \2 \3 \4/p' "$out_" | head -n 1)
    [ -n "$sock_" ] || sock_="0 0 0 0"
    # shellcheck disable=SC2086 # four numbers
    set -- "$1" "$2" "$3" ${n2xx_:-0} $sock_
    errs_=$(($4 + $5 + $6 + $7 + $8))
    if [ "$rc_" -ne 0 ] || [ -z "$rps_" ] || [ -z "$p50_" ] || [ -z "$p99_" ]; then
        echo "FAIL - - - - -" >>"$res_"
        echo "round $3: wrk exit $rc_: $(tr '\n' ' ' <"$out_" | tail -c 300)" >>"$res_.err"
        FAILED=1
        log "FAILED: $2 $1 round $3: wrk exit $rc_"
        sed 's/^/  /' "$out_" | tail -n 5 >&2
        return 0
    fi
    p50_=$(to_ms "$p50_")
    p99_=$(to_ms "$p99_")
    echo "$rps_ $p50_ $p99_ $errs_ ${reqs_:-0} ${mbs_:-0}" >>"$res_"
    if [ $errs_ -ne 0 ]; then
        FAILED=1
        echo "round $3: $errs_ errors in ${reqs_:-?} requests: non-2xx/3xx $4, connect $5, read $6, write $7, timeout $8" >>"$res_.err"
    fi
    cpu_=$(echo "$c0_ $c1_" | awk -v t="$TICKS" -v s="$SECS" '{
        n = NF / 2; split("nginx-master nginx warren-server warren-client", name, " ")
        for (i = 1; i <= n; i++) if (i > 1) printf "%s%s %.0f%%", (i > 2 ? ", " : ""), name[i], ($(i + n) - $i) / t / s * 100 }')
    msg_="$2 $1 round $3: $rps_ req/s, $mbs_ MB/s, p50 $p50_ ms, p99 $p99_ ms, ${reqs_:-?} requests, $errs_ errors; CPU $cpu_"
    [ $errs_ -eq 0 ] || msg_="$msg_ (non-2xx/3xx $4; connect $5, read $6, write $7, timeout $8)"
    if [ "$1" != direct ] && ! tunnel_alive "$1"; then
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
LOAD0=$(cut -d" " -f1-3 /proc/loadavg 2>/dev/null || true)
log "$MODE mode: $RUNS run(s) of ${SECS} s per row; wrk -t$THREADS -c$CONNS; $(wrk --version 2>&1 | head -n 1 | cut -d' ' -f1-2)"
start_nginx || exit 2
start_tunnel || exit 2
log "nginx $NGINX_VERSION on $HOST:$NPORT (pid $NGINX_PID); warren server pid $SPID (HTTP ingress $HOST:$HPORT, ${WORKERS:-?} workers), client pid $CPID"
case " $PATHS " in
*" plugins "*)
    start_plugins_tunnel || exit 2
    log "with the four plugins: warren server pid $PLUG_SPID (HTTP ingress $HOST:$PLUG_HPORT), client pid $PLUG_CPID"
    ;;
*) log "no plugins row: $NOPLUGINS" ;;
esac
RSS0=$(rss)
RSS_FIRST="- -"
RSS_LAST="- -"
for wl in $WORKLOADS; do
    r=1
    while [ "$r" -le "$RUNS" ]; do
        for p in $PATHS; do wrk_run "$p" "$wl" "$r"; done
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
LOAD1=$(cut -d" " -f1-3 /proc/loadavg 2>/dev/null || true)
WARN_S=$(grep -cE ' (warn|error) ' "$TMP/server.log" || true)
WARN_C=$(grep -cE ' (warn|error) ' "$TMP/client.err" || true)
NGERR=$(grep -cE '\[(error|crit|alert|emerg)\]' "$NG/error.log" 2>/dev/null || true)

# --- the report -------------------------------------------------------------

# pick FILE: the median run's line (by req/s; the upper middle when the count
# is even); "FAIL" when a run failed, "-" when there is none.
pick() {
    if [ ! -s "$1" ]; then echo "- - - - - -"; return; fi
    if grep -q '^FAIL' "$1"; then echo "FAIL - - - - -"; return; fi
    sort -n -k1,1 "$1" | awk '{ l[NR] = $0 } END { print l[int(NR / 2) + 1] }'
}
total_errors() { # FILE: errors over every run, "-" when a run failed
    if [ ! -s "$1" ]; then echo -; return; fi
    awk '$1 == "FAIL" { f = 1 } { s += $4 } END { if (f) print "FAIL"; else print s + 0 }' "$1"
}
fmt() { # value decimals
    case $1 in -|FAIL) echo "$1" ;; *) awk -v v="$1" -v d="$2" 'BEGIN { printf "%.*f\n", d, v }' ;; esac
}
ratio() { # value direct
    case "$1 $2" in
    *-* | *FAIL*) echo - ;;
    *) awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx\n", a / b; else print "-" }' ;;
    esac
}
spread() { # the runs' req/s, "a / b / c"
    if [ -s "$1" ]; then awk '{ printf "%s%s", (NR > 1 ? " / " : ""), $1 }' "$1"; else echo -; fi
}
wl_name() { case $1 in 1k) echo "GET 1 KiB" ;; 100k) echo "GET 100 KiB" ;; esac; }
path_name() {
    case $1 in
    direct) echo "direct (wrk -> nginx)" ;;
    plain) echo "warren plain (wrk -> server ingress -> tunnel -> client -> nginx)" ;;
    plugins) echo "warren plain + auth, ratelimit, access_log, circuit_breaker" ;;
    esac
}
growth() { # a b
    case "$1 $2" in *-*) echo "?" ;; *) awk -v a="$1" -v b="$2" 'BEGIN { printf "%+d", b - a }' ;; esac
}

echo "## warren HTTP benchmark: $(date -u '+%Y-%m-%d %H:%M:%SZ'), Linux $(uname -r), nproc $(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN), $MODE mode, median of $RUNS run(s), took ${ELAPSED}s, load average ${LOAD0:-?} before / ${LOAD1:-?} after"
echo
echo "Settings: \`wrk -t$THREADS -c$CONNS -d${SECS}s --latency -H 'Host: $VHOST' URL\` (keep-alive), $RUNS run(s) per row, paths taking turns; nginx ${NGINX_VERSION:-?} (worker_processes 1, keepalive_requests 100000, access_log off, sendfile on) on $HOST:NPORT; \`warren server --bind $HOST:0 --http-bind $HOST:0 --domain $DOMAIN --tcp-bind $HOST --token TOKEN\` (${WORKERS:-?} workers, the default) and \`warren client --server $HOST:CPORT --token TOKEN --local-addr $HOST:NPORT --subdomain $SUB\`; URL: http://$HOST:NPORT/FILE direct, http://$HOST:HPORT/FILE through warren."
echo
echo "| workload | path | req/s | ratio | p50 ms | p99 ms | errors |"
echo "|---|---|---:|---:|---:|---:|---:|"
for wl in $WORKLOADS; do
    # shellcheck disable=SC2046 # six fields
    set -- $(pick "$TMP/res/$wl.direct")
    drps=$1
    for p in $PATHS; do
        # shellcheck disable=SC2046 # six fields
        set -- $(pick "$TMP/res/$wl.$p")
        e=$(total_errors "$TMP/res/$wl.$p")
        case $e in 0 | -) ;; *) e="**$e**" ;; esac
        echo "| $(wl_name "$wl") | $(path_name "$p") | $(fmt "$1" 0) | $(ratio "$1" "$drps") | $(fmt "$2" 2) | $(fmt "$3" 2) | $e |"
    done
done
case " $PATHS " in
*" plugins "*)
    echo
    for wl in $WORKLOADS; do
        # shellcheck disable=SC2046 # six fields
        set -- $(pick "$TMP/res/$wl.plain")
        prps=$1
        # shellcheck disable=SC2046 # six fields
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
echo "warren VmRSS (kB), 1 KiB series: server $r1s after run 1 -> $rNs after run $RUNS ($(growth "$r1s" "$rNs") kB), client $r1c -> $rNc ($(growth "$r1c" "$rNc") kB)."
echo "Before any load: server $r0s, client $r0c; at the end (after the 100 KiB series): server $rEs, client $rEc."
echo
echo "Runs (req/s): $(for wl in $WORKLOADS; do for p in $PATHS; do printf '%s %s: %s; ' "$wl" "$p" "$(spread "$TMP/res/$wl.$p")"; done; done | sed 's/; $//')."
echo "Latency: wrk's --latency percentiles of the median run (by req/s), in ms; errors: non-2xx/3xx responses plus socket errors (connect, read, write, timeout: no response within wrk's 2 s), summed over every run of the row."
echo "Logs: warren server $WARN_S warn/error line(s), client $WARN_C; nginx error log $NGERR error line(s)."
for wl in $WORKLOADS; do
    for p in $PATHS; do
        if [ -s "$TMP/res/$wl.$p.err" ]; then
            sed "s/^/- $wl $p: /" "$TMP/res/$wl.$p.err"
        fi
    done
done
if [ $FAILED -ne 0 ]; then
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
exit 0
