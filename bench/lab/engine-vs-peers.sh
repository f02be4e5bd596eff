#!/usr/bin/env bash
# Measures `bufferless cut-through` (the packet engine, transparent in-path) beside haproxy and nginx in one run
# of the shared bench lab (../shared/bench: namespaces bl-client / bl-accel / bl-server, 198.18.0.0/15 only).
#   bench/lab/engine-vs-peers.sh [PEER...]       default peers: haproxy nginx; "none": the engine only
# Environment: TESTS (measure.sh's test list, for the peers and the engine's ECDSA run), ENGINE_MODE
# (verified|bufferless), ENGINE_OFFLOAD (auto|off: the engine's --offload), ENGINE_RSA=0 (skip the RSA handshake run),
# ENGINE_ENV (extra VAR=value words for the engine process, e.g. GC settings).
# Writes bench/results/engine-<timestamp>.{txt,md}. Needs root and the lab's apt packages (see its README).
#
# Order matters: the peers are measured on the plain lab first; then `bufferless lab up` adds the TUN and the
# policy rules to the same namespaces (idempotent, same names and addresses) and the engine is measured with the
# client talking to the server's own address (TARGET_HOST=198.18.2.2, the README's "transparent, in-path" case).
# While the rules are in place every reply from the server's port 80 crosses the engine, so measure.sh's
# direct-path baselines (bulkdirect, lat direct) also go through it: they need the engine to pass flows it does
# not know through unchanged. The policy rules are removed again on exit, leaving the plain lab.sh lab.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/bench/lab/common.sh"
LAB=${BENCH_LAB:-$ROOT/../shared/bench}
export BENCH_STATE=${BENCH_STATE:-/tmp/bench-lab}
PEERS=("$@"); [ ${#PEERS[@]} -gt 0 ] || PEERS=(haproxy nginx)
STAMP=$(date +%Y%m%d-%H%M%S)
OUT=$ROOT/bench/results; mkdir -p "$OUT"
export RESULTS_FILE=$OUT/engine-$STAMP.txt
DLL=$ROOT/src/Bufferless/bin/Release/net10.0/bufferless.dll
PIDFILE=$BENCH_STATE/run/bufferless-engine.pid
MODE=${ENGINE_MODE:-verified}
OFFLOAD=${ENGINE_OFFLOAD:-auto}

dotnet build "$ROOT/src/Bufferless" -c Release -v q -nologo >/dev/null
"$LAB/lab.sh" up >/dev/null

echo "META date=$(date -u +%FT%TZ) commit=$(git -C "$ROOT" rev-parse --short HEAD) dotnet=$(dotnet --version) openssl=$(openssl version | cut -d' ' -f2) engine_mode=$MODE engine_offload=$OFFLOAD engine_env=${ENGINE_ENV:-none}" >> "$RESULTS_FILE"

for peer in "${PEERS[@]}"; do
  [ "$peer" = none ] && continue
  "$LAB/measure.sh" "$peer"
done

start_engine() { # start_engine ecdsa|rsa
  stop_engine
  mkdir -p "$(dirname "$PIDFILE")" "$BENCH_STATE/log"
  ip netns exec bl-accel bash -c "exec env ${ENGINE_ENV:-} taskset -c ${TERM_CPU:-1} dotnet '$DLL' cut-through --tun bl-tun --mode $MODE --offload $OFFLOAD \
      --cert '$BENCH_STATE/certs/$1.crt' --key '$BENCH_STATE/certs/$1.key' --log-level Warning" \
      > "$BENCH_STATE/log/bufferless-engine-$1.log" 2>&1 &
  echo $! > "$PIDFILE"
  for _ in $(seq 100); do
    ip netns exec bl-client curl -s -o /dev/null --max-time 1 --cacert "$BENCH_STATE/certs/$1.crt" https://198.18.2.2/0b && return 0
    sleep 0.1
  done
  echo "engine did not start"; cat "$BENCH_STATE/log/bufferless-engine-$1.log"; return 1
}
stop_engine() { stop_pidfile "$PIDFILE"; }
uninstall_rules() {
  stop_engine
  ip -n bl-accel rule del table 100 2>/dev/null || true; ip -n bl-accel rule del table 100 2>/dev/null || true
  ip -n bl-accel -6 rule del table 100 2>/dev/null || true; ip -n bl-accel -6 rule del table 100 2>/dev/null || true
}
trap uninstall_rules EXIT

dotnet "$DLL" lab up --state "$BENCH_STATE" >/dev/null
start_engine ecdsa
LABEL=engine-$MODE; [ "$OFFLOAD" = auto ] || LABEL=$LABEL-offload-$OFFLOAD
TARGET_HOST=198.18.2.2 TERM_PIDFILE=$PIDFILE LABEL=$LABEL CERT=ecdsa "$LAB/measure.sh" custom
if [ "${ENGINE_RSA:-1}" != 0 ]; then
  start_engine rsa
  TARGET_HOST=198.18.2.2 TERM_PIDFILE=$PIDFILE LABEL=$LABEL CERT=rsa TESTS=hs "$LAB/measure.sh" custom
fi
uninstall_rules

python3 "$LAB/py/report.py" "$RESULTS_FILE" > "$OUT/engine-$STAMP.md"
cat "$OUT/engine-$STAMP.md"
echo "raw lines: $RESULTS_FILE"
