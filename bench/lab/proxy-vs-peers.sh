#!/usr/bin/env bash
# Measures `bufferless proxy` beside haproxy and nginx in one run of the shared bench lab
# (../shared/bench: namespaces bl-client / bl-accel / bl-server, 198.18.0.0/15 only).
#   bench/lab/proxy-vs-peers.sh [PEER...]       default peers: haproxy nginx; "none" measures only bufferless
#   BL_TESTS="ka hsresume hs"   measure.sh tests for the bufferless ECDSA run (default: all)
#   BL_RSA=0                    skip the bufferless RSA full-handshake run
#   BL_DLL=PATH                 run this bufferless.dll instead of building src/Bufferless (A/B of two builds)
#   BL_ARGS="--warmup 0"        more flags for `bufferless proxy`
#   NS_CLIENT/NS_ACCEL/NS_SERVER/BENCH_STATE  another lab instance (see ../shared/bench/lib.sh)
# Writes bench/results/proxy-<timestamp>.{txt,md}. Needs root and the lab's apt packages (see its README).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/bench/lab/common.sh"
LAB=${BENCH_LAB:-$ROOT/../shared/bench}
export BENCH_STATE=${BENCH_STATE:-/tmp/bench-lab}
PEERS=("$@"); [ ${#PEERS[@]} -gt 0 ] || PEERS=(haproxy nginx)
STAMP=$(date +%Y%m%d-%H%M%S)
OUT=$ROOT/bench/results; mkdir -p "$OUT"
export RESULTS_FILE=$OUT/proxy-$STAMP.txt
DLL=${BL_DLL:-$ROOT/src/Bufferless/bin/Release/net10.0/bufferless.dll}
PIDFILE=$BENCH_STATE/run/bufferless.pid

[ -n "${BL_DLL:-}" ] || dotnet build "$ROOT/src/Bufferless" -c Release -v q -nologo >/dev/null
"$LAB/lab.sh" up >/dev/null

{ echo "META date=$(date -u +%FT%TZ) commit=$(git -C "$ROOT" rev-parse --short HEAD) dotnet=$(dotnet --version) openssl=$(openssl version | cut -d' ' -f2)"; } >> "$RESULTS_FILE"

for peer in "${PEERS[@]}"; do
  [ "$peer" = none ] && continue
  "$LAB/measure.sh" "$peer"
done

start_bufferless() { # start_bufferless ecdsa|rsa
  stop_bufferless
  mkdir -p "$(dirname "$PIDFILE")"
  ip netns exec "${NS_ACCEL:-bl-accel}" bash -c "ulimit -n \$(ulimit -Hn); exec taskset -c ${TERM_CPU:-1} dotnet '$DLL' proxy \
      --listen 198.18.1.1:443 --backend 198.18.2.2:80 \
      --cert '$BENCH_STATE/certs/$1.crt' --key '$BENCH_STATE/certs/$1.key' --log-level Warning --max-connections 20000 ${BL_ARGS:-}" \
      > "$BENCH_STATE/log/bufferless-$1.log" 2>&1 &
  echo $! > "$PIDFILE"
  for _ in $(seq 100); do
    ip netns exec "${NS_CLIENT:-bl-client}" bash -c 'exec 3<>/dev/tcp/198.18.1.1/443' 2>/dev/null && return 0
    sleep 0.1
  done
  echo "bufferless did not start"; cat "$BENCH_STATE/log/bufferless-$1.log"; return 1
}
stop_bufferless() { stop_pidfile "$PIDFILE"; }
trap stop_bufferless EXIT

mkdir -p "$BENCH_STATE/log"
start_bufferless ecdsa
TERM_PIDFILE=$PIDFILE LABEL=bufferless CERT=ecdsa TESTS="${BL_TESTS:-${TESTS:-info mem bulkdirect bulk ka lat hsresume hs}}" "$LAB/measure.sh" custom
if [ "${BL_RSA:-1}" != 0 ]; then
  start_bufferless rsa
  TERM_PIDFILE=$PIDFILE LABEL=bufferless CERT=rsa TESTS=hs "$LAB/measure.sh" custom
fi
stop_bufferless

python3 "$LAB/py/report.py" "$RESULTS_FILE" > "$OUT/proxy-$STAMP.md"
cat "$OUT/proxy-$STAMP.md"
echo "raw lines: $RESULTS_FILE"
