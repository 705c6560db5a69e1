# Shared helpers for warren's integration tests (sourced, POSIX sh).
# Every process a test starts is recorded by PID and stopped by PID at exit.

set -u
: "${WR_TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${WR_OUT:=$WR_TOP/t/out}"
WARREN="$WR_TOP/warren"
MUXPEER="$WR_TOP/t/tools/muxpeer"
GOSMUX="$WR_TOP/t/tools/gosmux/gosmux"
T=$(basename "$0" .sh)
TMPD=$(mktemp -d "${TMPDIR:-/tmp}/warren-$T.XXXXXX")
WR_PIDS=""
# A warren server opens an HTTP ingress on 0.0.0.0:8080 unless told not to:
# tests that do not exercise it keep it off (HTTP tests unset this).
WARREN_HTTP_BIND=off
export WARREN_HTTP_BIND
# Nor may two processes want the admin listener's 127.0.0.1:9090 or the
# client's 127.0.0.1:4040 (its dashboard, /metrics and /status): off unless
# a test is about them (they give free ports by flag, or unset these).
WARREN_ADMIN_BIND=off
WARREN_DASHBOARD_PORT=off
export WARREN_ADMIN_BIND WARREN_DASHBOARD_PORT

wr_cleanup() {
    for p in $WR_PIDS; do
        kill -CONT "$p" 2>/dev/null
        kill -TERM "$p" 2>/dev/null
    done
    for p in $WR_PIDS; do
        i=0
        while kill -0 "$p" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
        kill -KILL "$p" 2>/dev/null
    done
    [ -n "${WR_KEEP:-}" ] || rm -rf "$TMPD"
}
trap wr_cleanup EXIT
trap 'exit 1' INT TERM

fail() { echo "FAIL: $*"; exit 1; }
skip() { echo "skipped: $*"; exit 77; }
note() { echo "# $*"; }

# free_port: prints a TCP port on 127.0.0.1 that nothing listens on now.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# spawn LOGFILE CMD...: starts CMD in the background, records its PID in $!
# and in WR_PIDS.
spawn() {
    _log=$1; shift
    "$@" >"$_log" 2>&1 &
    WR_PIDS="$WR_PIDS $!"
}

# wait_port PORT [SECONDS]: waits until 127.0.0.1:PORT accepts connections.
wait_port() {
    python3 - "$1" "${2:-10}" <<'PY' || fail "nothing listens on 127.0.0.1:$1"
import socket, sys, time
port, limit = int(sys.argv[1]), float(sys.argv[2])
end = time.time() + limit
while time.time() < end:
    try:
        socket.create_connection(("127.0.0.1", port), 0.5).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
PY
}

# wait_exit PID SECONDS: waits for PID to exit; returns its status, or 124
# if it still runs after SECONDS.
wait_exit() {
    _i=0; _n=$(($2 * 10))
    while kill -0 "$1" 2>/dev/null; do
        [ $_i -ge $_n ] && return 124
        sleep 0.1; _i=$((_i + 1))
    done
    wait "$1"
}

# wait_log FILE PATTERN [SECONDS]: waits until FILE has a line matching PATTERN.
wait_log() {
    _i=0; _n=$((${3:-10} * 10))
    while ! grep -q -- "$2" "$1" 2>/dev/null; do
        [ $_i -ge $_n ] && return 1
        sleep 0.1; _i=$((_i + 1))
    done
    return 0
}
