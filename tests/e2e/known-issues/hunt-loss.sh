#!/usr/bin/env bash
# Repeats a transfer through the fault hop in one lab with one engine until it fails, with tshark on both veths
# (/tmp/bl2h-cli.pcap, /tmp/bl2h-srv.pcap keep the last try). Root; own namespaces bl2h-*, removed at the end.
#   hunt-loss.sh [verified|bufferless] [tries] [client|server|both] [get|up]
MODE=${1:-verified}; N=${2:-20}; SIDES=${3:-both}; ACTION=${4:-get}
P=bl2h; STATE=/tmp/bl2h-state; B=(dotnet "$(cd "$(dirname "$0")/../../.." && pwd)/src/Bufferless/bin/Release/net10.0/bufferless.dll")
source "$(dirname "$0")/fault-hop.sh"
hunt_up /tmp/bl2h
for ns in client server; do
  [ "$SIDES" = both ] || [ "$SIDES" = $ns ] || continue
  fault_hop $ns /tmp/bl2h
done
for i in $(seq 1 $N); do
  ip netns exec $P-client tshark -q -i bl-c0 -f "tcp port 443" -w /tmp/bl2h-cli.pcap >/dev/null 2>&1 & T1=$!
  ip netns exec $P-server tshark -q -i bl-s0 -f "tcp port 80" -w /tmp/bl2h-srv.pcap >/dev/null 2>&1 & T2=$!
  sleep 1.5
  if [ "$ACTION" = up ]; then
    [ -f /tmp/up4m ] || head -c $((4 << 20)) /dev/urandom > /tmp/up4m
    out=$(ip netns exec $P-client timeout 40 curl -sS --max-time 20 --cacert $STATE/certs/ecdsa.crt -T /tmp/up4m https://198.18.2.2/upload/h4m -o /dev/null -w '%{http_code} %{size_upload}' 2>&1); want='20[14] 4194304'
  else
    out=$(ip netns exec $P-client timeout 30 curl -sS --max-time 15 --cacert $STATE/certs/ecdsa.crt https://198.18.2.2/1m -o /tmp/bl2h-1m -w '%{size_download}' 2>&1); want=1048576
  fi
  sleep 0.5; kill $T1 $T2; wait $T1 $T2 2>/dev/null
  echo "try $i: $out"
  case "$out" in *$want) ;; *) echo STALL; break;; esac
done
hunt_down /tmp/bl2h
