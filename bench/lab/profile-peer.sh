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

profile_handshakes "$PIDS" "$PEER-" "$PEER, "
