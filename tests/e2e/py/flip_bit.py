#!/usr/bin/env python3
"""Sends one TLS 1.3 application-data record with one ciphertext bit flipped, then reports what came back.

  flip_bit.py HOST PORT CA PATH

Handshakes normally (python ssl over a MemoryBIO, so the record bytes can be altered on their way out), seals
"GET PATH HTTP/1.1" as one record, flips a bit in the middle of its ciphertext and sends it. Expects a TLS alert
(bad_record_mac, RFC 8446 §5.2) and then the end of the connection. Prints "port=N alert=... closed=..." and
exits 0 only if the alert was bad_record_mac. Only targets in 198.18.0.0/15, 2001:2::/48 or loopback.
"""
import ipaddress
import socket
import ssl
import sys


def allowed(host):
    a = ipaddress.ip_address(host)
    return a.is_loopback or a in ipaddress.ip_network("198.18.0.0/15") or a in ipaddress.ip_network("2001:2::/48")


def main():
    host, port, ca, path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    if not allowed(host):
        sys.exit(f"refusing target {host}")
    ctx = ssl.create_default_context(cafile=ca)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    sock = socket.create_connection((host, port), timeout=10)
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(inc, out, server_hostname=None if host[0].isdigit() or ":" in host else host)

    def pump_out():
        data = out.read()
        if data:
            sock.sendall(data)

    while True:
        try:
            tls.do_handshake()
            break
        except ssl.SSLWantReadError:
            pump_out()
            data = sock.recv(65536)
            if not data:
                sys.exit("connection closed during the handshake")
            inc.write(data)
    pump_out()  # client Finished
    print(f"port={sock.getsockname()[1]}", flush=True)

    tls.write(f"GET {path} HTTP/1.1\r\nHost: flip\r\n\r\n".encode())
    record = bytearray(out.read())
    if len(record) < 5 + 17 or record[0] != 23:
        sys.exit(f"unexpected record {record[:5].hex()}")
    record[5 + (len(record) - 5) // 2] ^= 0x04  # one ciphertext bit, in the middle of the encrypted payload
    sock.sendall(bytes(record))

    alert, closed = "none", "no"
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                closed = "fin"
                break
            inc.write(data)
            try:
                tls.read(65536)
                alert = "data"  # the server answered the altered request: the test fails
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLError as e:
                alert = e.reason or str(e)
    except ConnectionResetError:
        closed = "rst"
    except socket.timeout:
        closed = "timeout"
    print(f"alert={alert} closed={closed}")
    return 0 if "BAD_RECORD_MAC" in alert.upper() else 1


if __name__ == "__main__":
    sys.exit(main())
