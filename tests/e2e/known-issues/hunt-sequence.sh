#!/usr/bin/env bash
# Runs cut-through.sh's fault sequence again and again in one lab with one engine until a transfer fails: with loss
# on both sides a 1 MiB download and a 4 MiB upload, then with loss on the client's side only a 1 MiB download; tshark
# on both veths (/tmp/bl4h-cli.pcap, /tmp/bl4h-srv.pcap keep the last try). Root; own namespaces bl4h-*, removed at
# the end. Each curl is bounded by --max-time.
#   hunt-sequence.sh [verified|bufferless] [tries]
MODE=${1:-bufferless}; N=${2:-20}
P=bl4h; STATE=/tmp/bl4h-state; B=(dotnet "$(cd "$(dirname "$0")/../../.." && pwd)/src/Bufferless/bin/Release/net10.0/bufferless.dll")
source "$(dirname "$0")/fault-hop.sh"
hunt_up /tmp/bl4h
for ns in client server; do
  fault_hop $ns /tmp/bl4h
done
[ -f /tmp/up4m ] || head -c $((4 << 20)) /dev/urandom > /tmp/up4m
get() { ip netns exec $P-client timeout 30 curl -sS --max-time 20 --cacert $STATE/certs/ecdsa.crt https://198.18.2.2/1m -o /dev/null -w '%{size_download}' 2>&1; }
up() { ip netns exec $P-client timeout 40 curl -sS --max-time 20 --cacert $STATE/certs/ecdsa.crt -T /tmp/up4m https://198.18.2.2/upload/h4m -o /dev/null -w '%{http_code} %{size_upload}' 2>&1; }
fail=0
for i in $(seq 1 $N); do
  ip netns exec $P-client tshark -q -i bl-c0 -f "tcp port 443" -w /tmp/bl4h-cli.pcap >/dev/null 2>&1 & T1=$!
  ip netns exec $P-server tshark -q -i bl-s0 -f "tcp port 80" -w /tmp/bl4h-srv.pcap >/dev/null 2>&1 & T2=$!
  sleep 1.5
  a=$(get); b=$(up)
  ip -n $P-server rule del table 200
  c=$(get)
  ip -n $P-server rule add iif lo ipproto tcp sport 80 table 200
  sleep 0.5; kill $T1 $T2; wait $T1 $T2 2>/dev/null
  echo "try $i: both-get=$a both-up=$b client-get=$c"
  [ "$a" = 1048576 ] && case "$b" in 20[14]" 4194304") true;; *) false;; esac && [ "$c" = 1048576 ] || { echo FAIL; fail=1; break; }
done
hunt_down /tmp/bl4h
exit $fail
