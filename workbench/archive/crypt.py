"""Encrypted sets as the rest of the package meets them: keys from a target's password, the
manifest and index files sealed or unsealed, and a member's WinZip AES key.

An encrypted set (config ``encrypt``) has WinZip AES-256 volumes (archive/aes.py: every member,
the manifest copy included) and a sealed manifest file and index (archive/sealed.py). A reader
tells a sealed file by its first bytes, so nothing else marks a set as encrypted, and a plain
set costs its readers nothing: the cryptography library is imported only when an encrypted file
is met.

The password comes from a ``workbench.passwords.PasswordSource`` (``Target.backup_password``);
the keys derived from it (a Keyring with its scrypt keys, a ZipKey) are kept on the source, so
that each process derives a chain's key once.
"""

import io
import os
from contextlib import contextmanager

# sealed.MAGIC (tests/test_encrypt.py checks that they agree): tested here without loading the
# cryptography library for every plain manifest.
SEALED_MAGIC = b"WBSEAL"
_FIRST_READ = 64 * 1024


def is_sealed(start):
    """True if the bytes *start* (a file's first bytes) open a sealed file."""
    return bytes(start[:len(SEALED_MAGIC)]) == SEALED_MAGIC


# Keyrings by password, for the process: targets are opened anew by every catalog call, and a
# chain's scrypt key is derived once per process and password, not once per call.
_RINGS = {}
_MAX_RINGS = 4


def keyring(source, what="this backup"):
    """The sealed.Keyring of the password of *source* (a PasswordSource); PasswordMissing."""
    ring = source.keys.get("keyring")
    if ring is None:
        password = source.get(what)
        ring = _RINGS.get(password)
        if ring is None:
            from .sealed import Keyring
            ring = _RINGS[password] = Keyring(password)
            while len(_RINGS) > _MAX_RINGS:
                del _RINGS[next(iter(_RINGS))]
        source.keys["keyring"] = ring
    return ring


def seal_of(reader):
    """The sealed-file header of *reader* (what unsealed returned) if it decrypts a sealed file,
    else None: kept by the catalog's cache to check the password of a later reader."""
    raw = getattr(reader, "raw", None)
    return getattr(raw, "_header", None) if raw is not None else None


def check_password(target, seal, what):
    """WrongPassword or PasswordMissing unless *target*'s password opens the sealed file whose
    header is *seal* (cheap once its chain's key is derived in this process)."""
    keyring(_source(target), what).key_for(seal, what)


def zip_key(source, what="this backup"):
    """The aes.ZipKey of the password of *source*; PasswordMissing, or PasswordUnusable if 7-Zip
    could not use it."""
    key = source.keys.get("zip")
    if key is None:
        from .aes import ZipKey
        key = source.keys["zip"] = ZipKey(source.get(what))
    return key


def _source(target):
    source = getattr(target, "backup_password", None)
    if source is None:
        from ..passwords import PasswordSource
        source = PasswordSource()
    return source


def source_of(target):
    """The PasswordSource of *target* (a default one for an object without it)."""
    return _source(target)


def file_is_sealed(target, fname):
    """True if the file *fname* on *target* is sealed (reads its first bytes)."""
    with target.open_read(fname) as f:
        return is_sealed(f.read(len(SEALED_MAGIC)))


def unsealed(f, target, what):
    """The open binary file *f* as a reader of its plaintext: *f* itself if it is not sealed,
    else a seekable decrypting reader (WrongPassword, PasswordMissing, SealedFileDamaged)."""
    # The first read is the one a manifest header's reader makes (manifest.decode_header: one
    # read of 64 KiB, one round trip on SMB): a short read here would leave a buffered file
    # answering that read with a few kilobytes only.
    start = f.read1(_FIRST_READ) if hasattr(f, "read1") else f.read(len(SEALED_MAGIC))
    f.seek(0)
    if not is_sealed(start):
        return f
    from .sealed import open_sealed
    return open_sealed(f, keyring(_source(target), what), what)


@contextmanager
def open_plain(target, fname, what):
    """The file *fname* on *target*, open for reading its plaintext (see unsealed)."""
    with target.open_read(fname) as f:
        yield unsealed(f, target, what)


def plain_bytes(data, target, what):
    """The plaintext of the file content *data* (itself if it is not sealed)."""
    if not is_sealed(data):
        return data
    return unsealed(io.BytesIO(data), target, what).read()


def set_key_of(target, fname, what):
    """The sealed.SetKey the sealed file *fname* on *target* was made with (WrongPassword if
    the password does not open it): a differential seals its files with its full's key."""
    from .sealed import HEADER_SIZE
    with target.open_read(fname) as f:
        header = f.read(HEADER_SIZE)
    return keyring(_source(target), what).key_for(header, what)


class Sealer:
    """Seals the files of one encrypted set (its manifest and index) with its chain's key."""

    def __init__(self, key):
        self.key = key  # a sealed.SetKey

    def writer(self, f):
        """A SealedWriter into the open binary file *f* (a context manager)."""
        from .sealed import SealedWriter
        return SealedWriter(f, self.key)

    def seal_file(self, src_path, dst):
        """Seal the local file *src_path* into the open binary file *dst*."""
        with open(src_path, "rb") as src, self.writer(dst) as out:
            while chunk := src.read(1024 * 1024):
                out.write(chunk)


def unseal_to(target, fname, dst_path, what):
    """Write the plaintext of *fname* on *target* (sealed or not) to the local file *dst_path*."""
    with open_plain(target, fname, what) as src, open(dst_path, "wb") as out:
        while chunk := src.read(1024 * 1024):
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
