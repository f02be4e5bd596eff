# Shared by bench/lab/*.sh. Sourced, not run.

# stop_pidfile FILE: stops the process whose pid FILE holds (TERM, up to 5 s, then KILL) and removes FILE.
stop_pidfile() {
  [ -f "$1" ] || return 0
  local pid; pid=$(cat "$1")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$1"
}

# lab_proxy DLL CERT BACKEND LOG [FLAG...]: starts `bufferless proxy` in the background in bl-accel on
# 198.18.1.1:LAB_PROXY_PORT (default 443), pinned to TERM_CPU (default 1), with the lab's CERT (ecdsa|rsa), log level
# Warning and the open-file limit raised; LAB_PROXY_ENV="NAME=VALUE ..." goes into its environment. Its pid is in $!
# afterwards.
lab_proxy() {
  local dll=$1 cert=$2 backend=$3 log=$4; shift 4
  ip netns exec "${NS_ACCEL:-bl-accel}" bash -c "ulimit -n \$(ulimit -Hn); exec env ${LAB_PROXY_ENV:-} taskset -c ${TERM_CPU:-1} \
      dotnet '$dll' proxy --listen 198.18.1.1:${LAB_PROXY_PORT:-443} --backend $backend --cert '$BENCH_STATE/certs/$cert.crt' \
      --key '$BENCH_STATE/certs/$cert.key' --log-level Warning $*" > "$log" 2>&1 &
}

# proxy_pid LOG: waits (up to 10 s) until `bufferless proxy` answers on 198.18.1.1:LAB_PROXY_PORT (default 443) and
# prints its pid; on failure prints LOG to stderr and returns 1.
proxy_pid() {
  local pid= port=${LAB_PROXY_PORT:-443}
  for _ in $(seq 100); do
    pid=$(pgrep -f "bufferless.dll proxy --listen 198.18.1.1:$port " | head -1 || true)
    [ -n "$pid" ] && ip netns exec "${NS_CLIENT:-bl-client}" bash -c "exec 3<>/dev/tcp/198.18.1.1/$port" 2>/dev/null && { echo "$pid"; return 0; }
    sleep 0.1
  done
  { echo "proxy did not start"; cat "$1"; } >&2
  return 1
}

# full_handshakes PORT SECONDS: new TLS connections with a full handshake and one request to 198.18.1.1:PORT for
# SECONDS (hs_load.py, 4 processes); prints its summary line (conns=.. failed=..). The client runs on CLIENT_CPU
# (default 0), as in the lab's own tests: let loose on both CPUs (CLIENT_CPU=0,1) it also runs beside the terminator,
# which then idles less, and our CPU per full handshake read lower (docs/BENCHMARKS.md 0.1).
full_handshakes() { ip netns exec bl-client timeout $(($2 + 10)) taskset -c "${CLIENT_CPU:-0}" python3 "$LAB/py/hs_load.py" 198.18.1.1 "$1" "$2" 4 /0b; }

# resumed_connections PORT N: N h2load connections to 198.18.1.1:PORT, 16 at a time, each one request with
# Connection: close; h2load resumes its TLS session on each reconnect. Prints h2load's output. On CLIENT_CPU (default 0).
resumed_connections() { ip netns exec bl-client timeout 40 taskset -c "${CLIENT_CPU:-0}" h2load --h1 -n "$2" -c 16 -t 1 -H 'Connection: close' "https://198.18.1.1:$1/0b" 2>&1; }

# breakdown PERF_DATA LABEL: share of a process's perf samples by part (kernel, libcrypto, libssl, JIT, runtime,
# managed assemblies, the peer's own binary).
breakdown() {
  echo "## $2: share of the process's perf samples"
  perf report -i "$1" --no-children --sort dso,sym -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | awk '
    { p = $1; sub("%", "", p); c = "other";
      if ($0 ~ /\[kernel/) c = "kernel"; else if ($0 ~ /libcrypto/) c = "libcrypto"; else if ($0 ~ /libclrjit/) c = "JIT";
      else if ($0 ~ /libcoreclr/) c = "runtime (coreclr)"; else if ($0 ~ /libc\.so/) c = "libc"; else if ($0 ~ /libssl/) c = "libssl";
      else if ($0 ~ /haproxy|nginx/) c = "the peer (own code)";
      else if ($0 ~ /\[Bufferless\.Tls\]/) c = "managed Bufferless.Tls"; else if ($0 ~ /\[Bufferless\.Crypto\]/) c = "managed Bufferless.Crypto";
      else if ($0 ~ /\[Bufferless\.Proxy\]/) c = "managed Bufferless.Proxy"; else if ($0 ~ /System\.Net|Sockets/) c = "managed System.Net.Sockets";
      else if ($0 ~ /CoreLib/) c = "managed CoreLib"; else if ($0 ~ /stub /) c = "runtime stubs";
      s[c] += p }
    END { for (c in s) printf "%6.2f%% %s\n", s[c], c }' | sort -rn
}

# syscalls_per_conn STRACE_C_OUTPUT CONNECTIONS: system calls per connection from `strace -c -o FILE` (the frequent ones).
syscalls_per_conn() {
  awk -v n="$2" 'NR > 2 && $NF != "total" && $0 !~ /^-/ { calls = ($4 ~ /^[0-9]+$/) ? $4 : 0; errs = ($5 ~ /^[0-9]+$/) ? $5 : 0;
     if (calls >= n / 2) printf "%-14s %5.2f per connection (%.2f failed)\n", $NF, calls / n, errs / n }' "$1"
}

# active_opens NETNS: TCP connections the namespace has opened so far (Tcp ActiveOpens in /proc/net/snmp).
active_opens() { ip netns exec "$1" awk '/^Tcp:/ { n++; if (n == 2) print $6 }' /proc/net/snmp; }

# profile_handshakes PIDS FILE_PREFIX LABEL_PREFIX: warms a terminator on 198.18.1.1:443 with full handshakes and
# resumed connections, records perf for each (hs_load.py 6 s; h2load 8000 resumed), prints the share of its samples by
# part, the backend connections it opened per resumed connection, and its system calls per resumed connection
# (strace -c over 1000). PIDS: comma-separated. Needs LAB (the shared bench) and OUTDIR; every load is bounded.
profile_handshakes() {
  local pids=$1 out="$OUTDIR/$2" label=$3 pr st opens0 opens1 p
  hs() { full_handshakes 443 "$1"; }
  resumed() { resumed_connections 443 "$1" | grep -E '^finished'; }
  hs 3 >/dev/null; resumed 4000 >/dev/null   # warm both paths
  perf record -F 2000 -g -p "$pids" -o "${out}full.data" -- sleep 6 >/dev/null 2>&1 &
  pr=$!; hs 6; wait $pr
  perf record -F 2000 -g -p "$pids" -o "${out}resumed.data" -- sleep 5 >/dev/null 2>&1 &
  pr=$!; opens0=$(active_opens bl-accel); resumed 8000; opens1=$(active_opens bl-accel); wait $pr
  breakdown "${out}full.data" "${label}full handshakes (hs_load.py, +1 request)"
  breakdown "${out}resumed.data" "${label}resumed connections (h2load, Connection: close)"
  echo "## backend connections opened during 8000 resumed connections: $((opens1 - opens0))"
  echo "## system calls per resumed connection (strace -c over 1000 connections)"
  local strace_p=(); for p in ${pids//,/ }; do strace_p+=(-p "$p"); done
  timeout 60 strace -c -f "${strace_p[@]}" -o "${out}strace.txt" 2>/dev/null &
  st=$!; sleep 1
  resumed 1000 >/dev/null
  sleep 0.5; kill -INT $st 2>/dev/null || true; wait $st 2>/dev/null || true
  syscalls_per_conn "${out}strace.txt" 1000
}
