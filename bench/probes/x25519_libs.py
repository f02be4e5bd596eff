#!/usr/bin/env python3
"""X25519 in the system's other crypto libraries, per call: the fixed-base (public key) and variable-base (shared
secret) scalar multiplications of nettle (libhogweed, GnuTLS's) and libsodium, beside the ctypes call overhead, which is
subtracted. For the question whether any library on a Debian machine computes the server's key share faster than
libcrypto's ladder (`openssl speed ecdhx25519`, one derive). Run pinned, on a quiet machine:
    taskset -c 1 python3 bench/probes/x25519_libs.py
A library that is not installed is skipped. Nothing leaves the process.
"""
import ctypes, ctypes.util, os, time


def per_call_us(f, *args, n=20000):
    for _ in range(2000):
        f(*args)
    t = time.perf_counter()
    for _ in range(n):
        f(*args)
    return (time.perf_counter() - t) / n * 1e6


def load(name):
    try:
        return ctypes.CDLL(name)
    except OSError:
        return None


out, scalar, point = ctypes.create_string_buffer(32), ctypes.create_string_buffer(os.urandom(32), 32), ctypes.create_string_buffer(32)
overhead = per_call_us(ctypes.CDLL(None).getpid)
print(f"ctypes call overhead {overhead:.2f} us (subtracted below)")
hogweed = load("libhogweed.so.6")
if hogweed:
    hogweed.nettle_curve25519_mul_g(point, scalar)
    print(f"nettle  curve25519_mul_g (fixed base)     {per_call_us(hogweed.nettle_curve25519_mul_g, out, scalar) - overhead:6.2f} us")
    print(f"nettle  curve25519_mul   (variable base)  {per_call_us(hogweed.nettle_curve25519_mul, out, scalar, point) - overhead:6.2f} us")
sodium = load("libsodium.so.23")
if sodium and sodium.sodium_init() >= 0:
    sodium.crypto_scalarmult_curve25519_base(point, scalar)
    print(f"sodium  scalarmult_base  (fixed base)     {per_call_us(sodium.crypto_scalarmult_curve25519_base, out, scalar) - overhead:6.2f} us")
    print(f"sodium  scalarmult       (variable base)  {per_call_us(sodium.crypto_scalarmult_curve25519, out, scalar, point) - overhead:6.2f} us")
