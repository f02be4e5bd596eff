#!/usr/bin/env bash
# A/B of two `bufferless proxy` builds in one lab, side by side: both run at once, pinned to the same CPU, on
# 198.18.1.1:443 (A) and 198.18.1.1:8443 (B), and the load alternates between them in short slices, so a change of the
# machine's speed during the run (other VMs on the host) hits both alike. CPU per connection is each process's run
# time (/proc/PID/task/*/schedstat, nanoseconds, every thread) over its slices.
#   bench/lab/proxy-ab.sh A.dll B.dll [ROUNDS]     ROUNDS (default 8) of: resumed (h2load, 2000 connections,
#                                                   Connection: close) and full ECDSA handshakes (hs_load.py, 3 s) on each
#                                                   side, A first in odd rounds and B first in even ones
#   bench/lab/proxy-ab.sh haproxy B.dll [ROUNDS]   the lab's HAProxy as side A (started by its terminator.sh, ECDSA)
#   AB_ENV_A / AB_ENV_B="NAME=VALUE ..."            extra environment for one side (same DLL twice: A/B of a setting)
#   AB_TESTS="resumed full ka"                      the slices of a round and their order (default "resumed full"); ka:
#                                                   keep-alive, wrk -t2 -c50 -d3s on /1k, as in the lab's ka test:
#                                                   requests/s, CPU and thread switches per request
#   CLIENT_CPU=0                                    where the load clients run (default 0, beside nginx, as in the lab;
#                                                   "0,1" lets them run beside the terminators too)
# Prints one line per slice and the totals; appends them to bench/results/ab-<timestamp>.txt. Needs root and the lab's
# apt packages (../shared/bench README). Every load is bounded in count and time; 198.18.0.0/15 only. Leaves the lab down.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/bench/lab/common.sh"
LAB=${BENCH_LAB:-$ROOT/../shared/bench}
export BENCH_STATE=${BENCH_STATE:-/tmp/bench-lab}
A=$1 B=$2 ROUNDS=${3:-8}
OUT=$ROOT/bench/results/ab-$(date -u +%Y%m%d-%H%M%S).txt
mkdir -p "$BENCH_STATE/log" "$(dirname "$OUT")"

"$LAB/lab.sh" up >/dev/null
PIDS=()
finish() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  [ "$A" = haproxy ] && "$LAB/terminator.sh" stop haproxy >/dev/null 2>&1 || true
  sleep 0.5; "$LAB/lab.sh" down >/dev/null 2>&1 || true
}
trap finish EXIT

start() { # start DLL PORT ENV LOG: prints the pid once the proxy answers
  LAB_PROXY_PORT=$2 LAB_PROXY_ENV=$3 lab_proxy "$1" ecdsa 198.18.2.2:80 "$4" --max-connections 20000
  LAB_PROXY_PORT=$2 proxy_pid "$4"
}
cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s += $1} END {printf "%.0f", s}'; }
resumed() { resumed_connections "$1" "$2" | awk '/^requests:/{print $8}'; }
full() { full_handshakes "$1" 3 | sed -E 's/.*conns=([0-9]+) failed=([0-9]+).*/\1 \2/'; }
# keepalive PORT: prints "REQUESTS ERRORS RATE" of a 3 s wrk run on CLIENT_CPU (errors: socket errors and non-2xx)
keepalive() {
  ip netns exec bl-client timeout 20 taskset -c "${CLIENT_CPU:-0}" wrk -t2 -c50 -d3s "https://198.18.1.1:$1/1k" 2>&1 | awk '
    /requests in/ { n = $1 } /Requests\/sec:/ { r = $2 }
    /Socket errors/ { gsub(",", ""); e += $4 + $6 + $8 + $10 } /Non-2xx/ { e += $NF }
    END { printf "%d %d %s\n", n, e + 0, r }'
}
# switches PID: context switches (voluntary and not) of all the process's threads so far; each is a sleep and a
# wake-up, and a wake-up of an idle CPU is an interrupt the waking CPU pays for
switches() { cat /proc/"$1"/task/*/status 2>/dev/null | awk '/voluntary_ctxt_switches/ { s += $2 } END { printf "%.0f", s }'; }
TESTS=${AB_TESTS:-resumed full}

if [ "$A" = haproxy ]; then
  "$LAB/terminator.sh" start haproxy ecdsa >/dev/null
  PA=$(cat "$BENCH_STATE/run/term-haproxy.pid")
else
  PA=$(start "$A" 443 "${AB_ENV_A:-}" "$BENCH_STATE/log/ab-a.log"); PIDS+=("$PA")
fi
PB=$(start "$B" 8443 "${AB_ENV_B:-}" "$BENCH_STATE/log/ab-b.log"); PIDS+=("$PB")
for port in 443 8443; do full "$port" >/dev/null; resumed "$port" 4000 >/dev/null; done # warm both paths of both
case " $TESTS " in *" ka "*) for port in 443 8443; do keepalive "$port" >/dev/null; done ;; esac

{ echo "META date=$(date -u +%FT%TZ) commit=$(git -C "$ROOT" rev-parse --short HEAD) A=$A${AB_ENV_A:+ ($AB_ENV_A)} B=$B${AB_ENV_B:+ ($AB_ENV_B)} rounds=$ROUNDS pids=$PA/$PB"; } | tee "$OUT"
declare -A ns conns rate sw
for k in Ar Br Af Bf Ak Bk; do ns[$k]=0; conns[$k]=0; rate[$k]=""; sw[$k]=0; done
add() { ns[$1]=$(( ${ns[$1]} + $2 )); conns[$1]=$(( ${conns[$1]} + $3 )); } # add KEY CPU_NS COUNT
for r in $(seq "$ROUNDS"); do
  line="round $r"
  order="A B"; [ $((r % 2)) = 0 ] && order="B A" # alternate, so a drift of the machine's speed favours neither
  for side in $order; do
    pid=$PA port=443; [ "$side" = B ] && { pid=$PB; port=8443; }
    line+=" | $side"
    for t in $TESTS; do
      c0=$(cpu_ns "$pid")
      case $t in
        resumed)
          ok=$(resumed "$port" 2000); c1=$(cpu_ns "$pid")
          [ "${ok:-0}" -gt 0 ] || { echo "resumed load against $side failed" >&2; exit 1; }
          add "${side}r" $((c1 - c0)) "$ok"
          line+=" resumed $(( (c1 - c0) / ok / 1000 )) us" ;;
        full)
          read -r ok failed < <(full "$port"); c1=$(cpu_ns "$pid")
          [ "${ok:-0}" -gt 0 ] && [ "${failed:-1}" = 0 ] || { echo "full-handshake load against $side failed" >&2; exit 1; }
          add "${side}f" $((c1 - c0)) "$ok"
          line+=" full $(( (c1 - c0) / ok / 1000 )) us" ;;
        ka)
          s0=$(switches "$pid"); read -r ok failed rps < <(keepalive "$port"); c1=$(cpu_ns "$pid"); s1=$(switches "$pid")
          [ "${ok:-0}" -gt 0 ] && [ "${failed:-1}" = 0 ] || { echo "keep-alive load against $side failed" >&2; exit 1; }
          add "${side}k" $((c1 - c0)) "$ok"; sw[${side}k]=$(( ${sw[${side}k]} + s1 - s0 ))
          rate[${side}k]+=" $rps"
          line+=" ka $rps req/s $(( (c1 - c0) / ok )) ns/req $(awk -v s=$((s1 - s0)) -v n="$ok" 'BEGIN {printf "%.3f", s / n}') switches/req" ;;
        *) echo "unknown test in AB_TESTS: $t" >&2; exit 2 ;;
      esac
    done
  done
  echo "$line" | tee -a "$OUT"
done
us() { awk -v n="${ns[$1]}" -v c="${conns[$1]}" 'BEGIN {printf "%.1f", n / c / 1000}'; }
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
total="total"
for t in $TESTS; do
  case $t in
    resumed) total+=" | resumed: A $(us Ar) us (${conns[Ar]} conns), B $(us Br) us (${conns[Br]})" ;;
    full) total+=" | full ECDSA: A $(us Af) us (${conns[Af]}), B $(us Bf) us (${conns[Bf]})" ;;
    ka) per() { awk -v s="${sw[$1]}" -v n="${conns[$1]}" 'BEGIN {printf "%.3f", s / n}'; }
        total+=" | keep-alive: A median $(echo "${rate[Ak]}" | median) req/s, $(us Ak) us/req, $(per Ak) switches/req (${conns[Ak]} reqs),"
        total+=" B median $(echo "${rate[Bk]}" | median) req/s, $(us Bk) us/req, $(per Bk) switches/req (${conns[Bk]})" ;;
  esac
done
echo "$total" | tee -a "$OUT"
