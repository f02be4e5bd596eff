#!/usr/bin/env bash
# End to end: `bufferless cut-through` (the packet engine, direct mode) in a lab of network namespaces made by
# `bufferless lab up` with its own prefix and state directory, so it never touches a running bench lab.
# Only 198.18.0.0/15 and 2001:2::/48 addresses. Needs root (namespaces, TUN devices).
#
#   client (P-client) --> P-accel: policy routing sends tcp dport 443 and sport 80 into the TUN, where the engine
#   runs --> P-server: nginx on :80 in clear.
#
# Fault hop: a `bufferless lab forward` process in the client namespace and another in the server namespace. Each
# owns a TUN device; a policy rule sends the namespace's own outgoing test traffic (iif lo) into it, the forwarder
# drops 2%, duplicates 1% and holds back 5% (reorder) of the packets, and writes the rest back; the kernel
# then forwards them out of the veth by the main table (ip_forward=1, rp_filter=0, accept_local=1 on the TUN).
# So both directions cross a lossy, reordering hop before and after the engine.
source "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || { echo "cut-through e2e: needs root"; exit 1; }
e2e_tmp
P=blct$$
STATE=$E2E_TMP/lab
B=(dotnet "$BUFFERLESS_DLL")

teardown() {
  declare -F cleanup_engine >/dev/null && cleanup_engine
  "${B[@]}" lab down --prefix "$P" --state "$STATE" >/dev/null 2>&1
  cleanup
}
trap teardown EXIT
cd "$E2E_TMP"
chmod 755 "$E2E_TMP"   # nginx workers run unprivileged and serve files from the lab state below it
echo "cut-through e2e in $E2E_TMP (namespaces $P-*)"

if ! "${B[@]}" lab up --prefix "$P" --state "$STATE" --access-log > lab-up.log 2>&1; then
  fail "lab up"; cat lab-up.log; summary "cut-through e2e"; exit 1
fi
ok "lab up (namespaces, veths, IPv4+IPv6, TUN, policy rules, nginx)"
CA=$STATE/certs/ecdsa.crt
KEY=$STATE/certs/ecdsa.key
V4=198.18.2.2
V6=2001:2:2::2
in_client() { ip netns exec "$P-client" "$@"; }
in_server() { ip netns exec "$P-server" "$@"; }
sha() { sha256sum "$1" | cut -d' ' -f1; }
head -c $((64 << 20)) /dev/urandom > upload-64m
head -c $((4 << 20)) /dev/urandom > upload-4m

tun_typo() { # a TUN name that does not exist: one clear line and exit 1 (before, an empty device was made and the engine waited)
  local out rc
  out=$(ip netns exec "$P-accel" timeout 20 "${B[@]}" cut-through --tun bl-typo --cert "$CA" --key "$KEY" 2>&1); rc=$?
  [ "$rc" = 1 ] || { echo "exit code $rc"; echo "$out"; return 1; }
  echo "$out" | grep -q "^bufferless: TUN device 'bl-typo' does not exist" || { echo "$out"; return 1; }
  ! ip netns exec "$P-accel" ip link show bl-typo >/dev/null 2>&1 || { echo "a device bl-typo was created"; return 1; }
}
check "unknown TUN name: 'TUN device ... does not exist', exit 1, no device made" tun_typo

# --- engine ----------------------------------------------------------------------------------------------------
ENGINE_PID=
METRICS_PORT=19100 # in the accel namespace
start_engine() { # start_engine MODE
  ip netns exec "$P-accel" "${B[@]}" cut-through --tun bl-tun --cert "$CA" --key "$KEY" --mode "$1" \
    --metrics "127.0.0.1:$METRICS_PORT" > "engine-$1.log" 2>&1 &
  ENGINE_PID=$!
  local i
  for ((i = 0; i < 100; i++)); do grep -q "cut-through on" "engine-$1.log" 2>/dev/null && return 0; sleep 0.1; done
  cat "engine-$1.log"; return 1
}
stop_engine() {
  [ -n "$ENGINE_PID" ] || return 0
  kill "$ENGINE_PID" 2>/dev/null; wait "$ENGINE_PID" 2>/dev/null; ENGINE_PID=
}
cleanup_engine() { stop_engine; stop_faults; }
counters() { # counters MODE: asks the engine for its counters (SIGUSR1) and prints the last line
  kill -USR1 "$ENGINE_PID"; sleep 0.3; grep "counters:" "engine-$1.log" | tail -1
}

# --- fault hop ---------------------------------------------------------------------------------------------------
FAULT_PIDS=()
start_faults() { # start_faults SEED TAG
  local ns sel log
  for ns in client server; do
    log=fault-$2-$ns.log
    # what leaves this namespace towards the engine: the client's TLS traffic, the server's plain-port replies
    if [ $ns = client ]; then sel=(dport 443); else sel=(sport 80); fi
    ip netns exec "$P-$ns" "${B[@]}" lab forward --tun bl-flt --loss 0.02 --duplicate 0.01 --reorder 0.05 --delay-ms 2 \
      --seed "$(( $1 + ${#FAULT_PIDS[@]} ))" > "$log" 2>&1 &
    FAULT_PIDS+=($!)
    local i; for ((i = 0; i < 100; i++)); do grep -q "^forward" "$log" 2>/dev/null && break; sleep 0.1; done
    ip -n "$P-$ns" link set bl-flt up || { cat "$log"; return 1; }
    ip netns exec "$P-$ns" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
      net.ipv4.conf.bl-flt.rp_filter=0 net.ipv4.conf.bl-flt.accept_local=1 || return 1
    ip -n "$P-$ns" rule add iif lo ipproto tcp "${sel[@]}" table 200 || return 1
    ip -n "$P-$ns" route replace default dev bl-flt table 200 || return 1
  done
}
stop_faults() {
  local ns p
  for ns in client server; do ip -n "$P-$ns" rule del table 200 2>/dev/null; done
  for p in "${FAULT_PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  FAULT_PIDS=()
}

# --- checks ------------------------------------------------------------------------------------------------------
curl_sha() { # curl_sha URL EXPECTED
  local got
  got=$(in_client curl -sS --fail --max-time 120 --cacert "$CA" "$1" | sha256sum | cut -d' ' -f1)
  [ "$got" = "$2" ] || { echo "sha256 $got, expected $2"; return 1; }
}
upload() { # upload FILE URLHOST NAME
  in_client curl -sS --fail --max-time 120 --cacert "$CA" -T "$1" "https://$2/upload/$3" -o /dev/null || return 1
  [ "$(sha "$STATE/upload/$3")" = "$(sha "$1")" ] || { echo "uploaded file differs"; return 1; }
}
s_client_suite() { # s_client_suite SUITE
  local out
  out=$(printf 'GET /1k HTTP/1.0\r\n\r\n' | in_client timeout 20 openssl s_client -connect "$V4:443" -tls1_3 \
        -ciphersuites "$1" -CAfile "$CA" -verify_return_error -brief -ign_eof 2>&1) || { echo "$out" | tail -5; return 1; }
  grep -q "Ciphersuite: $1" <<<"$out" || { echo "$out" | head -5; return 1; }
  grep -q "HTTP/1.1 200 OK" <<<"$out" || { echo "no HTTP 200"; echo "$out" | tail -5; return 1; }
}
real_address() { # the backend logs the client's own addresses, not the engine's
  grep -q "^198\.18\.1\.2 .*GET /1k" "$STATE/log/backend-access.log" &&
  grep -q "^2001:2:1::2 .*GET /1m" "$STATE/log/backend-access.log" ||
    { echo "access log:"; tail -5 "$STATE/log/backend-access.log"; return 1; }
}
flip_bit() { # a flipped ciphertext bit: alert to the client, RST to the server, the request never reaches nginx
  local out port
  out=$(in_client python3 "$E2E_ROOT/tests/e2e/py/flip_bit.py" "$V4" 443 "$CA" "/1k?flip-$1") || { echo "$out"; return 1; }
  port=$(sed -n 's/^port=//p' <<<"$out")
  sleep 0.5
  if [ -n "$(in_server ss -Htn state established "( sport = :80 and dport = :$port )")" ]; then
    echo "the server still has the connection from port $port (no RST)"; return 1
  fi
  if grep -q "flip-$1" "$STATE/log/backend-access.log"; then echo "the altered request reached nginx"; return 1; fi
  counters "$1" | grep -q "tagfail=[1-9]" || { echo "tag failure not counted: $(counters "$1")"; return 1; }
}

engine_metrics() { # engine_metrics MODE: a --metrics scrape agrees with the SIGUSR1 counters after the mode's checks
  local m line hs
  m=$(ip netns exec "$P-accel" curl -sS --max-time 10 "http://127.0.0.1:$METRICS_PORT/metrics") || return 1
  line=$(counters "$1"); hs=$(grep -o "handshakes=[0-9]*" <<<"$line" | cut -d= -f2)
  value() { awk -v k="$1" '$1 == k { print $2 }' <<<"$m"; }
  at_least() { awk -v v="$(value "$1")" -v min="$2" 'BEGIN { exit !(v != "" && v + 0 >= min) }' || { echo "$1 = '$(value "$1")', expected >= $2"; return 1; }; }
  [ -n "$hs" ] && [ "$(value bufferless_engine_handshakes_total)" = "$hs" ] \
    || { echo "handshakes: metrics '$(value bufferless_engine_handshakes_total)', counters line '$hs'"; return 1; }
  at_least bufferless_engine_handshakes_total 8 && at_least bufferless_engine_tag_failures_total 1 \
    && at_least bufferless_engine_server_to_client_bytes_total $((256 << 20)) && at_least bufferless_engine_records_decrypted_total 1 \
    && at_least bufferless_engine_packets_in_total 1 && at_least bufferless_engine_flows_max 16 || return 1
  grep -q '^bufferless_engine_drops_total{reason="malformed"} ' <<<"$m" && grep -q '^bufferless_engine_flows{state="established"} ' <<<"$m" \
    && grep -q '^bufferless_certificate_expiry_timestamp_seconds{' <<<"$m" || { echo "series missing"; return 1; }
}

SHA_1K=$(sha "$STATE/www/1k"); SHA_1M=$(sha "$STATE/www/1m"); SHA_256M=$(sha "$STATE/www/256m")
for mode in verified bufferless; do
  echo "-- mode $mode"
  if ! start_engine $mode; then fail "engine starts ($mode)"; continue; fi
  check "$mode: curl 1 KiB, SHA-256" curl_sha "https://$V4/1k" "$SHA_1K"
  check "$mode: curl 1 MiB, SHA-256" curl_sha "https://$V4/1m" "$SHA_1M"
  check "$mode: curl 1 MiB over IPv6, SHA-256" curl_sha "https://[$V6]/1m" "$SHA_1M"
  check "$mode: curl 256 MiB, SHA-256" curl_sha "https://$V4/256m" "$SHA_256M"
  check "$mode: curl 64 MiB upload, SHA-256 at the backend" upload upload-64m "$V4" "u64m-$mode"
  for suite in TLS_AES_128_GCM_SHA256 TLS_AES_256_GCM_SHA384 TLS_CHACHA20_POLY1305_SHA256; do
    check "$mode: openssl s_client $suite" s_client_suite $suite
  done
  check "$mode: nginx access log shows the client's real IPv4 and IPv6 addresses" real_address
  check "$mode: flipped ciphertext bit -> bad_record_mac alert to the client, RST to the server" flip_bit $mode
  check "$mode: --metrics scrape matches the counters (handshakes, bytes, tag failures, drops, flows, expiry)" engine_metrics $mode
  # Transfers through the fault hop (2% loss, 1% duplication, 5% reordering; each curl bounded by --max-time). The
  # upload with loss on both sides runs in bufferless mode only: in verified mode a Linux client that timed out at the
  # end of its upload with nothing left for the engine to SACK still stalls now and then (1 in 25,
  # tests/e2e/known-issues/README.md); bufferless mode acknowledges such a client inside the record being assembled.
  # Verified mode's upload with loss on the client side only is back (26 of 26 after the engine began withholding SACKs
  # from a client that resent its head; about 1 in 12 stalled before). Session 4: 40 of 40 in a loop
  # (hunt-loss.sh verified 40 client up), but it stalled once in the five runs of this script that day: the known
  # end-of-upload case (a hole in the last record, the client resending only its head), see the README there.
  if start_faults 11 $mode; then
    check "$mode, 2% loss + dup + reorder on both sides: curl 1 MiB, SHA-256" curl_sha "https://$V4/1m" "$SHA_1M"
    if [ $mode = bufferless ]; then
      check "$mode, 2% loss + dup + reorder on both sides: curl 4 MiB upload, SHA-256" upload upload-4m "$V4" "u4m-both-$mode"
    fi
    ip -n "$P-server" rule del table 200 2>/dev/null
    check "$mode, 2% loss + dup + reorder client<->engine: curl 1 MiB, SHA-256" curl_sha "https://$V4/1m" "$SHA_1M"
    check "$mode, 2% loss + dup + reorder client<->engine: curl 4 MiB upload, SHA-256" upload upload-4m "$V4" "u4m-client-$mode"
    ip -n "$P-server" rule add iif lo ipproto tcp sport 80 table 200
    ip -n "$P-client" rule del table 200 2>/dev/null
    check "$mode, 2% loss + dup + reorder engine<->server: curl 4 MiB upload, SHA-256" upload upload-4m "$V4" "u4m-$mode"
    for ns in client server; do kill -USR1 "${FAULT_PIDS[$([ $ns = client ] && echo 0 || echo 1)]}"; done; sleep 0.3
    faulty() { grep -h "dropped=" fault-$mode-client.log fault-$mode-server.log | awk '{for(i=1;i<=NF;i++) if ($i ~ /^dropped=/) {split($i,a,"="); s+=a[2]}} END {exit !(s > 0)}'; }
    check "$mode: the fault hop did drop packets" faulty
  else
    fail "$mode: fault hop set-up"
  fi
  stop_faults
  echo "   $(counters $mode)"
  stop_engine
done

summary "cut-through e2e"
