"""Helpers shared by the tests: snapshots of directory trees, generated stores and the committed
sample store."""

import hashlib
import os
import shutil
from pathlib import Path

from workbench import samples

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "samples" / "kerio"


def snapshot(root):
    """``{relative path: (sha256, size, mtime_ns)}`` of every regular file under *root*."""
    out = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            full = os.path.join(dirpath, name)
            if os.path.islink(full):
                continue
            rel = os.path.relpath(full, root).replace(os.sep, "/")
            with open(full, "rb") as f:
                digest = hashlib.sha256(f.read()).hexdigest()
            st = os.stat(full)
            out[rel] = (digest, st.st_size, st.st_mtime_ns)
    return out


def store_snapshot(server_dir):
    """The snapshot of what a backup takes from a server directory (the backup dir excluded)."""
    return {p: v for p, v in snapshot(server_dir).items() if not p.startswith("store/backup/")}


def make_store(path, messages=300, seed=7):
    samples.generate(str(path), messages=messages, seed=seed)
    return str(path)


def copy_sample(dest):
    """A copy of the committed sample server directory at *dest* (built by the generator when
    the checkout has none)."""
    if SAMPLE.is_dir():
        shutil.copytree(SAMPLE, dest)
    else:
        samples.build_sample(dest)
    return str(dest)
