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
