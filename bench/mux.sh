#!/bin/sh
# bench/mux.sh: warren's mux benchmark (run by `make bench`).
#
# Compares, in one run, direct TCP (bench/tcpbulk) with a warren mux session
# (t/tools/muxpeer, warren extension and plain smux v2) and with Go's
# xtaci/smux (t/tools/gosmux/gosmux at both ends), all echoing over
# 127.0.0.1:
#
#   1. one stream, B bytes each way: throughput (MB/s of payload, one way);
#   2. eight streams at once: aggregate throughput;
#   3. CPU seconds (user+system, listener and driver) per GB moved, for (1);
#   4. memory (RSS of listener and driver) per idle stream, 10,000 streams.
#
# Each figure is the median of 3 runs (BENCH_QUICK=1: 1 run and smaller
# transfers; BENCH_RUNS=N overrides the count). The runs are interleaved
# across paths so that noise from a shared machine hits every path alike.
# Progress goes to stderr; the report (a markdown table) to stdout at the end.
# Exit status: 0 when every run passed, 1 when any stream failed or a run
# broke or timed out, 2 on a setup error. Ports, process control and medians
# come from bench/peers.sh: every process it starts is stopped by its PID on
# exit (Ctrl-C included); BENCH_KEEP=1 keeps the temporary directory.

set -u
LC_ALL=C
export LC_ALL

cd "$(dirname "$0")/.." || exit 2

LOG_TAG=bench
TCPBULK=bench/tcpbulk
# shellcheck source=bench/peers.sh
. ./bench/peers.sh

MUXPEER=t/tools/muxpeer
GOSMUX=t/tools/gosmux/gosmux

if [ "${BENCH_QUICK:-0}" = 1 ]; then
    MODE=quick RUNS=1 BYTES1=$((64 << 20)) BYTES8=$((8 << 20))
else
    MODE=full RUNS=3 BYTES1=$((256 << 20)) BYTES8=$((32 << 20))
fi
RUNS=${BENCH_RUNS:-$RUNS}
IDLE_N=10000         # streams held for the memory column
RUN_LIMIT=90         # seconds before a throughput driver is killed
IDLE_LIMIT=60        # seconds for the memory runs to reach "N passed"

# How muxpeer holds its 10,000 streams for the memory column. --idle keeps
# the session AND the streams (after their 1-byte echo) open; --hold keeps
# only the session, its streams being closed after the echo. Switching is
# this one line (an older muxpeer without --idle falls back to --hold).
IDLE_FLAG=--idle
if ! "$MUXPEER" --help 2>/dev/null | grep -q -e "$IDLE_FLAG"; then IDLE_FLAG=--hold; fi

for b in "$MUXPEER" "$TCPBULK"; do
    if [ ! -x "$b" ]; then
        echo "bench/mux.sh: $b is not built (make all $TCPBULK)" >&2
        exit 2
    fi
done
HAVE_GO=no
[ -x "$GOSMUX" ] && HAVE_GO=yes
command -v python3 >/dev/null 2>&1 || { echo "bench/mux.sh: needs python3" >&2; exit 2; }
# The interpreter itself, not a wrapper (a pyenv shim costs ~0.3 s a call).
PYTHON=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null)
[ -x "$PYTHON" ] || PYTHON=python3
TIME=
[ -x /usr/bin/time ] && TIME=/usr/bin/time

PATHS="direct wext wsmux"
[ $HAVE_GO = yes ] && PATHS="$PATHS go"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/warren-bench.XXXXXX") || exit 2
bench_traps
mkdir "$TMP/res" || exit 2
FAILED=0
LPID=

py() { "$PYTHON" -c "$@"; }

# The commands, by path. $1 = address; listener extra args follow.
listen_cmd() { # path addr [streams-limit]
    case $1 in
    direct) echo "$TCPBULK --listen $2" ;;
    wext) echo "$MUXPEER --listen $2 --echo --proto warren${3:+ --max-streams $3}" ;;
    wsmux) echo "$MUXPEER --listen $2 --echo --proto smux2${3:+ --max-streams $3}" ;;
    go) echo "$GOSMUX --listen $2 --echo --proto smux2" ;;
    esac
}
drive_cmd() { # path addr streams bytes [idle]
    case $1 in
    direct) echo "$TCPBULK --connect $2 --streams $3 --bytes $4" ;;
    wext | wsmux)
        proto=warren
        [ "$1" = wsmux ] && proto=smux2
        if [ -n "${5:-}" ]; then
            echo "$MUXPEER --connect $2 --drive --proto $proto --streams $3 --bytes $4 $IDLE_FLAG --max-streams $IDLE_N --timeout ${IDLE_LIMIT}s --log-level warn"
        else
            echo "$MUXPEER --connect $2 --drive --proto $proto --streams $3 --bytes $4 --no-verify --timeout ${RUN_LIMIT}s --log-level warn"
        fi ;;
    go) echo "$GOSMUX --connect $2 --drive --proto smux2 --streams $3 --bytes $4 --timeout ${RUN_LIMIT}s" ;;
    esac
}
row_name() {
    case $1 in
    direct) echo "direct TCP" ;;
    wext) echo "warren mux (warren ext)" ;;
    wsmux) echo "warren mux (smux v2)" ;;
    go) echo "Go xtaci/smux v2" ;;
    esac
}

# Start a listener for path $1 (optional $2: stream limit); sets LPID, ADDR.
start_listener() {
    for _ in 1 2 3; do
        free_port || break
        ADDR=$HOST:$FREE_PORT
        # shellcheck disable=SC2046 # the command, split on purpose
        bg_run "$TMP/l.log" "$TMP/l.log" $(listen_cmd "$1" "$ADDR" "${2:-}")
        LPID=$BG_PID
        wait_line "$TMP/l.log" 'listening on' "$LPID" 5 && return 0
        stop_listener
    done
    log "$1: listener did not start:"
    sed 's/^/  /' "$TMP/l.log" >&2
    return 1
}

stop_listener() {
    [ -n "$LPID" ] || return 0
    stop_pid "$LPID"
    LPID=
}

# Run a driver to completion, bounded by RUN_LIMIT. Sets RC, DCPU (seconds,
# user+system of the driver) and DMAXKB (its peak RSS in kB).
run_driver() {
    DCPU='' DMAXKB=''
    if [ -n "$TIME" ]; then
        rm -f "$TMP/time"
        run_limited $RUN_LIMIT "$TMP/d.out" "$TMP/d.err" $TIME -f '%U %S %M' -o "$TMP/time" "$@"
        # shellcheck disable=SC2046 # three numbers
        set -- $(tail -n 1 "$TMP/time" 2>/dev/null)
        if [ $# -eq 3 ]; then
            DCPU=$(py "print(round($1 + $2, 2))")
            DMAXKB=$3
        fi
        return 0
    fi
    # No /usr/bin/time: poll /proc until the driver is a zombie (its stat
    # still has the final CPU times then) and keep the last values.
    bg_run "$TMP/d.out" "$TMP/d.err" "$@"
    dp_=$BG_PID
    t0=$(date +%s)
    ticks=0 hwm=0
    while :; do
        done_=no
        is_live "$dp_" || done_=yes
        t_=$(cpu_ticks "$dp_")
        [ "$t_" -lt "$ticks" ] || ticks=$t_
        h=$(status_kb "$dp_" VmHWM)
        [ -n "$h" ] && hwm=$h
        [ $done_ = no ] || break
        if [ $(($(date +%s) - t0)) -ge $RUN_LIMIT ]; then
            log "driver timed out after ${RUN_LIMIT}s: killing $dp_"
            kill -KILL "$dp_" 2>/dev/null
        fi
        nap 0.02
    done
    wait "$dp_"
    RC=$?
    forget "$dp_"
    DCPU=$(py "print(round($ticks / $TICKS, 2))")
    DMAXKB=$hwm
}

# One echo run: path, streams, bytes -> appends MB/s (and, for one stream,
# CPU s/GB) to the result files.
tput_run() { # path streams bytes tag
    start_listener "$1" || { FAILED=1; echo FAIL >>"$TMP/res/$4.$1"; return; }
    # shellcheck disable=SC2046 # the command, split on purpose
    run_driver $(drive_cmd "$1" "$ADDR" "$2" "$3")
    lticks=
    is_live "$LPID" && lticks=$(tree_ticks "$LPID")
    stop_listener
    if ! check_result "$1 $2x$3" "$2"; then
        echo FAIL >>"$TMP/res/$4.$1"
        [ "$2" = 1 ] && echo FAIL >>"$TMP/res/cpu.$1"
        return
    fi
    mbps=$(sed -n 's/.*throughput: \([0-9.]*\) MB\/s.*/\1/p' "$TMP/d.err" | tail -n 1)
    echo "${mbps:-FAIL}" >>"$TMP/res/$4.$1"
    msg="$1 ${2}x$3: ${mbps} MB/s"
    if [ "$2" = 1 ]; then
        if [ -n "$DCPU" ] && [ -n "$lticks" ]; then
            cpu=$(py "print(f'{($DCPU + $lticks / $TICKS) / ($3 * 2 / 1e9):.3f}')")
            echo "$cpu" >>"$TMP/res/cpu.$1"
            msg="$msg, driver $DCPU s + listener $(py "print($lticks / $TICKS)") s CPU"
        else
            echo FAIL >>"$TMP/res/cpu.$1"
        fi
    fi
    log "$msg"
}

# Memory for N streams: writes (listener growth + driver RSS) in kB to
# $TMP/mem, or nothing on failure. muxpeer: RSS while the driver holds the session
# ($IDLE_FLAG). gosmux cannot hold, so its peaks: the driver's maximum RSS
# (from wait4 via /usr/bin/time) and the listener's VmHWM.
mem_run() { # path streams
    : >"$TMP/mem"
    start_listener "$1" $IDLE_N || { FAILED=1; return; }
    l0=$(status_kb "$LPID" VmRSS)
    if [ "$1" = go ]; then
        # shellcheck disable=SC2046
        run_driver $(drive_cmd go "$ADDR" "$2" 1)
        l1=$(status_kb "$LPID" VmHWM)
        d1=$DMAXKB
    else
        # shellcheck disable=SC2046
        bg_run "$TMP/d.out" "$TMP/d.err" $(drive_cmd "$1" "$ADDR" "$2" 1 idle)
        dp_=$BG_PID
        wait_line "$TMP/d.out" ' passed, ' "$dp_" $IDLE_LIMIT
        nap 0.2 # let the listener finish with the last streams
        l1=$(status_kb "$LPID" VmRSS)
        d1=$(status_kb "$dp_" VmRSS)
        # It holds the session until stopped: gone by itself, it failed.
        RC=0
        is_live "$dp_" || RC=1
        stop_pid "$dp_"
        [ $RC -eq 0 ] || [ "$STOP_RC" -eq 0 ] || RC=$STOP_RC
    fi
    stop_listener
    check_result "$1 memory, $2 streams" "$2" || return
    if [ -z "$l0" ] || [ -z "$l1" ] || [ -z "$d1" ]; then
        FAILED=1
        log "FAILED: $1 memory, $2 streams: could not read RSS"
        return
    fi
    echo "$((l1 - l0 + d1)) $((l1 - l0))" >"$TMP/mem"
}

# Bytes per stream: (memory with IDLE_N streams - memory with 1) / (IDLE_N - 1),
# which cancels the fixed cost of the processes and of the session.
idle_run() { # path
    mem_run "$1" 1
    read -r m1 a1 <"$TMP/mem" || m1=
    mem_run "$1" $IDLE_N
    read -r mn an <"$TMP/mem" || mn=
    if [ -z "$m1" ] || [ -z "$mn" ]; then
        echo FAIL >>"$TMP/res/idle.$1"
        echo FAIL >>"$TMP/res/idlea.$1"
        return
    fi
    b=$(py "print(round(($mn - $m1) * 1024 / ($IDLE_N - 1)))")
    ba=$(py "print(round(($an - $a1) * 1024 / ($IDLE_N - 1)))")
    echo "$b" >>"$TMP/res/idle.$1"
    echo "$ba" >>"$TMP/res/idlea.$1"
    log "$1 memory: $m1 kB with 1 stream, $mn kB with $IDLE_N: $b B/stream (accepting end $ba)"
}

# --- the runs -------------------------------------------------------------

START=$(date +%s)
LOAD0=$(cut -d" " -f1-3 /proc/loadavg 2>/dev/null)
log "$MODE mode: $RUNS run(s) per figure; paths: $PATHS"
[ $HAVE_GO = yes ] || log "$GOSMUX not built: skipping the Go row"
r=1
while [ $r -le "$RUNS" ]; do
    log "round $r/$RUNS"
    for p in $PATHS; do tput_run "$p" 1 "$BYTES1" t1; done
    for p in $PATHS; do tput_run "$p" 8 "$BYTES8" t8; done
    for p in $PATHS; do [ "$p" = direct ] || idle_run "$p"; done
    r=$((r + 1))
done
ELAPSED=$(($(date +%s) - START))
LOAD1=$(cut -d" " -f1-3 /proc/loadavg 2>/dev/null)

# --- the report -----------------------------------------------------------

dt1=$(median "$TMP/res/t1.direct")
dt8=$(median "$TMP/res/t8.direct")
dcpu=$(median "$TMP/res/cpu.direct")
MIB1=$((BYTES1 >> 20))
MIB8=$((BYTES8 >> 20))
P='127.0.0.1:PORT'

echo "## warren mux benchmark: $(date -u '+%Y-%m-%d %H:%M:%SZ'), Linux $(uname -r), nproc $(nproc), $MODE mode, median of $RUNS run(s), runs took ${ELAPSED}s, load average ${LOAD0:-?} before / ${LOAD1:-?} after"
echo
echo "Commands (PORT: a free port, a fresh listener for every run):"
echo
echo '```'
for p in $PATHS; do
    echo "# $(row_name "$p")"
    echo "$(listen_cmd "$p" "$P") &"
    drive_cmd "$p" "$P" 1 "$BYTES1"
    drive_cmd "$p" "$P" 8 "$BYTES8"
    if [ "$p" != direct ]; then
        echo "$(listen_cmd "$p" "$P" $IDLE_N) &   # memory runs"
        echo "$(drive_cmd "$p" "$P" $IDLE_N 1 idle)   # and --streams 1"
    fi
done
echo '```'
echo
echo "| path | 1 stream MB/s | vs direct | 8 streams MB/s | vs direct | CPU s/GB (1 stream) | vs direct | bytes per idle stream, both ends | accepting end |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
for p in $PATHS; do
    t1=$(median "$TMP/res/t1.$p")
    t8=$(median "$TMP/res/t8.$p")
    cpu=$(median "$TMP/res/cpu.$p")
    if [ "$p" = direct ]; then
        idle="n/a"
        idlea="n/a"
    else
        idle=$(fmt "$(median "$TMP/res/idle.$p")" 0)
        idlea=$(fmt "$(median "$TMP/res/idlea.$p")" 0)
        [ "$p" = go ] && idle="$idle (3)" || idle="$idle (2)"
    fi
    echo "| $(row_name "$p") | $(fmt "$t1" 1) | $(ratio "$t1" "$dt1") | $(fmt "$t8" 1) | $(ratio "$t8" "$dt8") | $(fmt "$cpu" 2) (1) | $(ratio "$cpu" "$dcpu") | $idle | $idlea |"
done
[ $HAVE_GO = yes ] || echo "| Go xtaci/smux v2 | skipped: $GOSMUX not built (needs Go; make $GOSMUX) | | | | | | | |"
echo
echo "Throughput: payload MB (10^6 B) per second one way, as printed by the driver; every byte is echoed, so the link carries it both ways. 1 stream: $MIB1 MiB each way; 8 streams: 8 x $MIB8 MiB each way at once."
echo
echo "(1) user+system CPU of listener and driver together (driver: $([ -n "$TIME" ] && echo "/usr/bin/time" || echo "last /proc/PID/stat before it was reaped"), listener: /proc/PID/stat just before it is stopped), per GB moved (2 x $MIB1 MiB). tcpbulk and muxpeer (--no-verify) send zeros and count the echoed bytes; gosmux fills its buffer from crypto/rand (inside its timed section) and compares, which costs it some CPU and throughput."
if [ "$IDLE_FLAG" = --idle ]; then
    echo "(2) (listener RSS growth + driver RSS) with $IDLE_N streams open and idle (muxpeer $IDLE_FLAG: each stream echoed 1 byte and is kept open), minus the same with 1 stream, / $((IDLE_N - 1)); VmRSS from /proc/PID/status."
else
    echo "(2) muxpeer has no --idle here: $IDLE_N streams each echo 1 byte and are CLOSED (muxpeer $IDLE_FLAG keeps only the session); the figure is the RSS growth left behind per short-lived stream (listener growth + driver RSS, minus the same with 1 stream, / $((IDLE_N - 1))), not the cost of a held-open stream."
fi
[ $HAVE_GO = yes ] && echo "(3) gosmux cannot hold streams: its $IDLE_N streams (1 byte each, all opened at once) are closed after their echo, so this is PEAK memory: listener VmHWM growth + driver maximum RSS, minus the same with 1 stream, / $((IDLE_N - 1)). It includes gosmux's goroutines and 64 KiB read buffers per stream (1 page touched each), i.e. the cost of the tool as written, not only of the smux library."
echo
echo "Runs (MB/s 1 stream; MB/s 8 streams; CPU s/GB; B/stream):"
for p in $PATHS; do
    echo "- $(row_name "$p"): $(spread "$TMP/res/t1.$p"); $(spread "$TMP/res/t8.$p"); $(spread "$TMP/res/cpu.$p")$([ "$p" = direct ] || echo "; $(spread "$TMP/res/idle.$p")")"
done
if [ $FAILED -ne 0 ]; then
    echo
    echo "**Some runs FAILED (see stderr); their cells read FAIL.**"
    exit 1
fi
exit 0
