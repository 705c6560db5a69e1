#!/bin/sh
# smux interop: warren's stream multiplexer (t/tools/muxpeer) against the
# reference Go implementation (xtaci/smux, through t/tools/gosmux), for
# protocol versions 1 and 2, each side listening in turn:
#   a) warren listens and echoes, Go drives 100 streams x 1 MiB;
#   b) Go listens and echoes, warren drives 100 streams x 1 MiB;
#   c) warren drives with --half-close (FIN after its bytes, then expects the
#      whole echo and EOF) against the Go echo;
#   d) Go closes its session after (a): warren logs the session's end and
#      serves a second Go session;
#   e) keepalive: 3 idle seconds with a 1 s keepalive timeout on both sides,
#      then a small drive (each side must have kept the other alive with NOPs);
#   f) every muxpeer exits 0 on SIGTERM.
# smux 1.5 (Go) cannot half-close: its Close sends FIN and forgets the
# stream, and under v2 a Go writer blocked on the peer's window gives up
# once the peer's FIN arrived, so (c) stays well below one window per stream.

. "$(dirname "$0")/lib.sh"

[ -x "$GOSMUX" ] || skip "Go smux peer not built (install golang-go golang-github-xtaci-smux-dev, re-run ./configure)"
[ -x "$MUXPEER" ] || fail "muxpeer not built: $MUXPEER"

MIB=1048576
SMALL=65536
MP_ALL=""

# show LOG: prints the last lines of LOG for a failure report.
show() {
    echo "--- last lines of $(basename "$1"):"
    tail -n 20 "$1" 2>/dev/null | sed 's/^/  | /'
}

# wait_count FILE PATTERN N SECONDS: waits until FILE has N lines matching
# PATTERN.
wait_count() {
    _i=0; _n=$(($4 * 10))
    while :; do
        _c=$(grep -c -- "$2" "$1" 2>/dev/null)
        [ "${_c:-0}" -ge "$3" ] && return 0
        [ $_i -ge $_n ] && return 1
        sleep 0.1; _i=$((_i + 1))
    done
}

# muxpeer_listen LOG ARGS...: starts a muxpeer echo server on a free port and
# waits for its "listening on" line (no probe connection: that would be a
# session of its own). Sets MP_PID and MP_PORT.
muxpeer_listen() {
    _ml=$1; shift
    MP_PORT=$(free_port)
    spawn "$_ml" "$MUXPEER" --listen "127.0.0.1:$MP_PORT" --echo "$@"
    MP_PID=$!
    MP_ALL="$MP_ALL $MP_PID"
    wait_log "$_ml" "listening on 127.0.0.1:$MP_PORT" 10 ||
        { show "$_ml"; fail "muxpeer --listen $* did not start listening"; }
}

# run_drive NAME LIMIT N CMD...: runs the driver CMD (stdout and stderr in
# $TMPD/NAME.log) for at most LIMIT seconds; it must exit 0 having printed
# "N passed, 0 failed".
run_drive() {
    _name=$1; _limit=$2; _want=$3; shift 3
    _dl="$TMPD/$_name.log"
    spawn "$_dl" "$@"
    _dp=$!
    wait_exit "$_dp" "$_limit"
    _rc=$?
    if [ $_rc -eq 124 ]; then
        show "$_dl"; fail "$_name: driver still running after ${_limit}s"
    fi
    if [ $_rc -ne 0 ] || ! grep -qx "$_want passed, 0 failed" "$_dl"; then
        show "$_dl"; fail "$_name: driver exit $_rc, wanted \"$_want passed, 0 failed\""
    fi
    _tp=$(grep -i 'MB/s' "$_dl" | head -n 1)
    note "$_name: $_want passed${_tp:+; $_tp}"
}

# session_closed: the pattern of muxpeer's "session N closed: REASON" line.
SESSION_CLOSED='session [0-9][0-9]* closed:'

for v in 1 2; do
    P=smux$v

    # a) warren listens, Go drives 100 x 1 MiB.
    MPLOG="$TMPD/muxpeer-echo-$P.log"
    muxpeer_listen "$MPLOG" --proto $P
    mp=$MP_PID
    run_drive "go-drives-warren-$P" 50 100 \
        "$GOSMUX" --connect "127.0.0.1:$MP_PORT" --proto $P \
        --drive --streams 100 --bytes $MIB --timeout 40s

    # d) Go closed its session: warren logs the end of it, is still alive and
    #    serves another Go session.
    wait_count "$MPLOG" "$SESSION_CLOSED" 1 10 ||
        { show "$MPLOG"; fail "$P: muxpeer logged no end of the session Go closed"; }
    kill -0 "$mp" 2>/dev/null || { show "$MPLOG"; fail "$P: muxpeer exited after Go closed its session"; }
    note "$P: $(grep -- "$SESSION_CLOSED" "$MPLOG" | head -n 1)"
    run_drive "go-drives-warren-again-$P" 30 10 \
        "$GOSMUX" --connect "127.0.0.1:$MP_PORT" --proto $P \
        --drive --streams 10 --bytes $SMALL --timeout 20s
    wait_count "$MPLOG" "$SESSION_CLOSED" 2 10 ||
        { show "$MPLOG"; fail "$P: muxpeer logged no end of the second Go session"; }

    # b) Go listens, warren drives 100 x 1 MiB.
    GOLOG="$TMPD/gosmux-echo-$P.log"
    spawn "$GOLOG" "$GOSMUX" --listen 127.0.0.1:0 --proto $P --echo
    gp=$!
    wait_log "$GOLOG" "^listening on " 10 || { show "$GOLOG"; fail "$P: gosmux did not start listening"; }
    gaddr=$(sed -n 's/^listening on //p' "$GOLOG" | head -n 1)
    run_drive "warren-drives-go-$P" 50 100 \
        "$MUXPEER" --connect "$gaddr" --proto $P --drive --streams 100 --bytes $MIB

    # c) warren half-closes each stream after its bytes; Go echoes and closes.
    run_drive "warren-half-closes-go-$P" 30 10 \
        "$MUXPEER" --connect "$gaddr" --proto $P --drive --half-close --streams 10 --bytes $SMALL

    # Go saw both of warren's sessions end, and stops cleanly.
    wait_count "$GOLOG" "^session closed:" 2 10 ||
        { show "$GOLOG"; fail "$P: gosmux did not see warren's sessions end"; }
    kill -TERM "$gp"
    wait_exit "$gp" 10 || { show "$GOLOG"; fail "$P: gosmux echo did not exit 0 on SIGTERM"; }

    # e) keepalive: both sides idle for 3 s with a 1 s keepalive timeout.
    KALOG="$TMPD/muxpeer-keepalive-$P.log"
    muxpeer_listen "$KALOG" --proto $P --ping-interval 200ms --keepalive-timeout 1s
    run_drive "keepalive-$P" 30 10 \
        "$GOSMUX" --connect "127.0.0.1:$MP_PORT" --proto $P \
        --keepalive-interval 100ms --keepalive-timeout 1s --idle 3s \
        --drive --streams 10 --bytes $SMALL --timeout 20s
done

# f) every muxpeer exits 0 on SIGTERM, whatever it served.
for p in $MP_ALL; do
    kill -TERM "$p" 2>/dev/null || fail "muxpeer $p is gone before SIGTERM"
    wait_exit "$p" 10
    rc=$?
    [ $rc -eq 0 ] || fail "muxpeer $p: exit $rc after SIGTERM (124: still running)"
done
note "all muxpeers exited 0 on SIGTERM"
exit 0
