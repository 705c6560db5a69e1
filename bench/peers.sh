# bench/peers.sh: sourced by bench/mux.sh, bench/tunnel.sh, bench/http.sh
# and bench/dash.sh (not run on its own). Two things:
#
#   1. the helpers the scripts share: progress lines, sleeps, process state
#      and CPU time from /proc, stopping a process (and what it forked) by
#      PID, the EXIT trap that stops everything, waiting for a log line or a
#      listening port, a free port, a command bounded in time, a driver's
#      result, medians and ratios for the report, a private nginx and
#      warren's HTTP tunnel (all listed below);
#   2. the paths a benchmark can forward a public port through, behind one
#      interface, so that every script starts, checks and stops them alike:
#
#      path_have P          0 when P can run here, else 1 with the reason
#                           on stdout ("no haproxy (apt-get install ...)")
#      path_start P TARGET  start P forwarding a public port on 127.0.0.1 to
#                           127.0.0.1:TARGET; returns once a connection
#                           through it has worked (see path_probe). Sets
#                           PORT_P (where to connect) and ROOTS_P (the PIDs
#                           started, in start order; empty for direct)
#      path_stop P          stop them (newest first) and what they forked
#      path_alive P         0 when every root process of P is still running
#      path_name P          the row title of P in a report
#      path_describe P      the commands and configuration P runs, for the
#                           report (placeholders in capitals)
#
#      Paths: direct (no process: PORT is the target itself), haproxy (TCP
#      mode), haproxy2 (two haproxy relays in a row: what any tunnel with a
#      server and a client process costs at the least, as a reference),
#      ssh (ssh -R to a private sshd), gosmux and goyamux
#      (bench/gotunnel over xtaci/smux or hashicorp/yamux), plain and tls
#      (a warren server with one TCP port and a warren client, the control
#      connection plain or TLS 1.3).
#
# Process-tree helpers, from /proc (PIDS: a space-separated list of roots):
#
#      tree_ticks PIDS      utime+stime of the roots and all their live
#                           descendants, plus cutime+cstime (children
#                           already reaped) of each of those, in clock ticks
#      tree_rss_kb PIDS     VmRSS summed over the same processes
#      tree_pin PIDS MASK   taskset -a -p MASK on each of them (every thread)
#
# Running the processes a run needs (each is recorded in PIDS):
#
#      bench_traps          the EXIT trap that stops every process left in
#                           PIDS (newest first) and removes TMP (kept with
#                           BENCH_KEEP=1), and HUP, INT, PIPE, TERM traps
#                           that exit through it
#      free_port            a port on 127.0.0.1 no socket uses, below the
#                           ephemeral range, in FREE_PORT
#      wait_line FILE PATTERN PID SECS
#                           0 once grep -E finds PATTERN in FILE; 1 when
#                           PID died or SECS ran out first
#      wait_listen PORT PID SECS
#                           the same, for a listener on 127.0.0.1:PORT
#      is_live PID          0 when PID runs (not a zombie)
#      cpu_ticks PID        utime+stime of PID alone (0 when it is gone)
#      status_kb PID FIELD  FIELD of /proc/PID/status in kB (VmRSS, VmHWM;
#                           empty when it is gone)
#      bg_run OUT ERR CMD...  start CMD in the background, stdout to OUT,
#                           stderr to ERR (to OUT when ERR is OUT); sets
#                           BG_PID
#      run_limited SECS OUT ERR CMD...
#                           run CMD to its end, killed after SECS; sets RC
#      stop_pid PID         TERM, TERM again, KILL; then what it forked;
#                           sets STOP_RC
#      check_result WHAT [N]  0 when a driver's run passed: RC is 0 and the
#                           last "P passed, F failed" line of $TMP/d.out has
#                           F = 0 and P = N (P > 0 without N); else a
#                           "FAILED: WHAT" line, FAILED=1 and 1
#
# Report helpers:
#
#      median FILE [FMT]    the median of the runs in FILE, one a line
#                           (first field; "-": no figure, left out), the
#                           mean of the middle two for an even count (printf
#                           FMT, default %.10g); FAIL when a run failed
#                           (a line FAIL), "-" when there is no figure
#      spread FILE          the runs in FILE (first fields) as "a / b / c",
#                           for the notes; "-" when there is none
#      fmt VALUE DECIMALS   VALUE with DECIMALS decimals; "-" and FAIL as is
#      ratio VALUE BASE     VALUE / BASE as "1.23x"; "-" when either is not
#                           a figure
#
# nginx and warren's HTTP tunnel (the sourcing script sets DOMAIN and
# TOKEN for these):
#
#      need_wrk_nginx       sets NGINX (the nginx binary); without wrk or
#                           nginx, skip_all
#      skip_all WHY         "LOG_TAG: skipped: WHY" on stdout and exit 0
#                           (exit 1 under WR_STRICT=1)
#      start_nginx KIB...   a private nginx (a plain process, never the
#                           system's service; worker_processes 1, keep-alive,
#                           access_log off) on 127.0.0.1:NPORT serving
#                           KIBk.bin, KIB KiB of random bytes, for each KIB.
#                           Sets NG (its directory), NPORT, NGINX_PID,
#                           NGINX_WORKER and NGINX_VERSION
#      start_http_server LOG [ARGS...]
#                           warren server ARGS, with an HTTP ingress for
#                           DOMAIN, its output to LOG. Sets SPID, CPORT (its
#                           control port), HPORT (its ingress) and WORKERS
#      start_http_client OUT ERR SUB [ARGS...]
#                           warren client ARGS of that server, publishing
#                           nginx as SUB.DOMAIN; its stdout (the "tunnel"
#                           line) to OUT, its log to ERR. Sets CPID
#
# The sourcing script sets TMP (its private temporary directory, created
# before any path starts), LOG_TAG (the prefix of progress lines) and, for
# the warren paths and the HTTP tunnel, WBIN (the warren binary under
# test). It may read and set FAILED, STRICT_SKIP and PIDS, and read STRICT,
# TICKS, HOST and TIMEOUT. Every process started here is recorded in PIDS
# and stopped by its PID (never by name) by stop_pid or path_stop or, at
# the latest, by the EXIT trap that bench_traps installs. Everything
# listens and connects on 127.0.0.1 only.
#
# Written for POSIX sh with `set -u` (not `set -e`: several helpers return 1
# as an answer, not as an error).

# ulimit -H/-S/-n are not in POSIX, but dash, bash and busybox sh have them.
# shellcheck shell=sh disable=SC3045

HOST=127.0.0.1
LOG_TAG=${LOG_TAG:-bench}
PIDS=     # every process started and not yet stopped, oldest first
FAILED=${FAILED:-0}
# shellcheck disable=SC2034 # read by the sourcing scripts
TICKS=$(getconf CLK_TCK 2>/dev/null || echo 100)
TIMEOUT=
command -v timeout >/dev/null 2>&1 && TIMEOUT=timeout
GOTUNNEL=${GOTUNNEL:-bench/gotunnel/gotunnel}
PEER_TOKEN=warren-bench-$$
# The strict mode CI runs in: a path that cannot run here is a failure.
# shellcheck disable=SC2034
STRICT=${WR_STRICT:-0}
# shellcheck disable=SC2034
STRICT_SKIP=0 # set by a script that skipped something under WR_STRICT=1

# --- generic helpers ---------------------------------------------------------

log() { echo "$LOG_TAG: $*" >&2; }

# Sleep in small steps (fractional sleep is not POSIX; fall back to 1 s).
nap() { sleep "$1" 2>/dev/null || sleep 1; }

# Live: there and not a zombie. With the shell's own read, no fork: it runs
# in every wait loop, and forks are what a loaded machine makes slow.
is_live() {
    il_=''
    { read -r il_ <"/proc/$1/stat"; } 2>/dev/null || return 1
    il_=${il_##*) }
    il_=${il_%% *}
    [ -n "$il_" ] && [ "$il_" != Z ] && [ "$il_" != X ]
}
# Start time (ticks after boot): with the PID, it names a process for good,
# so that a PID reused by the system meanwhile is never signalled.
proc_start() { awk '{ sub(/.*\) /, ""); split($0, f, " "); print f[20] }' "/proc/$1/stat" 2>/dev/null; }
# utime+stime of one process (all its threads) in clock ticks.
cpu_ticks() { awk '{ sub(/.*\) /, ""); split($0, f, " "); print f[12] + f[13] }' "/proc/$1/stat" 2>/dev/null || echo 0; }
status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null; }

forget() { PIDS=$(echo " $PIDS " | sed "s/ $1 / /; s/^ *//; s/ *\$//"); }

# tree_scan MODE ROOTS...: one pass over /proc/*/stat. The trees are the
# roots and every live process whose parent is in them (to a fixed point, so
# grandchildren too). MODE list: "PID STARTTIME" per process, roots first;
# MODE ticks: the sum of utime+stime+cutime+cstime over them. cutime and
# cstime of every member, not only of the roots, so that a process reaped by
# a descendant (ssh's per-connection sshd reaps its own child) still counts.
tree_scan() {
    ts_mode=$1
    shift
    [ $# -gt 0 ] || { [ "$ts_mode" = ticks ] && echo 0; return 0; }
    cat /proc/[0-9]*/stat 2>/dev/null | awk -v mode="$ts_mode" -v roots="$*" '
        { pid = $1; sub(/.*\) /, ""); split($0, f, " ")
          if (f[1] == "Z" || f[1] == "X") next
          n++; all[n] = pid; pp[pid] = f[2]; st[pid] = f[20]
          t[pid] = f[12] + f[13] + f[14] + f[15] }
        END {
            k = split(roots, r, " "); m = 0
            for (i = 1; i <= k; i++) if ((r[i] in pp) && !(r[i] in in_)) { in_[r[i]] = 1; m++; ord[m] = r[i] }
            do {
                added = 0
                for (i = 1; i <= n; i++) {
                    p = all[i]
                    if (!(p in in_) && (pp[p] in in_)) { in_[p] = 1; m++; ord[m] = p; added = 1 }
                }
            } while (added)
            s = 0
            for (i = 1; i <= m; i++) {
                if (mode == "list") print ord[i], st[ord[i]]
                s += t[ord[i]]
            }
            if (mode == "ticks") print s
        }'
}
# shellcheck disable=SC2086 # PIDS: a list, split on purpose
tree_ticks() { tree_scan ticks $1; }
# shellcheck disable=SC2086
tree_list() { tree_scan list $1; }
tree_rss_kb() {
    tr_sum=0
    for tr_p in $(tree_list "$1" | cut -d' ' -f1); do
        tr_kb=$(status_kb "$tr_p" VmRSS)
        tr_sum=$((tr_sum + ${tr_kb:-0}))
    done
    echo "$tr_sum"
}
# tree_pin PIDS MASK: every thread of every process of the trees on the CPUs
# of MASK (hex, as taskset -p takes it). 1 when any of them could not be.
tree_pin() {
    tp_rc=0
    for tp_p in $(tree_list "$1" | cut -d' ' -f1); do
        taskset -a -p "$2" "$tp_p" >/dev/null 2>&1 || { is_live "$tp_p" && tp_rc=1; }
    done
    return $tp_rc
}

# stop_pid PID: SIGTERM, a second SIGTERM after 1 s (warren drains open
# connections on the first, stops at once on the second), SIGKILL after 2 s.
# Then what it had forked and left behind (an sshd's per-connection
# processes, nginx's worker): 1 s to go by themselves, SIGTERM, SIGKILL
# 0.5 s later; each by PID and only while it is still the same process.
# Sets STOP_RC to the exit status of PID.
stop_pid() {
    STOP_RC=0
    [ -n "$1" ] || return 0
    sp_kids=$(tree_list "$1" | tail -n +2)
    kill -TERM "$1" 2>/dev/null
    sp_n=0
    while is_live "$1" && [ $sp_n -lt 40 ]; do
        nap 0.05
        sp_n=$((sp_n + 1))
        [ $sp_n -eq 20 ] && kill -TERM "$1" 2>/dev/null
    done
    kill -KILL "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    # shellcheck disable=SC2034 # read by the sourcing scripts
    STOP_RC=$?
    forget "$1"
    [ -n "$sp_kids" ] || return 0
    sp_n=0
    while [ $sp_n -lt 35 ]; do
        sp_left=0
        # shellcheck disable=SC2086 # "PID START" pairs
        set -- $sp_kids
        while [ $# -ge 2 ]; do
            if [ "$(proc_start "$1")" = "$2" ] && is_live "$1"; then
                sp_left=1
                [ $sp_n -eq 20 ] && kill -TERM "$1" 2>/dev/null
                [ $sp_n -eq 30 ] && kill -KILL "$1" 2>/dev/null
            fi
            shift 2
        done
        [ $sp_left -eq 1 ] || break
        nap 0.05
        sp_n=$((sp_n + 1))
    done
    return 0
}

# The EXIT trap: every process still recorded, newest first (drivers, then
# clients, then servers), then the temporary directory (kept with
# BENCH_KEEP=1, for the logs).
# shellcheck disable=SC2317 # called by the EXIT trap
bench_cleanup() {
    bc_rev=
    for bc_p in $PIDS; do bc_rev="$bc_p $bc_rev"; done
    for bc_p in $bc_rev; do stop_pid "$bc_p"; done
    if [ -n "${TMP:-}" ] && [ -d "$TMP" ]; then
        if [ "${BENCH_KEEP:-0}" = 1 ]; then log "kept $TMP"; else rm -rf "$TMP"; fi
    fi
}
bench_traps() {
    trap bench_cleanup EXIT
    trap 'exit 129' HUP
    trap 'exit 130' INT
    trap 'exit 141' PIPE # e.g. piped into head: still stop everything
    trap 'exit 143' TERM
}

# wait_line FILE PATTERN PID SECONDS: until grep -E finds PATTERN in FILE;
# 1 when PID died or time ran out first.
wait_line() {
    wl_n=0
    while [ $wl_n -lt $(($4 * 20)) ]; do
        grep -qE "$2" "$1" 2>/dev/null && return 0
        is_live "$3" || { grep -qE "$2" "$1" 2>/dev/null; return; }
        nap 0.05
        wl_n=$((wl_n + 1))
    done
    return 1
}

# listening PORT: a socket listens on 127.0.0.1:PORT (state 0A in
# /proc/net/tcp; the address is little-endian hex there).
listening() {
    grep -q " 0100007F:$(printf '%04X' "$1") 00000000:0000 0A " /proc/net/tcp 2>/dev/null
}
# wait_listen PORT PID SECONDS: until something listens on PORT; 1 when PID
# died or time ran out first.
wait_listen() {
    wt_n=0
    while [ $wt_n -lt $(($3 * 20)) ]; do
        listening "$1" && return 0
        is_live "$2" || return 1
        nap 0.05
        wt_n=$((wt_n + 1))
    done
    return 1
}

# A port on 127.0.0.1 that no socket uses now (local or remote end, any
# state), in FREE_PORT. Picked below the ephemeral range so that a driver's
# own 1,000 outgoing connections cannot take it meanwhile.
PORT_SEQ=0
free_port() {
    fp_n=0
    fp_eph=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
    fp_span=$((fp_eph - 20000))
    [ $fp_span -ge 1000 ] || fp_span=10000
    while [ $fp_n -lt 100 ]; do
        PORT_SEQ=$((PORT_SEQ + 1))
        FREE_PORT=$((20000 + ($$ * 31 + PORT_SEQ * 7919 + $(date +%s)) % fp_span))
        fp_hex=$(printf '%04X' "$FREE_PORT")
        cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | grep -q ":$fp_hex " || return 0
        fp_n=$((fp_n + 1))
    done
    return 1
}

# bg_run OUT ERR CMD...: start CMD in the background, stdout to OUT and
# stderr to ERR (both to OUT when ERR is OUT); its PID in BG_PID and in
# PIDS. The files are emptied here, not by the child's redirection: that
# happens after the fork, and a wait_line could meanwhile read the previous
# run's line.
bg_run() {
    br_out=$1 br_err=$2
    shift 2
    : >"$br_out"
    if [ "$br_err" = "$br_out" ]; then
        "$@" >"$br_out" 2>&1 &
    else
        : >"$br_err"
        "$@" >"$br_out" 2>"$br_err" &
    fi
    BG_PID=$!
    PIDS="$PIDS $BG_PID"
}

# run_limited SECONDS OUT ERR CMD...: run CMD, stdout to OUT and stderr to
# ERR, killed after SECONDS; its exit status in RC (124 or 137: timed out).
# In the background and waited for, so that a signal to the script is
# handled at once (the trap then stops it by its PID).
run_limited() {
    rl_secs=$1 rl_out=$2 rl_err=$3
    shift 3
    if [ -n "$TIMEOUT" ]; then
        bg_run "$rl_out" "$rl_err" "$TIMEOUT" -k 5 "$rl_secs" "$@"
    else
        bg_run "$rl_out" "$rl_err" "$@"
        rl_n=0
        while is_live "$BG_PID"; do
            if [ $rl_n -ge $((rl_secs * 5)) ]; then
                log "timed out after ${rl_secs}s: killing $1 ($BG_PID)"
                kill -KILL "$BG_PID" 2>/dev/null
                break
            fi
            nap 0.2
            rl_n=$((rl_n + 1))
        done
    fi
    rl_pid=$BG_PID
    wait "$rl_pid"
    RC=$?
    forget "$rl_pid"
}

# check_result WHAT [N]: a driver's run passed: its exit status (RC) is 0
# and the last "P passed, F failed" line of $TMP/d.out has F = 0 and P = N
# (P > 0 without N). Otherwise a "FAILED: WHAT" line and the end of
# $TMP/d.err on stderr, FAILED=1, and 1.
check_result() {
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$TMP/d.out" | tail -n 1)
    passed=${line%% passed*}
    failed=${line#*passed, }
    failed=${failed%% failed*}
    if [ -n "$line" ] && [ "$RC" -eq 0 ] && [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ] &&
        { [ -z "${2:-}" ] || [ "$passed" -eq "$2" ]; }; then
        return 0
    fi
    FAILED=1
    log "FAILED: $1 (exit $RC, '${line:-no result line}')"
    sed 's/^/  /' "$TMP/d.err" | tail -n 5 >&2
    return 1
}

# --- report helpers ----------------------------------------------------------

# median FILE [FORMAT]: the median of the runs in FILE, one a line (its
# first field; "-": a run with no figure, left out). For an even count the
# mean of the middle two, printed with FORMAT (default %.10g). "FAIL" when
# a run failed (a line "FAIL"), "-" when there is no figure.
median() {
    [ -s "$1" ] || { echo -; return; }
    grep -q '^FAIL' "$1" && { echo FAIL; return; }
    awk '$1 != "-" { print $1 }' "$1" | sort -n | awk -v f="${2:-%.10g}" '{ v[NR] = $1 }
        END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]
              else printf f "\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
spread() { # FILE: the runs' figures (first fields), "a / b / c"; "-" when none
    if [ -s "$1" ]; then awk '{ printf "%s%s", (NR > 1 ? " / " : ""), $1 } END { print "" }' "$1"; else echo -; fi
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

# --- the paths ---------------------------------------------------------------

# Resolved here, not in path_have: that one runs in $(...), a subshell.
HAPROXY=$(command -v haproxy 2>/dev/null)
[ -n "$HAPROXY" ] || { [ -x /usr/sbin/haproxy ] && HAPROXY=/usr/sbin/haproxy; }
SSHD=/usr/sbin/sshd   # sshd refuses to run unless started by absolute path
TCPBULK=${TCPBULK:-bench/tcpbulk}

path_have() {
    case $1 in
    direct) return 0 ;;
    haproxy | haproxy2)
        [ -n "$HAPROXY" ] && return 0
        echo "no haproxy (Debian: apt-get install haproxy)"
        ;;
    ssh)
        if [ ! -x $SSHD ]; then
            echo "no $SSHD (Debian: apt-get install openssh-server)"
        elif ! command -v ssh >/dev/null 2>&1 || ! command -v ssh-keygen >/dev/null 2>&1; then
            echo "no ssh or ssh-keygen (Debian: apt-get install openssh-client)"
        else
            return 0
        fi
        ;;
    gosmux | goyamux)
        [ -x "$GOTUNNEL" ] && return 0
        echo "$GOTUNNEL is not built (make $GOTUNNEL; Debian: golang-go, golang-github-xtaci-smux-dev, golang-github-hashicorp-yamux-dev)"
        ;;
    plain)
        [ -x "${WBIN:-}" ] && return 0
        echo "no warren binary"
        ;;
    tls)
        if [ ! -x "${WBIN:-}" ]; then
            echo "no warren binary"
        elif ! command -v openssl >/dev/null 2>&1; then
            echo "no openssl command to make the certificates (Debian: apt-get install openssl)"
        else
            return 0
        fi
        ;;
    *) echo "unknown path $1" ;;
    esac
    return 1
}

path_name() {
    case $1 in
    direct) echo "direct TCP" ;;
    haproxy) echo "haproxy (TCP mode)" ;;
    haproxy2) echo "haproxy x2 in a row (reference)" ;;
    ssh) echo "ssh -R (OpenSSH, aes128-gcm)" ;;
    gosmux) echo "Go tunnel, xtaci/smux" ;;
    goyamux) echo "Go tunnel, hashicorp/yamux" ;;
    plain) echo "warren tunnel (plain)" ;;
    tls) echo "warren tunnel (TLS 1.3)" ;;
    *) echo "$1" ;;
    esac
}

path_alive() {
    [ "$1" = direct ] && return 0
    pa_roots=''
    eval "pa_roots=\${ROOTS_$1:-}"
    [ -n "$pa_roots" ] || return 1
    for pa_p in $pa_roots; do is_live "$pa_p" || return 1; done
    return 0
}

# path_gone P: which of P's processes are gone, for a FAIL message.
path_gone() {
    pg_roots=''
    eval "pg_roots=\${ROOTS_$1:-}"
    [ -n "$pg_roots" ] || { echo "$1 is not running"; return 0; }
    pg_out=
    for pg_p in $pg_roots; do is_live "$pg_p" || pg_out="$pg_out pid $pg_p"; done
    echo "$1:${pg_out:- nothing} gone"
}

path_stop() {
    ps_roots=''
    eval "ps_roots=\${ROOTS_$1:-}"
    ps_rev=
    for ps_p in $ps_roots; do ps_rev="$ps_p $ps_rev"; done
    # Newest first: the tunnel client before its server (nothing to drain),
    # ssh before sshd (so that the per-connection sshd ends by itself).
    for ps_p in $ps_rev; do stop_pid "$ps_p"; done
    eval "ROOTS_$1= PORT_$1="
}

# path_start P TARGET: up to 3 attempts (a free port can be taken between
# the check and the bind). Logs what went wrong when every one failed.
path_start() {
    [ "$1" = direct ] && { eval "PORT_direct=\$2 ROOTS_direct="; return 0; }
    mkdir -p "$TMP/$1" || return 1
    pt_try=0
    while [ $pt_try -lt 3 ]; do
        pt_try=$((pt_try + 1))
        PT_ROOTS='' PT_PORT='' PT_WHY=''
        if "start_$1" "$2"; then
            eval "ROOTS_$1=\$PT_ROOTS PORT_$1=\$PT_PORT"
            if path_probe "$1"; then return 0; fi
            PT_WHY="no byte came back through port $PT_PORT"
        fi
        eval "ROOTS_$1=\$PT_ROOTS"
        path_stop "$1"
    done
    log "$1: did not come up: ${PT_WHY:-?}"
    for pt_f in "$TMP/$1"/*.log; do
        [ -s "$pt_f" ] && tail -n 3 "$pt_f" | sed "s|^|  $1/${pt_f##*/}: |" >&2
    done
    return 1
}

# path_probe P: one connection through P, up to 40 tries within about
# 10 s. Checked rather than assumed, because "listening" or "connected" does
# not mean the far end is ready (a Go tunnel server closes a public
# connection that arrives before it has taken the session). The check is
# $PROBE_CMD PORT DIR (0: the path works): by default echo_probe, one byte
# echoed by an echo service; a script whose target is not an echo service
# sets its own.
path_probe() {
    pb_port=''
    eval "pb_port=\${PORT_$1:-}"
    pb_n=0
    pb_t0=$(date +%s)
    while [ $pb_n -lt 40 ] && [ $(($(date +%s) - pb_t0)) -lt 10 ]; do
        path_alive "$1" || return 1
        "${PROBE_CMD:-echo_probe}" "$pb_port" "$TMP/$1" && return 0
        nap 0.05
        pb_n=$((pb_n + 1))
    done
    return 1
}
echo_probe() {
    run_limited 5 "$2/probe.out" "$2/probe.err" "$TCPBULK" --connect "$HOST:$1" --rtt 1 --size 1
    [ "$RC" -eq 0 ]
}

# Each start_P TARGET: sets PT_ROOTS (PIDs started, also on failure, for
# path_stop) and PT_PORT; on failure PT_WHY; logs in $TMP/P/.
bg_start() { # LOGFILE CMD...: bg_run with stdout and stderr to LOGFILE
    bs_log=$1
    shift
    bg_run "$bs_log" "$bs_log" "$@"
    PT_ROOTS="$PT_ROOTS $BG_PID"
}

# haproxy_relay DIR NAME TARGET: one haproxy ($TMP/DIR/NAME.cfg) relaying a
# free port, left in PT_PORT, to TARGET.
haproxy_relay() {
    free_port || { PT_WHY="no free port"; return 1; }
    PT_PORT=$FREE_PORT
    cat >"$TMP/$1/$2.cfg" <<EOF
global
    maxconn 8192
defaults
    mode tcp
    timeout connect 5s
    timeout client 5m
    timeout server 5m
frontend public
    bind $HOST:$PT_PORT
    default_backend target
backend target
    server target $HOST:$3
EOF
    bg_start "$TMP/$1/$2.log" "$HAPROXY" -db -f "$TMP/$1/$2.cfg"
    wait_listen "$PT_PORT" "$BG_PID" 10 || { PT_WHY="haproxy did not listen on $PT_PORT"; return 1; }
}
start_haproxy() { haproxy_relay haproxy haproxy "$1"; }
# The public relay forwards to a second one, which forwards to the target:
# two processes and three TCP connections per connection, as in a tunnel
# with a server and a client, with no multiplexing, framing or encryption.
start_haproxy2() { haproxy_relay haproxy2 inner "$1" && haproxy_relay haproxy2 outer "$PT_PORT"; }

# ssh: keys made once per script run, a fresh sshd and ssh per start.
ssh_keys() {
    [ -s "$TMP/ssh/user.pub" ] && return 0
    ssh-keygen -q -N '' -t ed25519 -f "$TMP/ssh/host_key" -C warren-bench-host >/dev/null 2>&1 &&
        ssh-keygen -q -N '' -t ed25519 -f "$TMP/ssh/user" -C warren-bench-user >/dev/null 2>&1 &&
        cp "$TMP/ssh/user.pub" "$TMP/ssh/authorized_keys"
}
start_ssh() {
    ssh_keys || { PT_WHY="ssh-keygen failed"; return 1; }
    # sshd run by root checks for its privilege separation directory.
    if [ "$(id -u)" = 0 ] && [ ! -d /run/sshd ]; then
        mkdir -p /run/sshd || { PT_WHY="cannot create /run/sshd"; return 1; }
    fi
    free_port || { PT_WHY="no free port"; return 1; }
    ss_port=$FREE_PORT
    cat >"$TMP/ssh/sshd_config" <<EOF
Port $ss_port
ListenAddress $HOST
HostKey $TMP/ssh/host_key
PidFile $TMP/ssh/sshd.pid
AuthorizedKeysFile $TMP/ssh/authorized_keys
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AllowTcpForwarding yes
GatewayPorts no
Ciphers aes128-gcm@openssh.com
Compression no
LogLevel ERROR
EOF
    bg_start "$TMP/ssh/sshd.log" $SSHD -D -e -f "$TMP/ssh/sshd_config"
    wait_listen "$ss_port" "$BG_PID" 10 || { PT_WHY="sshd did not listen on $ss_port"; return 1; }
    free_port || { PT_WHY="no free port"; return 1; }
    PT_PORT=$FREE_PORT
    bg_start "$TMP/ssh/ssh.log" ssh -F /dev/null -N -T -o BatchMode=yes -o StrictHostKeyChecking=no \
        -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ExitOnForwardFailure=yes \
        -o Ciphers=aes128-gcm@openssh.com -i "$TMP/ssh/user" -p "$ss_port" \
        -R "$HOST:$PT_PORT:$HOST:$1" "$(id -un)@$HOST"
    wait_listen "$PT_PORT" "$BG_PID" 15 || { PT_WHY="ssh -R did not open port $PT_PORT"; return 1; }
}

start_gotunnel() { # MUX TARGET
    gt_dir=$TMP/go$1
    bg_start "$gt_dir/server.log" "$GOTUNNEL" server --mux "$1" --control "$HOST:0" --public "$HOST:0"
    gt_s=$BG_PID
    wait_line "$gt_dir/server.log" '^listening control ' "$gt_s" 10 ||
        { PT_WHY="gotunnel server did not start"; return 1; }
    gt_c=$(sed -n 's/^listening control [^ ]*:\([0-9]*\) public .*/\1/p' "$gt_dir/server.log")
    PT_PORT=$(sed -n 's/^listening control .* public .*:\([0-9]*\)$/\1/p' "$gt_dir/server.log")
    bg_start "$gt_dir/client.log" "$GOTUNNEL" client --mux "$1" --server "$HOST:$gt_c" --local "$HOST:$2"
    wait_line "$gt_dir/client.log" '^connected' "$BG_PID" 10 ||
        { PT_WHY="gotunnel client did not connect"; return 1; }
}
start_gosmux() { start_gotunnel smux "$1"; }
start_goyamux() { start_gotunnel yamux "$1"; }

# warren: a CA and a server certificate for localhost, made once.
make_certs() {
    [ -s "$TMP/certs/server.pem" ] && return 0
    mkdir -p "$TMP/certs" || return 1
    (
        cd "$TMP/certs" || exit 1
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
    ) >"$TMP/certs/certs.log" 2>&1
}

# A server opens an HTTP ingress on 0.0.0.0:8080 by default: off here (TCP
# only), so that every socket is on 127.0.0.1.
WARREN_HTTP_OFF='unset'
warren_http_off() {
    if [ "$WARREN_HTTP_OFF" = unset ]; then
        WARREN_HTTP_OFF=
        "$WBIN" server --help 2>&1 | grep -q -e '--http-bind' && WARREN_HTTP_OFF="--http-bind off"
    fi
}

start_warren() { # plain|tls TARGET: a server with one TCP port, a client
    warren_http_off
    wa_s='' wa_c=''
    if [ "$1" = tls ]; then
        make_certs || { PT_WHY="openssl could not make the certificates (see certs.log)"
            cp "$TMP/certs/certs.log" "$TMP/tls/certs.log" 2>/dev/null; return 1; }
        wa_s="--tls-cert $TMP/certs/server.pem --tls-key $TMP/certs/server.key"
        wa_c="--tls --tls-ca $TMP/certs/ca.pem --tls-server-name localhost"
    fi
    free_port || { PT_WHY="no free port"; return 1; }
    PT_PORT=$FREE_PORT
    # shellcheck disable=SC2086 # flag lists, split on purpose
    bg_start "$TMP/$1/server.log" "$WBIN" server --bind "$HOST:0" --tcp-bind $HOST \
        --tcp-ports "$PT_PORT-$PT_PORT" --token "$PEER_TOKEN" $WARREN_HTTP_OFF $wa_s
    wait_line "$TMP/$1/server.log" 'warren server listening on ' "$BG_PID" 10 ||
        { PT_WHY="the warren server did not start"; return 1; }
    wa_cp=$(sed -n "s/.*warren server listening on $HOST:\([0-9]*\) .*/\1/p" "$TMP/$1/server.log")
    # The client's stdout carries the "tunnel" line, its stderr the log.
    # shellcheck disable=SC2086
    bg_run "$TMP/$1/client.out" "$TMP/$1/client.log" "$WBIN" client --server "$HOST:$wa_cp" \
        --token "$PEER_TOKEN" --local-addr "$HOST:$2" --remote-port "$PT_PORT" $wa_c
    PT_ROOTS="$PT_ROOTS $BG_PID"
    wait_line "$TMP/$1/client.out" '^tunnel ' "$BG_PID" 10 ||
        { PT_WHY="the warren client did not open its tunnel"; return 1; }
}
start_plain() { start_warren plain "$1"; }
start_tls() { start_warren tls "$1"; }

# path_describe P: what the report shows under "Commands". TARGET: the
# service's port; PUB: the public port; CTRL: a control port.
path_describe() {
    case $1 in
    direct) echo "# direct: connect to 127.0.0.1:TARGET" ;;
    haproxy)
        echo "# haproxy ($("$HAPROXY" -v 2>/dev/null | sed -n '1s/^HAProxy version \([^ ]*\).*/\1/p'), default threads): $HAPROXY -db -f haproxy.cfg"
        sed "s/bind $HOST:[0-9]*/bind $HOST:PUB/; s/server target $HOST:[0-9]*/server target $HOST:TARGET/; s/^/#   /" \
            "$TMP/haproxy/haproxy.cfg" 2>/dev/null | sed 's/^#   $/#/'
        ;;
    haproxy2)
        echo "# haproxy x2: $HAPROXY -db -f outer.cfg and $HAPROXY -db -f inner.cfg, each like haproxy.cfg, outer.cfg's server being inner.cfg's bind (a reference, not a tunnel)"
        ;;
    ssh)
        echo "# ssh ($(ssh -V 2>&1 | cut -d, -f1)): $SSHD -D -e -f sshd_config, and"
        echo "ssh -F /dev/null -N -T -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ExitOnForwardFailure=yes -o Ciphers=aes128-gcm@openssh.com -i KEY -p SSHPORT -R $HOST:PUB:$HOST:TARGET $(id -un)@$HOST"
        echo "#   sshd_config: $(sed "s/^Port .*/Port SSHPORT/; s|$TMP/ssh/||" "$TMP/ssh/sshd_config" 2>/dev/null | tr '\n' ';' | sed 's/;$//; s/;/; /g')"
        echo "#   keys: ssh-keygen -q -N '' -t ed25519 (host key and user key)"
        ;;
    gosmux | goyamux)
        gd_mux=${1#go}
        echo "$GOTUNNEL server --mux $gd_mux --control $HOST:0 --public $HOST:0 &"
        echo "$GOTUNNEL client --mux $gd_mux --server $HOST:CTRL --local $HOST:TARGET &"
        ;;
    plain | tls)
        warren_http_off
        echo "./warren server --bind $HOST:0 --tcp-bind $HOST --tcp-ports PUB-PUB --token TOKEN${WARREN_HTTP_OFF:+ $WARREN_HTTP_OFF}$([ "$1" = tls ] && echo ' --tls-cert server.pem --tls-key server.key') &"
        echo "./warren client --server $HOST:CTRL --token TOKEN --local-addr $HOST:TARGET --remote-port PUB$([ "$1" = tls ] && echo ' --tls --tls-ca ca.pem --tls-server-name localhost') &"
        ;;
    esac
}

# --- nginx and warren's HTTP tunnel (bench/http.sh, bench/dash.sh) ------------

# skip_all WHY: nothing to measure here (wrk or nginx missing): a skip, not
# a setup error; a failure under WR_STRICT=1 (CI installs both).
skip_all() {
    echo "$LOG_TAG: skipped: $1"
    [ "$STRICT" != 1 ] || { log "WR_STRICT=1: a skipped benchmark is a failure"; exit 1; }
    exit 0
}
need_wrk_nginx() {
    command -v wrk >/dev/null 2>&1 || skip_all "no wrk (Debian: apt-get install wrk)"
    NGINX=$(command -v nginx 2>/dev/null || true)
    [ -n "$NGINX" ] || for nw_n in /usr/sbin/nginx /usr/local/sbin/nginx /usr/local/nginx/sbin/nginx; do
        if [ -x "$nw_n" ]; then NGINX=$nw_n; break; fi
    done
    [ -n "$NGINX" ] || skip_all "no nginx (Debian: apt-get install nginx-light)"
}

# start_nginx KIB...: nginx as a plain process (never the system's service),
# all of it in $TMP/nginx (NG), serving KIBk.bin (KIB KiB of random bytes)
# for each KIB. Up to 3 attempts (a free port can be taken between the
# check and the bind).
start_nginx() {
    NG=$TMP/nginx
    mkdir -p "$NG/www" "$NG/tmp" || return 1
    for sn_k in "$@"; do
        head -c $((sn_k * 1024)) /dev/urandom >"$NG/www/${sn_k}k.bin" || return 1
    done
    # nginx's worker runs as an unprivileged user when the script runs as
    # root: it must reach the files (the directories stay unlistable to
    # others).
    chmod 711 "$TMP" "$NG"
    chmod 755 "$NG/www"
    chmod 644 "$NG/www"/*.bin
    sn_=0
    while [ $sn_ -lt 3 ]; do
        sn_=$((sn_ + 1))
        free_port || { log "no free port for nginx"; return 1; }
        NPORT=$FREE_PORT
        cat >"$NG/nginx.conf" <<EOC
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
EOC
        rm -f "$NG/nginx.pid"
        bg_run "$NG/nginx.out" "$NG/nginx.out" "$NGINX" -p "$NG/" -c "$NG/nginx.conf" \
            -e "$NG/error.log" -g 'daemon off;'
        NGINX_PID=$BG_PID
        # The pid file is written once the listener is bound.
        w_=0
        while [ ! -s "$NG/nginx.pid" ] && is_live "$NGINX_PID" && [ $w_ -lt 200 ]; do
            nap 0.05
            w_=$((w_ + 1))
        done
        if [ -s "$NG/nginx.pid" ] && is_live "$NGINX_PID"; then
            # Its worker up too, before the first run counts on it.
            NGINX_WORKER=
            while [ -z "$NGINX_WORKER" ] && [ $w_ -lt 200 ]; do
                NGINX_WORKER=$(tree_list "$NGINX_PID" | sed -n '2s/ .*//p')
                [ -n "$NGINX_WORKER" ] || nap 0.05
                w_=$((w_ + 1))
            done
            # shellcheck disable=SC2034 # read by the sourcing scripts
            NGINX_VERSION=$("$NGINX" -v 2>&1 | sed 's/.*nginx\///')
            return 0
        fi
        stop_pid "$NGINX_PID"
    done
    log "nginx did not start:"
    cat "$NG/nginx.out" "$NG/error.log" 2>/dev/null | tail -n 5 | sed 's/^/  /' >&2
    return 1
}

# start_http_server LOG [ARGS...]: `warren server ARGS` with an HTTP ingress
# for DOMAIN and TCP ports on 127.0.0.1, control and ingress ports chosen
# by the system (read back from LOG, its stdout and stderr).
start_http_server() {
    hs_log=$1
    shift
    bg_run "$hs_log" "$hs_log" "$WBIN" server "$@" --bind "$HOST:0" --http-bind "$HOST:0" \
        --domain "$DOMAIN" --tcp-bind "$HOST" --token "$TOKEN"
    SPID=$BG_PID
    if ! wait_line "$hs_log" 'http ingress on ' "$SPID" 10 ||
        ! wait_line "$hs_log" 'warren server listening on ' "$SPID" 10; then
        log "the warren server did not start:"
        tail -n 5 "$hs_log" | sed 's/^/  /' >&2
        return 1
    fi
    CPORT=$(sed -n "s/.*warren server listening on $HOST:\([0-9]*\) .*/\1/p" "$hs_log" | head -n 1)
    HPORT=$(sed -n 's/.*http ingress on .* port \([0-9]*\),.*/\1/p' "$hs_log" | head -n 1)
    [ -n "$HPORT" ] ||
        HPORT=$(sed -n "s/.*http ingress on $HOST:\([1-9][0-9]*\).*/\1/p" "$hs_log" | head -n 1)
    # shellcheck disable=SC2034 # read by the sourcing scripts
    WORKERS=$(sed -n 's/.*, \([0-9]*\) workers.*/\1/p' "$hs_log" | head -n 1)
    if [ -z "$CPORT" ] || [ -z "$HPORT" ]; then
        log "cannot read the server's ports from its log:"
        sed 's/^/  /' "$hs_log" >&2
        return 1
    fi
}

# start_http_client OUT ERR SUB [ARGS...]: `warren client ARGS` of the last
# server started, publishing nginx as SUB.DOMAIN; stdout (its "tunnel"
# line) to OUT, its log to ERR. Returns once the tunnel is up.
start_http_client() {
    hc_out=$1 hc_err=$2 hc_sub=$3
    shift 3
    bg_run "$hc_out" "$hc_err" "$WBIN" client --server "$HOST:$CPORT" --token "$TOKEN" \
        --local-addr "$HOST:$NPORT" --subdomain "$hc_sub" "$@"
    CPID=$BG_PID
    if ! wait_line "$hc_out" '^tunnel ' "$CPID" 10; then
        log "the tunnel of $hc_sub.$DOMAIN did not come up:"
        tail -n 5 "$hc_err" | sed 's/^/  client: /' >&2
        tail -n 5 "$hs_log" | sed 's/^/  server: /' >&2
        return 1
    fi
}
