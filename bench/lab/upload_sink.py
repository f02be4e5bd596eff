# Plain-HTTP sink for bench/lab/proxy-upload.sh: reads one request body (Content-Length) per connection and answers
# with the byte count it received. Exits after 120 s without a new connection. Usage: upload_sink.py ADDR PORT
import socket, sys, threading
def serve(c):
    try:
        buf = b""
        while b"\r\n\r\n" not in buf:
            d = c.recv(65536)
            if not d: return
            buf += d
        head, rest = buf.split(b"\r\n\r\n", 1)
        n = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"): n = int(line.split(b":")[1])
        got = len(rest)
        while got < n:
            d = c.recv(1 << 20)
            if not d: break
            got += len(d)
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%d" % (len(str(got)), got))
    finally:
        c.close()
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(16)
s.settimeout(120)
while True:
    try: c, _ = s.accept()
    except socket.timeout: break
    threading.Thread(target=serve, args=(c,), daemon=True).start()
