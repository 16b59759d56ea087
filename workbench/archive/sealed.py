"""Sealed files: a set's manifest and index encrypted and authenticated at rest.

The manifest and the index hold every sender, recipient and subject of the store, so an
encrypted set seals them too. Unlike the volumes, no outside tool needs to open them, so they use
a stronger scheme than WinZip AES: a key from a memory-hard KDF and AES-256-GCM.

Keys. The set key comes from the password by scrypt, once per chain (the full's salt is reused
by its differentials, which are encrypted with the same key), and is cached per process by a
Keyring, so that reading many sets costs one scrypt per chain. Each sealed file has a random
16-byte file id and its own file key, HKDF-SHA256 of the set key with that id; chunk *i* of a
file is sealed under the file key with the nonce *i*. Deriving a key per file, rather than
using one key with random nonce prefixes, keeps nonces unique by construction, however many
files a chain holds. scrypt's parameters are n = 2**15, r = 8, p = 1: 32 MiB and about 0.1 s
here. That is a one-off cost for a backup, but every reading process pays it once per chain, and
restoring one message (a whole process) is meant to take a fifth of a second: more would be
felt; a GPU still needs 32 MiB per guess. The parameters are in each file's header, so later
versions can raise them without breaking old files; readers refuse any that would cost more
than 256 MiB or about 16 times the default's work (a hostile header costs only itself).

Format (version 1, integers little-endian)::

    offset  size  field
         0     6  magic b"WBSEAL"
         6     1  format version (1)
         7     1  KDF (1 = scrypt)
         8     3  scrypt's log2(n), r, p
        11    16  set salt (scrypt's)
        27    16  file id (HKDF's salt for this file's key)
        43     4  chunk size: plaintext bytes of every chunk but the last
        47    16  key check: HMAC-SHA256 of a fixed label under the set key, cut to 16 bytes
        63     4  CRC-32 of bytes 0-62
        67        chunks, each its ciphertext and 16-byte GCM tag

Each chunk is authenticated with the header and a final flag (1 for the last chunk, else 0) as
associated data, and its number is its nonce. So a changed byte anywhere, chunks swapped or
taken from another file, a file cut at any point (at a chunk boundary too: the chunk that is
then last was sealed as not final) or extended, all fail as SealedFileDamaged. The CRC tells a
damaged header apart from a wrong password: a header that passes its CRC but whose key check
does not match the password's key is a WrongPassword. A file always has at least one chunk (an
empty one for an empty file).

Chunks are 64 KiB: a manifest's header line (JSON, gzip) nearly always fits in the first one,
so reading a set's header decrypts 64 KiB, not the whole file, and a first read of that size is
one round trip on SMB (see manifest.decode_header). GCM adds 16 bytes per chunk (0.02 %).

Reading and writing stream: SealedWriter encrypts as it is written (a gzip stream can write
into it), open_sealed gives a buffered reader that decrypts a chunk at a time and can seek, so
a 100 MB manifest is never held in memory, and manifest.decode_header or read_manifest work on
it unchanged. The index, an SQLite file, is sealed from and unsealed to a local file.

What a sealed file shows: that it is one, its size (hence the plaintext's size, to within a
chunk's tag), the KDF parameters, the salt and the key check. Nothing of its content.
"""

import hashlib
import hmac
import io
import os
import struct
import zlib

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from ..errors import PasswordMissing, SealedFileDamaged, WrongPassword

MAGIC = b"WBSEAL"
VERSION = 1
KDF_SCRYPT = 1
SCRYPT_LOG2_N, SCRYPT_R, SCRYPT_P = 15, 8, 1
CHUNK_SIZE = 64 * 1024
TAG_SIZE = 16
SALT_SIZE = FILE_ID_SIZE = KEY_CHECK_SIZE = 16

_HEADER = struct.Struct("<6sBBBBB16s16sI16s")     # 63 bytes, then the CRC
HEADER_SIZE = _HEADER.size + 4                    # 67 bytes

# What a reader accepts from a header: enough room for stronger parameters later, never an
# unbounded cost.
_MAX_SCRYPT_MEMORY = 256 * 1024 * 1024           # 128 * n * r bytes
_MAX_SCRYPT_WORK = 16 * (2 ** SCRYPT_LOG2_N) * SCRYPT_R * SCRYPT_P   # n * r * p
_MIN_CHUNK, _MAX_CHUNK = 1024, 16 * 1024 * 1024

_CHECK_LABEL = b"workbench sealed file: key check"
_FILE_KEY_INFO = b"workbench sealed file: file key v1"


def is_sealed(start):
    """True if the bytes *start* (a file's first bytes, at least 6) begin a sealed file."""
    return bytes(start[:len(MAGIC)]) == MAGIC


class SetKey:
    """The key of an encrypted set (and its chain), with the scrypt parameters it came from.

    Made by Keyring.new_key (a new chain) or Keyring.key_for (a sealed file's header); its repr
    does not show the key.
    """

    __slots__ = ("salt", "log2_n", "r", "p", "_key", "check")

    def __init__(self, salt, log2_n, r, p, key):
        self.salt, self.log2_n, self.r, self.p, self._key = salt, log2_n, r, p, key
        self.check = hmac.new(key, _CHECK_LABEL, hashlib.sha256).digest()[:KEY_CHECK_SIZE]

    def __repr__(self):
        return f"SetKey(salt={self.salt.hex()}, n=2**{self.log2_n}, r={self.r}, p={self.p})"

    def file_key(self, file_id):
        """The AES-256-GCM key of the sealed file with this *file_id*."""
        return HKDF(hashes.SHA256(), 32, file_id, _FILE_KEY_INFO).derive(self._key)


def _scrypt(password, salt, log2_n, r, p):
    return Scrypt(salt, 32, 2 ** log2_n, r, p).derive(password)


class Keyring:
    """A password and the set keys derived from it in this process.

    scrypt runs once per set salt (per chain); later files of the chain reuse the key.

    Parameters
    ----------
    password : str
        The backup password (UTF-8 is what scrypt sees). Its repr is not shown.
    """

    _CACHE = 64  # keys kept; more chains than that are read again with scrypt

    def __init__(self, password):
        if not isinstance(password, str) or not password:
            raise ValueError("a backup password is a non-empty text")
        self._password = password.encode("utf-8")
        self._keys = {}

    def __repr__(self):
        return f"Keyring(<hidden>, {len(self._keys)} keys)"

    def new_key(self, log2_n=SCRYPT_LOG2_N, r=SCRYPT_R, p=SCRYPT_P):
        """A SetKey with a new random salt, for the sealed files of a new chain."""
        salt = os.urandom(SALT_SIZE)
        key = SetKey(salt, log2_n, r, p, _scrypt(self._password, salt, log2_n, r, p))
        self._remember(key)
        return key

    def key_for(self, header, what="an encrypted file"):
        """The SetKey a sealed file was made with, given its header bytes (HEADER_SIZE of them).

        Raises
        ------
        SealedFileDamaged
            The header is malformed, its CRC fails, or it asks for parameters out of bounds.
        WrongPassword
            The header is sound but the password's key does not match its key check.
        """
        fields = parse_header(header, what)
        salt, log2_n, r, p, check = (fields["salt"], fields["log2_n"], fields["r"], fields["p"],
                                     fields["check"])
        key = self._keys.get((salt, log2_n, r, p))
        if key is None:
            key = SetKey(salt, log2_n, r, p, _scrypt(self._password, salt, log2_n, r, p))
        if not hmac.compare_digest(key.check, check):
            raise WrongPassword(what)
        self._remember(key)
        return key

    def _remember(self, key):
        self._keys[(key.salt, key.log2_n, key.r, key.p)] = key
        while len(self._keys) > self._CACHE:
            del self._keys[next(iter(self._keys))]


def make_header(key, file_id, chunk_size):
    """The HEADER_SIZE bytes that open a sealed file."""
    head = _HEADER.pack(MAGIC, VERSION, KDF_SCRYPT, key.log2_n, key.r, key.p, key.salt, file_id,
                        chunk_size, key.check)
    return head + struct.pack("<I", zlib.crc32(head))


def parse_header(header, what="an encrypted file"):
    """The fields of a sealed file's header as a dict; SealedFileDamaged if it is unusable."""
    if len(header) < HEADER_SIZE:
        raise SealedFileDamaged(what, "it ends inside its header")
    head = bytes(header[:_HEADER.size])
    (crc,) = struct.unpack_from("<I", header, _HEADER.size)
    magic, version, kdf, log2_n, r, p, salt, file_id, chunk_size, check = _HEADER.unpack(head)
    if magic != MAGIC:
        raise SealedFileDamaged(what, "it does not start as a sealed file")
    if zlib.crc32(head) != crc:
        raise SealedFileDamaged(what, "its header fails its checksum")
    if version != VERSION:
        raise SealedFileDamaged(
            what, f"format version {version}, which this version of workbench does not read")
    n = 2 ** log2_n
    if (kdf != KDF_SCRYPT or not 10 <= log2_n <= 24 or not 1 <= r <= 64 or not 1 <= p <= 64
            or 128 * n * r > _MAX_SCRYPT_MEMORY or n * r * p > _MAX_SCRYPT_WORK):
        raise SealedFileDamaged(what, f"key derivation parameters out of bounds "
                                      f"(kdf {kdf}, n=2**{log2_n}, r={r}, p={p})")
    if not _MIN_CHUNK <= chunk_size <= _MAX_CHUNK:
        raise SealedFileDamaged(what, f"chunk size {chunk_size} out of bounds")
    return {"log2_n": log2_n, "r": r, "p": p, "salt": salt, "file_id": file_id,
            "chunk_size": chunk_size, "check": check, "raw": bytes(header[:HEADER_SIZE])}


def _nonce(index):
    return index.to_bytes(12, "big")


class SealedWriter:
    """Encrypts what is written to it into the binary file *f* as a sealed file.

    Use it as a context manager, or call ``close()`` after the last write: that seals the final
    chunk. Leaving the ``with`` block by an exception, or ``abort()``, writes no final chunk, so
    an interrupted file never reads as complete. *f* is not closed.

    Parameters
    ----------
    f : binary file
        Where the sealed file is written, from its current position.
    key : SetKey
        The set's key (Keyring.new_key for a new chain, Keyring.key_for a file of the chain).
    chunk_size : int
        Plaintext bytes per chunk.
    """

    def __init__(self, f, key, chunk_size=CHUNK_SIZE):
        if not _MIN_CHUNK <= chunk_size <= _MAX_CHUNK:
            raise ValueError(f"chunk size {chunk_size} out of bounds")
        file_id = os.urandom(FILE_ID_SIZE)
        self._f, self._cs = f, chunk_size
        self._header = make_header(key, file_id, chunk_size)
        self._aead = AESGCM(key.file_key(file_id))
        self._buf = bytearray()
        self._index = 0
        self.closed = False
        f.write(self._header)

    def writable(self):
        return True

    def write(self, data):
        if self.closed:
            raise ValueError("write to a closed sealed file")
        self._buf += data
        # A chunk is sealed only once more data follows it: the last one must carry the flag.
        while len(self._buf) > self._cs:
            self._seal(self._buf[:self._cs], final=False)
            del self._buf[:self._cs]
        return len(data)

    def flush(self):
        """Nothing to do: chunks are written as they fill (gzip calls this)."""

    def _seal(self, plain, final):
        aad = self._header + (b"\x01" if final else b"\x00")
        self._f.write(self._aead.encrypt(_nonce(self._index), plain, aad))
        self._index += 1

    def close(self):
        """Seal the final chunk (the file is then complete)."""
        if not self.closed:
            self._seal(self._buf, final=True)
            self._buf = bytearray()
            self.closed = True

    def abort(self):
        """Stop without sealing the final chunk: what was written will not read as complete."""
        self._buf = bytearray()
        self.closed = True

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        if exc_type is None:
            self.close()
        else:
            self.abort()


class SealedReader(io.RawIOBase):
    """The plaintext of a sealed file, decrypted a chunk at a time as it is read.

    Each chunk is authenticated before any of it is returned; a file cut short, altered or
    reordered raises SealedFileDamaged when the reader reaches the first bad chunk (so a reader
    of the start sees only the start). Seeking works when *f* seeks: back to any chunk already
    read, forward by reading on (a seek past the end stops at the end). Prefer open_sealed,
    which adds a buffer of one chunk.

    Parameters
    ----------
    f : binary file
        The sealed file, positioned at its start.
    keyring : Keyring or None
        The password's keys; None raises PasswordMissing.
    what : str
        The file, as errors name it (e.g. ``"the manifest of F20260101T000000Z"``).
    """

    def __init__(self, f, keyring, what="an encrypted file"):
        super().__init__()
        self._f, self.what = f, what
        try:
            self._base = f.tell() if f.seekable() else None
        except (OSError, AttributeError, io.UnsupportedOperation):
            self._base = None
        header = _read_upto(f, HEADER_SIZE)
        if not is_sealed(header):
            raise SealedFileDamaged(what, "it does not start as a sealed file")
        if keyring is None:
            raise PasswordMissing(what)
        fields = parse_header(header, what)
        key = keyring.key_for(header, what)
        self._header = fields["raw"]
        self.chunk_size = fields["chunk_size"]
        self._frame = self.chunk_size + TAG_SIZE
        self._aead = AESGCM(key.file_key(fields["file_id"]))
        self._cur = -1             # number of the chunk in _plain (-1: none yet)
        self._plain, self._pos = b"", 0
        self._final = False        # _plain is the last chunk
        self._known = -1           # the highest chunk read so far (all below it exist)
        self._at, self._carry = 0, b""   # the chunk *f* is at, and bytes already read of it

    def readable(self):
        return True

    def seekable(self):
        return self._base is not None

    def _load(self, index):
        """Read and authenticate chunk *index* into _plain."""
        if index != self._at:
            self._f.seek(self._base + HEADER_SIZE + index * self._frame)
            self._at, self._carry = index, b""
        # One read takes the chunk and a byte beyond it: whether that byte exists tells if this
        # chunk is the last.
        data = self._carry + _read_upto(self._f, self._frame + 1 - len(self._carry))
        frame, self._carry = data[:self._frame], data[self._frame:]
        self._at = index + 1
        final = len(data) <= self._frame
        if len(frame) < TAG_SIZE:
            raise SealedFileDamaged(self.what, f"it is cut short at chunk {index}")
        aad = self._header + (b"\x01" if final else b"\x00")
        try:
            plain = self._aead.decrypt(_nonce(index), frame, aad)
        except InvalidTag:
            raise SealedFileDamaged(
                self.what, f"chunk {index} fails its authentication check: the file was "
                           f"altered, cut short or put together from pieces") from None
        self._cur, self._plain, self._pos, self._final = index, plain, 0, final
        self._known = max(self._known, index)

    def readinto(self, b):
        while self._pos >= len(self._plain):
            if self._final:
                return 0
            self._load(self._cur + 1)
        n = min(len(b), len(self._plain) - self._pos)
        b[:n] = self._plain[self._pos:self._pos + n]
        self._pos += n
        return n

    def tell(self):
        return max(self._cur, 0) * self.chunk_size + self._pos

    def seek(self, offset, whence=io.SEEK_SET):
        if whence == io.SEEK_CUR:
            offset += self.tell()
        elif whence != io.SEEK_SET:
            raise io.UnsupportedOperation("a sealed file seeks from its start or position only")
        if offset < 0:
            raise ValueError("negative seek position")
        index, within = divmod(offset, self.chunk_size)
        if index <= self._known and index != self._cur:
            if not self.seekable():
                raise io.UnsupportedOperation("the sealed file's own file does not seek")
            self._load(index)
        while self._cur < index and not self._final:  # forward: authenticate on the way
            self._load(self._cur + 1)
        self._pos = min(within, len(self._plain)) if self._cur == index else len(self._plain)
        return self.tell()


def open_sealed(f, keyring, what="an encrypted file"):
    """A buffered, seekable reader of the plaintext of the sealed file *f* (see SealedReader).

    Its ``read1`` decrypts one chunk (64 KiB) and no more, which is what reading a manifest's
    header line needs.
    """
    raw = SealedReader(f, keyring, what)
    return io.BufferedReader(raw, buffer_size=raw.chunk_size)


def _read_upto(f, n):
    """Up to *n* bytes from *f*, fewer only at its end (raw files may return short reads)."""
    parts, left = [], n
    while left > 0:
        chunk = f.read(left)
        if not chunk:
            break
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)
