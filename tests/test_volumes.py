"""Zip volumes: standalone, standard (Info-ZIP unzip, 7-Zip, zipfile), within the size limit,
Zip64 where needed, and both oversize policies."""

import io
import os
import random
import subprocess
import zipfile
import zlib

import pytest

import workbench
from workbench.archive import manifest as mf
from workbench.archive import pack
from workbench.archive import zipformat as zf
from workbench.archive.reader import read_volume_end
from workbench.archive.writer import VolumeWriter, read_marker

from helpers import make_store, snapshot, store_snapshot

LIMIT = 256 * 1024


def tool(*cmd):
    return subprocess.run(cmd, capture_output=True, text=True)


@pytest.fixture(scope="module", params=["main", "workers"])
def small_volumes(tmp_path_factory, request):
    """A set in small volumes, written by the main process (a small job) or by the worker
    processes, each into volumes of its own (as for a big job)."""
    root = tmp_path_factory.mktemp("vol")
    store = make_store(root / "server", messages=250, seed=5)
    with pytest.MonkeyPatch.context() as mp:
        if request.param == "workers":
            mp.setattr(pack, "_PROCESS_MIN_FILES", 0)
        r = workbench.backup("full", store=store, target=str(root / "bk"), volume_size=LIMIT,
                             min_free=0)
    return store, root / "bk", r


def test_every_volume_is_standalone_and_within_the_limit(small_volumes):
    store, bk, r = small_volumes
    assert len(r.volumes) > 3
    assert r.volumes[:3] == [f"{r.set_name}.zip", f"{r.set_name}.1.zip", f"{r.set_name}.2.zip"]
    seen = set()
    for i, name in enumerate(r.volumes):
        path = bk / name
        assert path.stat().st_size <= LIMIT
        assert tool("unzip", "-tqq", str(path)).returncode == 0
        t = tool("7z", "t", str(path))
        assert t.returncode == 0 and "Everything is Ok" in t.stdout
        # libarchive reads every member's data, and lists the names as they are
        t = subprocess.run(["bsdtar", "-xOf", str(path)], capture_output=True,
                           env=dict(os.environ, LC_ALL="C.UTF-8"))
        assert t.returncode == 0 and t.stderr == b""
        with zipfile.ZipFile(path) as z:
            assert z.testzip() is None
            assert read_marker(z.comment) == {"workbench": 1, "set": r.set_name, "volume": i}
            names = set(z.namelist())
        assert not names & seen  # each file in exactly one volume
        seen |= names
        listed = subprocess.run(["bsdtar", "-tf", str(path)], capture_output=True,
                                env=dict(os.environ, LC_ALL="C.UTF-8")).stdout.decode().splitlines()
        assert sorted(listed) == sorted(names)
    assert seen - {f".workbench/{r.set_name}.manifest.json"} == set(store_snapshot(store))
    with zipfile.ZipFile(bk / r.volumes[-1]) as z:  # the manifest copy ends the last volume
        assert z.namelist()[-1] == f".workbench/{r.set_name}.manifest.json"


def test_info_zip_extracts_the_same_bytes(small_volumes, tmp_path):
    store, bk, r = small_volumes
    out = tmp_path / "unzipped"
    for name in r.volumes:
        assert tool("unzip", "-qo", str(bk / name), "-d", str(out)).returncode == 0
    got = {p: v[:2] for p, v in snapshot(out).items() if not p.startswith(".workbench/")}
    assert got == {p: v[:2] for p, v in store_snapshot(store).items()}
    # unzip applies the exact mtime from the UT extra field.
    msg = next(p for p in got if p.endswith(".eml"))
    assert os.stat(out / msg).st_mtime == os.stat(os.path.join(store, msg)).st_mtime


def test_non_ascii_names_are_flagged_utf8(small_volumes):
    _, bk, r = small_volumes
    names = []
    for name in r.volumes:
        with zipfile.ZipFile(bk / name) as z:
            names += [i for i in z.infolist() if not i.filename.isascii()]
    assert names and all(i.flag_bits & zf.FLAG_UTF8 for i in names)
    assert any("Přijaté faktury" in i.filename for i in names)


def _store_with_big_file(tmp_path, size):
    store = make_store(tmp_path / "server", messages=40, seed=9)
    big = os.path.join(store, "store", "mail", "example.com", "huge.eml")
    with open(big, "wb") as f:
        f.write(random.Random(1).randbytes(size))
    return store, "store/mail/example.com/huge.eml"


def test_oversize_skip_names_the_file_everywhere(tmp_path, caplog):
    store, big = _store_with_big_file(tmp_path, 300 * 1024)
    r = workbench.backup("full", store=store, target=str(tmp_path / "bk"), volume_size=LIMIT,
                         min_free=0)
    st = os.stat(os.path.join(store, big))
    assert r.skipped == [{"path": big, "size": 300 * 1024, "reason": "oversize",
                          "mtime_ns": st.st_mtime_ns, "mode": st.st_mode & 0o7777}]
    assert big in caplog.text
    [s] = workbench.list_sets(workbench.open_target(str(tmp_path / "bk")))
    assert s.manifest["skipped"] == r.skipped
    paths = mf.decode_column(s.manifest["entries"]["path"])
    assert big not in paths and len(paths) == r.files


def test_oversize_own_volume_stores_it_alone(tmp_path):
    store, big = _store_with_big_file(tmp_path, 300 * 1024)
    bk = tmp_path / "bk"
    r = workbench.backup("full", store=store, target=str(bk), volume_size=LIMIT, min_free=0,
                         oversize="own-volume")
    assert r.skipped == []
    own = [v for v in r.volumes if (bk / v).stat().st_size > LIMIT]
    assert len(own) == 1
    with zipfile.ZipFile(bk / own[0]) as z:
        assert z.namelist() == [big]
    assert tool("unzip", "-tqq", str(bk / own[0])).returncode == 0
    workbench.restore(str(tmp_path / "out"), target=str(bk))
    assert snapshot(tmp_path / "out") == store_snapshot(store)


def test_zip64_for_more_than_65535_members(tmp_path):
    path = tmp_path / "many.zip"
    with open(path, "wb") as f:
        w = VolumeWriter(f, "F20261101T000000Z", 0, 1 << 40)
        for i in range(70000):
            data = b"x%d" % i
            m = zf.Member(f"store/mail/d/u/INBOX/#msgs/{i:08x}.eml", 1_700_000_000_000_000_000)
            w.add(m, zf.STORED, data, zlib.crc32(data), len(data))
        w.finish()
    with zipfile.ZipFile(path) as z:
        assert len(z.infolist()) == 70000
        assert z.read("store/mail/d/u/INBOX/#msgs/00010001.eml") == b"x65537"
    assert tool("unzip", "-tqq", str(path)).returncode == 0
    assert "Everything is Ok" in tool("7z", "t", str(path)).stdout
    # The one end-record reader (the catalog's member counts, the sets' markers) reads the
    # count from the Zip64 end record, and the last member's name from the tail.
    with open(path, "rb") as f:
        end = read_volume_end(f)
    assert end.members == 70000 and read_marker(end.comment)["volume"] == 0
    assert end.last_member == f"store/mail/d/u/INBOX/#msgs/{69999:08x}.eml"


def test_the_end_record_of_a_zip_written_by_python(tmp_path):
    path = tmp_path / "py.zip"
    with zipfile.ZipFile(path, "w") as z:
        for i in range(3):
            z.writestr(f"f{i}", b"x")
        z.comment = b"PK\x05\x06 inside a comment is no end record"
    with open(path, "rb") as f:
        end = read_volume_end(f)
    assert (end.members, end.last_member, read_marker(end.comment)) == (3, "f2", None)
    with open(path, "rb") as f, pytest.raises(ValueError, match="no zip end record"):
        read_volume_end(io.BytesIO(f.read()[:-30]))


def test_zip64_offsets_beyond_4gib(tmp_path):
    # A sparse file puts the members past 4 GiB without writing gigabytes.
    path = tmp_path / "far.zip"
    payload = zlib.compress(b"hello " * 1000)[2:-4]
    crc = zlib.crc32(b"hello " * 1000)
    with open(path, "wb") as f:
        f.write(zf.local_header(zf.Member("pad", 1_700_000_000_000_000_000), zf.STORED, 0, 0, 0,
                                False))
        f.seek(5 * 1024**3)
        w = VolumeWriter(f, "F20261101T000000Z", 0, 1 << 40)
        w.offset = f.tell()
        for name in ("store/a.eml", "store/b.eml"):
            w.add(zf.Member(name, 1_700_000_000_000_000_000), zf.DEFLATED, payload, crc, 6000)
        w.finish()
    with zipfile.ZipFile(path) as z:
        assert [i.header_offset > 0xFFFFFFFF for i in z.infolist()] == [True, True]
        assert z.read("store/b.eml") == b"hello " * 1000
    # 7-Zip refuses the unlisted padding in front, so this one is checked with unzip and zipfile.
    assert tool("unzip", "-tqq", str(path)).returncode == 0


def test_large_file_streams_and_round_trips(tmp_path):
    # Above the streaming threshold the file is never held in memory: check it is still exact.
    store, big = _store_with_big_file(tmp_path, 20 * 1024 * 1024)
    bk = tmp_path / "bk"
    r = workbench.backup("full", store=store, target=str(bk), min_free=0)
    assert big not in [s["path"] for s in r.skipped]
    assert tool("unzip", "-tqq", str(bk / r.volumes[0])).returncode == 0
    workbench.restore(str(tmp_path / "out"), target=str(bk))
    assert snapshot(tmp_path / "out") == store_snapshot(store)
