#!/usr/bin/env python3
"""The least CPU a full backup of a store can take on this machine, and what each deflater costs.

Usage (from the repository root)::

    .venv/bin/python bench/floor.py SERVER_DIR [SERVER_DIR ...] [--sample-mb 120]

For each store it prints two things, both in CPU seconds of one process (user + system):

- **deflaters**: a random sample of its message files (about ``--sample-mb`` MB, files under
  8 MB), deflated one file at a time by zlib 6 (what ``zip -6`` uses) and by every other deflater
  that is installed (ISA-L levels 0-3 through ``isal``, libdeflate levels 1-6 through
  ``deflate``, zlib-ng levels 1-6 through ``zlib-ng``): size over zlib 6's and MB/s on one core.
  The two extra libraries are not workbench dependencies; without them their rows are left out.
- **floor**: the whole store walked (scandir and one stat a file) and every file read (one
  ``os.read`` sized by the walk; files over 1 MiB in 1 MiB pieces), checksummed (CRC-32) and
  deflated by ISA-L at each ``--floor-levels`` level, in a loop that does nothing else: no
  header parsing, no zip records, no manifest, no index, no second process. A full backup does
  all of that work and more, so its process tree cannot take less CPU than this.

Compare a floor with the CPU budget that bench/run.py's targets give (0.30 x ``zip -6``'s CPU,
measured in the same run): where the floor alone takes most of the budget, no per-file work
written in Python fits in what is left.
"""

import argparse
import os
import random
import resource
import sys
import zlib

try:
    from isal import isal_zlib
except ImportError:  # pragma: no cover - isal is a workbench dependency
    isal_zlib = None


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def walk(directory):
    """``(path, size)`` of every regular file under *directory*, as a backup's walk stats them."""
    with os.scandir(directory) as it:
        for entry in it:
            if entry.is_dir(follow_symlinks=False):
                yield from walk(entry.path)
            elif entry.is_file(follow_symlinks=False):
                yield entry.path, entry.stat(follow_symlinks=False).st_size


def deflaters():
    """``name -> callable(bytes) -> raw deflate stream`` for every deflater installed."""
    out = {"zlib 6": lambda b: zlib.compress(b, 6)[2:-4]}
    if isal_zlib is not None:
        for level in (0, 1, 2, 3):
            out[f"ISA-L {level}"] = lambda b, l=level: isal_zlib.compress(b, l, wbits=-15)
    try:
        import deflate
        for level in range(1, 7):
            out[f"libdeflate {level}"] = lambda b, l=level: deflate.deflate_compress(b, l)
    except ImportError:
        pass
    try:
        from zlib_ng import zlib_ng
        for level in range(1, 7):
            out[f"zlib-ng {level}"] = lambda b, l=level: zlib_ng.compress(b, l, wbits=-15)
    except ImportError:
        pass
    return out


def compare_deflaters(files, sample_bytes, seed=1):
    messages = [p for p, size in files if p.endswith(".eml") and size < 8 << 20]
    random.Random(seed).shuffle(messages)
    data, total = [], 0
    for path in messages:
        if total >= sample_bytes:
            break
        with open(path, "rb") as f:
            data.append(f.read())
        total += len(data[-1])
    rows, base = [], None
    for name, fn in deflaters().items():
        started = cpu()
        size = sum(min(len(fn(b)), len(b)) for b in data)  # a member deflate grows is stored
        spent = cpu() - started
        base = base or size
        rows.append((name, size / base, total / spent / 1e6))
    return len(data), total, rows


def floor(files, level):
    """CPU seconds to read, checksum and deflate (ISA-L *level*) every file of *files*."""
    started = cpu()
    for path, size in files:
        fd = os.open(path, os.O_RDONLY)
        try:
            if size < 1 << 20:
                data = os.read(fd, size + 1)
                zlib.crc32(data)
                isal_zlib.compress(data, level, wbits=-15)
            else:
                co, crc = isal_zlib.compressobj(level, wbits=-15), 0
                while True:
                    data = os.read(fd, 1 << 20)
                    if not data:
                        break
                    crc = zlib.crc32(data, crc)
                    co.compress(data)
                co.flush()
            os.fstat(fd)
        finally:
            os.close(fd)
    return cpu() - started


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("server", nargs="+")
    ap.add_argument("--sample-mb", type=float, default=120)
    ap.add_argument("--floor-levels", default="1,3", help="ISA-L levels of the floor loop")
    args = ap.parse_args(argv)
    if isal_zlib is None:
        sys.exit("bench/floor.py needs isal (pip install isal)")
    for server in args.server:
        started = cpu()
        files = list(walk(server))
        walked = cpu() - started
        nbytes = sum(size for _, size in files)
        print(f"== {server}: {len(files)} files, {nbytes / 1e9:.2f} GB")
        count, total, rows = compare_deflaters(files, args.sample_mb * 1e6)
        print(f"deflaters, on {count} messages ({total / 1e6:.0f} MB), one file at a time:")
        for name, ratio, speed in rows:
            print(f"  {name:<13} size {ratio:.4f} x zlib 6   {speed:6.0f} MB/s")
        floor(files, 1)  # the page cache warm for every loop timed
        for level in (int(x) for x in args.floor_levels.split(",")):
            spent = floor(files, level)
            print(f"floor with ISA-L {level}: walk {walked:.2f} + read, CRC-32 and deflate "
                  f"{spent:.2f} = {walked + spent:.2f} CPU-s")


if __name__ == "__main__":
    main()
