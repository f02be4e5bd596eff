#!/usr/bin/env python3
"""TLS client checks for the end-to-end tests, with python's ssl module (OpenSSL underneath).

Only loopback targets. Every loop is bounded in count and time.
  get HOST PORT CA PATH SHA256          one GET, checks TLS 1.3 and the body digest
  concurrent HOST PORT CA N PATH SHA256 N connections handshaken and held open at once, then one GET on each
  garbage HOST PORT N                   N clients send non-TLS bytes; each must get a TLS alert record, then EOF
"""
import hashlib
import socket
import ssl
import sys
import threading
import time

DEADLINE = time.monotonic() + 120


def check_target(host):
    if host not in ("127.0.0.1", "localhost", "::1"):
        sys.exit(f"refusing non-loopback target {host}")


def context(ca):
    ctx = ssl.create_default_context(cafile=ca)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    return ctx


def http_get(tls, host, path):
    tls.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
    data = bytearray()
    while time.monotonic() < DEADLINE:
        chunk = tls.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = bytes(data).partition(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0]
    return status, body


def get(host, port, ca, path, digest):
    ctx = context(ca)
    with socket.create_connection((host, int(port)), timeout=30) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
            version = tls.version()
            status, body = http_get(tls, "localhost", path)
    got = hashlib.sha256(body).hexdigest()
    print(f"version={version} status={status.decode()} bytes={len(body)} sha256={got}")
    return version == "TLSv1.3" and b" 200 " in status and got == digest


def concurrent(host, port, ca, n, path, digest):
    ctx = context(ca)
    n = int(n)
    conns, errors = [], []
    lock = threading.Lock()

    def open_one(_):
        try:
            raw = socket.create_connection((host, int(port)), timeout=30)
            tls = ctx.wrap_socket(raw, server_hostname="localhost")
            with lock:
                conns.append(tls)
        except Exception as e:  # noqa: BLE001 - report every failure
            with lock:
                errors.append(repr(e))

    threads = [threading.Thread(target=open_one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    print(f"handshaken and open at once: {len(conns)} of {n}; errors: {errors[:3]}")
    good = 0
    results = []

    def request(tls):
        try:
            status, body = http_get(tls, "localhost", path)
            ok = b" 200 " in status and hashlib.sha256(body).hexdigest() == digest
        except Exception as e:  # noqa: BLE001
            ok = False
            print("request failed:", repr(e))
        with lock:
            results.append(ok)
        tls.close()

    threads = [threading.Thread(target=request, args=(c,)) for c in conns]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    good = sum(results)
    print(f"requests answered correctly: {good} of {n}")
    return good == n and not errors


def garbage(host, port, n):
    alerts = 0
    for i in range(int(n)):
        with socket.create_connection((host, int(port)), timeout=10) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n" + bytes([i % 256]) * 64)
            data = b""
            while time.monotonic() < DEADLINE:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            # A TLS alert record: type 21, version 3.x, length 2.
            if len(data) >= 7 and data[0] == 21 and data[1] == 3 and data[3:5] == b"\x00\x02":
                alerts += 1
            else:
                print(f"client {i}: no alert, got {data[:16].hex()}")
    print(f"garbage clients answered with an alert: {alerts} of {n}")
    return alerts == int(n)


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    check_target(args[0])
    ok = {"get": get, "concurrent": concurrent, "garbage": garbage}[cmd](*args)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
