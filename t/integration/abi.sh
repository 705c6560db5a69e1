#!/bin/sh
# A third party's plugin: after `make install DESTDIR=...`, t/abi/hello.c is
# compiled with nothing but the installed headers and warren-plugin.pc
# (`cc $(pkg-config --cflags warren-plugin) -shared -fPIC -Wl,-z,defs`),
# installed into the plugin directory the .pc names, loaded by the
# installed warren, and shown to run at each phase it registered: a
# response header on every request, a count of sessions, request lines in
# the log, TCP streams opened and closed, and worker init.
. "$(dirname "$0")/lib.sh"
unset WARREN_HTTP_BIND

HL="$(cd "$(dirname "$0")" && pwd)/http_lib.py"
command -v curl >/dev/null || skip "no curl"
command -v pkg-config >/dev/null || skip "no pkg-config"
PY=$(python3 -c 'import sys; print(sys.executable)') || fail "no python3"
CC=${CC:-cc}

DEST="$TMPD/root"
${MAKE:-make} -s -C "$WR_TOP" install DESTDIR="$DEST" >"$TMPD/install.log" 2>&1 ||
    fail "make install: $(tail -5 "$TMPD/install.log")"
prefix=$(sed -n 's/^prefix=//p' "$WR_TOP/warren-plugin.pc")
PCDIR="$DEST$prefix/lib/pkgconfig"
[ -f "$PCDIR/warren-plugin.pc" ] || fail "no warren-plugin.pc installed in $PCDIR"
grep -q '^Libs' "$PCDIR/warren-plugin.pc" && fail "warren-plugin.pc has Libs: plugins never link warren"
pc() { PKG_CONFIG_PATH="$PCDIR" PKG_CONFIG_LIBDIR="$PCDIR" pkg-config --define-variable=prefix="$DEST$prefix" "$@"; }
cflags=$(pc --cflags warren-plugin) || fail "pkg-config --cflags warren-plugin"
plugindir=$(pc --variable=plugindir warren-plugin)
abi=$(pc --variable=abi_major warren-plugin).$(pc --variable=abi_minor warren-plugin)
case "$cflags" in *"$WR_TOP"*) fail "the installed .pc points into the source tree: $cflags" ;; esac
[ -f "$DEST$prefix/include/warren/plugin.h" ] || fail "plugin.h not installed"

# The plugin is built in a directory of its own, from a copy of its source.
mkdir "$TMPD/thirdparty"
cp "$WR_TOP/t/abi/hello.c" "$TMPD/thirdparty/"
(cd "$TMPD/thirdparty" &&
    $CC -std=c11 -O2 -Wall -Wextra -Werror -fPIC -shared -fvisibility=hidden $cflags \
        -Wl,-z,defs -o hello.so hello.c) >"$TMPD/cc.log" 2>&1 ||
    fail "the third-party build failed: $(cat "$TMPD/cc.log")"
syms=$(nm -D --defined-only "$TMPD/thirdparty/hello.so" | awk '{print $3}' | tr '\n' ' ')
[ "$syms" = "wr_plugin " ] || fail "hello.so exports more than wr_plugin: $syms"
mkdir -p "$DEST$plugindir"
install -m 0755 "$TMPD/thirdparty/hello.so" "$DEST$plugindir/hello.so"
note "built against the installed ABI $abi with: $CC ... $cflags -Wl,-z,defs"

spawn "$TMPD/svc.log" "$PY" -u "$HL" serve --name svc
wait_log "$TMPD/svc.log" "^listening on" 10 || fail "service did not start"
sport=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$TMPD/svc.log")
cport=$(free_port)
hport=$(free_port)
tport=$(free_port)
cat >"$TMPD/server.yaml" <<EOF
listen: 127.0.0.1:$cport
tcp_bind: 127.0.0.1
tcp_ports: $tport-$tport
tokens: [$(printf %s abi-token | sha256sum | cut -d' ' -f1)]
workers: 2
log:
  level: debug
http:
  bind: 127.0.0.1:$hport
  domain: example.test
plugins:
  - plugin: hello
    config:
      header: X-Third-Party
      value: hello-abi
EOF
export WARREN_PLUGIN_DIR="$DEST$plugindir"
"$DEST$prefix/bin/warren" -t -c "$TMPD/server.yaml" >"$TMPD/t.log" 2>&1 ||
    fail "warren -t: $(cat "$TMPD/t.log")"
spawn "$TMPD/server.log" "$DEST$prefix/bin/warren" server -c "$TMPD/server.yaml"
server=$!
wait_log "$TMPD/server.log" "http ingress on" 10 || fail "server did not start: $(tail -3 "$TMPD/server.log")"
grep -q "plugin hello: hello 1.0.0 loaded from $DEST$plugindir/hello.so" "$TMPD/server.log" ||
    fail "hello.so not loaded: $(grep plugin "$TMPD/server.log")"

spawn "$TMPD/client.log" "$WARREN" client --server "127.0.0.1:$cport" --token abi-token \
    --local-addr "127.0.0.1:$sport" --subdomain app
wait_log "$TMPD/client.log" "^tunnel " 10 || fail "client: $(tail -3 "$TMPD/client.log")"
# The TCP tunnel's client runs the plugin too, on its side of the tunnel.
cat >"$TMPD/client.yaml" <<EOF
server: 127.0.0.1:$cport
token: abi-token
log:
  level: debug
tunnels:
  - {name: raw, type: tcp, local: 127.0.0.1:$sport, remote_port: $tport}
plugins:
  - plugin: hello
EOF
spawn "$TMPD/client2.log" "$DEST$prefix/bin/warren" client -c "$TMPD/client.yaml"
client2=$!
wait_log "$TMPD/client2.log" "^tunnel " 10 || fail "client 2: $(tail -3 "$TMPD/client2.log")"

# request_headers + response_headers: headers both ways.
curl -s -D "$TMPD/h" -o "$TMPD/body" --max-time 10 --retry 2 --retry-all-errors \
    -H "Host: app.example.test" "http://127.0.0.1:$hport/headers" ||
    fail "curl: $(tail -5 "$TMPD/server.log")"
tr -d '\r' <"$TMPD/h" | grep -qx "X-Third-Party: hello-abi" || fail "no response header: $(cat "$TMPD/h")"
tr -d '\r' <"$TMPD/h" | grep -qx "X-Hello-Sessions: 2" || fail "sessions counted: $(cat "$TMPD/h")"
grep -qi '"x-hello-request", *"1"' "$TMPD/body" || fail "request header not added: $(head -c 400 "$TMPD/body")"
# log: one line per request.
curl -s -o /dev/null --max-time 5 -H "Host: app.example.test" "http://127.0.0.1:$hport/status/404"
wait_log "$TMPD/server.log" "plugin hello.*GET /status/404: 404" 3 || fail "no log phase line"
# stream_open / stream_close for TCP.
curl -s -o /dev/null --max-time 5 "http://127.0.0.1:$tport/" || fail "tcp tunnel"
wait_log "$TMPD/server.log" "plugin hello.*tcp connection from .* closed" 3 || fail "no stream_close"
grep -q "plugin hello.*tcp connection from .* to tunnel" "$TMPD/server.log" || fail "no stream_open"
grep -q "plugin hello.*session 1 opened" "$TMPD/server.log" || fail "no session_open"
# The client's side of the same: its session and the TCP connection.
wait_log "$TMPD/client2.log" "plugin hello \[s1 st[0-9]*\]: tcp connection from .* closed" 3 ||
    fail "client: no stream_close: $(grep plugin "$TMPD/client2.log")"
grep -q "plugin hello \[s1 st[0-9]*\]: tcp connection from .* to tunnel raw" "$TMPD/client2.log" ||
    fail "client: no stream_open"
grep -q "plugin hello \[s1\]: session 1 opened, from 127.0.0.1:$cport" "$TMPD/client2.log" ||
    fail "client: no session_open: $(grep plugin "$TMPD/client2.log")"
kill "$client2"
wait_exit "$client2" 10 || fail "client 2 did not exit cleanly"
grep -q "plugin hello \[s1\]: session closed" "$TMPD/client2.log" || fail "client: no session_close"
kill "$server"
wait_exit "$server" 10 || fail "server did not exit cleanly"
grep -q "plugin hello.*session closed" "$TMPD/server.log" || fail "no session_close"
note "third-party plugin ran at session_open/close, stream_open/close, request/response_headers, log (server); session and TCP phases (client)"
echo "ok"
