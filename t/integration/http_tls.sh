#!/bin/sh
# HTTPS on the HTTP ingress: two certificates (a wildcard for the base
# domain and one for a custom hostname), chosen by SNI (checked with
# openssl s_client -servername), TLS 1.2 and 1.3 both served, requests by
# curl verified against the test CA reaching the right service with
# X-Forwarded-Proto https, a 32 MiB download intact, and a connection whose
# SNI and Host name hosts of different sessions answered 421 or served.
# Certificates are made here with openssl, in $TMPD.
. "$(dirname "$0")/lib.sh"
unset WARREN_HTTP_BIND # this test serves HTTP

HL="$(cd "$(dirname "$0")" && pwd)/http_lib.py"
[ -x "$WARREN" ] || fail "warren not built"
command -v openssl >/dev/null || skip "no openssl command"
command -v curl >/dev/null || skip "no curl"
PY=$(python3 -c 'import sys; print(sys.executable)') || fail "no python3"

# ---- certificates
cd "$TMPD" || fail "no TMPD"
mkkey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null || fail "genpkey $1"; }
mkkey ca.key
openssl req -x509 -new -key ca.key -out ca.pem -days 2 -subj "/CN=warren test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    2>/dev/null || fail "CA"
# mkcert NAME CN SAN
mkcert() {
    mkkey "$1.key"
    openssl req -new -key "$1.key" -out "$1.csr" -subj "/CN=$2" 2>/dev/null || fail "csr $1"
    printf 'basicConstraints=CA:FALSE\nsubjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$3" >"$1.ext"
    openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -out "$1.pem" \
        -days 2 -extfile "$1.ext" 2>/dev/null || fail "cert $1"
}
mkcert wild "*.example.test" "DNS:*.example.test"
mkcert custom "shop.other.test" "DNS:shop.other.test"
cd "$WR_TOP" || fail "no WR_TOP"

# ---- services, server, clients
start_http() {
    spawn "$TMPD/$1.log" "$PY" -u "$HL" serve --name "$1"
    wait_log "$TMPD/$1.log" "^listening on" 10 || fail "$1 service did not start"
    eval "${1}_port=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$TMPD/$1.log")"
}
start_http alpha
start_http beta
cport=$(free_port)
hport=$(free_port)
cat >"$TMPD/server.yaml" <<EOF
listen: 127.0.0.1:$cport
tcp_bind: 127.0.0.1
workers: 2
http:
  bind: 127.0.0.1:$hport
  domain: example.test
  tls:
    - cert: $TMPD/wild.pem
      key: $TMPD/wild.key
    - cert: $TMPD/custom.pem
      key: $TMPD/custom.key
EOF
spawn "$TMPD/server.log" "$WARREN" server -c "$TMPD/server.yaml" --token tls-http --log-level debug
server=$!
wait_log "$TMPD/server.log" "https ingress on 127.0.0.1:$hport" 10 ||
    fail "server did not start: $(tail -3 "$TMPD/server.log")"
for c in alpha beta; do
    if [ $c = alpha ]; then where="--subdomain app"; else where="--hostname shop.other.test"; fi
    # shellcheck disable=SC2086
    "$WARREN" client --server "127.0.0.1:$cport" --token tls-http --name $c \
        --local-addr "127.0.0.1:$(eval echo "\$${c}_port")" $where >"$TMPD/$c.out" 2>"$TMPD/$c.err" &
    WR_PIDS="$WR_PIDS $!"
done
wait_log "$TMPD/alpha.out" "^tunnel alpha: https://app.example.test:$hport -> " 10 ||
    fail "alpha not registered: $(cat "$TMPD/alpha.out" "$TMPD/alpha.err")"
wait_log "$TMPD/beta.out" "^tunnel beta: https://shop.other.test:$hport -> " 10 ||
    fail "beta not registered: $(cat "$TMPD/beta.out" "$TMPD/beta.err")"

# ---- SNI picks the certificate
subject() { # NAME [openssl option]
    _sn=$1; shift
    # shellcheck disable=SC2068
    openssl s_client -connect "127.0.0.1:$hport" -servername "$_sn" $@ </dev/null 2>/dev/null |
        openssl x509 -noout -subject 2>/dev/null | sed 's/^subject=//; s/ //g'
}
[ "$(subject app.example.test)" = "CN=*.example.test" ] || fail "SNI app.example.test: $(subject app.example.test)"
[ "$(subject shop.other.test)" = "CN=shop.other.test" ] || fail "SNI shop.other.test: $(subject shop.other.test)"
[ "$(subject unknown.test)" = "CN=*.example.test" ] || fail "unknown SNI: not the first certificate"
[ "$(subject shop.other.test -tls1_2)" = "CN=shop.other.test" ] || fail "TLS 1.2 with SNI refused"
note "SNI chose *.example.test and shop.other.test; TLS 1.2 and 1.3 served"

# ---- requests through the tunnels, verified
get() { # HOST PATH OUTFILE
    curl -sS --max-time 30 --cacert "$TMPD/ca.pem" --resolve "$1:$hport:127.0.0.1" \
        -o "$3" -w '%{http_code}' "https://$1:$hport$2"
}
code=$(get app.example.test / "$TMPD/a.txt") || fail "curl app: $code"
[ "$code" = 200 ] && grep -q "hello from alpha" "$TMPD/a.txt" || fail "app: $code $(cat "$TMPD/a.txt")"
code=$(get shop.other.test / "$TMPD/b.txt") || fail "curl shop: $code"
[ "$code" = 200 ] && grep -q "hello from beta" "$TMPD/b.txt" || fail "shop: $code $(cat "$TMPD/b.txt")"
get app.example.test /headers "$TMPD/h.json" >/dev/null || fail "headers"
grep -qi '"X-Forwarded-Proto", "https"' "$TMPD/h.json" || fail "no X-Forwarded-Proto https: $(cat "$TMPD/h.json")"
n=33554432
t0=$(date +%s.%N)
curl -sS --max-time 60 --cacert "$TMPD/ca.pem" --resolve "app.example.test:$hport:127.0.0.1" \
    -D "$TMPD/big.h" -o "$TMPD/big" "https://app.example.test:$hport/bytes/$n" || fail "32 MiB download"
want=$(tr -d '\r' <"$TMPD/big.h" | sed -n 's/^[Xx]-[Ss][Hh][Aa]256: //p')
got=$(sha256sum "$TMPD/big" | cut -d' ' -f1)
[ "$want" = "$got" ] || fail "32 MiB over HTTPS: sha256 $got, expected $want"
note "32 MiB over HTTPS intact in $("$PY" -c "import time,sys; print(int((time.time()-float(sys.argv[1]))*1000))" "$t0") ms"

# ---- WebSocket over TLS: 200 messages echoed
out=$("$PY" "$HL" ws "ws://127.0.0.1:$hport/ws" 200 --host "app.example.test:$hport" \
    --tls-ca "$TMPD/ca.pem" --timeout 20) || fail "wss: $out"
note "$out"

# ---- a Host whose session is not the SNI's: served when both live on the
# same worker, else 421 (never another host's data)
code=$(curl -sS --max-time 10 --cacert "$TMPD/ca.pem" --resolve "app.example.test:$hport:127.0.0.1" \
    -H "Host: shop.other.test" -o "$TMPD/x.txt" -w '%{http_code}' "https://app.example.test:$hport/") ||
    fail "cross-host request: $code"
case $code in
200) grep -q "hello from beta" "$TMPD/x.txt" || fail "cross-host 200 from the wrong service" ;;
421) note "SNI app, Host shop on another worker: 421" ;;
*) fail "cross-host request: $code $(cat "$TMPD/x.txt")" ;;
esac

# ---- plain HTTP and garbage on the HTTPS port are dropped, the server lives
out=$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' -H "Host: app.example.test" \
    "http://127.0.0.1:$hport/" 2>&1)
case $out in 200*) fail "plain HTTP served on the HTTPS port" ;; esac
code=$(get app.example.test / "$TMPD/a2.txt") || fail "after plain HTTP: $code"
[ "$code" = 200 ] || fail "after plain HTTP: $code"

kill -TERM "$server"
wait_exit "$server" 15 || fail "server exit status $? after SIGTERM"
grep -E "warren\[[0-9]+\] error " "$TMPD/server.log" && fail "server logged errors"
echo ok
