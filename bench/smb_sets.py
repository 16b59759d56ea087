"""Issue 5's catalog target alone: ``catalog.read_sets`` from the loopback share vs a local dir.

Usage (from the repository root)::

    .venv/bin/python bench/smb_sets.py [--messages 2000] [--repeat 20] [--work DIR]

Generates a store, writes three sets (two fulls and a differential, the store mutated between
them) to a local directory and to a private smbd's share (``tests/samba.py``), then times
``workbench.catalog.read_sets(url)`` in this process with the manifest cache cleared before each
call, and counts the SMB round trips of one call (each request or compound of requests sent and
waited for). Prints medians, their ratio (target: at most 2) and the round trips; "smb cold" also
clears the SMB target's cache of file heads before each call.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


def wb(*args, env=None):
    subprocess.run([PY, "-m", "workbench", *args], check=True, env=env, cwd=ROOT,
                   stdout=subprocess.DEVNULL)


def make_sets(store, target, env):
    # Two fulls and a differential: rotation keeps only the newest differential of a full.
    for seed, kind in ((None, "full"), (2, "full"), (3, "differential")):
        if seed is not None:
            subprocess.run([PY, "-m", "workbench.samples", "mutate", str(store), "--seed",
                            str(seed)], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        wb("backup", kind, "--store", str(store), "--target", target, "--min-free", "0", env=env)


def count_round_trips(fn):
    """Requests and compounds sent while *fn()* runs (each waits for its reply: a round trip)."""
    from smbprotocol.connection import Connection
    sent = []
    orig_send, orig_compound = Connection.send, Connection.send_compound

    def send(self, message, *a, **k):
        sent.append(type(message).__name__)
        return orig_send(self, message, *a, **k)

    def send_compound(self, messages, *a, **k):
        sent.append("+".join(type(m).__name__ for m in messages))
        return orig_compound(self, messages, *a, **k)

    Connection.send, Connection.send_compound = send, send_compound
    try:
        fn()
    finally:
        Connection.send, Connection.send_compound = orig_send, orig_compound
    return sent


def timed(fn, repeat, clear):
    fn()  # imports, connection and logon, first-call setup
    walls = []
    for _ in range(repeat):
        clear()
        t = time.perf_counter()
        fn()
        walls.append(time.perf_counter() - t)
    return statistics.median(walls), walls


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--work", help="scratch directory (default: a new temporary one)")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "tests"))
    import samba

    work = Path(args.work or tempfile.mkdtemp(prefix="wb-smb-sets-"))
    work.mkdir(parents=True, exist_ok=True)
    server = samba.SambaServer(work / "samba").start()
    try:
        os.environ["WORKBENCH_SMB_USER"] = server.user
        os.environ["WORKBENCH_SMB_PASSWORD"] = server.password  # never printed
        env = dict(os.environ)
        local, url = work / "local", server.url("backup", "bench")
        for tgt in (str(local), url):
            store = work / "store"
            shutil.rmtree(store, ignore_errors=True)
            subprocess.run([PY, "-m", "workbench.samples", "generate", str(store), "--messages",
                            str(args.messages), "--seed", str(args.seed)], check=True, cwd=ROOT,
                           stdout=subprocess.DEVNULL)
            make_sets(store, tgt, env)

        from workbench import catalog
        from workbench.targets import smb
        # "cold" also forgets the SMB target's manifest heads (kept for reads that follow a
        # listing showing the same file version): every header is read from the share.
        cold = getattr(smb, "clear_cache", None)
        variants = {"local": (str(local), catalog.clear_cache), "smb": (url, catalog.clear_cache)}
        if cold is not None:
            variants["smb cold"] = (url, lambda: (catalog.clear_cache(), cold()))
        out, trips = {}, {}
        for name, (tgt, clear) in variants.items():
            out[name], _ = timed(lambda: catalog.read_sets(tgt), args.repeat, clear)
            if tgt == url:
                clear()
                trips[name] = count_round_trips(lambda: catalog.read_sets(url))
        df = catalog.read_sets(url)
        print(f"sets: {', '.join(df['name'])} ({', '.join(df['status'].astype(str))})")
        print(f"read_sets local median {out['local'] * 1000:.2f} ms")
        for name in variants:
            if name != "local":
                print(f"read_sets {name} median {out[name] * 1000:.2f} ms, ratio "
                      f"{out[name] / out['local']:.2f} (target <= 2), {len(trips[name])} round "
                      f"trips per call:")
                for t in trips[name]:
                    print("    ", t)
    finally:
        server.stop()
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
