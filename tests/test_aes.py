"""WinZip AES-256 (AE-2) members: known answers, round trips, clear errors, and real tools (7-Zip
and bsdtar open our zips; our reader opens 7-Zip's)."""

import hashlib
import hmac
import io
import os
import pickle
import random
import subprocess
import zipfile
import zlib

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from workbench.archive import aes
from workbench.archive import zipformat as zf
from workbench.archive.compress import checksum, decompressor
from workbench.archive.reader import read_payload, unpack
from workbench.model import Entry
from workbench.archive.writer import VolumeWriter
from workbench.errors import CorruptVolume, MemberTampered, PasswordUnusable, WrongPassword

PASSWORD = "correct horse 7 battery staple!"
KEY = aes.ZipKey(PASSWORD)
MTIME = 1_700_000_000_000_000_000


def tool(*cmd, **kw):
    return subprocess.run(cmd, capture_output=True, stdin=subprocess.DEVNULL, timeout=120, **kw)


# --- key derivation -------------------------------------------------------------------------

# RFC 6070 (PBKDF2-HMAC-SHA1), all but the 16777216-round case.
RFC6070 = [
    (b"password", b"salt", 1, 20, "0c60c80f961f0e71f3a9b524af6012062fe037a6"),
    (b"password", b"salt", 2, 20, "ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957"),
    (b"password", b"salt", 4096, 20, "4b007901b765489abead49d926f721d065a429c1"),
    (b"passwordPASSWORDpassword", b"saltSALTsaltSALTsaltSALTsaltSALTsalt", 4096, 25,
     "3d2eec4fe41c849b80c8d83662c0e44a8b291a964cf2f07038"),
    (b"pass\0word", b"sa\0lt", 4096, 16, "56fa6aa75548099dcc37d7f03425e0c3"),
]


@pytest.mark.parametrize("password, salt, rounds, length, expected", RFC6070)
def test_pbkdf2_sha1_gives_the_rfc_6070_answers(password, salt, rounds, length, expected):
    assert aes.pbkdf2_sha1(password, salt, rounds, length).hex() == expected


def test_member_keys_are_66_bytes_of_pbkdf2_with_1000_rounds():
    salt = bytes(range(16))
    # An independent PBKDF2 (hashlib's) splits into AES key, HMAC key and verifier.
    material = hashlib.pbkdf2_hmac("sha1", PASSWORD.encode(), salt, 1000, 66)
    assert KEY.derive(salt) == (material[:32], material[32:64], material[64:])
    salt8 = salt[:8]  # AES-128 (strength 1): 16-byte keys from an 8-byte salt
    material = hashlib.pbkdf2_hmac("sha1", PASSWORD.encode(), salt8, 1000, 34)
    assert KEY.derive(salt8, 1) == (material[:16], material[16:32], material[32:])


# --- the keystream --------------------------------------------------------------------------

def _reference_keystream(aes_key, first, count):
    """AES of the 16-byte little-endian counters first .. first+count-1, one at a time."""
    ecb = Cipher(algorithms.AES(aes_key), modes.ECB()).encryptor()
    return ecb.update(b"".join(c.to_bytes(16, "little") for c in range(first, first + count)))


@pytest.mark.parametrize("page", [0, 1, 2, 15, 16, 4095, 2**20 + 3])
def test_counter_pages_hold_consecutive_little_endian_counters(page):
    data = aes.counter_page(page)
    assert len(data) == 16 * 4096
    counters = [int.from_bytes(data[i:i + 16], "little") for i in range(0, len(data), 16)]
    assert counters == list(range(4096 * page + 1, 4096 * page + 4097))


def test_keystream_crosses_pages_and_byte_carries_in_any_pieces():
    key = bytes(range(32))
    n = 3 * 4096 + 300  # past two page boundaries and the carries at 256 and 4096
    expected = _reference_keystream(key, 1, n)
    stream = aes._Keystream(key)
    rng = random.Random(3)
    got, taken = [], 0
    while taken < 16 * n:
        k = min(16 * n - taken, rng.choice([1, 5, 15, 16, 17, 4000, 65536, 70000]))
        got.append(stream.take(k))
        taken += k
    assert b"".join(got) == expected


def _reference_payload(data, salt):
    """An AE-2 payload made from the specification alone: hashlib's PBKDF2, one AES block per
    counter, stdlib HMAC."""
    m = hashlib.pbkdf2_hmac("sha1", PASSWORD.encode(), salt, 1000, 66)
    blocks = (len(data) + 15) // 16
    ks = _reference_keystream(m[:32], 1, blocks)[:len(data)]
    ct = bytes(a ^ b for a, b in zip(data, ks))
    return salt + m[64:] + ct + hmac.new(m[32:64], ct, "sha1").digest()[:10]


@pytest.mark.parametrize("size", [0, 1, 16, 100, 65536 + 7])
def test_encrypt_payload_matches_a_reference_made_from_the_specification(size, monkeypatch):
    salt = bytes(range(100, 116))
    data = random.Random(size).randbytes(size)
    monkeypatch.setattr(aes.os, "urandom", lambda n: salt[:n])
    assert aes.encrypt_payload(data, KEY) == _reference_payload(data, salt)


# --- round trips and errors -----------------------------------------------------------------

SIZES = [0, 1, 15, 16, 17, 1000, 65535, 65536, 65537, 2 * 65536 + 5, 300_001]


@pytest.mark.parametrize("size", SIZES)
def test_whole_and_streamed_payloads_decrypt_to_the_same_bytes(size):
    rng = random.Random(size)
    data = rng.randbytes(size)
    whole = aes.encrypt_payload(data, KEY)
    assert len(whole) == size + aes.OVERHEAD
    assert aes.decrypt_payload(whole, KEY) == data
    enc = aes.MemberEncryptor(KEY)
    parts, i = [enc.header], 0
    while i < size:
        j = min(size, i + rng.randint(1, 70_000))
        parts.append(enc.update(data[i:j]))
        i = j
    parts.append(enc.finish())
    streamed = b"".join(parts)
    assert aes.decrypt_payload(streamed, KEY) == data
    reader = aes.MemberReader(io.BytesIO(streamed), len(streamed), KEY)
    out = []
    while chunk := reader.read(rng.randint(1, 40_000)):
        out.append(chunk)
    assert b"".join(out) == data


def test_every_member_gets_its_own_salt_and_keystream():
    data = bytes(5000)
    a, b = aes.encrypt_payload(data, KEY), aes.encrypt_payload(data, KEY)
    assert a[:16] != b[:16]
    # The same plaintext under two keys: the ciphertexts do not match anywhere in bulk.
    assert sum(x == y for x, y in zip(a[18:-10], b[18:-10])) < 100


def test_a_wrong_password_is_told_by_the_verifier():
    payload = aes.encrypt_payload(b"secret mail", KEY)
    with pytest.raises(WrongPassword) as e:
        aes.decrypt_payload(payload, aes.ZipKey("not the password"), what="store/x.eml")
    assert "store/x.eml" in str(e.value) and e.value.exit_code == 56
    with pytest.raises(WrongPassword):
        aes.MemberReader(io.BytesIO(payload), len(payload), aes.ZipKey("nope"))


def test_a_wrong_password_that_passes_the_verifier_fails_the_code():
    # One wrong password in 65536 has the right verifier: give one that verifier by hand.
    other = aes.ZipKey("another password")
    payload = bytearray(aes.encrypt_payload(b"secret mail" * 10, KEY))
    payload[16:18] = other.derive(bytes(payload[:16]))[2]
    with pytest.raises(MemberTampered):
        aes.decrypt_payload(bytes(payload), other)


@pytest.mark.parametrize("where", ["ciphertext", "code", "salt"])
def test_a_flipped_byte_is_a_tampered_member(where):
    payload = bytearray(aes.encrypt_payload(b"x" * 1000, KEY))
    i = {"ciphertext": 500, "code": len(payload) - 1, "salt": 3}[where]
    payload[i] ^= 0x10
    # A changed salt gives other keys: the verifier catches it 65535 times in 65536.
    expected = (WrongPassword, MemberTampered) if where == "salt" else MemberTampered
    with pytest.raises(expected):
        aes.decrypt_payload(bytes(payload), KEY)


def test_the_streaming_reader_fails_at_the_end_of_a_tampered_member():
    data = os.urandom(200_000)
    payload = bytearray(aes.encrypt_payload(data, KEY))
    payload[100] ^= 1
    reader = aes.MemberReader(io.BytesIO(bytes(payload)), len(payload), KEY, what="big.eml")
    with pytest.raises(MemberTampered) as e:
        while reader.read(65536):
            pass
    assert isinstance(e.value, CorruptVolume) and e.value.exit_code == 59
    assert "big.eml" in str(e.value)


def test_a_short_payload_or_volume_is_an_error_not_a_crash():
    with pytest.raises(MemberTampered):
        aes.decrypt_payload(b"\0" * 27, KEY)
    payload = aes.encrypt_payload(b"y" * 100, KEY)
    reader = aes.MemberReader(io.BytesIO(payload[:60]), len(payload), KEY)
    with pytest.raises(ValueError, match="truncated"):
        while reader.read(10):
            pass


def test_an_encryptor_is_used_once():
    enc = aes.MemberEncryptor(KEY)
    enc.update(b"abc")
    enc.finish()
    with pytest.raises(ValueError):
        enc.update(b"more")
    with pytest.raises(ValueError):
        enc.finish()


@pytest.mark.parametrize("password, reason", [
    ("", "empty"), ("x" * 100, "100 characters"), ("pässword", "character 2"),
    ("tab\there", "character 4"), ("line\n", "character 5")])
def test_passwords_7zip_cannot_use_are_refused_without_being_echoed(password, reason):
    with pytest.raises(PasswordUnusable) as e:
        aes.ZipKey(password)
    assert reason in str(e.value) and e.value.exit_code == 58
    if password:
        assert password not in str(e.value)


def test_the_key_pickles_for_the_workers_and_hides_the_password():
    assert PASSWORD not in repr(KEY)
    copy = pickle.loads(pickle.dumps(KEY, protocol=pickle.HIGHEST_PROTOCOL))
    assert aes.decrypt_payload(aes.encrypt_payload(b"data", copy), KEY) == b"data"
    assert aes.ZipKey("x" * 99) is not None


# --- zip records ----------------------------------------------------------------------------

def test_encrypted_records_name_method_99_crc_0_and_carry_the_real_method():
    m = zf.Member("a.eml", MTIME, encrypted=True)
    header = zf.local_header(m, zf.DEFLATED, 0x12345678, 128, 1000, False)
    sig, version, flags, method, _, _, crc, csize, size, nlen, xlen = zf.LOCAL_FMT.unpack(
        header[:30])
    assert (version, flags & 1, method, crc, csize, size) == (51, 1, 99, 0, 128, 1000)
    assert len(header) == zf.local_header_size("a.eml", False, encrypted=True)
    extra = header[30 + nlen:]
    assert zf.parse_aes_extra(extra) == (2, 3, zf.DEFLATED)
    central = zf.central_record(m, zf.STORED, 0x12345678, 128, 100, 2**33)
    assert zf.parse_aes_extra(central[46 + 5:]) == (2, 3, zf.STORED)
    assert len(central) < zf.central_record_size("a.eml", encrypted=True)  # a bound
    largest = zf.central_record(m, zf.STORED, 0, 2**33, 2**33, 2**33)
    assert len(largest) == zf.central_record_size("a.eml", encrypted=True)
    # A plain member's records are as before: no AES field, the real method and CRC.
    plain = zf.local_header(zf.Member("a.eml", MTIME), zf.DEFLATED, 0x12345678, 128, 1000, False)
    fields = zf.LOCAL_FMT.unpack(plain[:30])
    assert (fields[1], fields[2], fields[3], fields[6]) == (20, 0, 8, 0x12345678)
    assert zf.parse_aes_extra(plain[35:]) is None


@pytest.mark.parametrize("extra", [
    b"\x01\x99\x06\x00\x02\x00AE\x03\x08",          # wrong size
    b"\x01\x99\x07\x00\x02\x00XY\x03\x08\x00",      # another vendor
    b"\x01\x99\x07\x00\x02\x00AE\x04\x08\x00",      # unknown strength
    b"\x01\x99\x07\x00\x02\x00AE",                  # cut short
])
def test_malformed_aes_fields_are_refused(extra):
    with pytest.raises(ValueError):
        zf.parse_aes_extra(extra)


# --- real tools -----------------------------------------------------------------------------

def _member(name, data, level=6, streamed=False, rng=None):
    """(Member, method, record, crc, csize, size) as a packing worker builds one."""
    c = zlib.compressobj(level, zlib.DEFLATED, -15)
    comp = c.compress(data) + c.flush()
    method, payload = (zf.DEFLATED, comp) if len(comp) < len(data) else (zf.STORED, data)
    if streamed:  # the way add_stream will: pieces of whatever size the compressor gives
        enc = aes.MemberEncryptor(KEY)
        parts, i = [enc.header], 0
        while i < len(payload):
            j = min(len(payload), i + rng.randint(1, 300_000))
            parts.append(enc.update(payload[i:j]))
            i = j
        parts.append(enc.finish())
        encrypted = b"".join(parts)
    else:
        encrypted = aes.encrypt_payload(payload, KEY)
    m = zf.Member(name, MTIME, encrypted=True)
    crc = zlib.crc32(data)
    record = zf.local_header(m, method, crc, len(encrypted), len(data), False) + encrypted
    return m, method, record, crc, len(encrypted), len(data)


def _contents():
    rng = random.Random(11)
    text = "".join(rng.choice(["Subject: ", "Grüße ", "hello ", "\r\n", "=?utf-8?q?", "x"])
                   for _ in range(40_000)).encode()
    return rng, {
        "empty.txt": b"",
        "store/mail/example.com/bob/INBOX/#msgs/00000001.eml": b"small\r\n",
        "store/mail/example.com/bob/Gelöschte Objekte/#msgs/00000002.eml": text,
        "store/mail/example.com/bob/INBOX/#msgs/00000003.eml": rng.randbytes(70_000),  # stored
        "users.cfg": b"<config/>\n" * 3,
        "store/mail/example.com/bob/INBOX/#msgs/0000000a.eml": text * 20 + rng.randbytes(9999),
    }


@pytest.fixture(scope="module")
def our_zip(tmp_path_factory):
    path = tmp_path_factory.mktemp("aes") / "F20260101T000000Z.zip"
    rng, contents = _contents()
    big = "store/mail/example.com/bob/INBOX/#msgs/0000000a.eml"
    with open(path, "wb") as f:
        vw = VolumeWriter(f, "F20260101T000000Z", 0, 1 << 40)
        for name, data in contents.items():
            vw.add_record(*_member(name, data, streamed=name == big, rng=rng))
        vw.finish()
    return path, contents


def _tree(root):
    out = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            full = os.path.join(dirpath, name)
            with open(full, "rb") as fh:
                out[os.path.relpath(full, root).replace(os.sep, "/")] = fh.read()
    return out


def test_7zip_tests_our_zip_only_with_the_password(our_zip):
    path, contents = our_zip
    ok = tool("7z", "t", f"-p{PASSWORD}", str(path))
    assert ok.returncode == 0 and b"Everything is Ok" in ok.stdout, ok.stdout
    assert f"Files: {len(contents)}".encode() in ok.stdout
    wrong = tool("7z", "t", "-pwrong password", str(path))
    assert wrong.returncode != 0 and b"Wrong password" in wrong.stdout + wrong.stderr
    missing = tool("7z", "t", str(path))  # no password and nobody to type one
    assert missing.returncode != 0 and b"Everything is Ok" not in missing.stdout


def test_7zip_lists_our_members_as_aes_256_deflate_or_store(our_zip):
    path, contents = our_zip
    out = tool("7z", "l", "-slt", str(path)).stdout.decode()
    methods = {}
    for block in out.split("\n\n"):
        fields = dict(line.split(" = ", 1) for line in block.splitlines() if " = " in line)
        if "Method" in fields and fields.get("Path") in contents:
            methods[fields["Path"]] = (fields["Method"], fields["Encrypted"])
    assert set(methods) == set(contents)
    assert {m for m, _ in methods.values()} == {"AES-256 Deflate", "AES-256 Store"}
    assert {e for _, e in methods.values()} == {"+"}


def test_7zip_extracts_our_zip_byte_for_byte(our_zip, tmp_path):
    path, contents = our_zip
    r = tool("7z", "x", f"-p{PASSWORD}", f"-o{tmp_path / 'out'}", str(path))
    assert r.returncode == 0, r.stdout
    assert _tree(tmp_path / "out") == contents


def test_bsdtar_extracts_our_zip_byte_for_byte(our_zip, tmp_path):
    path, contents = our_zip
    out = tmp_path / "out"
    out.mkdir()
    r = tool("bsdtar", "-x", "--passphrase", PASSWORD, "-f", str(path), "-C", str(out))
    assert r.returncode == 0, r.stderr
    assert _tree(out) == contents
    bad = tmp_path / "bad"
    bad.mkdir()
    r = tool("bsdtar", "-x", "--passphrase", "wrong", "-f", str(path), "-C", str(bad))
    assert r.returncode != 0 and b"passphrase" in r.stderr.lower()


def test_python_zipfile_sees_encrypted_members_and_no_plaintext(our_zip):
    path, contents = our_zip
    raw = path.read_bytes()
    assert b"Subject: " not in raw and b"<config/>" not in raw
    with zipfile.ZipFile(path) as z:
        infos = {i.filename: i for i in z.infolist()}
        assert set(infos) == set(contents)
        for info in infos.values():
            assert info.flag_bits & 1 and info.compress_type == 99 and info.CRC == 0
        with pytest.raises(RuntimeError, match="encrypted"):
            z.read("users.cfg")


def _entry(path, size, csize, method):
    """The Entry the reader takes for a member (what a zip's central directory says of it)."""
    return Entry(path, "other", None, None, None, size, 0, 0, "", 0, 0, csize, method)


def _read_back(path, key):
    """Every member of an AES zip through our reader: whole payloads for small members, the
    streaming reader for the rest; CRC checked where the records carry it (AE-1)."""
    out = {}
    with zipfile.ZipFile(path) as z, open(path, "rb") as f:
        for info in z.infolist():
            name = info.filename
            if info.is_dir():  # 7-Zip adds the folders, unencrypted and empty
                continue
            version, strength, method = zf.parse_aes_extra(info.extra)
            if info.compress_size < 100_000:
                payload = read_payload(f, info.header_offset, info.compress_size)
                plain = aes.decrypt_payload(payload, key, strength, name)
                data = unpack(_entry(name, info.file_size, len(plain), method), plain)
            else:
                real, version, reader = aes.open_member(f, info.header_offset,
                                                        info.compress_size, key, name)
                assert real == method
                d = decompressor() if method == zf.DEFLATED else None
                parts = []
                while chunk := reader.read(1 << 20):
                    parts.append(d.decompress(chunk) if d else chunk)
                if d:
                    parts.append(d.flush())
                data = b"".join(parts)
            if version == zf.AE_1:
                assert zlib.crc32(data) == info.CRC
            out[name] = data
    return out


def test_our_reader_reads_our_zip(our_zip):
    path, contents = our_zip
    assert _read_back(path, KEY) == contents


@pytest.mark.parametrize("args", [["-mem=AES256"], ["-mem=AES256", "-mx=0"], ["-mem=AES128"],
                                  ["-mem=AES192", "-mx=1"]])
def test_our_reader_decrypts_what_7zip_wrote(tmp_path, args):
    _, contents = _contents()
    contents["large.bin"] = random.Random(5).randbytes(3 * 1024 * 1024)  # streamed back
    src = tmp_path / "src"
    for name, data in contents.items():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_bytes(data)
    path = tmp_path / "7z.zip"
    r = tool("7z", "a", "-tzip", *args, f"-p{PASSWORD}", str(path), ".", cwd=src)
    assert r.returncode == 0, r.stdout
    assert _read_back(path, KEY) == contents
    with zipfile.ZipFile(path) as z, open(path, "rb") as f:
        info = z.getinfo("users.cfg")
        with pytest.raises(WrongPassword):
            aes.decrypt_payload(read_payload(f, info.header_offset, info.compress_size),
                                aes.ZipKey("wrong"), zf.parse_aes_extra(info.extra)[1])


def test_open_member_refuses_a_plain_member(tmp_path):
    path = tmp_path / "plain.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("a.txt", b"plain")
    with open(path, "rb") as f:
        with pytest.raises(ValueError, match="not encrypted"):
            aes.open_member(f, 0, 5, KEY)


def test_members_past_4_gib_carry_zip64_and_aes_fields_and_open_in_7zip_and_bsdtar(tmp_path):
    """A plain stored member of 4 GiB of zeros (a sparse hole, so this costs no disk) pushes the
    encrypted members past the 4 GiB offset: their central records need the Zip64 offset and
    the AES field together."""
    path = tmp_path / "z64.zip"
    pad_size = 2**32 + 12345
    crc = 0
    zeros = bytes(16 << 20)
    left = pad_size
    while left:
        crc = checksum(zeros[:min(left, len(zeros))], crc)
        left -= min(left, len(zeros))
    _, contents = _contents()
    central = []
    with open(path, "wb") as f:
        pad = zf.Member("pad.bin", MTIME)
        f.write(zf.local_header(pad, zf.STORED, crc, pad_size, pad_size, True))
        f.seek(pad_size, os.SEEK_CUR)
        central.append(zf.central_record(pad, zf.STORED, crc, pad_size, pad_size, 0))
        for name, data in contents.items():
            m, method, record, c, csize, size = _member(name, data)
            central.append(zf.central_record(m, method, c, csize, size, f.tell()))
            f.write(record)
        cd_offset = f.tell()
        cd = b"".join(central)
        f.write(cd)
        f.write(zf.end_records(len(central), cd_offset, len(cd), b""))
    assert cd_offset > 2**32
    # The padding is left out of the tests (reading 4 GiB of zeros proves nothing here); the
    # central directory, Zip64 end records included, is read all the same.
    ok = tool("7z", "t", f"-p{PASSWORD}", str(path), "-x!pad.bin")
    assert ok.returncode == 0 and b"Everything is Ok" in ok.stdout, ok.stdout
    assert f"Files: {len(contents)}".encode() in ok.stdout
    wrong = tool("7z", "t", "-pwrong", str(path), "-x!pad.bin")
    assert wrong.returncode != 0 and b"Wrong password" in wrong.stdout + wrong.stderr
    out = tmp_path / "out"
    r = tool("7z", "x", f"-p{PASSWORD}", f"-o{out}", str(path), "-x!pad.bin")
    assert r.returncode == 0, r.stdout
    assert _tree(out) == contents
    out2 = tmp_path / "out2"
    out2.mkdir()
    r = tool("bsdtar", "-x", "--passphrase", PASSWORD, "-f", str(path), "-C", str(out2),
             "--exclude", "pad.bin")
    assert r.returncode == 0, r.stderr
    assert _tree(out2) == contents
    with zipfile.ZipFile(path) as z, open(path, "rb") as f:
        for info in z.infolist()[1:]:
            assert info.header_offset > 2**32
            payload = read_payload(f, info.header_offset, info.compress_size)
            method = zf.parse_aes_extra(info.extra)[2]
            plain = aes.decrypt_payload(payload, KEY)
            entry = _entry(info.filename, info.file_size, len(plain), method)
            assert unpack(entry, plain) == contents[info.filename]
