#!/bin/sh
# TLS on the control connection: TLS 1.3 only, the server certificate
# verified by the client (CA and name), and mTLS with client certificates.
# Certificates are made here with openssl, in $TMPD.
. "$(dirname "$0")/lib.sh"

TL="$(cd "$(dirname "$0")" && pwd)/tunnel_lib.py"
[ -x "$WARREN" ] || fail "warren not built"
command -v openssl >/dev/null || skip "no openssl command"

# ---- certificates
cd "$TMPD" || fail "no TMPD"
mkkey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null || fail "genpkey $1"; }
# mkca NAME CN
mkca() {
    mkkey "$1.key"
    openssl req -x509 -new -key "$1.key" -out "$1.pem" -days 2 -subj "/CN=$2" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
        2>/dev/null || fail "CA $1"
}
# mkcert NAME CA CN EXTFILE-LINES
mkcert() {
    mkkey "$1.key"
    openssl req -new -key "$1.key" -out "$1.csr" -subj "/CN=$3" 2>/dev/null || fail "csr $1"
    printf '%s\n' "$4" >"$1.ext"
    openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -out "$1.pem" \
        -days 2 -extfile "$1.ext" 2>/dev/null || fail "cert $1"
}
mkca ca "warren test CA"
mkca other "another test CA"
mkcert server ca localhost "basicConstraints=CA:FALSE
subjectAltName=DNS:localhost,IP:127.0.0.1
extendedKeyUsage=serverAuth"
mkcert client ca warren-test-client "basicConstraints=CA:FALSE
extendedKeyUsage=clientAuth"
mkcert stranger other stranger-client "basicConstraints=CA:FALSE
extendedKeyUsage=clientAuth"
openssl verify -CAfile ca.pem server.pem client.pem >/dev/null || fail "certificates do not verify"
cd "$WR_TOP" || fail "no WR_TOP"

spawn "$TMPD/echo.log" python3 -u "$TL" echo
wait_log "$TMPD/echo.log" "^listening on" 10 || fail "echo service did not start"
echo_port=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$TMPD/echo.log")
lo=$(python3 "$TL" freerange 10) || fail "no free port range"
hi=$((lo + 9))

# start_server NAME ARGS...: sets NAME_port.
start_server() {
    _sn=$1; shift
    _p=$(free_port)
    spawn "$TMPD/$_sn.log" "$WARREN" server --bind "127.0.0.1:$_p" --tcp-bind 127.0.0.1 \
        --tcp-ports "$lo-$hi" --token tls-token "$@"
    eval "${_sn}_port=$_p"
    wait_log "$TMPD/$_sn.log" "warren server listening on 127.0.0.1:$_p" 10 ||
        fail "$_sn did not start: $(tail -3 "$TMPD/$_sn.log")"
}
# client NAME CPORT RPORT ARGS...: its PID in $!.
client() {
    _cn=$1; _cp=$2; _rp=$3; shift 3
    "$WARREN" client --server "127.0.0.1:$_cp" --token tls-token --local-addr "127.0.0.1:$echo_port" \
        --remote-port "$_rp" "$@" >"$TMPD/$_cn.out" 2>"$TMPD/$_cn.err" &
    WR_PIDS="$WR_PIDS $!"
}
# stop PID: SIGTERM, must exit 0.
stop() { kill -TERM "$1"; wait_exit "$1" 5 || fail "client exit status $? after SIGTERM"; }

# 1. TLS 1.3 only.
start_server tls --tls-cert "$TMPD/server.pem" --tls-key "$TMPD/server.key"
grep -q "listening on 127.0.0.1:$tls_port (TLS" "$TMPD/tls.log" || note "listener line: $(grep listening "$TMPD/tls.log")"
timeout 10 openssl s_client -connect "127.0.0.1:$tls_port" -tls1_3 -CAfile "$TMPD/ca.pem" \
    -servername localhost </dev/null >"$TMPD/s13.txt" 2>&1
grep -q "TLSv1.3" "$TMPD/s13.txt" || fail "s_client -tls1_3: $(tail -5 "$TMPD/s13.txt")"
grep -q "Verify return code: 0 (ok)" "$TMPD/s13.txt" || fail "server certificate does not verify with s_client"
timeout 10 openssl s_client -connect "127.0.0.1:$tls_port" -tls1_2 </dev/null >"$TMPD/s12.txt" 2>&1
rc=$?
[ $rc -ne 0 ] || fail "s_client -tls1_2 succeeded: $(grep -E 'Protocol|Cipher' "$TMPD/s12.txt" | head -3)"
grep -qE "New, TLSv1.2, Cipher is [A-Z]" "$TMPD/s12.txt" && fail "a TLS 1.2 session was negotiated"
note "TLS 1.2: $(grep -iE 'alert|error' "$TMPD/s12.txt" | head -1)"

# 2. Verified client: works end to end.
client ok "$tls_port" $((lo + 1)) --tls --tls-ca "$TMPD/ca.pem" --tls-server-name localhost
okc=$!
wait_log "$TMPD/ok.out" "^tunnel tcp-$((lo + 1)): " 10 || fail "TLS client not registered: $(tail -3 "$TMPD/ok.err")"
out=$(timeout 20 python3 "$TL" echo1 $((lo + 1)) 1048576) || fail "echo over TLS: $out"
note "verified TLS client: 1 MiB echoed"
# ... and with the name taken from --server's host part (an IP SAN).
client ip "$tls_port" $((lo + 2)) --tls --tls-ca "$TMPD/ca.pem"
ipc=$!
wait_log "$TMPD/ip.out" "^tunnel tcp-$((lo + 2)): " 10 || fail "TLS client by IP not registered: $(tail -3 "$TMPD/ip.err")"
stop "$ipc"

# 3. The wrong CA, and the wrong name: certificate verify failed; the
# client does not register.
client wrongca "$tls_port" $((lo + 3)) --tls --tls-ca "$TMPD/other.pem" --tls-server-name localhost
wc=$!
wait_log "$TMPD/wrongca.err" "certificate verify failed" 5 ||
    fail "wrong CA: no 'certificate verify failed': $(tail -3 "$TMPD/wrongca.err")"
client wrongname "$tls_port" $((lo + 4)) --tls --tls-ca "$TMPD/ca.pem" --tls-server-name not-this-host.example
wn=$!
wait_log "$TMPD/wrongname.err" "certificate verify failed" 5 ||
    fail "wrong name: no 'certificate verify failed': $(tail -3 "$TMPD/wrongname.err")"
# A plain client to a TLS server fails too.
client plain "$tls_port" $((lo + 5))
pc=$!
sleep 1
for c in wrongca wrongname plain; do
    grep -q "^tunnel " "$TMPD/$c.out" && fail "$c client registered"
done
grep -q "server refused: authentication" "$TMPD/wrongca.err" && fail "wrong CA reached HELLO"
note "wrong CA: $(grep 'verify failed' "$TMPD/wrongca.err" | head -1 | cut -d' ' -f4-)"
note "plain client to TLS server: $(grep -E 'warn|error' "$TMPD/plain.err" | head -1 | cut -d' ' -f4-)"
for p in $wc $wn $pc; do kill -TERM "$p"; wait_exit "$p" 5 >/dev/null; done
# --tls-insecure connects (with a warning).
client insecure "$tls_port" $((lo + 6)) --tls --tls-insecure
ic=$!
wait_log "$TMPD/insecure.out" "^tunnel tcp-$((lo + 6)): " 10 || fail "--tls-insecure: $(tail -3 "$TMPD/insecure.err")"
grep -q "NOT verified" "$TMPD/insecure.err" || fail "--tls-insecure without a warning"
stop "$ic"
stop "$okc"

# 4. mTLS: a client certificate from the CA is required.
start_server mtls --tls-cert "$TMPD/server.pem" --tls-key "$TMPD/server.key" --tls-ca "$TMPD/ca.pem"
tls_args="--tls --tls-ca $TMPD/ca.pem --tls-server-name localhost"
# shellcheck disable=SC2086
client nocert "$mtls_port" $((lo + 7)) $tls_args
nc=$!
wait_log "$TMPD/mtls.log" "TLS handshake failed" 5 ||
    fail "mTLS, no client certificate: server logged no TLS failure: $(tail -3 "$TMPD/mtls.log")"
# The client must say why: the server's TLS alert (certificate required),
# not a bare connection error.
wait_log "$TMPD/nocert.err" "disconnected from .*\(TLS\|certificate\|alert\)" 5 ||
    fail "mTLS, no client certificate: the client does not report the TLS failure: $(grep disconnected "$TMPD/nocert.err" | head -2)"
note "mTLS no cert: server: $(grep 'TLS handshake failed' "$TMPD/mtls.log" | head -1 | cut -d' ' -f5-)"
note "mTLS no cert: client: $(grep -E 'warn|error' "$TMPD/nocert.err" | head -1 | cut -d' ' -f4-)"
kill -TERM "$nc"; wait_exit "$nc" 5 >/dev/null
grep -q "^tunnel " "$TMPD/nocert.out" && fail "mTLS: client without a certificate registered"

# shellcheck disable=SC2086
client stranger "$mtls_port" $((lo + 8)) $tls_args --tls-cert "$TMPD/stranger.pem" --tls-key "$TMPD/stranger.key"
sc=$!
failures=$(grep -c "TLS handshake failed" "$TMPD/mtls.log")
i=0
while [ "$(grep -c "TLS handshake failed" "$TMPD/mtls.log")" -le "$failures" ] && [ $i -lt 50 ]; do
    sleep 0.1; i=$((i + 1))
done
[ $i -lt 50 ] || fail "mTLS, other CA's certificate: server logged no TLS failure"
wait_log "$TMPD/stranger.err" "disconnected from .*\(TLS\|certificate\|alert\)" 5 ||
    fail "mTLS, other CA's certificate: the client does not report the TLS failure: $(grep disconnected "$TMPD/stranger.err" | head -2)"
grep -q "^tunnel " "$TMPD/stranger.out" && fail "mTLS: a certificate from another CA was accepted"
note "mTLS other CA: server: $(grep 'TLS handshake failed' "$TMPD/mtls.log" | tail -1 | cut -d' ' -f5-)"
kill -TERM "$sc"; wait_exit "$sc" 5 >/dev/null

# shellcheck disable=SC2086
client cert "$mtls_port" $((lo + 9)) $tls_args --tls-cert "$TMPD/client.pem" --tls-key "$TMPD/client.key"
cc=$!
wait_log "$TMPD/cert.out" "^tunnel tcp-$((lo + 9)): " 10 || fail "mTLS with a good certificate: $(tail -3 "$TMPD/cert.err")"
out=$(timeout 20 python3 "$TL" echo1 $((lo + 9)) 1048576) || fail "echo over mTLS: $out"
grep -q "cert warren-test-client" "$TMPD/mtls.log" || note "server does not log the client certificate's CN"
stop "$cc"
echo "ok"
