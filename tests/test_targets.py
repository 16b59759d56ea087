"""The Target contract (targets/base.py), run against every implementation: local and SMB.

Modelled on restic's backend tests: the same behaviour, byte for byte, whatever the transport.
"""

import os
import random

import pytest

from workbench.targets import LocalTarget, Target, open_target

from samba import PASSWORD


@pytest.fixture(params=["local", "smb"])
def target(request, tmp_path):
    if request.param == "local":
        t = LocalTarget(tmp_path / "backup")
    else:
        t = open_target(request.getfixturevalue("smb_url"), password=PASSWORD)
    t.ensure()
    with t:  # Target.close on the way out (a remote one lets go of its connections)
        yield t


def _data(n, seed=1):
    return random.Random(seed).randbytes(n)


def test_empty_target_lists_nothing(target):
    assert target.exists()
    assert target.list() == {}
    target.ensure()  # twice is fine
    assert target.list() == {}


def test_missing_directory(tmp_path, request):
    for t in (LocalTarget(tmp_path / "nope"),
              open_target(request.getfixturevalue("smb_url"), password=PASSWORD)):
        assert not t.exists()
        with pytest.raises(Exception) as e:
            t.list()
        assert "does not exist" in str(e.value)
        t.ensure()
        assert t.exists() and t.list() == {}


def test_write_seek_and_read_back(target):
    data = _data(3 * 1024 * 1024 + 17)
    with target.open_write("vol.partial") as f:
        f.write(data[:1000])
        f.write(b"\0" * 10)          # placeholder, patched below (as the zip writer does)
        f.write(data[1010:])
        end = f.tell()
        f.seek(1000)
        f.write(data[1000:1010])
        f.seek(end)
        f.write(b"tail")
        f.seek(len(data))
        f.truncate()                 # drops "tail" again
    assert target.list() == {"vol.partial": len(data)}
    with target.open_read("vol.partial") as f:
        assert f.read() == data
        f.seek(12345)
        assert f.read(100) == data[12345:12445]
        f.seek(-5, os.SEEK_END)
        assert f.read() == data[-5:]
        assert f.tell() == len(data)
        f.seek(2 * 1024 * 1024 - 3)
        assert f.read(6) == data[2 * 1024 * 1024 - 3:2 * 1024 * 1024 + 3]
    assert target.read_bytes("vol.partial") == data


def test_open_write_truncates(target):
    target.write_new("a", b"long content here")
    with target.open_write("a") as f:
        f.write(b"short")
    assert target.read_bytes("a") == b"short"
    assert target.list() == {"a": 5}


def test_list_sizes_of_many_files(target):
    expected = {f"f{i:04d}.zip": i * 3 for i in range(300)}
    for name, size in expected.items():
        with target.open_write(name) as f:
            f.write(b"x" * size)
    assert target.list() == expected


def test_publish_never_overwrites(target):
    target.write_new("F.zip", b"committed")
    with target.open_write("F.zip.partial") as f:
        f.write(b"new")
    with pytest.raises(FileExistsError):
        target.publish("F.zip.partial", "F.zip")
    assert target.read_bytes("F.zip") == b"committed"
    assert target.list() == {"F.zip": 9, "F.zip.partial": 3}
    target.publish("F.zip.partial", "G.zip")
    assert target.list() == {"F.zip": 9, "G.zip": 3}
    with pytest.raises(FileExistsError):
        target.write_new("G.zip", b"again")
    assert target.read_bytes("G.zip") == b"new"


def test_stat_gives_size_and_mtime(target):
    import time
    before = time.time()
    target.write_new("lock", b"12345")
    size, mtime = target.stat("lock")
    assert size == 5
    # The server's clock: the same machine here, so within a few seconds of ours.
    assert before - 5 <= mtime <= time.time() + 5
    with pytest.raises(FileNotFoundError):
        target.stat("missing")


def test_write_new_leaves_no_temporary_file(target):
    target.write_new("a", b"1")
    with pytest.raises(FileExistsError):
        target.write_new("a", b"2")
    assert target.list() == {"a": 1}  # the refused write left nothing behind


def test_remove(target):
    target.remove("missing")           # not an error
    target.write_new("x", b"1")
    target.write_new("y", b"2")
    target.remove("x")
    assert target.list() == {"y": 1}


def test_missing_files_raise_file_not_found(target):
    with pytest.raises(FileNotFoundError):
        target.open_read("missing")
    with pytest.raises(FileNotFoundError):
        target.read_bytes("missing")
    with pytest.raises(FileNotFoundError):
        target.publish("missing", "other")
    assert target.list() == {}


def test_bad_names_are_refused(target):
    for name in ("a/b", "", ".."):
        with pytest.raises(ValueError):
            target.open_write(name)


def test_disk_usage(target):
    total, free = target.disk_usage()
    assert isinstance(total, int) and isinstance(free, int)
    assert 0 < free <= total


def test_local_path_only_for_local(target):
    path = target.local_path("x")
    if isinstance(target, LocalTarget):
        assert path == os.path.join(target.root, "x")
        assert target.local_root == target.root
    else:
        assert path is None and target.local_root is None
        assert not hasattr(target, "root")  # backup.py excludes only local targets from the walk


def test_every_target_implements_the_contract(target):
    # Every method callers use is declared by the base class, which both targets inherit; the
    # tests of this file exercise each of them.
    assert isinstance(target, Target)
    assert Target.__abstractmethods__ == {"exists", "ensure", "list", "stat", "open_read",
                                          "open_write", "publish", "remove", "disk_usage"}
    for name in ("read_bytes", "write_new", "local_path", "local_root", "named_error", "close"):
        assert hasattr(target, name), name
    assert target.named_error(OSError(5, "Input/output error")) is None
    assert isinstance(target.url, str) and isinstance(target.file_mode, int)


def test_empty_file(target):
    target.write_new("empty", b"")
    assert target.list() == {"empty": 0}
    assert target.read_bytes("empty") == b""
    with target.open_read("empty") as f:
        assert f.read() == b"" and f.read(10) == b""
    # No handle was left open: the file can be replaced and removed.
    with target.open_write("empty.partial") as f:
        f.write(b"x")
    target.remove("empty")
    target.publish("empty.partial", "empty")
    assert target.read_bytes("empty") == b"x"


def test_reads_follow_rewrites(target):
    old, new = _data(200_000, seed=2), _data(200_000, seed=3)
    target.write_new("m", old)
    assert target.list() == {"m": len(old)}
    with target.open_read("m") as f:
        assert f.read(10) == old[:10] and f.read() == old[10:]
    target.remove("m")
    target.write_new("m", new)
    assert target.list() == {"m": len(new)}
    with target.open_read("m") as f:
        assert f.read(10) == new[:10]
        f.seek(150_000)
        assert f.read() == new[150_000:]
    assert target.read_bytes("m") == new


@pytest.mark.parametrize("advice", ["works", "refused"])
def test_local_volume_file_keeps_every_byte_with_writeback_hints(tmp_path, monkeypatch, advice):
    # Every HINT bytes the file asks the kernel to start writing back; a seek back to patch a
    # header (as streamed members do) and a filesystem that refuses the advice change nothing.
    from workbench import durable
    from workbench.targets import local
    monkeypatch.setattr(durable.SyncedFile, "HINT", 1000)
    calls, real = [], os.posix_fadvise

    def advise(*args):
        calls.append(args)
        if advice == "refused":
            raise OSError(22, "Invalid argument")
        return real(*args)
    monkeypatch.setattr(local.os, "posix_fadvise", advise)
    chunks = [os.urandom(n) for n in (10, 999, 5000, 1, 70000, 3)]
    t = LocalTarget(tmp_path)
    with t.open_write("v.zip.partial") as f:
        for c in chunks:
            f.write(c)
        f.seek(5)
        f.write(b"PATCH")
        f.seek(0, os.SEEK_END)
        f.write(b"end")
    want = bytearray(b"".join(chunks) + b"end")
    want[5:10] = b"PATCH"
    assert (tmp_path / "v.zip.partial").read_bytes() == bytes(want)
    if advice == "refused":
        assert len(calls) == 1  # refused once, then not asked again
    else:
        assert [c[1:3] for c in calls] == [(0, 1009), (1009, 5000), (6009, 70001)]  # each 1000+ bytes


def test_local_listing_leaves_out_a_file_removed_while_it_lists(tmp_path, monkeypatch):
    # A backup publishing (link, then unlink of the temporary name) or a remover calling off a
    # removal deletes files while a reader lists the target: the listing leaves such a file out,
    # where it used to say that the backup directory itself does not exist.
    from workbench.targets import local
    for name in ("a.zip", "gone.partial", "z.zip"):
        (tmp_path / name).write_bytes(b"x" * len(name))
    real = os.scandir

    class Vanishing:
        def __init__(self, path):
            self._it = real(path)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self._it.close()

        def __iter__(self):
            for d in self._it:
                if d.name == "gone.partial":
                    os.unlink(d.path)  # after the directory was read, before the entry's stat
                yield d

    monkeypatch.setattr(local.os, "scandir", Vanishing)
    assert LocalTarget(tmp_path).list() == {"a.zip": 5, "z.zip": 5}
