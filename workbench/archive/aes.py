"""WinZip AES-256 (AE-2) for zip members: the encryption 7-Zip, WinZip and bsdtar open.

Format (APPNOTE 6.3 section 7.2.1 and WinZip's "AES Encryption Information"): an encrypted
member's payload is ``salt | password verifier | ciphertext | authentication code``. PBKDF2 with
HMAC-SHA1 and 1000 rounds turns the password and the member's salt (16 random bytes for AES-256)
into 66 bytes: the AES key (32), the HMAC key (32) and the verifier (2). The ciphertext is the
member's compressed data (deflate or stored) under AES in CTR mode with a 128-bit little-endian
counter that starts at 1 in every member; the code is HMAC-SHA1 over the ciphertext, cut to 10
bytes. The headers say method 99 and CRC 0 and carry the real method in the 0x9901 extra field
(``zipformat.Member(..., encrypted=True)``). A member costs 28 bytes more than its plain payload.

One key per member. Since the counter starts at 1 in every member, two members under the same
key would share their keystream, and the XOR of their ciphertexts would be the XOR of their
data. So every member gets a fresh salt, hence a fresh key, used once: encrypt_payload and
MemberEncryptor derive the key themselves and no function takes one from the caller. A member
written again (a streamed file rewritten as stored because it did not shrink) is a new member
and needs a new MemberEncryptor, never a restarted one.

What an encrypted zip still shows (the zip format keeps it outside the encryption): each
member's name, original and compressed sizes, time stamps and compression method, its place in
the volume, the number of members, the zip comment (our set marker) and the volume's own name
and size. What it does not show: the data, and (AE-2) the data's CRC-32, which would tell too
much about short files. The set's manifest and index, which hold senders and subjects, are
encrypted separately (archive/sealed.py).

Passwords: 7-Zip writes zip encryption only with printable ASCII passwords of at most 99
characters, and reads a zip password in the local code page, so a volume encrypted with any other
password would not open everywhere. ZipKey refuses such passwords (PasswordUnusable).

Reading: the verifier tells a wrong password (WrongPassword) before anything is decrypted. It is
2 bytes, so one wrong password in 65536 passes it and then fails the authentication code as
MemberTampered: a reader of one of our sets checks the password against the set's sealed
manifest first, whose key check is 16 bytes. The code covers the whole member, so a streaming
reader learns only at the end that a member was altered, and must discard what it wrote.

Cost: the key derivation dominates, 4 PBKDF2 blocks of 1000 HMAC-SHA1 rounds for every member
(about 0.5 ms here, as much for an empty member as for a large one); AES-CTR with the XOR and
HMAC-SHA1 cost a few nanoseconds a byte.
"""

import array
import hmac
import io
import os
import sys

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from ..errors import MemberTampered, PasswordUnusable, WrongPassword
from . import zipformat as zf

ITERATIONS = 1000
VERIFIER_SIZE = 2
MAC_SIZE = 10
MAX_PASSWORD = 99                                   # 7-Zip's limit for WinZip AES
# strength (the 0x9901 field) -> (salt bytes, AES key bytes)
_STRENGTHS = {1: (8, 16), 2: (12, 24), zf.AES_256: (16, 32)}
SALT_SIZE = _STRENGTHS[zf.AES_256][0]
# What encryption adds to a member's payload (AES-256).
OVERHEAD = SALT_SIZE + VERIFIER_SIZE + MAC_SIZE     # 28 bytes


def header_size(strength=zf.AES_256):
    """Bytes before the ciphertext (salt and verifier) for an AES *strength* of 1, 2 or 3."""
    try:
        return _STRENGTHS[strength][0] + VERIFIER_SIZE
    except KeyError:
        raise ValueError(f"unknown AES strength {strength}") from None


def pbkdf2_sha1(password, salt, iterations, length):
    """PBKDF2-HMAC-SHA1 (RFC 8018) of the bytes *password* and *salt*: *length* bytes."""
    return PBKDF2HMAC(hashes.SHA1(), length, salt, iterations).derive(password)


def check_zip_password(password):
    """The bytes of *password* if every zip tool can use it; PasswordUnusable otherwise.

    7-Zip accepts 1 to 99 printable ASCII characters for an encrypted zip and reads them back in
    the local code page, which is the same for ASCII on every system. The error says what is
    wrong without repeating the password.
    """
    if not isinstance(password, str):
        raise TypeError("a zip password is text (str)")
    if not password:
        raise PasswordUnusable("it is empty")
    if len(password) > MAX_PASSWORD:
        raise PasswordUnusable(f"it is {len(password)} characters long")
    for i, ch in enumerate(password, 1):
        if not " " <= ch <= "~":
            raise PasswordUnusable(f"character {i} is not printable ASCII")
    return password.encode("ascii")


class ZipKey:
    """The password of the zip volumes, checked once; derives a fresh key for every member.

    It pickles (a packing worker receives it through its pipe, never on a command line) and its
    repr does not show the password.
    """

    __slots__ = ("_password",)

    def __init__(self, password):
        self._password = check_zip_password(password)

    def __repr__(self):
        return "ZipKey(<hidden>)"

    def is_password(self, text):
        """True if *text* is this key's password (to keep it out of a child's environment)."""
        return isinstance(text, str) and hmac.compare_digest(text.encode("utf-8", "replace"),
                                                             self._password)

    def encrypt(self, payload):
        """encrypt_payload(payload, self): writers call this on the key they are given, so that
        the volume code and the packing workers need not import this module themselves."""
        return encrypt_payload(payload, self)

    def encryptor(self):
        """A MemberEncryptor of one member (see encrypt)."""
        return MemberEncryptor(self)

    def derive(self, salt, strength=zf.AES_256):
        """``(aes_key, mac_key, verifier)`` for one member's *salt* (PBKDF2, about 0.5 ms)."""
        klen = _STRENGTHS[strength][1]
        material = pbkdf2_sha1(self._password, bytes(salt), ITERATIONS, 2 * klen + VERIFIER_SIZE)
        return material[:klen], material[klen:2 * klen], material[2 * klen:]


# Counter blocks are made a page at a time: a page holds 4096 little-endian 128-bit counters
# (64 KiB). The first page is built once; page p adds 4096 * p to every lane of it as one big
# integer addition (the lanes never carry into each other), which is much faster than
# converting each counter on its own.
_PAGE_BLOCKS = 4096
_PAGE_BYTES = 16 * _PAGE_BLOCKS


def _first_page():
    lanes = array.array("Q", bytes(_PAGE_BYTES))
    lanes[0::2] = array.array("Q", range(1, _PAGE_BLOCKS + 1))
    if sys.byteorder == "big":
        lanes.byteswap()
    return lanes.tobytes()


_PAGE0 = _first_page()
_PAGE0_INT = int.from_bytes(_PAGE0, "little")
_PAGE_STEP = int.from_bytes((_PAGE_BLOCKS).to_bytes(16, "little") * _PAGE_BLOCKS, "little")


def _page(p):
    return (_PAGE0_INT + p * _PAGE_STEP).to_bytes(_PAGE_BYTES, "little")


# The counters of a member's first megabyte are the same in every member (only the key
# differs): they are made once, at import, so that threads share them without a lock.
_PAGES = (_PAGE0,) + tuple(_page(p) for p in range(1, 16))


def counter_page(p):
    """The counter blocks ``4096 p + 1`` to ``4096 (p + 1)``, each 16 bytes little-endian."""
    return _PAGES[p] if p < len(_PAGES) else _page(p)


def _xor(data, keystream):
    """*data* XOR *keystream* (same length), through Python's big integers (C loops)."""
    n = len(data)
    return (int.from_bytes(data, "little") ^ int.from_bytes(keystream, "little")).to_bytes(
        n, "little")


class _Keystream:
    """The CTR keystream of one member: AES of the counters 1, 2, 3, ... taken in any pieces."""

    def __init__(self, aes_key):
        self._ecb = Cipher(algorithms.AES(aes_key), modes.ECB()).encryptor()
        self._block = 0                  # blocks made so far (the next counter is this + 1)
        self._page_no, self._page = -1, None   # the counter page in use
        self._rest = b""                 # keystream made but not used yet (under 16 bytes)

    def take(self, n):
        """The next *n* bytes of keystream (bytes or a memoryview)."""
        rest = self._rest
        if n <= len(rest):
            self._rest = rest[n:]
            return rest[:n]
        parts = [rest] if rest else []
        b, end = self._block, self._block + (n - len(rest) + 15) // 16
        while b < end:
            p, start = divmod(b, _PAGE_BLOCKS)
            if p != self._page_no:
                self._page_no, self._page = p, memoryview(counter_page(p))
            stop = min(end - p * _PAGE_BLOCKS, _PAGE_BLOCKS)
            parts.append(self._ecb.update(self._page[16 * start:16 * stop]))
            b = p * _PAGE_BLOCKS + stop
        self._block = end
        stream = parts[0] if len(parts) == 1 else b"".join(parts)
        if len(stream) == n:
            self._rest = b""
            return stream
        self._rest = stream[n:]
        return memoryview(stream)[:n]


class MemberEncryptor:
    """Encrypts one member's payload as it is produced, with a key of its own.

    Write ``header`` first, then what ``update`` returns for each piece of the compressed data
    (pieces of any length), then what ``finish`` returns (the authentication code). The
    encrypted payload is ``OVERHEAD`` bytes longer than the compressed data.

    Parameters
    ----------
    key : ZipKey
        The volumes' password; a new random salt gives this member its own key.
    """

    def __init__(self, key):
        salt = os.urandom(SALT_SIZE)
        aes_key, mac_key, verifier = key.derive(salt)
        self.header = salt + verifier
        self._stream = _Keystream(aes_key)
        self._mac = hmac.new(mac_key, digestmod="sha1")

    def update(self, data):
        """The ciphertext of the next *data* (bytes-like), as long as it."""
        if self._mac is None:
            raise ValueError("this member's encryption is finished")
        out = _xor(data, self._stream.take(len(data)))
        self._mac.update(out)
        return out

    def finish(self):
        """The 10-byte authentication code that ends the payload; the encryptor is then spent."""
        if self._mac is None:
            raise ValueError("this member's encryption is finished")
        code, self._mac = self._mac.digest()[:MAC_SIZE], None
        return code


def encrypt_payload(payload, key):
    """The encrypted payload of a whole member: salt, verifier, ciphertext, code.

    Parameters
    ----------
    payload : bytes-like
        The member's compressed (or stored) data.
    key : ZipKey
        The volumes' password; the member gets its own salt and key.

    Returns
    -------
    bytes
        ``len(payload) + OVERHEAD`` bytes, to follow a local header made from
        ``zipformat.Member(name, mtime_ns, encrypted=True)`` with that size as csize.
    """
    enc = MemberEncryptor(key)
    return b"".join((enc.header, enc.update(payload), enc.finish()))


class MemberDecryptor:
    """Decrypts one member's payload piece by piece and checks its authentication code.

    Parameters
    ----------
    key : ZipKey
    header : bytes
        The payload's first ``header_size(strength)`` bytes (salt and verifier).
    strength : int
        The AES strength from the member's 0x9901 field (3 = AES-256; 1 and 2 are read too).
    what : str
        The member, as errors name it (e.g. ``"store/mail/... in F...zip"``).

    Raises
    ------
    WrongPassword
        If the password verifier does not match (before anything is decrypted).
    """

    def __init__(self, key, header, strength=zf.AES_256, what="a member"):
        salt_len = header_size(strength) - VERIFIER_SIZE
        if len(header) != salt_len + VERIFIER_SIZE:
            raise ValueError("AES header of the wrong length")
        aes_key, mac_key, verifier = key.derive(header[:salt_len], strength)
        if not hmac.compare_digest(verifier, bytes(header[salt_len:])):
            raise WrongPassword(what)
        self.what = what
        self._stream = _Keystream(aes_key)
        self._mac = hmac.new(mac_key, digestmod="sha1")

    def update(self, ciphertext):
        """The plaintext of the next piece of ciphertext (not yet authenticated: see finish)."""
        self._mac.update(ciphertext)
        return _xor(ciphertext, self._stream.take(len(ciphertext)))

    def authentic(self, code):
        """True if *code* (the payload's last 10 bytes) matches all the ciphertext given."""
        return hmac.compare_digest(self._mac.digest()[:MAC_SIZE], bytes(code))

    def finish(self, code):
        """Check the authentication code; MemberTampered if the member was altered."""
        if not self.authentic(code):
            raise MemberTampered(self.what)

    def open(self, ciphertext, code):
        """The plaintext of all the *ciphertext*, released only once *code* has matched it."""
        self._mac.update(ciphertext)
        self.finish(code)
        return _xor(ciphertext, self._stream.take(len(ciphertext)))


def decrypt_payload(data, key, strength=zf.AES_256, what="a member"):
    """The compressed data of a whole encrypted payload, authenticated before it is decrypted.

    Parameters
    ----------
    data : bytes-like
        The member's payload as stored (csize bytes after its local header).
    key : ZipKey
    strength : int
        From the member's 0x9901 field (zipformat.parse_aes_extra).
    what : str
        The member, as errors name it.

    Raises
    ------
    WrongPassword
        The password verifier does not match.
    MemberTampered
        The authentication code does not match, or the payload is too short to hold one.
    """
    h = header_size(strength)
    if len(data) < h + MAC_SIZE:
        raise MemberTampered(what)
    view = memoryview(data)
    end = len(view) - MAC_SIZE
    return MemberDecryptor(key, view[:h], strength, what).open(view[h:end], view[end:])


class MemberReader(io.RawIOBase):
    """The decrypted (still compressed) data of one member, read from its volume in pieces.

    *f* is positioned at the start of the member's payload and *csize* is its length as the
    records give it. ``read`` returns plaintext as it is decrypted; the authentication code is
    checked when the end is reached, so the read that would return ``b""`` raises
    MemberTampered instead if the member was altered: whatever was written from it must then be
    discarded. A payload cut short raises ValueError, as the plain reader does.
    """

    def __init__(self, f, csize, key, strength=zf.AES_256, what="a member"):
        super().__init__()
        h = header_size(strength)
        if csize < h + MAC_SIZE:
            raise MemberTampered(what)
        self._f = f
        self._dec = MemberDecryptor(key, _read_exact(f, h), strength, what)
        self._left = csize - h - MAC_SIZE
        self._checked = False

    def readable(self):
        return True

    def read(self, size=-1):
        if self._left == 0:
            if not self._checked:
                self._dec.finish(_read_exact(self._f, MAC_SIZE))
                self._checked = True
            return b""
        n = self._left if size is None or size < 0 else min(size, self._left)
        chunk = self._f.read(n)
        if not chunk:
            raise ValueError("volume is truncated inside this member")
        self._left -= len(chunk)
        return self._dec.update(chunk)

    def readinto(self, b):
        data = self.read(len(b))
        b[:len(data)] = data
        return len(data)


def _read_exact(f, n):
    data = f.read(n)
    if len(data) != n:
        raise ValueError("volume is truncated inside this member")
    return data


def open_member(f, offset, csize, key, what="a member"):
    """Open the encrypted member whose local header is at *offset* in the volume file *f*.

    Parameters
    ----------
    f : binary file
        The volume, seekable.
    offset, csize : int
        Where the member's local header is and its payload's length, as the central directory
        (or our manifest) gives them.
    key : ZipKey
    what : str
        The member, as errors name it.

    Returns
    -------
    (method, version, MemberReader)
        The real compression method (0 or 8) and AE version from the member's 0x9901 field, and
        a reader of its decrypted, still compressed data. With AE-1 (which some writers use)
        the CRC-32 in the records is real and the caller checks the data against it; with AE-2
        (ours and 7-Zip's) it is 0 and the authentication code stands for it.

    Raises
    ------
    ValueError
        The member is not WinZip AES encrypted, or its records are malformed or cut short.
    WrongPassword
        The password verifier does not match.
    """
    f.seek(offset)
    head = f.read(zf.LOCAL_FMT.size)
    if len(head) < zf.LOCAL_FMT.size:
        raise ValueError("volume is truncated before this member")
    header_len, nlen, xlen, method, flags = zf.parse_local_header(head)
    f.seek(offset + zf.LOCAL_FMT.size + nlen)
    extra = f.read(xlen)
    aes = zf.parse_aes_extra(extra) if method == zf.AES_METHOD else None
    if aes is None or not flags & zf.FLAG_ENCRYPTED:
        raise ValueError(f"{what} is not encrypted with WinZip AES")
    version, strength, real_method = aes
    f.seek(offset + header_len)
    return real_method, version, MemberReader(f, csize, key, strength, what)
