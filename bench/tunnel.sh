#!/bin/sh
# bench/tunnel.sh: warren's tunnel benchmark (run by `make bench` after
# bench/mux.sh).
#
# Compares, in one run, direct TCP to an echo service (bench/tcpbulk
# --listen) with the same service reached through a real `warren server`
# and `warren client` (quick mode, one TCP tunnel), plain and with TLS on the
# control connection, all on 127.0.0.1:
#
#   1. throughput: one connection, then 8 at once, B bytes each way (MB/s
#      of payload, one way);
#   2. round trip: 64-byte ping-pong on one connection, p50 and p99 in us;
#   3. memory: growth of server RSS + client RSS per idle tunneled
#      connection, 1,000 connections open at once (each has echoed 1 byte
#      first, so the whole path exists end to end).
#
# Each figure is the median of 3 runs (BENCH_QUICK=1: 1 run, smaller
# transfers and fewer round trips; BENCH_RUNS=N overrides the count). Within
# a run the paths take turns, so that noise from a shared machine hits every
# path alike. WARREN=PATH benchmarks another warren binary (default ./warren;
# it is copied first, so a rebuild during the run cannot mix two builds).
# Progress goes to stderr; the report (a markdown table) to stdout at the end.
# Exit status: 0 when every run passed, 1 when any run failed or timed out,
# 2 on a setup error. No python: ports, medians and ratios are sh and awk.

# ulimit -H/-S/-n are not in POSIX, but dash, bash and busybox sh have them.
# shellcheck disable=SC3045

set -u
LC_ALL=C
export LC_ALL
# The clients measured here serve no dashboard (bench/dash.sh measures it).
WARREN_DASHBOARD_PORT=off
export WARREN_DASHBOARD_PORT

cd "$(dirname "$0")/.." || exit 2

WARREN=${WARREN:-./warren}
TCPBULK=bench/tcpbulk
HOST=127.0.0.1
TOKEN=warren-bench-$$

if [ "${BENCH_QUICK:-0}" = 1 ]; then
    MODE=quick RUNS=1 BYTES1=$((64 << 20)) BYTES8=$((8 << 20)) RTT_N=5000
else
    MODE=full RUNS=3 BYTES1=$((256 << 20)) BYTES8=$((32 << 20)) RTT_N=20000
fi
RUNS=${BENCH_RUNS:-$RUNS}
RTT_SIZE=64
HOLD_N=1000          # connections held open for the memory column
RUN_LIMIT=120        # seconds before a driver is killed (TLS is the slowest)
HOLD_LIMIT=60        # seconds for the memory run to reach "N held"
FD_NEED=4096         # HOLD_N fds in the driver, echo service, server and client

for b in "$WARREN" "$TCPBULK"; do
    if [ ! -x "$b" ]; then
        echo "bench/tunnel.sh: $b is not built (make all $TCPBULK)" >&2
        exit 2
    fi
done
if ! "$TCPBULK" 2>&1 | grep -q -e '--hold'; then
    echo "bench/tunnel.sh: $TCPBULK has no --rtt/--hold: rebuild it (make $TCPBULK)" >&2
    exit 2
fi
TIMEOUT=
command -v timeout >/dev/null 2>&1 && TIMEOUT=timeout
HAVE_TLS=no
command -v openssl >/dev/null 2>&1 && HAVE_TLS=yes

# 1,000 held connections cost about 1,000 fds in each of four processes.
HARD=$(ulimit -H -n)
if [ "$HARD" != unlimited ] && [ "$HARD" -lt $FD_NEED ]; then
    echo "bench/tunnel.sh: the hard limit on open files is $HARD; the memory run needs" \
        "$FD_NEED or more (raise it, e.g. in /etc/security/limits.conf, or run as root)" >&2
    exit 2
fi
if ! ulimit -S -n "$HARD" 2>/dev/null; then
    ulimit -S -n $FD_NEED 2>/dev/null || {
        echo "bench/tunnel.sh: cannot raise the open files limit to $FD_NEED" >&2
        exit 2
    }
fi

PATHS="direct plain"
[ $HAVE_TLS = yes ] && PATHS="$PATHS tls"
TUNNELS=${PATHS#direct }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/warren-tunnel-bench.XXXXXX") || exit 2
mkdir "$TMP/res"
# The binary under test, fixed for the whole run.
cp "$WARREN" "$TMP/warren" || exit 2
WBIN=$TMP/warren
# A server opens an HTTP ingress on 0.0.0.0:8080 by default: off here (no
# HTTP tunnels), so that every socket is on 127.0.0.1.
HTTP_OFF=
"$WBIN" server --help 2>&1 | grep -q -e '--http-bind' && HTTP_OFF="--http-bind off"
FAILED=0
PIDS=   # every process started, stopped by PID when the script ends

log() { echo "bench: $*" >&2; }

# Sleep in small steps (fractional sleep is not POSIX; fall back to 1 s).
nap() { sleep "$1" 2>/dev/null || sleep 1; }

# Process state from /proc ("R", "S", "Z"...), empty when it is gone.
proc_state() { awk '{ sub(/.*\) /, ""); split($0, f, " "); print f[1] }' "/proc/$1/stat" 2>/dev/null; }
is_live() { s=$(proc_state "$1"); [ -n "$s" ] && [ "$s" != Z ]; }
# utime+stime of the whole process in clock ticks, and an entry of its status.
cpu_ticks() { awk '{ sub(/.*\) /, ""); split($0, f, " "); print f[12] + f[13] }' "/proc/$1/stat" 2>/dev/null; }
status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status" 2>/dev/null; }
TICKS=$(getconf CLK_TCK 2>/dev/null || echo 100)

forget() { PIDS=$(echo " $PIDS " | sed "s/ $1 / /; s/^ *//; s/ *\$//"); }

# Stop one process: SIGTERM, a second SIGTERM after 1 s (warren drains open
# connections on the first, stops at once on the second), SIGKILL after 2 s.
# Sets STOP_RC to its exit status.
stop_pid() {
    [ -n "$1" ] || return 0
    kill -TERM "$1" 2>/dev/null
    sp=0
    while is_live "$1" && [ $sp -lt 40 ]; do
        nap 0.05
        sp=$((sp + 1))
        [ $sp -eq 20 ] && kill -TERM "$1" 2>/dev/null
    done
    kill -KILL "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    STOP_RC=$?
    forget "$1"
}

# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
    # Newest first: drivers, then clients, then servers, then the echo.
    rev=
    for p in $PIDS; do rev="$p $rev"; done
    for p in $rev; do kill -TERM "$p" 2>/dev/null; done
    for p in $rev; do
        n=0
        while is_live "$p" && [ "$n" -lt 20 ]; do nap 0.05; n=$((n + 1)); done
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 141' PIPE # e.g. piped into head: still stop everything
trap 'exit 143' TERM

# wait_line FILE PATTERN PID SECONDS: until grep -E finds PATTERN in FILE;
# 1 when PID died or time ran out first.
wait_line() {
    wl=0
    while [ $wl -lt $(($4 * 20)) ]; do
        grep -qE "$2" "$1" 2>/dev/null && return 0
        is_live "$3" || { grep -qE "$2" "$1" 2>/dev/null; return; }
        nap 0.05
        wl=$((wl + 1))
    done
    return 1
}

# A port on 127.0.0.1 that no socket uses now (local or remote end, any
# state), in FREE_PORT. Picked below the ephemeral range so that the
# driver's own 1,000 outgoing connections cannot take it meanwhile.
PORT_SEQ=0
free_port() {
    fp=0
    eph=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
    span=$((eph - 20000))
    [ $span -ge 1000 ] || span=10000
    while [ $fp -lt 100 ]; do
        PORT_SEQ=$((PORT_SEQ + 1))
        FREE_PORT=$((20000 + ($$ * 31 + PORT_SEQ * 7919 + $(date +%s)) % span))
        hex=$(printf '%04X' "$FREE_PORT")
        cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | grep -q ":$hex " || return 0
        fp=$((fp + 1))
    done
    return 1
}

# --- TLS material (a CA and a server certificate for localhost) -----------

make_certs() {
    (
        cd "$TMP" || exit 1
        key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }
        key ca.key && key server.key &&
            openssl req -x509 -new -key ca.key -out ca.pem -days 2 -subj "/CN=warren bench CA" \
                -addext "basicConstraints=critical,CA:TRUE" \
                -addext "keyUsage=critical,keyCertSign,cRLSign" &&
            openssl req -new -key server.key -out server.csr -subj "/CN=localhost" &&
            printf '%s\n' "basicConstraints=CA:FALSE" "subjectAltName=DNS:localhost,IP:127.0.0.1" \
                "extendedKeyUsage=serverAuth" >server.ext &&
            openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
                -out server.pem -days 2 -extfile server.ext &&
            openssl verify -CAfile ca.pem server.pem
    ) >"$TMP/certs.log" 2>&1
}

# --- the processes ----------------------------------------------------------

# The echo service every path ends at; sets EPORT.
start_echo() {
    : >"$TMP/echo.log"
    "$TCPBULK" --listen "$HOST:0" >"$TMP/echo.log" 2>&1 &
    EPID=$!
    PIDS="$PIDS $EPID"
    if ! wait_line "$TMP/echo.log" '^listening on ' "$EPID" 5; then
        log "the echo service did not start:"
        sed 's/^/  /' "$TMP/echo.log" >&2
        return 1
    fi
    EPORT=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$TMP/echo.log")
}

server_args() { # path: extra server flags
    echo "$HTTP_OFF"
    [ "$1" = tls ] && echo "--tls-cert $TMP/server.pem --tls-key $TMP/server.key"
}
client_args() { # path: extra client flags
    [ "$1" = tls ] && echo "--tls --tls-ca $TMP/ca.pem --tls-server-name localhost"
}

# start_tunnel PATH: a server (control port chosen by the kernel, read from
# its log) and a client publishing the echo service on a free port of the
# server. Sets SPID_<path>, CPID_<path> and PORT_<path>.
start_tunnel() {
    st=0
    while [ $st -lt 3 ]; do
        st=$((st + 1))
        free_port || { log "$1: no free port"; return 1; }
        rp=$FREE_PORT
        # Emptied here, not by the child's redirection: that happens after
        # the fork, and wait_line could meanwhile read the previous run's line.
        : >"$TMP/$1.server.log"
        : >"$TMP/$1.client.out"
        # shellcheck disable=SC2046
        "$WBIN" server --bind "$HOST:0" --tcp-bind $HOST --tcp-ports "$rp-$rp" \
            --token "$TOKEN" $(server_args "$1") >"$TMP/$1.server.log" 2>&1 &
        sp_=$!
        PIDS="$PIDS $sp_"
        if ! wait_line "$TMP/$1.server.log" 'warren server listening on ' "$sp_" 10; then
            stop_pid "$sp_"
            continue
        fi
        cp_=$(sed -n "s/.*warren server listening on $HOST:\([0-9]*\) .*/\1/p" "$TMP/$1.server.log")
        # shellcheck disable=SC2046
        "$WBIN" client --server "$HOST:$cp_" --token "$TOKEN" --local-addr "$HOST:$EPORT" \
            --remote-port "$rp" $(client_args "$1") >"$TMP/$1.client.out" \
            2>"$TMP/$1.client.err" &
        cl_=$!
        PIDS="$PIDS $cl_"
        if wait_line "$TMP/$1.client.out" '^tunnel ' "$cl_" 10; then
            eval "SPID_$1=\$sp_ CPID_$1=\$cl_ PORT_$1=\$rp"
            return 0
        fi
        stop_pid "$cl_"
        stop_pid "$sp_"
    done
    log "$1: the tunnel did not come up:"
    for f in "$TMP/$1.server.log" "$TMP/$1.client.err"; do
        [ -s "$f" ] && tail -n 3 "$f" | sed "s|^|  ${f##*/}: |" >&2
    done
    return 1
}

stop_tunnel() { # path: client first, so that the server has nothing to drain
    eval "c_=\${CPID_$1:-} s_=\${SPID_$1:-}"
    stop_pid "$c_"
    stop_pid "$s_"
    eval "CPID_$1= SPID_$1= PORT_$1="
}

path_addr() { # path -> where its drivers connect
    if [ "$1" = direct ]; then
        echo "$HOST:$EPORT"
    else
        eval "echo \"$HOST:\${PORT_$1:-0}\""
    fi
}
path_name() {
    case $1 in
    direct) echo "direct TCP" ;;
    plain) echo "warren tunnel (plain)" ;;
    tls) echo "warren tunnel (TLS 1.3)" ;;
    esac
}

# --- the runs ---------------------------------------------------------------

# Run a driver to completion, bounded by RUN_LIMIT; its exit status in RC.
run_driver() {
    if [ -n "$TIMEOUT" ]; then
        $TIMEOUT -k 5 $RUN_LIMIT "$@" >"$TMP/d.out" 2>"$TMP/d.err"
        RC=$?
        return 0
    fi
    "$@" >"$TMP/d.out" 2>"$TMP/d.err" &
    dp=$!
    PIDS="$PIDS $dp"
    rd=0
    while is_live "$dp"; do
        if [ $rd -ge $((RUN_LIMIT * 5)) ]; then
            log "driver timed out after ${RUN_LIMIT}s: killing $dp"
            kill -KILL "$dp" 2>/dev/null
        fi
        nap 0.2
        rd=$((rd + 1))
    done
    wait "$dp"
    RC=$?
    forget "$dp"
}

# Check a driver's "N passed, M failed" line; $1 what, $2 rc, $3 expected N.
check_result() {
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$TMP/d.out" | tail -n 1)
    passed=${line%% passed*}
    failed=${line#*passed, }
    failed=${failed%% failed*}
    if [ -z "$line" ] || [ "$2" -ne 0 ] || [ "$failed" -ne 0 ] || [ "$passed" -ne "$3" ]; then
        FAILED=1
        log "FAILED: $1 (exit $2, '${line:-no result line}')"
        sed 's/^/  /' "$TMP/d.err" | tail -n 5 >&2
        return 1
    fi
    return 0
}

# The tunnel's processes must outlive every run.
tunnel_alive() { # path
    [ "$1" = direct ] && return 0
    eval "c_=\${CPID_$1:-} s_=\${SPID_$1:-}"
    [ -n "$c_" ] && [ -n "$s_" ] && is_live "$c_" && is_live "$s_" && return 0
    FAILED=1
    log "FAILED: $1: the warren server or client is gone"
    return 1
}

# Echo throughput: path, connections, bytes, tag -> MB/s into res/TAG.PATH.
# For the tunnels, the CPU used meanwhile by the server and by the client
# goes to the progress line (it tells which end limits the path).
tput_run() {
    if ! tunnel_alive "$1"; then
        echo FAIL >>"$TMP/res/$4.$1"
        return
    fi
    cpu0=
    if [ "$1" != direct ]; then
        eval "c_=\$CPID_$1 s_=\$SPID_$1"
        cpu0="$(cpu_ticks "$s_") $(cpu_ticks "$c_")"
    fi
    run_driver "$TCPBULK" --connect "$(path_addr "$1")" --streams "$2" --bytes "$3"
    cpu1=
    [ -n "$cpu0" ] && cpu1="$(cpu_ticks "$s_") $(cpu_ticks "$c_")"
    if ! check_result "$1 ${2}x$3" "$RC" "$2" || ! tunnel_alive "$1"; then
        echo FAIL >>"$TMP/res/$4.$1"
        return
    fi
    mbps=$(sed -n 's/.*throughput: \([0-9.]*\) MB\/s.*/\1/p' "$TMP/d.err" | tail -n 1)
    echo "${mbps:-FAIL}" >>"$TMP/res/$4.$1"
    msg="$1 ${2}x$3: ${mbps:-?} MB/s"
    if [ -n "$cpu1" ]; then
        msg="$msg, CPU $(echo "$cpu0 $cpu1" | awk -v t="$TICKS" \
            '{ printf "server %.2f s, client %.2f s", ($3 - $1) / t, ($4 - $2) / t }')"
    fi
    log "$msg"
}

# Ping-pong: path -> p50 and p99 (us) into res/p50.PATH and res/p99.PATH.
rtt_run() {
    if ! tunnel_alive "$1"; then
        echo FAIL >>"$TMP/res/p50.$1"
        echo FAIL >>"$TMP/res/p99.$1"
        return
    fi
    run_driver "$TCPBULK" --connect "$(path_addr "$1")" --rtt $RTT_N --size $RTT_SIZE
    # shellcheck disable=SC2046 # two numbers, split on purpose
    set -- "$1" $(sed -n 's/^rtt: p50 \([0-9.]*\) us, p99 \([0-9.]*\) us.*/\1 \2/p' "$TMP/d.err")
    if ! check_result "$1 rtt" "$RC" 1 || [ $# -ne 3 ] || ! tunnel_alive "$1"; then
        echo FAIL >>"$TMP/res/p50.$1"
        echo FAIL >>"$TMP/res/p99.$1"
        return
    fi
    echo "$2" >>"$TMP/res/p50.$1"
    echo "$3" >>"$TMP/res/p99.$1"
    log "$1 rtt: $(sed -n 's/^rtt: //p' "$TMP/d.err")"
}

# Memory: a fresh server and client; one short connection first (so that
# what the first connection of a process allocates once is not counted),
# 1 s to settle, VmRSS of both; then HOLD_N connections held open, 1 s to
# settle, VmRSS again. Bytes per connection into res/mems|memc|mem.PATH.
mem_fail() {
    FAILED=1
    log "FAILED: $1 memory: $2"
    for f in mems memc mem; do echo FAIL >>"$TMP/res/$f.$1"; done
}
mem_run() {
    start_tunnel "$1" || { mem_fail "$1" "no tunnel"; return; }
    eval "c_=\$CPID_$1 s_=\$SPID_$1"
    run_driver "$TCPBULK" --connect "$(path_addr "$1")" --rtt 10 --size 1
    if ! check_result "$1 memory warm-up" "$RC" 1; then
        stop_tunnel "$1"
        mem_fail "$1" "warm-up connection failed"
        return
    fi
    nap 1
    s0=$(status_kb "$s_" VmRSS)
    c0=$(status_kb "$c_" VmRSS)
    : >"$TMP/h.out" # see start_tunnel
    "$TCPBULK" --connect "$(path_addr "$1")" --hold $HOLD_N >"$TMP/h.out" 2>"$TMP/h.err" &
    hp=$!
    PIDS="$PIDS $hp"
    held=no
    wait_line "$TMP/h.out" "^$HOLD_N held" "$hp" $HOLD_LIMIT && held=yes
    s1='' c1=''
    if [ $held = yes ]; then
        nap 1
        is_live "$hp" || held=no
        s1=$(status_kb "$s_" VmRSS)
        c1=$(status_kb "$c_" VmRSS)
    fi
    stop_pid "$hp"
    hold_rc=$STOP_RC
    alive=yes
    tunnel_alive "$1" || alive=no
    stop_tunnel "$1"
    if [ $held = no ] || [ "$hold_rc" -ne 0 ] || [ $alive = no ]; then
        mem_fail "$1" "$HOLD_N connections not held (driver exit $hold_rc)"
        sed 's/^/  /' "$TMP/h.err" | tail -n 5 >&2
        return
    fi
    if [ -z "$s0" ] || [ -z "$s1" ] || [ -z "$c0" ] || [ -z "$c1" ]; then
        mem_fail "$1" "could not read VmRSS"
        return
    fi
    # shellcheck disable=SC2046 # three numbers, split on purpose
    set -- "$1" $(echo "$s0 $s1 $c0 $c1" | awk -v n=$HOLD_N \
        '{ s = ($2 - $1) * 1024 / n; c = ($4 - $3) * 1024 / n; printf "%.0f %.0f %.0f", s, c, s + c }')
    echo "$2" >>"$TMP/res/mems.$1"
    echo "$3" >>"$TMP/res/memc.$1"
    echo "$4" >>"$TMP/res/mem.$1"
    log "$1 memory: server $s0 -> $s1 kB, client $c0 -> $c1 kB with $HOLD_N held: $4 B/connection (server $2, client $3)"
}

START=$(date +%s)
LOAD0=$(cut -d" " -f1-3 /proc/loadavg 2>/dev/null)
log "$MODE mode: $RUNS run(s) per figure; paths: $PATHS; open files limit $(ulimit -n)"
if [ $HAVE_TLS = yes ]; then
    make_certs || {
        log "openssl could not make the test certificates:"
        tail -n 5 "$TMP/certs.log" | sed 's/^/  /' >&2
        exit 2
    }
else
    log "no openssl command: skipping the TLS row"
fi
start_echo || exit 2
r=1
while [ "$r" -le "$RUNS" ]; do
    log "round $r/$RUNS"
    up=
    for p in $TUNNELS; do
        if start_tunnel "$p"; then up="$up $p"; else FAILED=1; fi
    done
    for p in $PATHS; do tput_run "$p" 1 "$BYTES1" t1; done
    for p in $PATHS; do tput_run "$p" 8 "$BYTES8" t8; done
    for p in $PATHS; do rtt_run "$p"; done
    for p in $up; do stop_tunnel "$p"; done
    for p in $TUNNELS; do mem_run "$p"; done
    r=$((r + 1))
done
ELAPSED=$(($(date +%s) - START))
LOAD1=$(cut -d" " -f1-3 /proc/loadavg 2>/dev/null)
WORKERS=$(sed -n 's/.*, \([0-9]*\) workers.*/\1/p' "$TMP/plain.server.log" 2>/dev/null | tail -n 1)

# --- the report -------------------------------------------------------------

# median FILE -> the median, "FAIL" if any run failed, "-" when absent.
median() {
    [ -s "$1" ] || { echo -; return; }
    grep -q FAIL "$1" && { echo FAIL; return; }
    sort -n "$1" | awk '{ v[NR] = $1 }
        END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
spread() { # "a / b / c" of the runs, for the notes
    if [ -s "$1" ]; then tr '\n' ' ' <"$1" | sed 's/ $//; s/ / \/ /g'; else echo -; fi
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

dt1=$(median "$TMP/res/t1.direct")
dt8=$(median "$TMP/res/t8.direct")
d50=$(median "$TMP/res/p50.direct")
d99=$(median "$TMP/res/p99.direct")
MIB1=$((BYTES1 >> 20))
MIB8=$((BYTES8 >> 20))

echo "## warren tunnel benchmark: $(date -u '+%Y-%m-%d %H:%M:%SZ'), Linux $(uname -r), nproc $(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN), $MODE mode, median of $RUNS run(s), runs took ${ELAPSED}s, load average ${LOAD0:-?} before / ${LOAD1:-?} after"
echo
echo "Commands (EPORT, CPORT, RPORT: free ports; a fresh server and client every round and every memory run; TLS: the same plus the flags shown):"
echo
echo '```'
echo "$TCPBULK --listen $HOST:EPORT &   # the echo service; direct TCP connects here"
echo "./warren server --bind $HOST:CPORT --tcp-bind $HOST --tcp-ports RPORT-RPORT --token TOKEN${HTTP_OFF:+ $HTTP_OFF} &   # TLS: --tls-cert server.pem --tls-key server.key"
echo "./warren client --server $HOST:CPORT --token TOKEN --local-addr $HOST:EPORT --remote-port RPORT &   # TLS: --tls --tls-ca ca.pem --tls-server-name localhost"
echo "$TCPBULK --connect ADDR --streams 1 --bytes $BYTES1   # ADDR: $HOST:EPORT direct, $HOST:RPORT tunneled"
echo "$TCPBULK --connect ADDR --streams 8 --bytes $BYTES8"
echo "$TCPBULK --connect ADDR --rtt $RTT_N --size $RTT_SIZE"
echo "$TCPBULK --connect $HOST:RPORT --rtt 10 --size 1; $TCPBULK --connect $HOST:RPORT --hold $HOLD_N   # memory"
echo '```'
echo
echo "| path | 1 conn MB/s | vs direct | 8 conns MB/s | vs direct | RTT p50 us | vs direct | RTT p99 us | vs direct | B per idle conn: server | client | both |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for p in $PATHS; do
    t1=$(median "$TMP/res/t1.$p")
    t8=$(median "$TMP/res/t8.$p")
    p50=$(median "$TMP/res/p50.$p")
    p99=$(median "$TMP/res/p99.$p")
    if [ "$p" = direct ]; then
        ms="n/a" mc="n/a" mb="n/a"
    else
        ms=$(fmt "$(median "$TMP/res/mems.$p")" 0)
        mc=$(fmt "$(median "$TMP/res/memc.$p")" 0)
        mb=$(fmt "$(median "$TMP/res/mem.$p")" 0)
    fi
    echo "| $(path_name "$p") | $(fmt "$t1" 1) | $(ratio "$t1" "$dt1") | $(fmt "$t8" 1) | $(ratio "$t8" "$dt8") | $(fmt "$p50" 1) | $(ratio "$p50" "$d50") | $(fmt "$p99" 1) | $(ratio "$p99" "$d99") | $ms | $mc | $mb |"
done
[ $HAVE_TLS = yes ] || echo "| warren tunnel (TLS 1.3) | skipped: no openssl command to make certificates | | | | | | | | | | |"
echo
echo "Throughput: payload MB (10^6 B) per second one way, as printed by the driver; every byte is echoed, so the path carries it both ways. 1 conn: $MIB1 MiB each way; 8 conns: 8 x $MIB8 MiB each way at once. Tunneled, each byte crosses three TCP connections (driver -> server, the client's control connection, client -> echo service), and the server and the client relay it in user space."
echo
echo "RTT: one connection, $RTT_SIZE-byte messages, each sent after the previous one came back whole (TCP_NODELAY at both ends of the driver's connection); $RTT_N round trips counted after $(( RTT_N / 10 < 1000 ? RTT_N / 10 : 1000 )) not counted (warm-up); nearest-rank percentiles."
echo
echo "Memory: (server VmRSS + client VmRSS with $HOLD_N tunneled connections open and idle, each having echoed 1 byte) minus (the same before they were opened, after one short warm-up connection), / $HOLD_N; read from /proc/PID/status 1 s after the last echo. The echo service and the driver are not counted. Server: ${WORKERS:-?} worker threads (the default, one per CPU)."
echo
echo "Runs (MB/s 1 conn; MB/s 8 conns; RTT p50 us; RTT p99 us; B per connection, both ends):"
for p in $PATHS; do
    line="- $(path_name "$p"): $(spread "$TMP/res/t1.$p"); $(spread "$TMP/res/t8.$p"); $(spread "$TMP/res/p50.$p"); $(spread "$TMP/res/p99.$p")"
    [ "$p" = direct ] || line="$line; $(spread "$TMP/res/mem.$p")"
    echo "$line"
done
if [ $FAILED -ne 0 ]; then
    echo
    echo "**Some runs FAILED (see stderr); their cells read FAIL.**"
    exit 1
fi
exit 0
