# Opens N TCP connections to 127.0.0.1:PORT, sends a real ClientHello on each (python ssl, MemoryBIO) and never
# continues the handshake; prints "open N" and holds them until a line arrives on stdin. Used by tests/e2e/proxy.sh and
# bench/memory/half-handshakes.sh.
import socket, ssl, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
socks = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname="localhost")
    try: obj.do_handshake()
    except ssl.SSLWantReadError: pass
    s.sendall(out.read())
    socks.append((s, obj))
time.sleep(1.5)
print("open", len(socks), flush=True)
sys.stdin.readline()
