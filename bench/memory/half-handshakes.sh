#!/usr/bin/env bash
# What a client that stops half-way through its handshake costs `bufferless proxy`: N connections (default 2000) on
# loopback send a ClientHello and never their Finished. Prints the proxy's RSS growth per connection and its counters
# line (SIGUSR1: GC heap, allocation) while they are open. Loopback only; the connections close when it ends.
#   bench/memory/half-handshakes.sh [DLL [N]]     default: a Release build of src/Bufferless
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DLL=${1:-}
N=${2:-2000}
if [ -z "$DLL" ]; then
  dotnet build "$ROOT/src/Bufferless" -c Release -v q -nologo >/dev/null
  DLL=$ROOT/src/Bufferless/bin/Release/net10.0/bufferless.dll
fi
ulimit -n $((N + 1000))
WORK=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/key.pem" -out "$WORK/cert.pem" \
  -subj /CN=localhost -days 1 2>/dev/null
dotnet "$DLL" proxy --listen "127.0.0.1:$PORT" --backend 127.0.0.1:9 --cert "$WORK/cert.pem" --key "$WORK/key.pem" \
  --log-level Warning --max-connections $((N + 100)) > "$WORK/proxy.log" 2>&1 &
PROXY=$!
trap 'kill $PROXY 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done
rss() { awk '/VmRSS/ { print $2 }' "/proc/$PROXY/status"; }
r0=$(rss)
coproc CLIENTS { exec timeout 120 python3 "$ROOT/tests/e2e/py/half_handshakes.py" "$PORT" "$N"; }
read -r line <&"${CLIENTS[0]}"
r1=$(rss)
kill -USR1 "$PROXY"; sleep 0.5
echo "$line half-done handshakes: proxy RSS $r0 -> $r1 KiB, $(( (r1 - r0) * 1024 / N )) B each"
grep -o "counters: .*" "$WORK/proxy.log" | head -1
echo >&"${CLIENTS[1]}"
wait "$CLIENTS_PID" 2>/dev/null || true
