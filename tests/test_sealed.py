"""Sealed files (encrypted manifests and indexes): round trips, a wrong or missing password told
apart from damage, every kind of damage caught, reading just the start, bounded memory."""

import io
import os
import random
import shutil
import sqlite3
import struct
import tracemalloc
import zlib

import pytest

from workbench.archive import index as ix
from workbench.archive import manifest as mf
from workbench.archive import sealed
from workbench.archive.compress import gzip_writer
from workbench.errors import PasswordMissing, SealedFileDamaged, WrongPassword
from workbench.model import Entry

PASSWORD = "Tr0ub4dor & 3, süß"   # sealed files take any text; the zip volumes are stricter
CS = 1024                         # small chunks, so that small files have many


@pytest.fixture(scope="module")
def keyring():
    return sealed.Keyring(PASSWORD)


@pytest.fixture(scope="module")
def key(keyring):
    return keyring.new_key()


def seal(key, data, chunk_size=CS, pieces=None):
    buf = io.BytesIO()
    with sealed.SealedWriter(buf, key, chunk_size) as w:
        if pieces is None:
            w.write(data)
        else:
            i = 0
            for n in pieces:
                w.write(data[i:i + n])
                i += n
            w.write(data[i:])
    return buf.getvalue()


def unseal(blob, keyring, what="the test file"):
    return sealed.open_sealed(io.BytesIO(blob), keyring, what).read()


@pytest.mark.parametrize("size", [0, 1, CS - 1, CS, CS + 1, 3 * CS, 3 * CS + 5, 50_000])
def test_round_trip_in_any_pieces(keyring, key, size):
    data = random.Random(size).randbytes(size)
    rng = random.Random(size + 1)
    blob = seal(key, data, pieces=[rng.randint(0, 3 * CS) for _ in range(20)])
    chunks = max(1, -(-size // CS))
    assert len(blob) == sealed.HEADER_SIZE + size + 16 * chunks
    assert unseal(blob, keyring) == data
    # A second keyring (another process) derives the same key from the header.
    assert unseal(blob, sealed.Keyring(PASSWORD)) == data


def test_the_default_chunks_and_parameters(keyring):
    key = keyring.new_key()
    assert (key.log2_n, key.r, key.p) == (15, 8, 1)
    data = os.urandom(3 * 65536 + 1)
    buf = io.BytesIO()
    with sealed.SealedWriter(buf, key) as w:
        w.write(data)
    assert len(buf.getvalue()) == sealed.HEADER_SIZE + len(data) + 4 * 16
    assert unseal(buf.getvalue(), keyring) == data


def test_seek_and_tell(keyring, key):
    data = os.urandom(10 * CS + 17)
    r = sealed.open_sealed(io.BytesIO(seal(key, data)), keyring)
    assert r.read(5) == data[:5]
    for pos in [0, 7 * CS + 3, CS, 10 * CS + 16, 3, 10 * CS + 17]:
        r.seek(pos)
        assert r.tell() == pos and r.read(100) == data[pos:pos + 100]
    r.seek(20 * CS)  # past the end: reads nothing, as a file does
    assert r.read() == b""
    r.seek(0)
    assert r.read() == data


def test_a_wrong_password_is_a_wrong_password(key):
    blob = seal(key, b"the manifest")
    with pytest.raises(WrongPassword) as e:
        unseal(blob, sealed.Keyring("Tr0ub4dor & 3, suss"), "the manifest of F20260101T000000Z")
    assert e.value.exit_code == 56 and "F20260101T000000Z" in str(e.value)


def test_a_missing_password_is_its_own_error(key):
    blob = seal(key, b"the manifest")
    with pytest.raises(PasswordMissing) as e:
        sealed.open_sealed(io.BytesIO(blob), None, "the manifest of F20260101T000000Z")
    assert e.value.exit_code == 57


def test_a_plain_file_is_not_taken_for_a_sealed_one(keyring):
    plain = mf.encode(mf.dump({"kind": "F"}, []))
    assert not sealed.is_sealed(plain)
    with pytest.raises(SealedFileDamaged, match="does not start as a sealed file"):
        sealed.open_sealed(io.BytesIO(plain), keyring)


def _damage_is_caught(blob, keyring):
    with pytest.raises(SealedFileDamaged) as e:
        unseal(blob, keyring)
    assert e.value.exit_code == 60
    return e.value


def test_truncation_anywhere_is_caught_at_chunk_boundaries_too(keyring, key):
    data = os.urandom(3 * CS + 100)
    blob = seal(key, data)
    frame = CS + 16
    boundaries = [sealed.HEADER_SIZE + i * frame for i in range(4)]
    for cut in boundaries + list(range(0, len(blob), 7)):
        err = _damage_is_caught(blob[:cut], keyring)
        assert "altered" in str(err) or "cut short" in str(err) or "header" in str(err)


def test_any_flipped_byte_is_damage_never_a_wrong_password(keyring, key):
    blob = seal(key, os.urandom(2 * CS + 10))
    for i in range(len(blob)):
        damaged = bytearray(blob)
        damaged[i] ^= 0x01 << (i % 8)
        _damage_is_caught(bytes(damaged), keyring)


def test_reordered_dropped_or_spliced_chunks_and_extra_bytes_are_caught(keyring, key):
    data = os.urandom(4 * CS + 1)
    blob = seal(key, data)
    h, frame = sealed.HEADER_SIZE, CS + 16
    head, chunks = blob[:h], [blob[h + i * frame:h + (i + 1) * frame] for i in range(5)]
    swapped = head + chunks[0] + chunks[2] + chunks[1] + chunks[3] + chunks[4]
    dropped = head + chunks[0] + chunks[1] + chunks[3] + chunks[4]
    other = seal(key, data)  # same key and content, another file id
    spliced = head + chunks[0] + other[h + frame:h + 2 * frame] + b"".join(chunks[2:])
    for bad in (swapped, dropped, spliced, blob + b"\0", blob + chunks[4],
                other[:h] + blob[h:]):
        _damage_is_caught(bad, keyring)
    assert unseal(blob, keyring) == data


def test_an_interrupted_writer_leaves_a_file_that_never_reads_as_complete(keyring, key):
    buf = io.BytesIO()
    with pytest.raises(RuntimeError):
        with sealed.SealedWriter(buf, key, CS) as w:
            w.write(os.urandom(5 * CS))
            raise RuntimeError("disk full")
    _damage_is_caught(buf.getvalue(), keyring)


def _header_with(key, **changes):
    fields = dict(magic=sealed.MAGIC, version=1, kdf=1, log2_n=key.log2_n, r=key.r, p=key.p,
                  salt=key.salt, file_id=os.urandom(16), chunk_size=CS, check=key.check)
    fields.update(changes)
    head = struct.pack("<6sBBBBB16s16sI16s", *fields.values())
    return head + struct.pack("<I", zlib.crc32(head))


@pytest.mark.parametrize("changes, says", [
    ({"log2_n": 30}, "out of bounds"), ({"r": 255, "log2_n": 20}, "out of bounds"),
    ({"p": 64}, "out of bounds"), ({"kdf": 2}, "out of bounds"),
    ({"chunk_size": 2**31}, "chunk size"), ({"chunk_size": 0}, "chunk size"),
    ({"version": 2}, "format version 2")])
def test_hostile_or_future_headers_are_refused_before_any_work(keyring, key, changes, says):
    blob = _header_with(key, **changes) + b"\0" * 64
    err = _damage_is_caught(blob, keyring)
    assert says in str(err)


def test_scrypt_runs_once_per_chain_in_a_process(monkeypatch, key):
    calls = []
    real = sealed._scrypt
    monkeypatch.setattr(sealed, "_scrypt", lambda *a: calls.append(1) or real(*a))
    ring = sealed.Keyring(PASSWORD)
    manifest, index = seal(key, b"manifest"), seal(key, b"index")
    assert unseal(manifest, ring) == b"manifest" and unseal(index, ring) == b"index"
    assert len(calls) == 1
    # A differential of the chain is sealed with the chain's key, found from the full's header.
    chain_key = ring.key_for(manifest[:sealed.HEADER_SIZE])
    assert unseal(seal(chain_key, b"differential"), sealed.Keyring(PASSWORD)) == b"differential"
    assert len(calls) == 2  # the second Keyring is another process's


def test_nothing_secret_in_reprs(keyring, key):
    assert PASSWORD not in repr(keyring) and PASSWORD not in repr(key)
    assert key._key.hex() not in repr(key)


# --- the manifest and the index -----------------------------------------------------------

SUBJECT = "Quarterly figures for ACME, strictly confidential"
SENDER = "Alice Example <alice@example.com>"


def _manifest_parts(n=12000):
    entries = [Entry(f"store/mail/example.com/u{i % 7}/INBOX/#msgs/{i:08x}.eml", "message",
                     "example.com", f"u{i % 7}", "INBOX", 1000 + i, 1_700_000_000_000_000_000 + i,
                     i * 7919 % 2**32, "F20260101T000000Z", 0, 64 * i, 500 + i, 8)
               for i in range(n)]
    messages = {e.path: (f"<{i}@example.com>", SENDER, "bob@example.com", None,
                         f"{SUBJECT} #{i}", 1_700_000_000 + i, i % 2 == 0,
                         "Tue, 14 Nov 2023 22:13:20 +0000")
                for i, e in enumerate(entries)}
    header = {"kind": "F", "set": "F20260101T000000Z", "note": "x" * 200}
    return header, entries, messages


def _sealed_manifest(key, chunk_size=sealed.CHUNK_SIZE):
    header, entries, messages = _manifest_parts()
    buf = io.BytesIO()
    with sealed.SealedWriter(buf, key, chunk_size) as w:
        with gzip_writer(w) as g:
            g.write(mf.header_line(header))
            mf.write_body(g, entries, messages)
    return buf.getvalue(), header, entries, messages


class CountingFile(io.BytesIO):
    """A file that counts the bytes read from it."""

    def __init__(self, data):
        super().__init__(data)
        self.bytes_read = 0

    def read(self, n=-1):
        out = super().read(n)
        self.bytes_read += len(out)
        return out

    def read1(self, n=-1):
        return self.read(n)


def test_a_sealed_manifest_reads_back_and_shows_no_subject_or_sender(keyring, key):
    blob, header, entries, messages = _sealed_manifest(key)
    assert len(blob) > 4 * sealed.CHUNK_SIZE  # several chunks: the next test means something
    for secret in (SUBJECT, SENDER, "alice@example.com", "example.com", "INBOX"):
        assert secret.encode() not in blob
    doc = mf.read_manifest(sealed.open_sealed(io.BytesIO(blob), keyring))
    assert mf.from_columns(doc["entries"]) == entries
    assert mf.messages_from_columns(doc["messages"]) == messages
    assert doc["kind"] == "F" and doc["set"] == header["set"]


def test_the_header_line_is_read_from_the_first_chunk_alone(keyring, key):
    blob, header, _, _ = _sealed_manifest(key)
    f = CountingFile(blob)
    got = mf.decode_header(sealed.open_sealed(f, keyring))
    assert got["set"] == header["set"] and got["note"] == header["note"]
    assert f.bytes_read <= sealed.HEADER_SIZE + sealed.CHUNK_SIZE + 16 + 1
    # Damage after the first chunk does not stop a reader of the start, but a whole read.
    damaged = bytearray(blob)
    damaged[-5] ^= 1
    assert mf.decode_header(sealed.open_sealed(io.BytesIO(bytes(damaged)), keyring)) == got
    with pytest.raises(SealedFileDamaged):
        mf.read_manifest(sealed.open_sealed(io.BytesIO(bytes(damaged)), keyring))


def test_a_long_header_line_is_read_past_the_first_chunk(keyring, key):
    # A header longer than a chunk's worth of gzip: decode_header rewinds and reads on.
    header = {"kind": "F", "skipped": [os.urandom(30).hex() for _ in range(3000)]}
    buf = io.BytesIO()
    with sealed.SealedWriter(buf, key, 4096) as w:
        with gzip_writer(w) as g:
            g.write(mf.header_line(header))
    got = mf.decode_header(sealed.open_sealed(io.BytesIO(buf.getvalue()), keyring))
    assert got["skipped"] == header["skipped"]


def test_a_sealed_index_unseals_to_a_working_sqlite_file(keyring, key, tmp_path):
    _, entries, messages = _manifest_parts(500)
    db = tmp_path / "index.sqlite"
    ix.build_index(str(db), "F20260101T000000Z", entries, messages)
    target = tmp_path / "F20260101T000000Z.index.sqlite"
    with open(db, "rb") as src, open(target, "wb") as dst, sealed.SealedWriter(dst, key) as w:
        shutil.copyfileobj(src, w, 1 << 20)
    raw = target.read_bytes()
    assert b"SQLite format" not in raw and SENDER.encode() not in raw
    work = tmp_path / "work.sqlite"
    with open(target, "rb") as src, open(work, "wb") as dst:
        shutil.copyfileobj(sealed.open_sealed(src, keyring), dst, 1 << 20)
    assert work.read_bytes() == db.read_bytes()
    assert ix.lookup(str(work), [entries[42].path]) == [entries[42]]
    assert ix.lookup_message_id(str(work), "7@example.com") == [entries[7].path]
    with pytest.raises(sqlite3.DatabaseError):  # the sealed file itself is no database
        sqlite3.connect(f"file:{target}?mode=ro", uri=True).execute("select * from entries")


def test_memory_stays_flat_for_a_large_file(keyring, key, tmp_path):
    path = tmp_path / "big.sealed"
    piece = os.urandom(1 << 20)
    tracemalloc.start()
    try:
        with open(path, "wb") as f, sealed.SealedWriter(f, key) as w:
            for _ in range(24):
                w.write(piece)
        _, peak_write = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        total = 0
        with open(path, "rb") as f:
            r = sealed.open_sealed(f, keyring)
            while chunk := r.read(1 << 20):
                total += len(chunk)
        _, peak_read = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == 24 << 20
    # 24 MiB went through; a few chunks and one piece at a time were held.
    assert peak_write < 4 << 20 and peak_read < 4 << 20, (peak_write, peak_read)
