#!/usr/bin/env bash
# End to end: the deployment features of `bufferless proxy` with real clients: TLS 1.2 suites, session resumption
# across two instances sharing a ticket-key file, SNI certificate choice, ALPN, client certificates (mTLS) with
# the verified subject in a PROXY v2 TLV, and a key log that tshark uses to decrypt a capture.
source "$(dirname "$0")/lib.sh"
e2e_tmp
trap cleanup EXIT
cd "$E2E_TMP"
echo "tls-features e2e in $E2E_TMP"

make_ca
make_leaf p256 "DNS:localhost,IP:127.0.0.1" serverAuth ec -pkeyopt ec_paramgen_curve:P-256
make_leaf rsa "DNS:localhost,IP:127.0.0.1" serverAuth rsa:2048
make_leaf a "DNS:a.test" serverAuth ec -pkeyopt ec_paramgen_curve:P-256
make_leaf b "DNS:*.b.test" serverAuth ec -pkeyopt ec_paramgen_curve:P-256
make_leaf c-ec "DNS:c.test" serverAuth ec -pkeyopt ec_paramgen_curve:P-256
make_leaf c-rsa "DNS:c.test" serverAuth rsa:2048
make_leaf alice "DNS:alice.client" clientAuth ec -pkeyopt ec_paramgen_curve:P-256
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=mallory" \
  -keyout mallory.key -out mallory.crt 2>/dev/null   # self-signed: not from our CA

mkdir -p www; echo "hello from nginx" > www/hello.txt
NGINX_PORT=$(free_port)
start_nginx "$E2E_TMP/www" "$NGINX_PORT" || { fail "nginx backend starts"; summary "tls-features e2e"; exit 1; }
B="--backend 127.0.0.1:$NGINX_PORT"

get() { # get PORT [s_client args]: one GET /hello.txt via s_client; prints the s_client output
  local port=$1; shift
  printf 'GET /hello.txt HTTP/1.0\r\nHost: localhost\r\n\r\n' | timeout 20 openssl s_client -connect "127.0.0.1:$port" \
    -CAfile ca.pem -verify_return_error -ign_eof "$@" 2>&1
}
expect() { # expect REGEX PORT [s_client args]
  local want=$1; shift
  local out; out=$(get "$@")
  grep -q "HTTP/1.1 200 OK" <<<"$out" || { echo "$out" | head -30; echo "no HTTP 200"; return 1; }
  grep -Eq "$want" <<<"$out" || { echo "$out" | grep -E 'Protocol|Cipher|Peer|ALPN|Reused|New' | head; echo "missing: $want"; return 1; }
}

# --- TLS 1.2: every suite, both key types -----------------------------------------------------------------------
P256=$(free_port); PRSA=$(free_port)
start_bufferless p256 "$P256" $B --cert p256.chain.pem --key p256.key || fail "proxy (P-256) starts"
start_bufferless rsa "$PRSA" $B --cert rsa.chain.pem --key rsa.key || fail "proxy (RSA) starts"
for s in ECDHE-ECDSA-AES128-GCM-SHA256 ECDHE-ECDSA-AES256-GCM-SHA384 ECDHE-ECDSA-CHACHA20-POLY1305; do
  check "s_client -tls1_2 $s" expect "Cipher is $s" "$P256" -tls1_2 -cipher "$s" -servername localhost
done
for s in ECDHE-RSA-AES128-GCM-SHA256 ECDHE-RSA-AES256-GCM-SHA384 ECDHE-RSA-CHACHA20-POLY1305; do
  check "s_client -tls1_2 $s" expect "Cipher is $s" "$PRSA" -tls1_2 -cipher "$s" -servername localhost
done
curl12() { # curl12 PORT CIPHER
  local out; out=$(curl -sS --fail --max-time 20 --cacert ca.pem --tlsv1.2 --tls-max 1.2 --ciphers "$2" -w '%{ssl_verify_result}' "https://localhost:$1/hello.txt")
  [ "$out" = "hello from nginx
0" ] || { echo "got: $out"; return 1; }
}
for s in ECDHE-ECDSA-AES128-GCM-SHA256 ECDHE-ECDSA-AES256-GCM-SHA384 ECDHE-ECDSA-CHACHA20-POLY1305; do check "curl --tlsv1.2 $s" curl12 "$P256" "$s"; done
for s in ECDHE-RSA-AES128-GCM-SHA256 ECDHE-RSA-AES256-GCM-SHA384 ECDHE-RSA-CHACHA20-POLY1305; do check "curl --tlsv1.2 $s" curl12 "$PRSA" "$s"; done
refused() { # refused PORT [s_client args]: the handshake must fail
  if get "$@" | grep -q "HTTP/1.1 200 OK"; then echo "handshake succeeded"; return 1; fi
}
check "TLS 1.1 refused" refused "$P256" -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0'
check "CBC suite refused (TLS 1.2)" refused "$P256" -tls1_2 -cipher ECDHE-ECDSA-AES128-SHA256
check "static RSA key exchange refused" refused "$PRSA" -tls1_2 -cipher AES128-GCM-SHA256
check "gnutls-cli TLS 1.2 only" bash -c "printf 'GET /hello.txt HTTP/1.0\r\n\r\n' | timeout 20 gnutls-cli --priority 'NORMAL:-VERS-ALL:+VERS-TLS1.2' --x509cafile ca.pem -p $P256 localhost 2>&1 | grep -q 'hello from nginx'"

# --- resumption across two instances sharing a ticket-key file -----------------------------------------------------
openssl rand 80 > ticket.key
R1=$(free_port); R2=$(free_port)
start_bufferless r1 "$R1" $B --cert p256.chain.pem --key p256.key --ticket-keys ticket.key || fail "resumption proxy 1 starts"
start_bufferless r2 "$R2" $B --cert p256.chain.pem --key p256.key --ticket-keys ticket.key || fail "resumption proxy 2 starts"
resume() { # resume VERSIONFLAG: full handshake on instance 1, resumed on instance 2
  rm -f sess
  expect "New," "$R1" "$1" -servername localhost -sess_out sess || return 1
  [ -s sess ] || { echo "no session saved"; return 1; }
  expect "Reused," "$R2" "$1" -servername localhost -sess_in sess
}
check "TLS 1.3 ticket from instance 1 resumes on instance 2" resume -tls1_3
check "TLS 1.2 ticket from instance 1 resumes on instance 2" resume -tls1_2
check "resumptions counted in the log (resumed=yes)" bash -c "[ \$(grep -c 'resumed=yes' r2.log) -ge 2 ]"
other_keys() {
  openssl rand 80 > other.key
  local port; port=$(free_port)
  start_bufferless r3 "$port" $B --cert p256.chain.pem --key p256.key --ticket-keys other.key || return 1
  rm -f sess; expect "New," "$R1" -tls1_3 -servername localhost -sess_out sess || return 1
  expect "New," "$port" -tls1_3 -servername localhost -sess_in sess   # unknown key: full handshake, not an error
}
check "ticket under another key falls back to a full handshake" other_keys
no_tickets() {
  local port; port=$(free_port)
  start_bufferless nt "$port" $B --cert p256.chain.pem --key p256.key --no-tickets || return 1
  rm -f sess; expect "New," "$port" -tls1_3 -servername localhost -sess_out sess || return 1
  # With no ticket, s_client has no TLS 1.3 session to save; if it saved one, it must not resume.
  if [ -s sess ]; then expect "New," "$port" -tls1_3 -servername localhost -sess_in sess || return 1; fi
  ! grep -q "resumed=yes" nt.log
}
check "--no-tickets: never resumed" no_tickets

# --- SNI: exact, wildcard, default, key type by signature algorithms ---------------------------------------------------
PS=$(free_port)
start_bufferless sni "$PS" $B --cert p256.chain.pem --key p256.key --cert a.chain.pem --key a.key \
  --cert b.chain.pem --key b.key --cert c-ec.chain.pem --key c-ec.key --cert c-rsa.chain.pem --key c-rsa.key || fail "SNI proxy starts"
subject() { # subject PORT SNI [args]: CN of the served certificate
  local port=$1 sni=$2; shift 2
  echo | timeout 10 openssl s_client -connect "127.0.0.1:$port" -servername "$sni" "$@" 2>/dev/null | openssl x509 -noout -subject -nameopt RFC2253
}
sni_is() { local got; got=$(subject "$PS" "$1" "${@:3}"); [ "$got" = "subject=CN=$2" ] || { echo "SNI $1: $got, expected CN=$2"; return 1; }; }
check "SNI exact name a.test" sni_is a.test a.test
check "SNI wildcard x.b.test -> *.b.test" sni_is x.b.test '*.b.test'
check "SNI unknown name -> the default (first) certificate" sni_is unknown.test localhost
keytype() { # c.test has an ECDSA and an RSA certificate: ECDSA preferred, RSA for an RSA-only client
  local ec rsa
  ec=$(echo | timeout 10 openssl s_client -connect "127.0.0.1:$PS" -servername c.test -brief 2>&1 | grep 'Signature type')
  rsa=$(echo | timeout 10 openssl s_client -connect "127.0.0.1:$PS" -servername c.test -sigalgs rsa_pss_rsae_sha256 -brief 2>&1 | grep 'Signature type')
  grep -q ECDSA <<<"$ec" && grep -q RSA-PSS <<<"$rsa" || { echo "default: $ec; rsa-only: $rsa"; return 1; }
}
check "SNI key type: ECDSA preferred, RSA for an RSA-only client" keytype
reject_sni() {
  local port; port=$(free_port)
  start_bufferless rs "$port" $B --cert a.chain.pem --key a.key --reject-unknown-sni || return 1
  local out; out=$(get "$port" -servername nope.test)
  grep -qi "unrecognized name" <<<"$out" || { echo "$out" | grep -i alert; echo "no unrecognized_name alert"; return 1; }
}
check "--reject-unknown-sni: unrecognized_name alert" reject_sni

# --- ALPN ------------------------------------------------------------------------------------------------------------
PA=$(free_port)
start_bufferless alpn "$PA" $B --cert p256.chain.pem --key p256.key --alpn http/1.1 || fail "ALPN proxy starts"
check "ALPN http/1.1 chosen" expect "ALPN protocol: http/1.1" "$PA" -alpn h2,http/1.1 -servername localhost
no_overlap() { local out; out=$(get "$PA" -alpn h2 -servername localhost); grep -qi "no application protocol" <<<"$out" || { echo "$out" | grep -i alert; return 1; }; }
check "ALPN without overlap: no_application_protocol alert" no_overlap
check "no ALPN configured: none selected" expect "No ALPN negotiated" "$P256" -alpn h2,http/1.1 -servername localhost

# --- client certificates (mTLS), subject to the backend in a PROXY v2 TLV ----------------------------------------------
PPB=$(free_port)
bg python3 "$E2E_ROOT/tests/e2e/py/pp2_backend.py" "$PPB" pp2.txt
wait_port "$PPB" || fail "PROXY v2 backend starts"
PM=$(free_port); PR=$(free_port)
start_bufferless mtls "$PM" --backend "127.0.0.1:$PPB" --proxy-protocol v2 --cert p256.chain.pem --key p256.key \
  --client-ca ca.pem --client-auth require --alpn http/1.1 || fail "mTLS proxy starts"
start_bufferless mtlsreq "$PR" $B --cert p256.chain.pem --key p256.key --client-ca ca.pem --client-auth request || fail "mTLS (request) proxy starts"
gnutls_get() { # gnutls_get PORT [args]
  local port=$1; shift
  printf 'GET /hello.txt HTTP/1.0\r\nHost: localhost\r\n\r\n' | timeout 20 gnutls-cli --x509cafile ca.pem -p "$port" "$@" localhost 2>&1
}
mtls_ok() {
  local out; out=$(gnutls_get "$PM" --x509certfile alice.crt --x509keyfile alice.key --alpn http/1.1)
  grep -q "HTTP/1.1 200 OK" <<<"$out" || { echo "$out" | tail -5; return 1; }
  sleep 0.3
  grep -q "ssl_cn=CN=alice.client" pp2.txt && grep -q "client_flags=3" pp2.txt && grep -q "alpn=http/1.1" pp2.txt && grep -q "authority=localhost" pp2.txt \
    || { echo "PROXY v2 TLVs: $(cat pp2.txt)"; return 1; }
}
check "gnutls-cli with a client certificate: served; subject, ALPN and SNI in PROXY v2 TLVs" mtls_ok
check "mTLS required, no client certificate: refused" bash -c "! printf 'GET / HTTP/1.0\r\n\r\n' | timeout 20 gnutls-cli --x509cafile ca.pem -p $PM localhost 2>&1 | grep -q '200 OK'"
check "mTLS, certificate from an unknown CA: refused" bash -c "! printf 'GET / HTTP/1.0\r\n\r\n' | timeout 20 gnutls-cli --x509cafile ca.pem --x509certfile mallory.crt --x509keyfile mallory.key -p $PM localhost 2>&1 | grep -q '200 OK'"
check "mTLS request mode: a client without a certificate is served" bash -c "printf 'GET /hello.txt HTTP/1.0\r\n\r\n' | timeout 20 gnutls-cli --x509cafile ca.pem -p $PR localhost 2>&1 | grep -q 'hello from nginx'"
check "mTLS, TLS 1.2 with a client certificate" bash -c "printf 'GET /hello.txt HTTP/1.0\r\n\r\n' | timeout 20 gnutls-cli --priority 'NORMAL:-VERS-ALL:+VERS-TLS1.2' --x509cafile ca.pem --x509certfile alice.crt --x509keyfile alice.key -p $PR localhost 2>&1 | grep -q 'hello from nginx'"

# --- key log: tshark decrypts a captured session ----------------------------------------------------------------------
keylog() {
  local port; port=$(free_port)
  start_bufferless kl "$port" $B --cert p256.chain.pem --key p256.key --keylog-file keys.log || return 1
  timeout 30 tshark -q -i lo -f "tcp port $port" -w cap.pcapng > tshark.out 2>&1 &
  local ts=$!
  sleep 2
  curl -sS --fail --cacert ca.pem "https://localhost:$port/hello.txt?secret=42" -o /dev/null || { kill $ts; return 1; }
  curl -sS --fail --cacert ca.pem --tlsv1.2 --tls-max 1.2 "https://localhost:$port/hello.txt?secret=12" -o /dev/null || { kill $ts; return 1; }
  sleep 1; kill -INT $ts; wait $ts
  grep -q "CLIENT_HANDSHAKE_TRAFFIC_SECRET" keys.log && grep -q "^CLIENT_RANDOM " keys.log || { echo "key log: $(cut -c1-40 keys.log)"; return 1; }
  local uris; uris=$(tshark -r cap.pcapng -o "tls.keylog_file:keys.log" -Y http.request -T fields -e http.request.uri 2>/dev/null)
  grep -q "secret=42" <<<"$uris" && grep -q "secret=12" <<<"$uris" || { echo "tshark decrypted: '$uris'"; return 1; }
  # Without the key log the same capture shows no HTTP.
  [ -z "$(tshark -r cap.pcapng -Y http.request -T fields -e http.request.uri 2>/dev/null)" ] || { echo "plaintext visible without keys"; return 1; }
}
check "key log: tshark decrypts TLS 1.3 and TLS 1.2 sessions" keylog

summary "tls-features e2e"
