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
  lab_proxy "$DLL" "$1" 198.18.2.2:80 "$BENCH_STATE/log/bufferless-$1.log" --max-connections 20000 ${BL_ARGS:-}
  echo $! > "$PIDFILE"
  proxy_pid "$BENCH_STATE/log/bufferless-$1.log" >/dev/null
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
