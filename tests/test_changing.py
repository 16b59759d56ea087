"""A file that changes while it is read costs only itself: read again once, else reported, and
the rest of the store is backed up (small files read whole by the packers, large ones streamed)."""

import importlib
import os
import subprocess
import sys
import time

import pytest

import workbench
from workbench.archive import pack
from workbench.archive.compress import checksum
from workbench.sets import list_sets

from helpers import make_store, snapshot, store_snapshot

backup_module = importlib.import_module("workbench.backup")  # the package exports the function
CHANGED = "changed while it was read (tried twice)"
BIG = 20 * 1024 * 1024  # above the streaming threshold


def _big_file(store, rel="store/mail/big.example/giant/INBOX/#msgs/00000001.eml"):
    path = os.path.join(store, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    line = b"".join(b"%08d lorem ipsum dolor sit amet, consectetur adipiscing\r\n" % i
                    for i in range(1000))
    with open(path, "wb") as f:
        f.write(b"Message-ID: <giant@example.com>\r\nSubject: big\r\n\r\n")
        while f.tell() < BIG:
            f.write(line)
    return rel


def _volumes(target):
    return sorted(os.path.join(target, n) for n in os.listdir(target) if n.endswith(".zip"))


def _check_volumes(target):
    for vol in _volumes(target):
        t = subprocess.run(["unzip", "-tqq", vol], capture_output=True, text=True)
        assert t.returncode == 0, (vol, t.stdout, t.stderr)
        t = subprocess.run(["7z", "t", vol], capture_output=True, text=True)
        assert t.returncode == 0 and "Everything is Ok" in t.stdout, (vol, t.stdout)


class _Appender:
    """A separate process that appends a byte to *path* every millisecond until stopped."""

    def __init__(self, path):
        code = ("import sys, time\nf = open(sys.argv[1], 'ab', buffering=0)\n"
                "print('go', flush=True)\nwhile True:\n    f.write(b'x')\n    time.sleep(0.001)\n")
        self.proc = subprocess.Popen([sys.executable, "-c", code, path], stdout=subprocess.PIPE)
        assert self.proc.stdout.readline() == b"go\n"

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()


def test_a_growing_large_file_is_reported_and_the_rest_is_backed_up(tmp_path):
    store = make_store(tmp_path / "server", messages=60, seed=3)
    victim = _big_file(store)
    before = {p: v for p, v in store_snapshot(store).items() if p != victim}
    target = str(tmp_path / "bk")
    grower = _Appender(os.path.join(store, victim))
    try:
        r = workbench.backup("full", store=store, target=target, min_free=0)
    finally:
        grower.stop()
    assert r.unreadable == [{"path": victim, "error": CHANGED}]
    assert r.files == len(before)
    [info] = list_sets(workbench.open_target(target))
    assert info.header["unreadable"] == [{"path": victim, "error": CHANGED}]
    _check_volumes(target)
    out = tmp_path / "out"
    workbench.restore(str(out), target=target)
    assert store_snapshot(out) == before


def test_a_small_file_that_keeps_changing_is_reported(tmp_path, monkeypatch):
    store = make_store(tmp_path / "server", messages=60, seed=3)
    victim = sorted(p for p in store_snapshot(store) if p.endswith(".eml"))[5]
    before = {p: v for p, v in store_snapshot(store).items() if p != victim}
    _grow_on_read(monkeypatch, os.path.join(store, victim), times=None)
    target = str(tmp_path / "bk")
    workbench.backup("full", store=store, target=target, min_free=0,
                     compression_level=1)  # a first run: processes (the patch does not reach)
    # the next run is small enough for threads, where the patched read applies
    r = workbench.backup("full", store=store, target=target, min_free=0)
    assert r.unreadable == [{"path": victim, "error": CHANGED}]
    assert r.files == len(before)
    _check_volumes(target)
    out = tmp_path / "out"
    workbench.restore(str(out), r.set_name, target=target)
    assert store_snapshot(out) == before


def _grow_on_read(monkeypatch, victim, times):
    """Make the packers' reads of *victim* append to it before they return (the first *times*
    reads, or every read if None): whole reads (``pack._read`` of a descriptor) and streamed
    ones (``pack.open``)."""
    real_open, real_read = open, pack._read
    count = [0]

    def grow():
        count[0] += 1
        with real_open(victim, "ab") as g:
            g.write(b"appended while read\r\n")
        os.utime(victim, ns=(time.time_ns(), time.time_ns() + 10**9 * count[0]))

    class Growing:
        def __init__(self, f):
            self._f = f

        def __getattr__(self, name):
            return getattr(self._f, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self._f.close()

        def read(self, *args):
            data = self._f.read(*args)
            if data and (times is None or count[0] < times):
                grow()
            return data

    def patched_open(path, *args, **kw):
        f = real_open(path, *args, **kw)
        return Growing(f) if os.fspath(path) == victim else f

    def patched_read(fd, n):
        data = real_read(fd, n)
        if data and (times is None or count[0] < times) and \
                os.readlink(f"/proc/self/fd/{fd}") == victim:
            grow()
        return data

    monkeypatch.setattr(pack, "open", patched_open, raising=False)
    monkeypatch.setattr(pack, "_read", patched_read)
    return count


def test_pack_file_reads_again_a_file_that_changed_during_the_first_read(tmp_path, monkeypatch):
    path = tmp_path / "m.eml"
    path.write_bytes(b"Subject: x\r\n\r\nbody\r\n" * 100)
    count = _grow_on_read(monkeypatch, str(path), times=1)
    packed = pack.pack_file(str(path), 3, True, "m.eml")
    assert count[0] == 1
    data = path.read_bytes()
    assert data.endswith(b"appended while read\r\n")
    assert (packed.size, packed.crc32) == (len(data), checksum(data))
    assert packed.mtime_ns == os.stat(path).st_mtime_ns


def test_pack_file_reports_a_file_that_changes_during_both_reads(tmp_path, monkeypatch):
    path = tmp_path / "m.eml"
    path.write_bytes(b"Subject: x\r\n\r\nbody\r\n" * 100)
    count = _grow_on_read(monkeypatch, str(path), times=None)
    assert pack.pack_file(str(path), 3, True, "m.eml") == pack.Failed("changed", CHANGED)
    assert count[0] == 2


@pytest.mark.parametrize("size", [100 * 1024, BIG], ids=["packed", "streamed"])
def test_a_file_changed_only_during_its_first_read_is_stored(tmp_path, monkeypatch, size):
    store = make_store(tmp_path / "server", messages=60, seed=3)
    target = str(tmp_path / "bk")
    workbench.backup("full", store=store, target=target, min_free=0)
    victim = _big_file(store)
    if size < BIG:
        with open(os.path.join(store, victim), "r+b") as f:
            f.truncate(size)
    count = _grow_on_read(monkeypatch, os.path.join(store, victim), times=1)
    # a second full is small enough for threads, where the patched read of the packers applies
    r = workbench.backup("full", store=store, target=target, min_free=0)
    assert count[0] == 1
    assert r.unreadable == []
    _check_volumes(target)
    out = tmp_path / "out"
    workbench.restore(str(out), r.set_name, target=target)
    assert snapshot(out) == store_snapshot(store)


def test_an_incompressible_file_that_changes_while_it_is_copied_is_read_again(tmp_path,
                                                                             monkeypatch):
    # Data that deflate cannot shrink is read a second time and stored as it is: a change during
    # that copy must not leave data that does not match the CRC-32 of the first pass.
    store = make_store(tmp_path / "server", messages=20, seed=3)
    target = str(tmp_path / "bk")
    workbench.backup("full", store=store, target=target, min_free=0)  # the next one: threads
    rel = "store/mail/big.example/giant/INBOX/search.fld"
    victim = os.path.join(store, rel)
    os.makedirs(os.path.dirname(victim))
    with open(victim, "wb") as f:
        f.write(os.urandom(BIG))
    real_open = open
    copies = []

    class CopyGrows:
        def __init__(self, f):
            self._f, self._rewound = f, False

        def __getattr__(self, name):
            return getattr(self._f, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self._f.close()

        def seek(self, *args):
            self._rewound = True
            return self._f.seek(*args)

        def read(self, *args):
            data = self._f.read(*args)
            if data and self._rewound and not copies:
                copies.append(1)
                with real_open(victim, "ab") as g:
                    g.write(b"more")
            return data

    monkeypatch.setattr(pack, "open", lambda p, *a, **k: CopyGrows(real_open(p, *a, **k))
                        if os.fspath(p) == victim else real_open(p, *a, **k), raising=False)
    r = workbench.backup("full", store=store, target=target, min_free=0)
    assert copies == [1] and r.unreadable == []
    _check_volumes(target)
    out = tmp_path / "out"
    workbench.restore(str(out), r.set_name, target=target)
    assert snapshot(out) == store_snapshot(store)
