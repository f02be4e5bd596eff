#!/usr/bin/env bash
# Uploads through `bufferless proxy` in the shared bench lab (../shared/bench: 198.18.0.0/15 only): curl in bl-client
# POSTs 256 MiB (random, from /dev/shm) three times to the proxy on 198.18.1.1:443 (pinned to CPU 1, as in
# proxy-vs-peers.sh), which forwards to a plain sink in bl-server (upload_sink.py, port 8080) that answers with the
# byte count. Prints per upload: bytes the sink got, MB/s, proxy CPU seconds. The bench lab has no upload test of its
# own, so HAProxy is not measured here.
#   bench/lab/proxy-upload.sh [DLL...]    default: a Release build of src/Bufferless; several DLLs run interleaved, twice
# Bounded: each upload has a 60 s limit, the sink stops 120 s after its last connection. Leaves the lab down.
# Writes the lines also to bench/results/upload-<timestamp>.txt.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/bench/lab/common.sh"
LAB=${BENCH_LAB:-$ROOT/../shared/bench}
export BENCH_STATE=${BENCH_STATE:-/tmp/bench-lab}
mkdir -p "$ROOT/bench/results"
exec > >(tee "$ROOT/bench/results/upload-$(date +%Y%m%d-%H%M%S).txt")
echo "META date=$(date -u +%FT%TZ) commit=$(git -C "$ROOT" rev-parse --short HEAD)"
DLLS=("$@")
if [ ${#DLLS[@]} -eq 0 ]; then
  dotnet build "$ROOT/src/Bufferless" -c Release -v q -nologo >/dev/null
  DLLS=("$ROOT/src/Bufferless/bin/Release/net10.0/bufferless.dll")
fi
DATA=/dev/shm/bufferless-upload-256m
[ -f "$DATA" ] || head -c $((256 << 20)) /dev/urandom > "$DATA"
"$LAB/lab.sh" up >/dev/null
ip netns exec bl-server timeout 900 python3 "$ROOT/bench/lab/upload_sink.py" 198.18.2.2 8080 &
SINK=$!
PROXY=
finish() { [ -n "$PROXY" ] && kill "$PROXY" 2>/dev/null; kill "$SINK" 2>/dev/null || true; "$LAB/lab.sh" down >/dev/null 2>&1 || true; }
trap finish EXIT
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
for round in 1 2; do
  for dll in "${DLLS[@]}"; do
    lab_proxy "$dll" ecdsa 198.18.2.2:8080 "$BENCH_STATE/log/bufferless-upload.log"
    PROXY=$!
    pid=$(proxy_pid "$BENCH_STATE/log/bufferless-upload.log")
    line="round $round"
    for _ in 1 2 3; do
      t0=$(cpu_ticks "$pid")
      r=$(ip netns exec bl-client taskset -c 0 timeout 60 curl -sSk -H 'Expect:' --data-binary @"$DATA" https://198.18.1.1/ \
          -o /dev/stdout -w ' %{speed_upload}')
      t1=$(cpu_ticks "$pid")
      read -r got speed <<< "$r"
      line="$line | got $got B, $(awk -v s="$speed" 'BEGIN { printf "%.0f", s / 1e6 }') MB/s, $(awk -v t=$((t1 - t0)) -v h="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / h }') CPU-s"
    done
    echo "$line ($dll)"
    kill "$PROXY" 2>/dev/null; wait "$PROXY" 2>/dev/null || true; PROXY=
  done
done
