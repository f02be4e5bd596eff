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
URL=https://198.18.1.1/0b

dotnet build "$ROOT/src/Bufferless" -c Release -v q -nologo >/dev/null
"$LAB/lab.sh" up >/dev/null
finish() { stop_pidfile "$PIDFILE"; "$LAB/lab.sh" down >/dev/null 2>&1 || true; }
trap finish EXIT

# W^X off only so that perf can name JIT-compiled methods (perf map); it does not change the code that runs.
ip netns exec bl-accel bash -c "ulimit -n \$(ulimit -Hn); DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 exec taskset -c ${TERM_CPU:-1} \
    dotnet '$DLL' proxy --listen 198.18.1.1:443 --backend 198.18.2.2:80 --cert '$BENCH_STATE/certs/ecdsa.crt' \
    --key '$BENCH_STATE/certs/ecdsa.key' --log-level Warning --max-connections 20000" > "$OUTDIR/proxy.log" 2>&1 &
echo $! > "$PIDFILE"
PID=
for _ in $(seq 100); do
  PID=$(pgrep -f "bufferless.dll proxy --listen 198.18.1.1:443" | head -1 || true)
  [ -n "$PID" ] && ip netns exec bl-client bash -c 'exec 3<>/dev/tcp/198.18.1.1/443' 2>/dev/null && break
  sleep 0.1
done
[ -n "$PID" ] || { echo "proxy did not start"; cat "$OUTDIR/proxy.log"; exit 1; }

hs() { ip netns exec bl-client timeout $(($1 + 10)) python3 "$LAB/py/hs_load.py" 198.18.1.1 443 "$1" 4 /0b; }
resumed() { ip netns exec bl-client timeout 40 h2load --h1 -n "$1" -c 16 -t 1 -H 'Connection: close' "$URL" 2>&1 | grep -E '^finished'; }

hs 3 >/dev/null; resumed 4000 >/dev/null   # warm both paths

breakdown() { # breakdown PERF_DATA LABEL
  echo "## $2: share of the proxy's perf samples"
  perf report -i "$1" --no-children --sort dso,sym -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | awk '
    { p = $1; sub("%", "", p); c = "other";
      if ($0 ~ /\[kernel/) c = "kernel"; else if ($0 ~ /libcrypto/) c = "libcrypto"; else if ($0 ~ /libclrjit/) c = "JIT";
      else if ($0 ~ /libcoreclr/) c = "runtime (coreclr)"; else if ($0 ~ /libc\.so/) c = "libc";
      else if ($0 ~ /\[Bufferless\.Tls\]/) c = "managed Bufferless.Tls"; else if ($0 ~ /\[Bufferless\.Crypto\]/) c = "managed Bufferless.Crypto";
      else if ($0 ~ /\[Bufferless\.Proxy\]/) c = "managed Bufferless.Proxy"; else if ($0 ~ /System\.Net|Sockets/) c = "managed System.Net.Sockets";
      else if ($0 ~ /CoreLib/) c = "managed CoreLib"; else if ($0 ~ /stub /) c = "runtime stubs";
      s[c] += p }
    END { for (c in s) printf "%6.2f%% %s\n", s[c], c }' | sort -rn
}

perf record -F 2000 -g -p "$PID" -o "$OUTDIR/full.data" -- sleep 6 >/dev/null 2>&1 &
PR=$!; hs 6; wait $PR
perf record -F 2000 -g -p "$PID" -o "$OUTDIR/resumed.data" -- sleep 5 >/dev/null 2>&1 &
PR=$!; resumed 8000; wait $PR
breakdown "$OUTDIR/full.data" "full handshakes (hs_load.py, +1 request)"
breakdown "$OUTDIR/resumed.data" "resumed connections (h2load, Connection: close)"

echo "## system calls per resumed connection (strace -c over 1000 connections)"
timeout 60 strace -c -f -p "$PID" -o "$OUTDIR/strace.txt" 2>/dev/null &
ST=$!; sleep 1
resumed 1000 >/dev/null
sleep 0.5; kill -INT $ST 2>/dev/null || true; wait $ST 2>/dev/null || true
awk 'NR > 2 && $NF != "total" && $0 !~ /^-/ { calls = ($4 ~ /^[0-9]+$/) ? $4 : 0; errs = ($5 ~ /^[0-9]+$/) ? $5 : 0;
     if (calls >= 500) printf "%-14s %5.2f per connection (%.2f failed)\n", $NF, calls / 1000, errs / 1000 }' "$OUTDIR/strace.txt"
