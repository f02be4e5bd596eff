#!/usr/bin/env bash
# The same view as profile-proxy.sh, for a peer of the shared bench lab (haproxy or nginx): where its CPU goes per
# connection (perf, by part), how many backend connections it opens per client connection, and its system calls per
# resumed connection (strace -c). The peer runs as the lab starts it (terminator.sh: pinned to TERM_CPU, ECDSA
# certificate). Bounded: every load has a count or a time limit. 198.18.0.0/15 only (the lab's addresses).
#   bench/lab/profile-peer.sh [haproxy|nginx]    needs root, perf (apt linux-perf), strace, the lab's apt packages
# Leaves the lab down. Raw perf data: $BENCH_STATE/prof/PEER-*.data.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/bench/lab/common.sh"
LAB=${BENCH_LAB:-$ROOT/../shared/bench}
export BENCH_STATE=${BENCH_STATE:-/tmp/bench-lab}
PEER=${1:-haproxy}
case "$PEER" in haproxy|nginx) ;; *) echo "usage: $0 [haproxy|nginx]"; exit 2;; esac
OUTDIR=$BENCH_STATE/prof; mkdir -p "$OUTDIR"
URL=https://198.18.1.1/0b

"$LAB/lab.sh" up >/dev/null
finish() { "$LAB/terminator.sh" stop all >/dev/null 2>&1 || true; "$LAB/lab.sh" down >/dev/null 2>&1 || true; }
trap finish EXIT
"$LAB/terminator.sh" start "$PEER" ecdsa >/dev/null
PIDS=
for _ in $(seq 100); do
  PIDS=$(ip netns pids bl-accel | xargs -r ps -o pid=,comm= -p | awk -v p="$PEER" '$2 == p { print $1 }' | paste -sd, -)
  [ -n "$PIDS" ] && ip netns exec bl-client bash -c 'exec 3<>/dev/tcp/198.18.1.1/443' 2>/dev/null && break
  sleep 0.1
done
[ -n "$PIDS" ] || { echo "$PEER did not start"; exit 1; }

hs() { ip netns exec bl-client timeout $(($1 + 10)) python3 "$LAB/py/hs_load.py" 198.18.1.1 443 "$1" 4 /0b; }
resumed() { ip netns exec bl-client timeout 40 h2load --h1 -n "$1" -c 16 -t 1 -H 'Connection: close' "$URL" 2>&1 | grep -E '^finished'; }

hs 3 >/dev/null; resumed 4000 >/dev/null   # warm both paths, as profile-proxy.sh does

perf record -F 2000 -g -p "$PIDS" -o "$OUTDIR/$PEER-full.data" -- sleep 6 >/dev/null 2>&1 &
PR=$!; hs 6; wait $PR
perf record -F 2000 -g -p "$PIDS" -o "$OUTDIR/$PEER-resumed.data" -- sleep 5 >/dev/null 2>&1 &
PR=$!; OPENS0=$(active_opens bl-accel); resumed 8000; OPENS1=$(active_opens bl-accel); wait $PR
breakdown "$OUTDIR/$PEER-full.data" "$PEER, full handshakes (hs_load.py, +1 request)"
breakdown "$OUTDIR/$PEER-resumed.data" "$PEER, resumed connections (h2load, Connection: close)"
echo "## backend connections opened during 8000 resumed connections: $((OPENS1 - OPENS0))"

echo "## system calls per resumed connection (strace -c over 1000 connections)"
STRACE_P=(); for p in ${PIDS//,/ }; do STRACE_P+=(-p "$p"); done
timeout 60 strace -c -f "${STRACE_P[@]}" -o "$OUTDIR/$PEER-strace.txt" 2>/dev/null &
ST=$!; sleep 1
resumed 1000 >/dev/null
sleep 0.5; kill -INT $ST 2>/dev/null || true; wait $ST 2>/dev/null || true
syscalls_per_conn "$OUTDIR/$PEER-strace.txt" 1000
