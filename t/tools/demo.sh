#!/bin/sh
# make demo: start a warren mux endpoint on 127.0.0.1, push streams through
# it as a warren peer and as a plain smux peer, show the results, stop.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
muxpeer="$top/t/tools/muxpeer"
log=$(mktemp "${TMPDIR:-/tmp}/warren-demo.XXXXXX")
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')

"$muxpeer" --listen "127.0.0.1:$port" --echo >"$log" 2>&1 &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null; rm -f "$log"' EXIT
i=0
until grep -q "listening on" "$log"; do
    i=$((i + 1)); [ $i -gt 50 ] && { cat "$log"; exit 1; }; sleep 0.1
done
echo "warren mux endpoint listening on 127.0.0.1:$port (pid $pid)"
rc=0
for proto in warren smux2 smux1; do
    printf '%-7s 8 streams x 16 MiB echoed: ' "$proto"
    out=$("$muxpeer" --connect "127.0.0.1:$port" --proto "$proto" --drive --streams 8 \
        --bytes 16m 2>&1) || rc=1
    echo "$out" | sed -n 's/^\([0-9]* passed, [0-9]* failed\)$/\1/p; s/^throughput: \([0-9.]* MB\/s\).*/  (\1 each way)/p' | tr '\n' ' '
    echo
done
printf 'slow reader: '
"$muxpeer" --connect "127.0.0.1:$port" --drive --scenario hol --bytes 8m 2>/dev/null | head -1
printf 'priorities:  '
"$muxpeer" --connect "127.0.0.1:$port" --drive --scenario prio 2>/dev/null | head -1
exit $rc
