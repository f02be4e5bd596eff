# Shared helpers for the end-to-end scripts. Sourced, not run.
set -uo pipefail
E2E_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUFFERLESS_DLL=${BUFFERLESS_DLL:-$E2E_ROOT/src/Bufferless/bin/Release/net10.0/bufferless.dll}
E2E_PASSED=0
E2E_FAILED=0
E2E_PIDS=()

e2e_tmp() { E2E_TMP=$(mktemp -d /tmp/bl-e2e.XXXXXX); }

ok()   { E2E_PASSED=$((E2E_PASSED + 1)); printf '  ok    %s\n' "$*"; }
fail() { E2E_FAILED=$((E2E_FAILED + 1)); printf '  FAIL  %s\n' "$*"; }

# check NAME CMD...: runs CMD, ok if it exits 0.
check() {
  local name=$1; shift
  local out
  if out=$("$@" 2>&1); then ok "$name"; else fail "$name"; printf '%s\n' "$out" | tail -15 | sed 's/^/        /'; fi
}

# bg CMD...: starts CMD in the background and remembers it for cleanup. The pid also goes to a file: a process started
# inside `check` runs in a command substitution (a subshell), whose E2E_PIDS the script never sees.
bg() {
  "$@" &
  E2E_PIDS+=($!)
  [ -n "${E2E_TMP:-}" ] && echo $! >> "$E2E_TMP/.pids"
  return 0
}

cleanup() {
  local p pids=("${E2E_PIDS[@]:-}")
  [ -n "${E2E_TMP:-}" ] && [ -f "$E2E_TMP/.pids" ] && mapfile -t -O "${#pids[@]}" pids < "$E2E_TMP/.pids"
  for p in "${pids[@]}"; do [ -n "$p" ] && kill "$p" 2>/dev/null; done
  sleep 0.3
  for p in "${pids[@]}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null; done
  [ -n "${E2E_KEEP:-}" ] || rm -rf "${E2E_TMP:-/nonexistent}"
}

# wait_port PORT [SECONDS]: until something listens on 127.0.0.1:PORT.
wait_port() {
  local port=$1 t=${2:-20} i
  for ((i = 0; i < t * 10; i++)); do
    (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listens on 127.0.0.1:$port after ${t}s" >&2
  return 1
}

# exited PID SECONDS: true once PID has exited, false if it still runs after SECONDS.
exited() {
  local i
  for ((i = 0; i < $2 * 10; i++)); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
  return 1
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

summary() {
  local name=$1
  echo "$name: $E2E_PASSED passed, $E2E_FAILED failed"
  [ "$E2E_FAILED" -eq 0 ] && [ "$E2E_PASSED" -gt 0 ]
}

# start_nginx ROOTDIR PORT [PP_PORT]: plain-HTTP backend on loopback with PUT uploads into ROOTDIR/upload;
# with PP_PORT also a listener that expects a PROXY protocol header and logs the address it carries.
start_nginx() {
  local root=$1 port=$2 pp_port=${3:-} conf=$E2E_TMP/nginx.conf
  mkdir -p "$root/upload" "$E2E_TMP/nginx-tmp"
  cat > "$conf" <<NGX
daemon off;
$( [ "$(id -u)" = 0 ] && echo "user root;" )
worker_processes 1;
error_log $E2E_TMP/nginx-error.log warn;
pid $E2E_TMP/nginx.pid;
events { worker_connections 4096; }
http {
  access_log $E2E_TMP/nginx-access.log;
  client_body_temp_path $E2E_TMP/nginx-tmp/body;
  proxy_temp_path $E2E_TMP/nginx-tmp/proxy;
  fastcgi_temp_path $E2E_TMP/nginx-tmp/fastcgi;
  uwsgi_temp_path $E2E_TMP/nginx-tmp/uwsgi;
  scgi_temp_path $E2E_TMP/nginx-tmp/scgi;
  keepalive_requests 100000;
  server {
    listen 127.0.0.1:$port;
    root $root;
    client_max_body_size 0;
    location /upload/ { dav_methods PUT; create_full_put_path on; dav_access user:rw; }
  }
$( [ -n "$pp_port" ] && cat <<PP
  log_format pp 'pp_client=\$proxy_protocol_addr:\$proxy_protocol_port peer=\$remote_addr "\$request" \$status';
  server {
    listen 127.0.0.1:$pp_port proxy_protocol;
    root $root;
    access_log $E2E_TMP/nginx-pp-access.log pp;
  }
PP
)
}
NGX
  bg nginx -c "$conf"
  wait_port "$port"
}

# make_ca: a CA (ECDSA P-256) in ca.pem/ca.key in the current directory.
make_ca() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=Bufferless e2e CA" \
    -keyout ca.key -out ca.pem -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
}

# make_leaf NAME SAN EKU KEYARGS...: NAME.crt, NAME.key, NAME.chain.pem (leaf + CA), signed by ca.pem.
#   SAN like "DNS:localhost,IP:127.0.0.1"; EKU serverAuth or clientAuth.
make_leaf() {
  local name=$1 san=$2 eku=$3; shift 3
  local cn=${san%%,*}; cn=${cn#DNS:}
  openssl req -newkey "$@" -nodes -subj "/CN=$cn" -keyout "$name.key" -out "$name.csr" 2>/dev/null
  openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -out "$name.crt" \
    -extfile <(printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=%s\nkeyUsage=digitalSignature\n' "$san" "$eku") 2>/dev/null
  cat "$name.crt" ca.pem > "$name.chain.pem"
}

# start_bufferless LOGNAME PORT ARGS...: `bufferless proxy` on 127.0.0.1:PORT in the background, waits for the port.
start_bufferless() {
  local logname=$1 port=$2; shift 2
  bg dotnet "$BUFFERLESS_DLL" proxy --listen "127.0.0.1:$port" "$@" > "$logname.log" 2>&1
  wait_port "$port" 30
}
