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
