#!/usr/bin/env python3
"""What encryption costs: per member (WinZip AES) and per byte (AES members, sealed files).

Usage (from the repository root)::

    .venv/bin/python bench/crypto_costs.py [--members N] [--payload BYTES]

Figures are CPU seconds of this process (``time.process_time``), the best of a few rounds, so
that other work on the machine inflates them less than wall time would; the two-process figure
is wall time, and shows whether the key derivation spreads over the cores. The last lines
project the cost onto a full backup of *members* members with *payload* bytes of compressed
payload each, on this machine's cores.
"""

import argparse
import io
import os
import subprocess
import sys
import time

from workbench.archive import aes, sealed


def best(fn, rounds=5):
    times = []
    for _ in range(rounds):
        t = time.process_time()
        fn()
        times.append(time.process_time() - t)
    return min(times)


def _derive_many(n):
    key = aes.ZipKey("benchmark password")
    for _ in range(n):
        key.derive(os.urandom(aes.SALT_SIZE))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, default=100_000)
    ap.add_argument("--payload", type=int, default=7_500, help="compressed bytes per member")
    args = ap.parse_args(argv)
    key = aes.ZipKey("benchmark password")
    cores = os.cpu_count() or 1

    n = 400
    kdf = best(lambda: _derive_many(n)) / n
    print(f"PBKDF2-HMAC-SHA1 x1000, 66 bytes (one member's keys): {kdf * 1e3:.3f} ms CPU")

    per_proc = 600
    code = ("import os; from workbench.archive import aes; k = aes.ZipKey('benchmark password'); "
            f"[k.derive(os.urandom(16)) for _ in range({per_proc})]")
    t = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(cores)]
    for p in procs:
        p.wait()
    wall = (time.perf_counter() - t) / (per_proc * cores)
    print(f"  in {cores} processes at once: {wall * 1e3:.3f} ms wall per member "
          f"(includes the processes' start)")

    payload = os.urandom(args.payload)
    n = 300
    whole = best(lambda: [aes.encrypt_payload(payload, key) for _ in range(n)]) / n
    print(f"encrypt_payload of {args.payload} bytes (KDF included): {whole * 1e6:.0f} us CPU")

    enc = aes.MemberEncryptor(key)
    small = best(lambda: [enc.update(payload) for _ in range(2000)]) / 2000
    print(f"AES-CTR + HMAC-SHA1 alone, {args.payload}-byte pieces: "
          f"{args.payload / small / 2**20:.0f} MiB/s CPU")
    big = os.urandom(1 << 20)
    stream = best(lambda: [aes.MemberEncryptor(key).update(big) for _ in range(32)]) / 32
    print(f"AES-CTR + HMAC-SHA1 streaming, 1 MiB pieces: {1 / stream:.0f} MiB/s CPU")
    member = aes.encrypt_payload(big * 8, key)
    dec = best(lambda: aes.decrypt_payload(member, key), 3) / 8
    print(f"decrypt_payload of 8 MiB: {1 / dec:.0f} MiB/s CPU")

    ring = sealed.Keyring("benchmark password")
    kdf_set = best(ring.new_key, 3)
    print(f"scrypt n=2**15 r=8 p=1 (once per chain and process): {kdf_set * 1e3:.0f} ms CPU")
    set_key = ring.new_key()
    data = os.urandom(64 << 20)

    def write():
        buf = io.BytesIO()
        with sealed.SealedWriter(buf, set_key) as w:
            for i in range(0, len(data), 1 << 20):
                w.write(data[i:i + (1 << 20)])
        return buf

    blob = write().getvalue()

    def read():
        r = sealed.open_sealed(io.BytesIO(blob), ring)
        while r.read(1 << 20):
            pass

    print(f"sealed file (AES-256-GCM, 64 KiB chunks): write {64 / best(write, 3):.0f} MiB/s, "
          f"read {64 / best(read, 3):.0f} MiB/s CPU")

    total_kdf = args.members * kdf
    total_bytes = args.members * args.payload * small / args.payload
    print(f"\n{args.members} members of {args.payload} bytes: key derivation {total_kdf:.1f} CPU-s,"
          f" AES-CTR + HMAC {total_bytes:.1f} CPU-s; on {cores} cores at best "
          f"{(total_kdf + total_bytes) / cores:.1f} s more wall time")


if __name__ == "__main__":
    main()
