#!/usr/bin/env bash
# Crypto figures for docs/BENCHMARKS.md: BenchmarkDotNet (AEADs, key exchange) and, from the same run,
# `openssl speed` for the same primitives. Writes bench/results/crypto-<timestamp>.txt.
#   bench/crypto.sh [--job short|default]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
JOB=${1:---job}; JOBV=${2:-default}
STAMP=$(date +%Y%m%d-%H%M%S)
OUT=$ROOT/bench/results; mkdir -p "$OUT"
TXT=$OUT/crypto-$STAMP.txt
{
  echo "# crypto benchmarks $(date -u +%FT%TZ) commit $(git -C "$ROOT" rev-parse --short HEAD)"
  echo "# $(lscpu | grep 'Model name' | sed 's/  */ /g'); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "## openssl speed"
  openssl version
  for c in aes-128-gcm aes-256-gcm chacha20-poly1305; do
    taskset -c 1 openssl speed -elapsed -seconds 3 -bytes 1448 -evp "$c" 2>/dev/null | tail -1
    taskset -c 1 openssl speed -elapsed -seconds 3 -bytes 16384 -evp "$c" 2>/dev/null | tail -1
  done
  taskset -c 1 openssl speed -elapsed -seconds 3 ecdhx25519 ecdhp256 ecdhp384 2>/dev/null | grep -E 'op/s|ecdh' | tail -4
} | tee "$TXT"
cd "$ROOT"
taskset -c 1 dotnet run -c Release --project bench/Bufferless.Benchmarks -- \
  --filter '*AesGcm*' '*ChaCha*' '*KeyExchange*' $JOB "$JOBV" --exporters github 2>&1 | tee -a "$TXT" | grep -E '^\|' || true
echo "## BenchmarkDotNet tables: $ROOT/BenchmarkDotNet.Artifacts/results/" | tee -a "$TXT"
echo "written: $TXT"
