#!/usr/bin/env bash
# Reproduces the packet engine's open loss bugs (see README.md here). Root; own namespaces blr-*, removed at the end.
#   ACTION=get|up repro-loss.sh [verified|bufferless] [client|server|both] [loss] [dup] [reorder]
MODE=${1:-verified}; SIDES=${2:-both}; LOSS=${3:-0.02}; DUP=${4:-0.01}; REO=${5:-0.05}
P=blr; STATE=/tmp/blr-state; B=(dotnet "$(cd "$(dirname "$0")/../../.." && pwd)/src/Bufferless/bin/Release/net10.0/bufferless.dll")
"${B[@]}" lab down --prefix $P --state $STATE >/dev/null 2>&1
mkdir -p $STATE; chmod 755 /tmp/blr-state
"${B[@]}" lab up --prefix $P --state $STATE --access-log > /tmp/blr-labup.log 2>&1 || { cat /tmp/blr-labup.log; exit 1; }
ip netns exec $P-accel "${B[@]}" cut-through --tun bl-tun --cert $STATE/certs/ecdsa.crt --key $STATE/certs/ecdsa.key --mode $MODE > /tmp/blr-engine.log 2>&1 &
EP=$!
sleep 2
FP=()
for ns in client server; do
  [ "$SIDES" = both ] || [ "$SIDES" = $ns ] || continue
  if [ $ns = client ]; then sel=(dport 443); SEED=11; else sel=(sport 80); SEED=12; fi
  ip netns exec $P-$ns "${B[@]}" lab forward --tun bl-flt --loss $LOSS --duplicate $DUP --reorder $REO --delay-ms 2 --seed $SEED > /tmp/blr-fault-$ns.log 2>&1 &
  FP+=($!)
  sleep 1.5
  ip -n $P-$ns link set bl-flt up
  ip netns exec $P-$ns sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.bl-flt.rp_filter=0 net.ipv4.conf.bl-flt.accept_local=1
  ip -n $P-$ns rule add iif lo ipproto tcp "${sel[@]}" table 200
  ip -n $P-$ns route replace default dev bl-flt table 200
done
if [ "${ACTION:-get}" = up ]; then ( ip netns exec $P-client timeout 25 tshark -q -i bl-c0 -f "tcp port 443" -w /tmp/blr-cli.pcap >/dev/null 2>&1 & ); sleep 2; ip netns exec $P-client timeout 40 curl -sS --max-time 20 --cacert $STATE/certs/ecdsa.crt -T /tmp/up4m https://198.18.2.2/upload/u4m -o /dev/null -w "curl: %{http_code} %{size_upload} up %{time_total}s\n"; else
( ip netns exec $P-server timeout 12 tshark -q -i bl-s0 -f "tcp port 80" -w /tmp/blr-srv.pcap >/dev/null 2>&1 & ); sleep 2; ip netns exec $P-client timeout 40 curl -sS --max-time 10 --cacert $STATE/certs/ecdsa.crt https://198.18.2.2/1m -o /tmp/blr-1m -w 'curl: %{size_download} bytes %{time_total}s\n'
fi
kill -USR1 $EP; sleep 0.5; grep counters /tmp/blr-engine.log | tail -1
for p in "${FP[@]}"; do kill -USR1 $p; done; sleep 0.3; tail -n1 /tmp/blr-fault-*.log
kill $EP "${FP[@]}" 2>/dev/null; wait 2>/dev/null
"${B[@]}" lab down --prefix $P --state $STATE >/dev/null 2>&1
