#!/usr/bin/env python3
"""Where a workbench full backup spends its time: each stage timed alone, in one thread.

Usage (from the repository root)::

    .venv/bin/python bench/breakdown.py SERVER_DIR [--levels 1,3,5,6] [--limit N]

Stages: store walk; reading every file (page cache, after a warm-up read); CRC-32; message header
parsing (for the catalog's message index); deflate at the
given workbench ``compression_level`` values (through ``archive.compress.compress_member``, i.e.
ISA-L when installed) and zlib level 6 (what Info-ZIP ``zip -6`` uses); writing the compressed bytes
to a file (no fsync, then the fsync alone); manifest encoding; index build. All times are CPU-bound
single-thread seconds, so a stage's share of a parallel run is its time divided by the cores that
run it (only compression and CRC run in the worker threads).
"""

import argparse
import json
import os
import sys
import tempfile
import time
import zlib

from workbench.archive import manifest as mf
from workbench.archive.compress import _isal_level, compress_member
from workbench.archive.index import build_index
from workbench.model import Entry
from workbench.store import walk_store


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("server")
    ap.add_argument("--levels", default="1,3,5,6", help="workbench compression_level values")
    ap.add_argument("--limit", type=int, default=0, help="only the first N files (0: all)")
    args = ap.parse_args(argv)
    levels = [int(x) for x in args.levels.split(",")]
    out = {}

    out["walk_s"], files = timed(lambda: list(walk_store(args.server)))
    if args.limit:
        files = files[:args.limit]
    paths = [os.path.join(args.server, f.path) for f in files]
    total = sum(f.size for f in files)
    out["files"], out["bytes"] = len(files), total

    def read_all():
        data = []
        for p in paths:
            with open(p, "rb") as fh:
                data.append(fh.read())
        return data
    read_all()  # warm the page cache
    out["read_s"], blobs = timed(read_all)
    out["crc32_s"], _ = timed(lambda: [zlib.crc32(b) for b in blobs])
    try:
        from workbench.headers import parse_headers
    except ImportError:
        parse_headers = None
    if parse_headers is not None:
        msgs = [b for f, b in zip(files, blobs) if f.path.endswith(".eml")]
        out["parse_headers_s"], _ = timed(lambda: [parse_headers(b) for b in msgs])

    comp = {}
    for level in levels:
        t, payloads = timed(lambda: [compress_member(b, level)[1] for b in blobs])
        comp[f"wb{level}"] = {"isal_level": _isal_level(level), "s": t,
                              "bytes": sum(len(p) for p in payloads)}
        print(f"compression_level {level}: {t:.1f} s, {comp[f'wb{level}']['bytes']} bytes",
              file=sys.stderr, flush=True)

    def zlib6():
        n = 0
        for b in blobs:
            c = zlib.compressobj(6, zlib.DEFLATED, -15)
            n += len(c.compress(b) + c.flush())
        return n
    t, n = timed(zlib6)
    comp["zlib6"] = {"s": t, "bytes": n}
    out["compress"] = comp

    payloads = [compress_member(b, 3)[1] for b in blobs]
    with tempfile.TemporaryDirectory(dir=os.environ.get("TMPDIR")) as tmp:
        target = os.path.join(tmp, "out.bin")

        def write():
            with open(target, "wb") as fh:
                for p in payloads:
                    fh.write(p)
                fh.flush()
                return fh
        out["write_s"], _ = timed(write)

        def fsync():
            fd = os.open(target, os.O_RDONLY)
            os.fsync(fd)
            os.close(fd)
        out["fsync_s"], _ = timed(fsync)

        entries = [Entry(f.path, f.kind, f.domain, f.user, f.folder, f.size, f.mtime_ns,
                         zlib.crc32(b), "F20260101T000000Z", 0, i * 1000, len(p), 8)
                   for i, (f, b, p) in enumerate(zip(files, blobs, payloads))]
        doc = mf.dump({"set": "F20260101T000000Z"}, entries)
        out["manifest_encode_s"], enc = timed(lambda: mf.encode(doc))
        out["manifest_bytes"] = len(enc)
        out["index_build_s"], _ = timed(
            lambda: build_index(os.path.join(tmp, "i.sqlite"), "F20260101T000000Z", entries))
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
