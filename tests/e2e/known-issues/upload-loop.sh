#!/usr/bin/env bash
# Repeats the clean-path 64 MiB upload through the packet engine (no fault hop) and prints each try's time, so the
# upload stall (fixed 2026-11-27, README.md here) and the upload cost of the window cap can be re-measured.
# Root; own namespaces blu-*, removed at the end. Bounded: TRIES tries (default 10), each curl --max-time 30.
#   upload-loop.sh [verified|bufferless] [TRIES]
MODE=${1:-verified}; TRIES=${2:-10}
P=blu; STATE=/tmp/blu-state; B=(dotnet "$(cd "$(dirname "$0")/../../.." && pwd)/src/Bufferless/bin/Release/net10.0/bufferless.dll")
"${B[@]}" lab down --prefix $P --state $STATE >/dev/null 2>&1
mkdir -p $STATE; chmod 755 $STATE
"${B[@]}" lab up --prefix $P --state $STATE --access-log > /tmp/blu-labup.log 2>&1 || { cat /tmp/blu-labup.log; exit 1; }
ip netns exec $P-accel "${B[@]}" cut-through --tun bl-tun --cert $STATE/certs/ecdsa.crt --key $STATE/certs/ecdsa.key --mode "$MODE" > /tmp/blu-engine.log 2>&1 &
EP=$!
for _ in $(seq 100); do grep -q "cut-through on" /tmp/blu-engine.log && break; sleep 0.1; done
head -c $((64 << 20)) /dev/urandom > /tmp/blu-up64m
ok=0; stalled=0
for i in $(seq "$TRIES"); do
  if out=$(ip netns exec $P-client curl -sS --max-time 30 --cacert $STATE/certs/ecdsa.crt -T /tmp/blu-up64m \
        "https://198.18.2.2/upload/u$i" -o /dev/null -w '%{time_total}' 2>&1) &&
     cmp -s /tmp/blu-up64m "$STATE/upload/u$i"; then
    ok=$((ok + 1)); echo "try $i: ${out}s"
  else
    stalled=$((stalled + 1)); echo "try $i: FAILED ($out)"
  fi
  rm -f "$STATE/upload/u$i"
done
kill -USR1 $EP; sleep 0.5; grep counters /tmp/blu-engine.log | tail -1
echo "upload-loop $MODE: $ok of $TRIES complete, $stalled failed"
kill $EP 2>/dev/null; wait 2>/dev/null
"${B[@]}" lab down --prefix $P --state $STATE >/dev/null 2>&1
rm -f /tmp/blu-up64m
