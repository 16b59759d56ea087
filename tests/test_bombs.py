"""Hostile zips cost only themselves: a member that inflates beyond the size it declares is stopped
there and named, a member that declares a size or ratio past the configured limits is refused
before anything is inflated, and every other member is restored byte for byte, with the memory of
``workbench restore`` and ``workbench verify --level data`` bounded, in a set laid out as Kerio
writes it and in a set of ours whose manifest understates a size. Manifests that inflate without
end are refused too, naming their set."""

import contextlib
import hashlib
import io
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile
import zlib
from unittest import mock

import pytest

import workbench
from workbench.archive import manifest as mf
from workbench.archive import reader
from workbench.errors import IncompleteSet, MemberTooLarge, RestoreIncomplete, VerifyFailed
from workbench.naming import manifest_name, parse_volume_name

from helpers import make_store, store_snapshot

MiB, GiB = 1 << 20, 1 << 30
MAX_RSS_MB = 200
FULL = "F20261101T010000Z"
BOX = "store/mail/example.com/mallory/INBOX/#msgs/"
HONEST = BOX + "00000001.eml"      # 1 GiB of zeros, declared as such: a ratio of about 1000:1
UNDER = BOX + "00000002.eml"       # 1 GiB of zeros, declared as 2048 bytes everywhere
BIG = BOX + "00000003.eml"         # 256 MiB at about 100:1: genuine, inflated in chunks
STREAMED = BOX + "00000004.eml"    # 6 MiB that do not compress: read from the volume in chunks
UNDER_SIZE = 2048
OURS = 512 * MiB                   # the zeros in our set: more than the memory allowed

try:
    from isal import isal_zlib as _isal
except ImportError:  # the tests run without ISA-L, only slower
    _isal = None


def _compressor(compress_type, compresslevel=None):
    # ISA-L level 1 writes the same deflate as zlib, 1 GiB of zeros in 0.05 s at 983:1; zlib
    # needs level 4 or more for the ratio of a zero-filled bomb (1029:1), about 3 s a GiB.
    assert compress_type == zipfile.ZIP_DEFLATED
    if _isal is not None:
        return _isal.compressobj(1, _isal.DEFLATED, -15)
    return zlib.compressobj(9, zlib.DEFLATED, -15)


@contextlib.contextmanager
def fast_zipfile():
    """Python's zipfile writing its deflate (and CRC-32) with ISA-L where installed."""
    with contextlib.ExitStack() as stack:
        stack.enter_context(mock.patch.object(zipfile, "_get_compressor", _compressor))
        if _isal is not None:
            stack.enter_context(mock.patch.object(zipfile, "crc32", _isal.crc32))
        yield


def _info(name):
    info = zipfile.ZipInfo(name, date_time=(2026, 11, 1, 1, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o100644 << 16
    return info


def add_chunks(z, name, chunks):
    """Write member *name* from an iterable of byte chunks (Zip64, so any size fits)."""
    with z.open(_info(name), "w", force_zip64=True) as w:
        for chunk in chunks:
            w.write(chunk)


def zeros(size):
    block = bytes(MiB)
    return (block for _ in range(size // MiB))


def big_chunks(size, seed=3):
    """*size* bytes that deflate about 100:1 (each MiB starts with 8 KiB of noise)."""
    rng = random.Random(seed)
    for _ in range(size // MiB):
        yield rng.randbytes(8 * 1024) + bytes(MiB - 8 * 1024)


def understate(path, name, size):
    """Rewrite member *name* of the zip *path* to declare *size* bytes, in its local header (the
    Zip64 extra field) and in the central directory."""
    with zipfile.ZipFile(path) as z:
        info, cd_offset = z.getinfo(name), z.start_dir
    raw = name.encode()
    with open(path, "r+b") as f:
        f.seek(info.header_offset)
        head = f.read(30)
        nlen, xlen = struct.unpack("<HH", head[26:30])
        extra = f.read(nlen + xlen)[nlen:]
        i = 0
        while i + 4 <= len(extra):
            tag, n = struct.unpack_from("<HH", extra, i)
            if tag == 1:  # Zip64: uncompressed size first
                f.seek(info.header_offset + 30 + nlen + i + 4)
                f.write(struct.pack("<Q", size))
                break
            i += 4 + n
        else:
            raise AssertionError("no Zip64 extra field in the local header")
        f.seek(cd_offset)
        cd = f.read()
        at = cd.find(raw)
        record = at - 46
        assert cd[record:record + 4] == b"PK\x01\x02"
        assert struct.unpack_from("<I", cd, record + 24)[0] < 0xFFFFFFFF
        f.seek(cd_offset + record + 24)
        f.write(struct.pack("<I", size))


# Run a command and write its peak RSS in kB to the file named first. The measuring process is
# this small interpreter, not pytest: Linux counts what a child shared with its parent before its
# exec in its peak, so a child of a big process would show the parent's size.
_MEASURE = ("import resource, subprocess, sys\n"
            "code = subprocess.run(sys.argv[3:], timeout=float(sys.argv[2])).returncode\n"
            "with open(sys.argv[1], 'w') as f:\n"
            "    f.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n"
            "sys.exit(code)\n")


def run_measured(*argv, cores=None, timeout=120):
    """``workbench ARGV`` in a child process (seeing *cores* cores if given): ``(exit code,
    stdout, stderr, peak RSS in MB)`` of that child."""
    main = ("import os, sys\n"
            + (f"os.cpu_count = lambda: {cores}\n" if cores else "")
            + "from workbench.cli import main\nsys.exit(main(sys.argv[1:]))\n")
    with tempfile.TemporaryDirectory() as tmp:
        rss = os.path.join(tmp, "rss")
        p = subprocess.run([sys.executable, "-c", _MEASURE, rss, str(timeout), sys.executable,
                            "-c", main, *map(str, argv)], capture_output=True, text=True,
                           timeout=timeout + 10)
        with open(rss) as f:
            peak = int(f.read()) / 1024
    return p.returncode, p.stdout, p.stderr, peak


def contents(root):
    """``{relative path: (sha256, size)}`` of the regular files under *root*."""
    out = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            full = os.path.join(dirpath, name)
            h, size = hashlib.sha256(), 0
            with open(full, "rb") as f:
                while chunk := f.read(MiB):
                    h.update(chunk)
                    size += len(chunk)
            out[os.path.relpath(full, root).replace(os.sep, "/")] = (h.hexdigest(), size)
    return out


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def digest(chunks):
    h, size = hashlib.sha256(), 0
    for chunk in chunks:
        h.update(chunk)
        size += len(chunk)
    return h.hexdigest(), size


@pytest.fixture(scope="module")
def kerio_bomb(tmp_path_factory):
    """A set as Kerio writes it (one standalone zip, no manifest, no marker of ours): a small
    store, the two bombs, a genuine 256 MiB member and a 6 MiB member that does not compress."""
    root = tmp_path_factory.mktemp("kerio-bomb")
    store = make_store(root / "server", messages=40, seed=13)
    target = root / "bk"
    target.mkdir()
    volume = target / f"{FULL}.zip"
    streamed = random.Random(5).randbytes(6 * MiB)
    with fast_zipfile(), zipfile.ZipFile(volume, "w") as z:
        files = sorted(store_snapshot(store))
        for rel in files[:len(files) // 2]:
            add_chunks(z, rel, [_read(os.path.join(store, rel))])
        add_chunks(z, HONEST, zeros(GiB))
        add_chunks(z, UNDER, zeros(GiB))
        add_chunks(z, BIG, big_chunks(256 * MiB))
        add_chunks(z, STREAMED, [streamed])
        for rel in files[len(files) // 2:]:
            add_chunks(z, rel, [_read(os.path.join(store, rel))])
    understate(volume, UNDER, UNDER_SIZE)
    with zipfile.ZipFile(volume) as z:
        sizes = {i.filename: (i.file_size, i.compress_size) for i in z.infolist()}
    assert sizes[UNDER][0] == UNDER_SIZE and sizes[HONEST][0] == GiB
    assert sizes[HONEST][0] / sizes[HONEST][1] > 500          # what a zero-filled bomb reaches
    assert 50 < sizes[BIG][0] / sizes[BIG][1] < 200            # what genuine data may reach
    assert sizes[BIG][1] < reader.WHOLE_LIMIT < sizes[STREAMED][1]
    assert os.path.getsize(volume) < 20 * MiB
    expected = {rel: digest([_read(os.path.join(store, rel))]) for rel in files}
    expected[BIG] = digest(big_chunks(256 * MiB))
    expected[STREAMED] = digest([streamed])
    return {"target": str(target), "volume": str(volume), "expected": expected}


def _reasons(stderr):
    """``{path: reason}`` from the ``failed PATH: REASON`` lines of ``workbench restore``."""
    out = {}
    for line in stderr.splitlines():
        if line.startswith("failed "):
            path, _, reason = line[len("failed "):].partition(": ")
            out[path] = reason
    return out


def test_restore_of_a_kerio_set_with_bombs_is_bounded(kerio_bomb, tmp_path):
    out = tmp_path / "out"
    code, stdout, stderr, rss = run_measured("restore", "--target", kerio_bomb["target"],
                                             "--to", out, "-q")
    assert code == RestoreIncomplete.exit_code, stderr
    assert rss < MAX_RSS_MB, f"restore peaked at {rss:.0f} MB"
    reasons = _reasons(stderr)
    assert sorted(reasons) == [HONEST, UNDER]
    assert "max_ratio" in reasons[HONEST] and f"{GiB} bytes" in reasons[HONEST]
    assert "inflates beyond its declared size" in reasons[UNDER]
    assert f"{UNDER_SIZE} bytes" in reasons[UNDER]
    assert contents(out) == kerio_bomb["expected"]  # no temporary or partial file either


def test_verify_of_a_kerio_set_with_bombs_is_bounded(kerio_bomb):
    code, stdout, stderr, rss = run_measured("verify", "--target", kerio_bomb["target"],
                                             "--level", "data", "-q")
    assert code == VerifyFailed.exit_code, stderr
    assert rss < MAX_RSS_MB, f"verify peaked at {rss:.0f} MB"
    lines = {line.split()[2]: line for line in stdout.splitlines()}
    assert sorted(lines) == [HONEST, UNDER]
    assert "max_ratio" in lines[HONEST]
    assert "inflates beyond its declared size" in lines[UNDER]


def test_a_refusal_names_the_member_its_sizes_and_the_key_to_raise(kerio_bomb, tmp_path):
    # The declared-size limit, when lower than the bomb, is the key named. The one file asked
    # for fails with its own error (and exit code), not as one of many.
    with pytest.raises(MemberTooLarge) as info:
        workbench.restore(str(tmp_path / "a"), target=kerio_bomb["target"], paths=[HONEST],
                          max_member_size="512MiB")
    (path, reason), = info.value.result.failures
    assert path == HONEST and str(GiB) in reason and "raise max_member_size" in reason
    assert str(info.value) == reason and info.value.exit_code == 26
    problems = workbench.verify(target=kerio_bomb["target"], level="catalog")
    assert [(p.path, "max_ratio" in p.problem) for p in problems] == [(HONEST, True)]


def test_message_id_scan_of_a_kerio_set_with_bombs_is_bounded(kerio_bomb, tmp_path):
    from email.parser import BytesHeaderParser
    target = kerio_bomb["target"]
    with zipfile.ZipFile(kerio_bomb["volume"]) as z:
        name = sorted(n for n in z.namelist() if n.startswith("store/mail/")
                      and n.endswith(".eml") and not n.startswith(BOX))[0]
        mid = BytesHeaderParser().parsebytes(z.read(name))["Message-ID"]
    code, stdout, stderr, rss = run_measured("restore", "--target", target, "--to",
                                             tmp_path / "one", "--message-id", mid, "-q")
    assert code == 0, stderr
    assert rss < MAX_RSS_MB, f"the Message-ID scan peaked at {rss:.0f} MB"
    assert list(contents(tmp_path / "one")) == [name]


def test_members_inflated_at_once_are_bounded_across_many_threads(tmp_path):
    """64 directories of one 4 MiB member each (read and inflated whole, compressed to a few
    KB): on a machine of 64 cores, each writer or checking thread inflates its own at the same
    time unless what is in flight counts what they inflate, not only their payloads."""
    target = tmp_path / "bk"
    target.mkdir()
    members = [f"store/mail/example.com/u{n:03}/INBOX/#msgs/00000001.eml" for n in range(64)]
    with fast_zipfile(), zipfile.ZipFile(target / f"{FULL}.zip", "w") as z:
        for name in members:
            add_chunks(z, name, zeros(reader.WHOLE_LIMIT))
    out = tmp_path / "out"
    code, stdout, stderr, rss = run_measured("restore", "--target", target, "--to", out, "-q",
                                             cores=64)
    assert code == 0, stderr
    assert rss < MAX_RSS_MB, f"restore peaked at {rss:.0f} MB"
    assert contents(out) == dict.fromkeys(members, digest(zeros(reader.WHOLE_LIMIT)))
    code, stdout, stderr, rss = run_measured("verify", "--target", target, "--level", "data",
                                             "-q", cores=64)
    assert code == 0, stderr
    assert rss < MAX_RSS_MB, f"verify peaked at {rss:.0f} MB"


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
@pytest.mark.parametrize("size", [100, 5 * MiB])
def test_no_byte_past_the_declared_size_is_handed_on(method, size):
    from workbench.errors import CorruptVolume
    from workbench.model import Entry
    data = b"".join(big_chunks(8 * MiB))
    if method == zipfile.ZIP_DEFLATED:
        c = zlib.compressobj(6, zlib.DEFLATED, -15)
        payload = c.compress(data) + c.flush()
    else:
        payload = data
    entry = Entry("store/x.eml", "file", None, None, None, size, 0, 0, "S", 0, 0, len(payload),
                  method)

    class Sink:
        written = 0

        def write(self, piece):
            Sink.written += len(piece)

    with pytest.raises(CorruptVolume, match=f"inflates beyond its declared size of {size} "):
        reader.copy_payload(entry, payload, Sink())
    assert Sink.written <= size
    if reader.inflates_whole(entry):
        with pytest.raises(CorruptVolume, match="inflates beyond"):
            reader.unpack(entry, payload)
    f = io.BytesIO(b"PK\x03\x04" + bytes(26) + payload)  # a local header without name or extra
    Sink.written = 0
    with pytest.raises(CorruptVolume, match="inflates beyond"):
        reader.copy_member(f, entry, Sink())
    assert Sink.written <= size


def test_a_negative_declared_size_inflates_nothing():
    from workbench.errors import CorruptVolume
    from workbench.model import Entry
    payload = zlib.compress(bytes(8 * MiB), 9)[2:-4]
    for size in (-1, -2):
        entry = Entry("store/x.eml", "file", None, None, None, size, 0, 0, "S", 0, 0,
                      len(payload), zipfile.ZIP_DEFLATED)
        with pytest.raises(CorruptVolume, match="negative"):
            reader.unpack(entry, payload)
        with pytest.raises(CorruptVolume, match="negative"):
            reader.copy_payload(entry, payload, io.BytesIO())
    with pytest.raises(ValueError, match="negative"):
        reader.read_payload(io.BytesIO(b"PK\x03\x04" + bytes(26) + payload), 0, -1)


@pytest.fixture(scope="module")
def our_bomb(tmp_path_factory):
    """A set of ours holding 512 MiB of zeros (a sparse file in the store): as written, its
    manifest declares the size honestly (ratio about 1000:1); a copy of the target has the
    manifest rewritten to declare 4096 bytes for it."""
    root = tmp_path_factory.mktemp("our-bomb")
    store = make_store(root / "server", messages=40, seed=17)
    expected = {p: v[:2] for p, v in store_snapshot(store).items()}
    zero = os.path.join(store, *HONEST.split("/"))
    os.makedirs(os.path.dirname(zero), exist_ok=True)
    with open(zero, "wb") as f:
        f.truncate(OURS)
    honest = root / "honest"
    # compression_level 4: ISA-L level 1 or zlib level 4, both about 1000:1 on zeros.
    r = workbench.backup("full", store=store, target=str(honest), min_free=0,
                         compression_level=4)
    under = root / "under"
    shutil.copytree(honest, under)
    mpath = under / manifest_name(r.set_name)
    doc = mf.decode(mpath.read_bytes())
    paths = list(mf.decode_column(doc["entries"]["path"]))
    sizes = list(mf.decode_column(doc["entries"]["size"]))
    row = paths.index(HONEST)
    assert sizes[row] == OURS
    sizes[row] = 4096
    doc["entries"]["size"] = sizes
    mpath.write_bytes(mf.encode(doc))
    return {"honest": str(honest), "under": str(under), "set": r.set_name,
            "expected": expected}


def test_our_set_whose_manifest_understates_a_size(our_bomb, tmp_path):
    out = tmp_path / "out"
    code, stdout, stderr, rss = run_measured("restore", "--target", our_bomb["under"], "--to",
                                             out, "-q")
    assert code == RestoreIncomplete.exit_code, stderr
    assert rss < MAX_RSS_MB, f"restore peaked at {rss:.0f} MB"
    reasons = _reasons(stderr)
    assert list(reasons) == [HONEST]
    assert "inflates beyond its declared size of 4096 bytes" in reasons[HONEST]
    assert contents(out) == our_bomb["expected"]
    code, stdout, stderr, rss = run_measured("verify", "--target", our_bomb["under"],
                                             "--level", "data", "-q")
    assert code == VerifyFailed.exit_code, stderr
    assert rss < MAX_RSS_MB, f"verify peaked at {rss:.0f} MB"
    assert [line.split()[2] for line in stdout.splitlines()] == [HONEST]
    assert "inflates beyond its declared size" in stdout


def test_our_set_with_a_ratio_past_the_limit_is_refused_before_inflating(our_bomb, tmp_path):
    out = tmp_path / "out"
    code, stdout, stderr, rss = run_measured("restore", "--target", our_bomb["honest"], "--to",
                                             out, "-q")
    assert code == RestoreIncomplete.exit_code, stderr
    assert rss < MAX_RSS_MB
    reasons = _reasons(stderr)
    assert list(reasons) == [HONEST] and "max_ratio" in reasons[HONEST]
    assert contents(out) == our_bomb["expected"]
    # Genuine after all: raising the limit lets it through.
    plan = workbench.restore(str(tmp_path / "all"), target=our_bomb["honest"], paths=[HONEST],
                             dry_run=True)
    assert [p for p, _ in plan.refused] == [HONEST]
    plan = workbench.restore(str(tmp_path / "all"), target=our_bomb["honest"], paths=[HONEST],
                             max_ratio=2000, dry_run=True)
    assert plan.refused == [] and [i.entry.path for i in plan.items] == [HONEST]


def _gzip(chunks):
    """A gzip file of the byte *chunks* (ISA-L's deflate where installed: zeros fast)."""
    lib = _isal or zlib
    c = lib.compressobj(1 if _isal else 9, lib.DEFLATED, 31)
    return b"".join([*(c.compress(chunk) for chunk in chunks), c.flush()])


def _manifest_bomb(header, zero_bytes):
    """A manifest: *header*, then an entries block whose first column claims 200 MiB of text,
    then *zero_bytes* zeros."""
    return _gzip([mf.header_line(header), b'{"block":"entries","columns":13}\n'
                  b'{"column":"path","text":209715200,"lengths":["uint16",2]}\n',
                  *zeros(zero_bytes)])


def test_a_manifest_that_inflates_past_the_cap_is_refused(monkeypatch):
    monkeypatch.setattr(mf, "MAX_BYTES", 8 * MiB)
    data = _gzip([mf.header_line({"kind": "F"}), *zeros(16 * MiB)])
    with pytest.raises(ValueError, match="inflates beyond"):
        mf.decode(data)
    with pytest.raises(ValueError, match="inflates beyond"):
        mf.read_manifest(io.BytesIO(data))
    with pytest.raises(ValueError, match="inflates beyond"):  # a header line without an end
        mf.decode_header(io.BytesIO(_gzip(zeros(16 * MiB))))
    with pytest.raises(ValueError, match="a column of 209715200 bytes"):
        mf.read_manifest(io.BytesIO(_manifest_bomb({"kind": "F"}, MiB)))
    with pytest.raises(ValueError) as e:  # within the cap: simply not a valid body
        mf.decode(_gzip([mf.header_line({"kind": "F"}), *zeros(2 * MiB)]))
    assert "inflates beyond" not in str(e.value)


def test_a_manifest_bomb_on_the_target_is_an_unreadable_manifest_naming_the_set(
        our_bomb, tmp_path, monkeypatch):
    """A manifest of 256 MiB of zeros under a valid header (a cap of 8 MiB, for speed): restore
    and the catalog's readers hold no more than the cap, and refuse it naming the set (unless
    they take the set from the manifest copy in its last volume)."""
    import tracemalloc
    from workbench import catalog
    monkeypatch.setattr(mf, "MAX_BYTES", 8 * MiB)
    target = tmp_path / "bk"
    shutil.copytree(our_bomb["honest"], target)
    path = target / manifest_name(our_bomb["set"])
    real = mf.decode(path.read_bytes())
    header = {k: v for k, v in real.items() if k not in ("entries", "messages", "format")}
    path.write_bytes(_manifest_bomb(header, 256 * MiB))
    readers = {"restore": lambda: workbench.restore(str(tmp_path / "out"), target=str(target)),
               "read_entries": lambda: catalog.read_entries(str(target)),
               "read_messages": lambda: catalog.read_messages(str(target))}
    for name, read in readers.items():
        catalog.clear_cache()
        tracemalloc.start()
        try:
            read()
        except IncompleteSet as e:
            assert our_bomb["set"] in str(e)
        except RestoreIncomplete:
            pass  # the set's one bomb member, from the manifest copy
        finally:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        assert peak < 32 * MiB, f"{name} held {peak / MiB:.0f} MiB"
    catalog.clear_cache()


def test_the_manifest_copy_in_the_last_volume_is_read_bounded(our_bomb, tmp_path, monkeypatch):
    target = tmp_path / "bk"
    shutil.copytree(our_bomb["honest"], target)
    # the volume with the highest number (a big set is written in several)
    last = max((n for n in os.listdir(target) if n.endswith(".zip")),
               key=lambda n: parse_volume_name(n)[1])
    with open(target / last, "rb") as f:
        doc = reader.read_manifest_copy(f, our_bomb["set"])
    # The copy is written before the volumes are closed: its entries are the manifest's.
    real = mf.decode((target / manifest_name(our_bomb["set"])).read_bytes())
    assert mf.from_columns(doc["entries"]) == mf.from_columns(real["entries"])
    monkeypatch.setattr(mf, "MAX_BYTES", 1024)
    with open(target / last, "rb") as f, pytest.raises(ValueError, match="beyond"):
        reader.read_manifest_copy(f, our_bomb["set"])
