#!/bin/sh
# bench/tunnel.sh: warren's tunnel benchmark (run by `make bench` after
# bench/mux.sh).
#
# Compares, in one run, direct TCP to an echo service (bench/tcpbulk
# --listen) with the same service reached through a public port on
# 127.0.0.1 forwarded by: haproxy in TCP mode (one user-space relay, no
# tunnel: the floor any relay pays), two haproxy relays in a row (the floor
# of a tunnel, which has a server and a client process; a reference row,
# not a tunnel), ssh -R to a private sshd, a Go reverse
# tunnel over xtaci/smux and over hashicorp/yamux (bench/gotunnel, as frp
# and the smux tunnels do it), and a real `warren server` + `warren client`,
# plain and with TLS on the control connection (bench/peers.sh starts and
# stops them all alike). Per path:
#
#   1. throughput: one connection, then 8 at once, B bytes each way (MB/s
#      of payload, one way), and the path's CPU time per GB carried;
#   2. echo latency: 64-byte ping-pong on one connection (p50, p99, p99.9
#      in us) and on 32 connections at once (round trips per second), then
#      both again with the path, the echo service and the driver pinned to
#      one CPU (what a round trip costs when nothing runs in parallel);
#   3. new connections per second (connect, 1 byte echoed, close);
#   4. memory: growth of the path's processes' RSS per idle connection,
#      1,000 connections open at once (each has echoed 1 byte first, so the
#      whole path exists end to end), on a fresh path.
#
# Each figure is the median of 3 runs (BENCH_QUICK=1: 1 run, smaller
# transfers and fewer round trips; BENCH_RUNS=N overrides the count). Within
# a round the paths take turns, workload by workload, so that noise from a
# shared machine hits every path alike; each round starts a fresh set of
# tunnels. WARREN=PATH benchmarks another warren binary (default ./warren;
# it is copied first, so a rebuild during the run cannot mix two builds).
# BENCH_KEEP=1 keeps the temporary directory (every process's log).
#
# A path whose tool is missing (haproxy, sshd/ssh, bench/gotunnel/gotunnel,
# openssl for TLS, taskset for the pinned columns) is a row or cells reading
# "skipped: <reason>"; with WR_STRICT=1 (CI) it is also a failure. Builds
# nothing (`make bench` does).
#
# Progress goes to stderr; the report (a markdown table) to stdout at the end.
# Exit status: 0 when every run passed, 1 when any run failed or timed out
# (or, with WR_STRICT=1, a path was skipped), 2 on a setup error. No python:
# ports, medians and ratios are sh and awk.

# ulimit -H/-S/-n are not in POSIX, but dash, bash and busybox sh have them.
# shellcheck disable=SC3045

set -u
LC_ALL=C
export LC_ALL
# Two warren processes may run at once: no admin or dashboard listener
# (they would both want 127.0.0.1:9090 and :4040).
WARREN_ADMIN_BIND=off WARREN_DASHBOARD_BIND=off
export WARREN_ADMIN_BIND WARREN_DASHBOARD_BIND

cd "$(dirname "$0")/.." || exit 2

LOG_TAG=bench/tunnel.sh
TCPBULK=bench/tcpbulk
# shellcheck source=bench/peers.sh
. ./bench/peers.sh

WARREN=${WARREN:-./warren}
if [ "${BENCH_QUICK:-0}" = 1 ]; then
    MODE=quick RUNS=1 BYTES1=$((32 << 20)) BYTES8=$((4 << 20)) RTT_N=1000 RTT32_N=100 CONNRATE_S=1
else
    MODE=full RUNS=3 BYTES1=$((96 << 20)) BYTES8=$((12 << 20)) RTT_N=4000 RTT32_N=400 CONNRATE_S=2
fi
# Sized for `make bench` (bench/mux.sh + this + bench/http.sh +
# bench/dash.sh) under 15 minutes on 2 cores: this one takes about 4 full
# (237 s on 2026-11-30), about 1 quick. A fresh
# path costs about 1 s to start and stop, and ssh opens only 100-200
# connections a second, which is most of the memory runs' time.
RUNS=${BENCH_RUNS:-$RUNS}
RTT_SIZE=64
RTT_CONNS=32         # concurrent ping-pong connections
CONNRATE_W=4         # connect/echo/close workers
HOLD_N=1000          # connections held open for the memory column
RUN_LIMIT=120        # seconds before a driver is killed
HOLD_LIMIT=60        # seconds for the memory run to reach "N held"
FD_NEED=4096         # HOLD_N fds in the driver, echo service, and each relay end
ALL_PATHS="direct haproxy haproxy2 ssh gosmux goyamux plain tls"

for b in "$WARREN" "$TCPBULK"; do
    if [ ! -x "$b" ]; then
        log "$b is not built (make all $TCPBULK)"
        exit 2
    fi
done
if ! "$TCPBULK" 2>&1 | grep -q -e '--connrate'; then
    log "$TCPBULK has no --rtt --streams/--hold/--connrate: rebuild it (make $TCPBULK)"
    exit 2
fi

# 1,000 held connections cost about 1,000 fds in each process on the way.
HARD=$(ulimit -H -n)
if [ "$HARD" != unlimited ] && [ "$HARD" -lt $FD_NEED ]; then
    log "the hard limit on open files is $HARD; the memory run needs" \
        "$FD_NEED or more (raise it, e.g. in /etc/security/limits.conf, or run as root)"
    exit 2
fi
if ! ulimit -S -n "$HARD" 2>/dev/null; then
    ulimit -S -n $FD_NEED 2>/dev/null || {
        log "cannot raise the open files limit to $FD_NEED"
        exit 2
    }
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/warren-tunnel-bench.XXXXXX") || exit 2
bench_traps
mkdir "$TMP/res" || exit 2
# The binary under test, fixed for the whole run.
cp "$WARREN" "$TMP/warren" || exit 2
WBIN=$TMP/warren

# Which paths can run here; the others become "skipped" rows.
PATHS=
for p in $ALL_PATHS; do
    if why=$(path_have "$p"); then
        PATHS="$PATHS $p"
    else
        echo "$why" >"$TMP/res/skip.$p"
        log "skipped $p: $why"
        [ "$STRICT" != 1 ] || STRICT_SKIP=1
    fi
done
PATHS=${PATHS# }
TUNNELS=${PATHS#direct}

# Pinned runs: the first CPU this script may use, then back to all of them.
NOPIN=
if command -v taskset >/dev/null 2>&1; then
    ALL_MASK=$(taskset -p $$ | sed 's/.*: *//')
    PIN_CPU=$(taskset -c -p $$ | sed 's/.*: *//; s/[^0-9].*//')
    PIN_MASK=$(printf '%x' $((1 << PIN_CPU)))
else
    NOPIN="no taskset (Debian: util-linux)"
    log "skipped the pinned runs: $NOPIN"
    [ "$STRICT" != 1 ] || STRICT_SKIP=1
fi

# The echo service every path ends at; sets EPID and EPORT.
start_echo() {
    bg_run "$TMP/echo.log" "$TMP/echo.log" "$TCPBULK" --listen "$HOST:0"
    EPID=$BG_PID
    if ! wait_line "$TMP/echo.log" '^listening on ' "$EPID" 5; then
        log "the echo service did not start:"
        sed 's/^/  /' "$TMP/echo.log" >&2
        return 1
    fi
    EPORT=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$TMP/echo.log")
}

# --- the runs ---------------------------------------------------------------

# put KEY PATH VALUE: one run's figure into res/KEY.PATH.
put() { echo "$3" >>"$TMP/res/$1.$2"; }
fail_keys() { # PATH KEY...: this run of each KEY failed
    fk_p=$1
    shift
    for fk_k in "$@"; do put "$fk_k" "$fk_p" FAIL; done
    FAILED=1
}
roots() { # PATH -> its root PIDs (nothing for direct)
    r_=''
    eval "r_=\${ROOTS_$1:-}"
    echo "$r_"
}
port() {
    o_=''
    eval "o_=\${PORT_$1:-}"
    echo "$o_"
}

# alive PATH WHAT: the path's processes must be there before and after
# every run; a FAIL message otherwise.
alive() {
    if ! is_live "$EPID"; then
        log "FAILED: $1 $2: the echo service (pid $EPID) is gone"
        return 1
    fi
    path_alive "$1" && return 0
    log "FAILED: $1 $2: $(path_gone "$1")"
    return 1
}

driver() { run_limited $RUN_LIMIT "$TMP/d.out" "$TMP/d.err" "$@"; }

# bulk_run PATH N BYTES TAG: N connections, BYTES each way -> MB/s into
# res/TAG.PATH and, for a tunnel, the CPU seconds its processes used per
# GB carried (2 x BYTES x N: every byte goes there and back) into
# res/cTAG.PATH.
bulk_run() {
    alive "$1" "${2}x$3" || { fail_keys "$1" "$4" "c$4"; return; }
    rt_=$(roots "$1")
    tk0=$(tree_ticks "$rt_")
    driver "$TCPBULK" --connect "$HOST:$(port "$1")" --streams "$2" --bytes "$3"
    tk1=$(tree_ticks "$rt_")
    mbps=$(sed -n 's/.*throughput: \([0-9.]*\) MB\/s.*/\1/p' "$TMP/d.err" | tail -n 1)
    if ! check_result "$1 ${2}x$3" "$2" || [ -z "$mbps" ] || ! alive "$1" "${2}x$3"; then
        fail_keys "$1" "$4" "c$4"
        return
    fi
    put "$4" "$1" "$mbps"
    if [ "$1" = direct ]; then
        log "$1 ${2}x$3: $mbps MB/s"
        return
    fi
    cpu=$(awk -v a="$tk0" -v b="$tk1" -v t="$TICKS" -v n="$2" -v s="$3" \
        'BEGIN { printf "%.2f", (b - a) / t / (2 * n * s / 1e9) }')
    put "c$4" "$1" "$cpu"
    log "$1 ${2}x$3: $mbps MB/s, CPU $(awk -v a="$tk0" -v b="$tk1" -v t="$TICKS" \
        'BEGIN { printf "%.2f", (b - a) / t }') s = $cpu s/GB"
}

# rtt_run PATH CONNS N [pin]: CONNS connections at once, N round trips of
# RTT_SIZE bytes each. One connection: p50, p99, p99.9 into res/[p]p50,
# [p]p99, p999.PATH; several: round trips/s into res/[p]rt32.PATH. With
# "pin" the driver runs on PIN_CPU (the caller has pinned the rest).
rtt_run() {
    set -- "$1" "$2" "$3" "${4:-}" # always four, so that the figures are $5..$8
    if [ "$2" -eq 1 ]; then
        keys="p50 p99 p999"
        [ -z "$4" ] || keys="pp50 pp99"
    else
        keys=rt32
        [ -z "$4" ] || keys=prt32
    fi
    what="rtt ${2}x$3${4:+ pinned}"
    # shellcheck disable=SC2086 # a list of keys
    alive "$1" "$what" || { fail_keys "$1" $keys; return; }
    pin_=''
    [ -z "$4" ] || pin_="taskset -c $PIN_CPU"
    # shellcheck disable=SC2086 # the taskset prefix, split on purpose
    driver $pin_ "$TCPBULK" --connect "$HOST:$(port "$1")" --rtt "$3" --size $RTT_SIZE --streams "$2"
    # p50, p99, p99.9 (us) and round trips/s
    # shellcheck disable=SC2046 # four numbers, split on purpose
    set -- "$@" $(sed -n 's/^rtt-hist: p50 \([0-9.]*\) us, p90 [0-9.]* us, p99 \([0-9.]*\) us, p99\.9 \([0-9.]*\) us, max [0-9.]* us, [0-9]* round trips, \([0-9.]*\) round trips\/s.*/\1 \2 \3 \4/p' "$TMP/d.err" | tail -n 1)
    if ! check_result "$1 $what" "$2"; then
        # shellcheck disable=SC2086
        fail_keys "$1" $keys
        return
    fi
    if [ $# -ne 8 ]; then
        log "FAILED: $1 $what: no rtt-hist line"
        # shellcheck disable=SC2086
        fail_keys "$1" $keys
        return
    fi
    # shellcheck disable=SC2086
    alive "$1" "$what" || { fail_keys "$1" $keys; return; }
    case $keys in
    "p50 p99 p999") put p50 "$1" "$5"; put p99 "$1" "$6"; put p999 "$1" "$7" ;;
    "pp50 pp99") put pp50 "$1" "$5"; put pp99 "$1" "$6" ;;
    *) put "$keys" "$1" "$8" ;;
    esac
    log "$1 $what: $(sed -n 's/^rtt-hist: //p' "$TMP/d.err")"
}

# pinned_runs PATH: the path's processes (every thread) and the echo service
# on PIN_CPU, both ping-pong runs with the driver there too, then back to
# every CPU.
pinned_runs() {
    set -- "$1" "$(roots "$1") $EPID"
    if ! tree_pin "$2" "$PIN_MASK"; then
        log "FAILED: $1: could not pin $2 to CPU $PIN_CPU"
        fail_keys "$1" pp50 pp99 prt32
    else
        rtt_run "$1" 1 "$RTT_N" pin
        rtt_run "$1" $RTT_CONNS "$RTT32_N" pin
    fi
    if ! tree_pin "$2" "$ALL_MASK"; then
        log "FAILED: $1: could not unpin $2"
        FAILED=1
    fi
}

# connrate_run PATH: CONNRATE_W workers connecting, echoing 1 byte and
# closing for CONNRATE_S seconds -> connections/s into res/cps.PATH.
connrate_run() {
    alive "$1" connrate || { fail_keys "$1" cps; return; }
    driver "$TCPBULK" --connect "$HOST:$(port "$1")" --connrate "$CONNRATE_S" --streams $CONNRATE_W
    cps=$(sed -n 's/^connrate: \([0-9.]*\) conn\/s.*/\1/p' "$TMP/d.err" | tail -n 1)
    if ! check_result "$1 connrate" || [ -z "$cps" ] || ! alive "$1" connrate; then
        fail_keys "$1" cps
        return
    fi
    put cps "$1" "$cps"
    log "$1 $(sed -n 's/^connrate: //p' "$TMP/d.err")"
}

# Memory: a fresh path; one short connection first (so that what the first
# connection of a process allocates once is not counted), 1 s to settle,
# VmRSS of the path's processes; then HOLD_N connections held open, 1 s to
# settle, VmRSS again. Bytes per connection into res/mem.PATH.
mem_run() {
    if ! path_start "$1" "$EPORT"; then
        log "FAILED: $1 memory: the path did not start"
        fail_keys "$1" mem
        return
    fi
    rt_=$(roots "$1")
    addr=$HOST:$(port "$1")
    driver "$TCPBULK" --connect "$addr" --rtt 10 --size 1
    if ! check_result "$1 memory warm-up" 1; then
        path_stop "$1"
        fail_keys "$1" mem
        return
    fi
    nap 1
    m0=$(tree_rss_kb "$rt_")
    bg_run "$TMP/h.out" "$TMP/h.err" "$TCPBULK" --connect "$addr" --hold $HOLD_N
    hp=$BG_PID
    held=no
    wait_line "$TMP/h.out" "^$HOLD_N held" "$hp" $HOLD_LIMIT && held=yes
    m1=''
    if [ $held = yes ]; then
        nap 1
        is_live "$hp" || held=no
        m1=$(tree_rss_kb "$rt_")
    fi
    stop_pid "$hp"
    hold_rc=$STOP_RC
    up=yes
    alive "$1" memory || up=no
    path_stop "$1"
    if [ $held = no ] || [ "$hold_rc" -ne 0 ] || [ $up = no ]; then
        log "FAILED: $1 memory: $HOLD_N connections not held (driver exit $hold_rc)"
        sed 's/^/  /' "$TMP/h.err" | tail -n 5 >&2
        fail_keys "$1" mem
        return
    fi
    b=$(awk -v a="$m0" -v b="$m1" -v n=$HOLD_N 'BEGIN { printf "%.0f", (b - a) * 1024 / n }')
    put mem "$1" "$b"
    log "$1 memory: $m0 -> $m1 kB with $HOLD_N held: $b B/connection"
}

START=$(date +%s)
LOAD0=$(cut -d" " -f1-3 /proc/loadavg 2>/dev/null)
log "$MODE mode: $RUNS run(s) per figure; paths: $PATHS; open files limit $(ulimit -n)"
start_echo || exit 2
path_start direct "$EPORT" # PORT_direct: the echo service itself
r=1
while [ "$r" -le "$RUNS" ]; do
    log "round $r/$RUNS"
    for p in $TUNNELS; do path_start "$p" "$EPORT" || FAILED=1; done
    for p in $PATHS; do bulk_run "$p" 1 "$BYTES1" t1; done
    for p in $PATHS; do bulk_run "$p" 8 "$BYTES8" t8; done
    for p in $PATHS; do rtt_run "$p" 1 "$RTT_N"; done
    for p in $PATHS; do rtt_run "$p" $RTT_CONNS "$RTT32_N"; done
    if [ -z "$NOPIN" ]; then
        for p in $PATHS; do pinned_runs "$p"; done
    fi
    for p in $PATHS; do connrate_run "$p"; done
    for p in $TUNNELS; do path_stop "$p"; done
    for p in $TUNNELS; do mem_run "$p"; done
    r=$((r + 1))
done
ELAPSED=$(($(date +%s) - START))
LOAD1=$(cut -d" " -f1-3 /proc/loadavg 2>/dev/null)
WORKERS=$(sed -n 's/.*, \([0-9]*\) workers.*/\1/p' "$TMP/plain/server.log" 2>/dev/null | tail -n 1)

# --- the report -------------------------------------------------------------

diff_us() { # value direct -> "+N.N us"
    case "$1 $2" in
    *-* | *FAIL*) echo - ;;
    *) awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.1f us\n", a - b }' ;;
    esac
}

# Direct's medians, the denominators: D_t1, D_t8...
D_t1='' D_t8='' D_pp50='' D_pp99='' D_rt32='' D_prt32='' D_cps=''
for k in t1 t8 pp50 pp99 rt32 prt32 cps; do
    eval "D_$k=\$(median \"\$TMP/res/$k.direct\")"
done
MIB1=$((BYTES1 >> 20))
MIB8=$((BYTES8 >> 20))
NCOLS=20 # the table's columns, path included

echo "## warren tunnel benchmark: $(date -u '+%Y-%m-%d %H:%M:%SZ'), Linux $(uname -r), nproc $(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN), $MODE mode, median of $RUNS run(s), runs took ${ELAPSED}s, load average ${LOAD0:-?} before / ${LOAD1:-?} after"
echo
echo "| path | 1 conn MB/s | vs direct | 8 conns MB/s | vs direct | CPU s/GB 1 conn / 8 conns | echo p50 us | p99 us | p99.9 us | pinned p50 us | vs direct | pinned p99 us | vs direct | 32 conns round trips/s | vs direct | pinned | vs direct | new conn/s | vs direct | B per idle conn |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for p in $ALL_PATHS; do
    if [ -s "$TMP/res/skip.$p" ]; then
        line="| $(path_name "$p") | skipped: $(cat "$TMP/res/skip.$p")"
        c=2
        while [ $c -lt $NCOLS ]; do line="$line |"; c=$((c + 1)); done
        echo "$line |"
        continue
    fi
    t1=$(median "$TMP/res/t1.$p") t8=$(median "$TMP/res/t8.$p")
    p50=$(median "$TMP/res/p50.$p") p99=$(median "$TMP/res/p99.$p") p999=$(median "$TMP/res/p999.$p")
    rt32=$(median "$TMP/res/rt32.$p") cps=$(median "$TMP/res/cps.$p")
    if [ -n "$NOPIN" ]; then
        pin1="skipped: $NOPIN | - | - | -" pin2="skipped | -"
    else
        pp50=$(median "$TMP/res/pp50.$p") pp99=$(median "$TMP/res/pp99.$p") prt32=$(median "$TMP/res/prt32.$p")
        pin1="$(fmt "$pp50" 1) | $(diff_us "$pp50" "$D_pp50") | $(fmt "$pp99" 1) | $(ratio "$pp99" "$D_pp99")"
        pin2="$(fmt "$prt32" 0) | $(ratio "$prt32" "$D_prt32")"
    fi
    if [ "$p" = direct ]; then
        cpu="n/a" mem="n/a"
    else
        cpu="$(fmt "$(median "$TMP/res/ct1.$p")" 2) / $(fmt "$(median "$TMP/res/ct8.$p")" 2)"
        mem=$(fmt "$(median "$TMP/res/mem.$p")" 0)
    fi
    echo "| $(path_name "$p") | $(fmt "$t1" 1) | $(ratio "$t1" "$D_t1") | $(fmt "$t8" 1) | $(ratio "$t8" "$D_t8") | $cpu | $(fmt "$p50" 1) | $(fmt "$p99" 1) | $(fmt "$p999" 1) | $pin1 | $(fmt "$rt32" 0) | $(ratio "$rt32" "$D_rt32") | $pin2 | $(fmt "$cps" 0) | $(ratio "$cps" "$D_cps") | $mem |"
done
echo
echo "Throughput: payload MB (10^6 B) per second one way, as printed by the driver; every byte is echoed, so the path carries it both ways. 1 conn: $MIB1 MiB each way; 8 conns: 8 x $MIB8 MiB each way at once. CPU: user+system time of the path's processes (all threads, their live descendants, and children they reaped; utime/stime/cutime/cstime in /proc) during that run, per GB (10^9 B) carried both ways together (2 x bytes x connections); the echo service and the driver are not counted."
echo
echo "Echo: $RTT_SIZE-byte messages, each sent after the previous one came back whole (TCP_NODELAY at both ends of the driver's connections); 1 conn: $RTT_N round trips; 32 conns: $RTT32_N round trips on each of $RTT_CONNS connections at once, one driver thread each, total round trips per second. Warm-up round trips (a tenth, at most 1,000 per connection) not counted; nearest-rank percentiles of every counted round trip."
if [ -z "$NOPIN" ]; then
    echo "Pinned: the path's processes (every thread, \`taskset -a -p $PIN_MASK\`), the echo service and the driver (\`taskset -c $PIN_CPU\`) all on CPU $PIN_CPU for those runs, then back to mask $ALL_MASK; pinned p50 is shown as its difference to direct's pinned p50."
fi
echo
echo "New conn/s: $CONNRATE_W workers for ${CONNRATE_S} s, each cycle connect, 1 byte echoed, close."
echo
echo "Memory: (VmRSS of the path's processes with $HOLD_N connections open and idle, each having echoed 1 byte) minus (the same before they were opened, after one short warm-up connection), / $HOLD_N; read from /proc/PID/status 1 s after the last echo, on a fresh path. haproxy: its process (x2: both); ssh: sshd with its per-connection processes, and ssh; Go tunnels and warren: server and client. warren server: ${WORKERS:-?} worker threads (the default, one per CPU)."
echo
echo "Commands (TARGET: the echo service's port; PUB: the public port; CTRL: the control port; a fresh set of paths every round and for every memory run):"
echo
echo '```'
echo "$TCPBULK --listen $HOST:0 &   # the echo service, port TARGET"
for p in $PATHS; do path_describe "$p"; done
echo "$TCPBULK --connect ADDR --streams 1 --bytes $BYTES1   # ADDR: $HOST:TARGET direct, $HOST:PUB through a path"
echo "$TCPBULK --connect ADDR --streams 8 --bytes $BYTES8"
echo "$TCPBULK --connect ADDR --rtt $RTT_N --size $RTT_SIZE --streams 1"
echo "$TCPBULK --connect ADDR --rtt $RTT32_N --size $RTT_SIZE --streams $RTT_CONNS"
[ -n "$NOPIN" ] || echo "taskset -c $PIN_CPU $TCPBULK ...   # the same two, pinned"
echo "$TCPBULK --connect ADDR --connrate $CONNRATE_S --streams $CONNRATE_W"
echo "$TCPBULK --connect ADDR --rtt 10 --size 1; $TCPBULK --connect ADDR --hold $HOLD_N   # memory"
echo '```'
echo
echo "Runs (MB/s 1 conn; MB/s 8 conns; CPU s/GB 1 conn; 8 conns; echo p50; p99; p99.9 us; pinned p50; p99 us; 32 conns rt/s; pinned; new conn/s; B per idle conn):"
for p in $PATHS; do
    line="- $(path_name "$p"): $(spread "$TMP/res/t1.$p"); $(spread "$TMP/res/t8.$p")"
    [ "$p" = direct ] || line="$line; $(spread "$TMP/res/ct1.$p"); $(spread "$TMP/res/ct8.$p")"
    line="$line; $(spread "$TMP/res/p50.$p"); $(spread "$TMP/res/p99.$p"); $(spread "$TMP/res/p999.$p")"
    [ -n "$NOPIN" ] || line="$line; $(spread "$TMP/res/pp50.$p"); $(spread "$TMP/res/pp99.$p")"
    line="$line; $(spread "$TMP/res/rt32.$p")"
    [ -n "$NOPIN" ] || line="$line; $(spread "$TMP/res/prt32.$p")"
    line="$line; $(spread "$TMP/res/cps.$p")"
    [ "$p" = direct ] || line="$line; $(spread "$TMP/res/mem.$p")"
    echo "$line"
done
if [ "$FAILED" -ne 0 ]; then
    echo
    echo "**Some runs FAILED (see stderr); their cells read FAIL.**"
    exit 1
fi
if [ "$STRICT_SKIP" -ne 0 ]; then
    echo
    echo "**WR_STRICT=1: a skipped path or column is a failure.**"
    exit 1
fi
exit 0
