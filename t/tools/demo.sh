#!/bin/sh
# make demo: publish a local web server through a warren server and client
# on 127.0.0.1, fetch a page through the tunnel, then show the multiplexer's
# own guarantees; stop everything and exit.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
warren="$top/warren"
muxpeer="$top/t/tools/muxpeer"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/warren-demo.XXXXXX")
pids=""
cleanup() {
    for p in $pids; do kill -TERM "$p" 2>/dev/null; done
    for p in $pids; do wait "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_for() { # FILE PATTERN
    i=0
    until grep -q "$2" "$1" 2>/dev/null; do
        i=$((i + 1))
        [ $i -gt 100 ] && { echo "demo: timed out; $1:"; cat "$1"; exit 1; }
        sleep 0.1
    done
}

sp=$(port); lp=$(port); rp=$(port)
mkdir -p "$tmp/www"
echo "<h1>hello from a private web server on 127.0.0.1:$lp</h1>" >"$tmp/www/index.html"
python3 -m http.server "$lp" --bind 127.0.0.1 --directory "$tmp/www" >"$tmp/web.log" 2>&1 &
pids="$pids $!"
"$warren" server --bind "127.0.0.1:$sp" --http-bind off --admin-bind off --tcp-bind 127.0.0.1 \
    --tcp-ports "$rp-$rp" --token demo-token >"$tmp/server.log" 2>&1 &
pids="$pids $!"
wait_for "$tmp/server.log" "listening on"
echo "1. warren server on 127.0.0.1:$sp, public ports $rp-$rp"
"$warren" client --server "127.0.0.1:$sp" --token demo-token --local-addr "127.0.0.1:$lp" \
    --remote-port "$rp" --dashboard-bind off >"$tmp/client.out" 2>"$tmp/client.log" &
pids="$pids $!"
wait_for "$tmp/client.out" "^tunnel "
echo "2. warren client publishes 127.0.0.1:$lp: $(grep "^tunnel " "$tmp/client.out")"
page=$(python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode().strip())' "http://127.0.0.1:$rp/") ||
    { echo "demo: fetching through the tunnel failed"; cat "$tmp/server.log" "$tmp/client.log"; exit 1; }
echo "3. GET http://127.0.0.1:$rp/ through the tunnel: $page"

mp=$(port)
"$muxpeer" --listen "127.0.0.1:$mp" --echo >"$tmp/mux.log" 2>&1 &
pids="$pids $!"
wait_for "$tmp/mux.log" "listening on"
echo "4. the multiplexer, against a warren mux echo on 127.0.0.1:$mp:"
rc=0
for proto in warren smux2 smux1; do
    printf '   %-7s 8 streams x 16 MiB echoed: ' "$proto"
    out=$("$muxpeer" --connect "127.0.0.1:$mp" --proto "$proto" --drive --streams 8 \
        --bytes 16m 2>&1) || rc=1
    echo "$out" | sed -n 's/^\([0-9]* passed, [0-9]* failed\)$/\1/p; s/^throughput: \([0-9.]* MB\/s\).*/  (\1 each way)/p' | tr '\n' ' '
    echo
done
printf '   slow reader: '
"$muxpeer" --connect "127.0.0.1:$mp" --drive --scenario hol --bytes 8m 2>/dev/null | head -1
printf '   priorities:  '
"$muxpeer" --connect "127.0.0.1:$mp" --drive --scenario prio 2>/dev/null | head -1
echo "done: everything stopped."
exit $rc
