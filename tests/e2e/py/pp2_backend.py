#!/usr/bin/env python3
"""A plain-HTTP backend on loopback that expects a PROXY protocol v2 header, records what it carries, answers 200.

usage: pp2_backend.py PORT OUTFILE   (serves until killed; each connection appends one line to OUTFILE)
The line: src=ADDR:PORT authority=... alpn=... ssl_version=... ssl_cipher=... ssl_cn=... client_flags=N verify=N
"""
import socket
import struct
import sys
import threading

SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def recv_exact(c, n):
    data = b""
    while len(data) < n:
        chunk = c.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def tlvs(data):
    out = {}
    while data:
        t, n = data[0], struct.unpack(">H", data[1:3])[0]
        out[t] = data[3:3 + n]
        data = data[3 + n:]
    return out


def serve(c, outfile):
    with c:
        head = recv_exact(c, 16)
        if head[:12] != SIG:
            open(outfile, "a").write("bad signature\n")
            return
        length = struct.unpack(">H", head[14:16])[0]
        body = recv_exact(c, length)
        fam = head[13]
        if fam == 0x11:
            src = socket.inet_ntop(socket.AF_INET, body[0:4]); sport = struct.unpack(">H", body[8:10])[0]; rest = body[12:]
        else:
            src = socket.inet_ntop(socket.AF_INET6, body[0:16]); sport = struct.unpack(">H", body[32:34])[0]; rest = body[36:]
        t = tlvs(rest)
        fields = {"src": f"{src}:{sport}", "authority": t.get(2, b"-").decode(), "alpn": t.get(1, b"-").decode()}
        if 0x20 in t:
            ssl = t[0x20]
            fields["client_flags"] = str(ssl[0])
            fields["verify"] = str(struct.unpack("<I", ssl[1:5])[0])
            sub = tlvs(ssl[5:])
            fields["ssl_version"] = sub.get(0x21, b"-").decode()
            fields["ssl_cipher"] = sub.get(0x23, b"-").decode()
            fields["ssl_cn"] = sub.get(0x22, b"-").decode().replace(" ", "_")
        open(outfile, "a").write(" ".join(f"{k}={v}" for k, v in fields.items()) + "\n")
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = c.recv(4096)
            if not chunk:
                return
            buf += chunk
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n")


def main():
    port, outfile = int(sys.argv[1]), sys.argv[2]
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(64)
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c, outfile), daemon=True).start()


if __name__ == "__main__":
    main()
