#!/usr/bin/env bash
# Where `bufferless proxy`'s CPU goes per connection, in the shared bench lab (../shared/bench, 198.18.0.0/15 only).
# Starts the proxy pinned to CPU 1 (as proxy-vs-peers.sh does), warms it with full handshakes and resumed connections,
# then records perf for full handshakes (hs_load.py, 6 s) and resumed connections (h2load, 8000), prints the share of
# the samples by part (kernel, libcrypto, JIT, runtime, managed assemblies), and counts system calls per resumed
# connection with `strace -c` (1000 connections). Bounded: every load has a count or a time limit.
#   bench/lab/profile-proxy.sh            needs root, perf (apt linux-perf), strace, and the lab's apt packages
# Leaves the lab down. Raw perf data: $BENCH_STATE/prof/.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/bench/lab/common.sh"
LAB=${BENCH_LAB:-$ROOT/../shared/bench}
export BENCH_STATE=${BENCH_STATE:-/tmp/bench-lab}
DLL=$ROOT/src/Bufferless/bin/Release/net10.0/bufferless.dll
PIDFILE=$BENCH_STATE/run/bufferless-profile.pid
OUTDIR=$BENCH_STATE/prof; mkdir -p "$OUTDIR" "$(dirname "$PIDFILE")"

dotnet build "$ROOT/src/Bufferless" -c Release -v q -nologo >/dev/null
"$LAB/lab.sh" up >/dev/null
finish() { stop_pidfile "$PIDFILE"; "$LAB/lab.sh" down >/dev/null 2>&1 || true; }
trap finish EXIT

# W^X off only so that perf can name JIT-compiled methods (perf map); it does not change the code that runs.
LAB_PROXY_ENV="DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0" lab_proxy "$DLL" ecdsa 198.18.2.2:80 "$OUTDIR/proxy.log" \
    --max-connections 20000
echo $! > "$PIDFILE"
PID=$(proxy_pid "$OUTDIR/proxy.log")

profile_handshakes "$PID" "" ""
