"""Read members out of zip volumes by offset, bounded whatever the zip declares; read whole
volumes in offset order (restore, verify and Message-ID scans share ``read_volume``); list foreign
volumes' central directories.

A member is never inflated beyond the size it declares: inflating stops as soon as the output
passes it (CorruptVolume), before a byte past it is handed on. A member whose compressed and
declared sizes are both at most WHOLE_LIMIT is read and inflated whole, the fast path of a
store's many small messages; any other member is inflated in chunks of at most _CHUNK bytes, from
its payload in memory (compressed at most WHOLE_LIMIT) or from the volume, read in chunks too.
"""

import zlib
from collections import deque, namedtuple
from contextlib import contextmanager

from ..errors import CorruptVolume, MemberTooLarge, UnsafePath
from ..sizes import human_size
from ..model import Entry
from ..store import classify
from . import manifest as mf
from . import zipformat as zf
from .compress import checksum, decompressor

# Members read and inflated whole have both sizes at most this: a few MB, so that the payloads and
# members in flight in a restore's threads stay small, yet well above nearly every message of a
# store (most are under 100 KB), which keep the fast whole path.
WHOLE_LIMIT = 4 * 1024 * 1024
_CHUNK = 1024 * 1024
# Backups pack files above this size in a stream of their own (archive.pack).
STREAM_THRESHOLD = 16 * 1024 * 1024


def check_declared(entry, max_member_size, max_ratio):
    """Raise MemberTooLarge if *entry* declares more than *max_member_size* bytes, or, being
    larger than WHOLE_LIMIT, more than *max_ratio* times its compressed size (a member that small
    costs little whatever it holds: small runs of zeros are common and compress beyond any
    sane ratio)."""
    if entry.size > max_member_size:
        raise MemberTooLarge(entry.path, entry.size, entry.csize, "max_member_size",
                             max_member_size, human_size)
    if entry.size > WHOLE_LIMIT and entry.size > max_ratio * max(entry.csize, 1):
        raise MemberTooLarge(entry.path, entry.size, entry.csize, "max_ratio", max_ratio,
                             human_size)


def reads_payload(entry):
    """True if *entry*'s compressed payload is small enough to be read whole and handed to a
    worker (see unpack and copy_payload); False if it is streamed from the volume (copy_member)."""
    return entry.csize <= WHOLE_LIMIT


def inflates_whole(entry):
    """True if *entry* is inflated whole in memory by unpack; else copy_payload streams it."""
    return entry.size <= WHOLE_LIMIT and entry.csize <= WHOLE_LIMIT


def inflated_at_once(entry):
    """Bytes of *entry*'s data alive at once while a worker inflates it from its payload: all of
    it if inflated whole, a chunk if not (0 if it is streamed from the volume instead)."""
    if not reads_payload(entry):
        return 0
    return max(entry.size, 0) if entry.size <= WHOLE_LIMIT else _CHUNK


def read_payload(f, offset, csize, secret=None, what="a member"):
    """The raw (still compressed) payload of the member whose local header is at *offset*.

    Given *secret* (a passwords.PasswordSource: readers pass their target's), a WinZip AES
    member (an encrypted set's) is decrypted and authenticated before its compressed data is
    returned (WrongPassword, MemberTampered, PasswordMissing); without it, its payload is
    returned as stored (salt, verifier, ciphertext, code)."""
    f.seek(offset)
    head = f.read(zf.LOCAL_FMT.size)
    if len(head) < zf.LOCAL_FMT.size:
        raise ValueError("volume is truncated before this member")
    header_len, _, _, method, _ = zf.parse_local_header(head)
    if method == zf.AES_METHOD and secret is not None:
        return _decrypted_payload(f, offset, csize, secret, what)
    f.seek(offset + header_len)
    if csize < 0:
        raise ValueError("this member declares a negative compressed size")
    data = f.read(csize)
    if len(data) != csize:
        raise ValueError("volume is truncated inside this member")
    return data


def _member_reader(f, offset, csize, secret, what):
    from .aes import open_member
    from .crypt import zip_key
    if secret is None:
        from ..errors import PasswordMissing
        raise PasswordMissing(what)  # an encrypted member cannot be inflated as it is stored
    return open_member(f, offset, csize, zip_key(secret, what), what)[2]


def _decrypted_payload(f, offset, csize, secret, what):
    reader = _member_reader(f, offset, csize, secret, what)
    parts = []
    while chunk := reader.read(_CHUNK):
        parts.append(chunk)
    return b"".join(parts)


def _beyond(entry):
    return CorruptVolume(f"member {entry.path!r} inflates beyond its declared size of "
                         f"{entry.size} bytes; inflating stopped there (a damaged volume, or a "
                         "zip bomb)")


def _short(entry, n):
    return CorruptVolume(f"member {entry.path!r} inflates to {n} bytes, less than its declared "
                         f"size of {entry.size} (volume damaged)")


def _method(entry):
    """*entry*'s method, checked with its sizes (a size of -1 would make the bound 0: no bound)."""
    if entry.method not in (zf.STORED, zf.DEFLATED):
        raise ValueError(f"compression method {entry.method} is not supported")
    if entry.size < 0 or entry.csize < 0:
        raise CorruptVolume(f"member {entry.path!r} declares a negative size (volume damaged)")
    return entry.method


def unpack(entry, payload):
    """The data of *entry* (inflates_whole) from its whole *payload*, inflated no further than
    one byte past its declared size: CorruptVolume if it goes beyond."""
    if _method(entry) == zf.STORED:
        data = payload
    else:
        data = decompressor().decompress(payload, entry.size + 1)
    if len(data) > entry.size:
        raise _beyond(entry)
    return data


def _inflated(entry, chunks):
    """Yield the data of *entry* from an iterable of its compressed *chunks*, at most _CHUNK
    bytes at a time; CorruptVolume before yielding a byte past its declared size or, at the end,
    if it fell short."""
    left = entry.size
    if _method(entry) == zf.STORED:
        for chunk in chunks:
            for start in range(0, len(chunk), _CHUNK):
                piece = chunk[start:start + _CHUNK]
                if len(piece) > left:
                    raise _beyond(entry)
                left -= len(piece)
                yield piece
    else:
        d = decompressor()
        for chunk in chunks:
            while chunk and not d.eof:
                # max_length 0 would mean no bound: left + 1 is at least 1.
                piece = d.decompress(chunk, min(_CHUNK, left + 1))
                chunk = d.unconsumed_tail
                if len(piece) > left:
                    raise _beyond(entry)
                left -= len(piece)
                if piece:
                    yield piece
        tail = d.flush() if not d.eof else b""  # all input is consumed: a window's worth at most
        if len(tail) > left:
            raise _beyond(entry)
        left -= len(tail)
        if tail:
            yield tail
    if left:
        raise _short(entry, entry.size - left)


def _write_through(entry, chunks, out):
    crc = 0
    for piece in _inflated(entry, chunks):
        crc = checksum(piece, crc)
        out.write(piece)
    return crc


def copy_payload(entry, payload, out):
    """Inflate *entry* from its whole *payload* into *out* a chunk at a time; return the CRC-32
    written (CorruptVolume past the declared size)."""
    return _write_through(entry, (payload,), out)


def copy_member(f, entry, out, secret=None):
    """Stream the member of *entry* from volume file *f* into *out*, reading and inflating a
    chunk at a time; return the CRC-32 written (CorruptVolume past the declared size). An
    encrypted member is decrypted with *secret*'s password as it is read, and its code checked
    at its end (MemberTampered: what was written from it must be discarded)."""
    f.seek(entry.offset)
    header_len, _, _, method, _ = zf.parse_local_header(f.read(zf.LOCAL_FMT.size))
    _method(entry)
    if method == zf.AES_METHOD:
        reader = _member_reader(f, entry.offset, entry.csize, secret, repr(entry.path))

        def decrypted():
            while chunk := reader.read(_CHUNK):
                yield chunk

        return _write_through(entry, decrypted(), out)
    f.seek(entry.offset + header_len)

    def chunks():
        left = entry.csize
        while left:
            chunk = f.read(min(_CHUNK, left))
            if not chunk:
                raise ValueError("volume is truncated inside this member")
            left -= len(chunk)
            yield chunk

    return _write_through(entry, chunks(), out)


@contextmanager
def open_manifest_copy(f, set_name, secret=None):
    """The manifest copy inside a set's last volume (the open binary file *f*), open for reading:
    the stream before gzip, inflated no further than it declares, its CRC-32 checked when it is
    read to its end (BadZipFile). ValueError if the copy is missing, or declares more than
    ``manifest.MAX_BYTES`` (callers name the set). The one reader of manifest copies.

    An encrypted set's copy (WinZip AES) is decrypted with *secret*'s password, authenticated
    and inflated into a temporary file first (ValueError if it fails its check)."""
    import zipfile  # the manifest copy and foreign volumes only
    try:
        z = zipfile.ZipFile(f)
        info = z.getinfo(mf.member_name(set_name))
    except (KeyError, zipfile.BadZipFile, EOFError) as e:
        raise ValueError(f"no readable manifest copy in the volume ({e})") from None
    with z:
        if info.file_size > mf.MAX_BYTES:
            raise ValueError(f"the manifest copy declares {info.file_size} bytes, beyond the "
                             f"{mf.MAX_BYTES} a manifest may take")
        if info.compress_type == zf.AES_METHOD:
            with _decrypted_copy(f, info, set_name, secret) as member:
                yield member
            return
        with z.open(info) as member:
            yield member


@contextmanager
def _decrypted_copy(f, info, set_name, secret):
    import tempfile
    from ..errors import MemberTampered
    from .aes import open_member
    from .crypt import zip_key
    what = f"the manifest copy of {set_name}"
    if secret is None:
        from ..errors import PasswordMissing
        raise PasswordMissing(what)
    method, _, reader = open_member(f, info.header_offset, info.compress_size,
                                    zip_key(secret, what), what)
    entry = Entry(mf.member_name(set_name), "manifest", None, None, None, info.file_size, 0, 0,
                  set_name, 0, info.header_offset, info.compress_size, method, 0)
    with tempfile.TemporaryFile() as out:
        def chunks():
            while chunk := reader.read(_CHUNK):
                yield chunk
        try:
            _write_through(entry, chunks(), out)
        except MemberTampered as e:
            raise ValueError(str(e)) from None
        out.seek(0)
        yield out


def read_manifest_copy(f, set_name, secret=None):
    """The manifest document from the copy inside a set's last volume (the open binary file *f*),
    read to its end (its CRC-32 checked); ValueError if it is missing, damaged or too large."""
    import zipfile
    try:
        with open_manifest_copy(f, set_name, secret) as member:
            doc = mf.read_manifest(member)
            member.read()  # to the end: a wrong CRC-32 raises here
    except (zipfile.BadZipFile, EOFError, zlib.error) as e:
        raise ValueError(f"the manifest copy is damaged ({e})") from None
    return doc


# Bytes read from a volume's end for its end records, its comment and its last directory record.
_TAIL = 128 * 1024


class VolumeEnd(namedtuple("VolumeEnd", "members comment last_member disk", defaults=(0,))):
    """What a zip's last bytes tell: ``members`` (entries in its central directory, from the
    Zip64 end record where the count needs it; None if that record cannot be found), ``comment``
    (the zip comment, bytes), ``last_member`` (the name of the last central directory record,
    None if it cannot be told from the tail) and ``disk`` (the number of the disk this end record
    is on: 0 for a standalone zip, more for the last part of a spanned or split archive, such as
    Info-ZIP's ``zip -s``)."""

    __slots__ = ()


def read_volume_end(f):
    """The VolumeEnd of the open zip file *f*, from its last bytes only (the central directory is
    not read); ValueError if it has no end record (not a zip, or truncated). The one reader of
    zip end records."""
    f.seek(0, 2)
    size = f.tell()
    n = min(size, _TAIL)
    f.seek(size - n)
    tail = f.read(n)
    end = zf.find_end_record(tail)
    if end < 0:
        raise ValueError("no zip end record (not a zip, or truncated)")
    members = int.from_bytes(tail[end + 10:end + 12], "little")
    records = end  # where the central directory ends: the end records follow it
    loc = end - zf.EOCD64_LOCATOR_FMT.size
    if loc >= 0 and tail[loc:loc + 4] == b"PK\x06\x07":
        at = zf.EOCD64_LOCATOR_FMT.unpack_from(tail, loc)[2] - (size - n)
        records = at if 0 <= at <= loc else -1
        if members == zf.MAX16:  # the real count is in the Zip64 end record
            found = records >= 0 and tail[records:records + 4] == b"PK\x06\x06"
            members = int.from_bytes(tail[records + 32:records + 40], "little") if found else None
    disk = int.from_bytes(tail[end + 4:end + 6], "little")
    return VolumeEnd(members, tail[end + zf.EOCD_FMT.size:], zf.last_central_name(tail, records),
                     disk)


# What reading a member out of a volume raises when the volume is damaged or hostile.
READ_ERRORS = (OSError, ValueError, CorruptVolume, UnsafePath, zlib.error)


# What members handed to read_volume's workers may hold in memory: payloads, and what each
# inflates at once (the workers inflate them side by side).
_MAX_INFLIGHT_BYTES = 64 * 1024 * 1024


def read_volume(target, fname, items, pool, handle, stream, fail, done=None, key=None):
    """Read the members of *items* from volume *fname*, in offset order, opening it once.

    Members whose payload is small (reader.reads_payload) are read here and handed to
    ``handle(item, payload)`` in *pool*, with what they hold in memory bounded; the others go to
    ``stream(f, item)`` in this thread. Errors go to ``fail(item, error)``, every item (done or
    failed) to ``done(item)``. *key* maps an item to its Entry (default: the item is the Entry).
    Used by restore, verify and Message-ID scans. The payloads of an encrypted set are
    decrypted here, with the target's password (``Target.backup_password``).
    """
    key = key or (lambda x: x)
    done = done or (lambda item: None)
    secret = getattr(target, "backup_password", None)
    try:
        f = target.open_read(fname)
    except OSError as e:
        for item in items:
            fail(item, OSError(f"volume {fname} cannot be opened: {e.strerror or e}"))
            done(item)
        return
    pending = deque()
    inflight = 0

    def settle(limit):
        nonlocal inflight
        while pending and (inflight > limit or pending[0][1].done()):
            item, fut = pending.popleft()
            inflight -= _cost(key(item))
            err = fut.exception()
            if err is not None:
                fail(item, err)
            done(item)

    with f:
        for item in items:
            entry = key(item)
            try:
                if not reads_payload(entry):
                    settle(0)
                    stream(f, item)
                    done(item)
                    continue
                payload = read_payload(f, entry.offset, entry.csize, secret, repr(entry.path))
            except READ_ERRORS as e:
                fail(item, e)
                done(item)
                continue
            pending.append((item, pool.submit(handle, item, payload)))
            inflight += _cost(entry)
            settle(_MAX_INFLIGHT_BYTES)
        settle(-1)


def _cost(entry):
    return entry.csize + inflated_at_once(entry)


def list_zip(f, set_name, volume):
    """Entries from a volume's central directory (for sets without a manifest, such as Kerio's)."""
    import zipfile
    entries = []
    with zipfile.ZipFile(f) as z:
        comment = z.comment
        for info in z.infolist():
            if info.is_dir() or info.filename.startswith(".workbench/"):
                continue
            name = _utf8_name(info)
            kind, domain, user, folder = classify(name)
            if (info.external_attr >> 16) & 0o170000 == 0o120000:
                kind = "link"  # a symbolic link member: listed, never restored
            mtime = _mtime_ns(info)
            # Permission bits where the zip was made on Unix (Info-ZIP, 7-Zip and we record them).
            mode = (info.external_attr >> 16) & 0o7777 if info.create_system == 3 else 0
            entries.append(Entry(name, kind, domain, user, folder, info.file_size, mtime,
                                 info.CRC, set_name, volume, info.header_offset,
                                 info.compress_size, info.compress_type, mode))
    return entries, comment


def _utf8_name(info):
    """The member name as written. Info-ZIP on Linux stores UTF-8 names without the UTF-8 flag,
    which zipfile then decodes as cp437: undo that when the bytes are valid UTF-8. A NUL is kept
    (zipfile's ``filename`` cuts the name there; restore and verify must see it to refuse it)."""
    name = info.orig_filename if "\0" in info.orig_filename else info.filename
    if info.flag_bits & 0x800:
        return name
    try:
        return name.encode("cp437").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return name


def _mtime_ns(info):
    """The member's mtime: the UT extra field if present (exact, UTC), else the DOS time."""
    extra = info.extra
    i = 0
    while i + 4 <= len(extra):
        tag, size = int.from_bytes(extra[i:i + 2], "little"), int.from_bytes(extra[i + 2:i + 4], "little")
        if tag == 0x5455 and size >= 5 and extra[i + 4] & 1:
            return int.from_bytes(extra[i + 5:i + 9], "little", signed=True) * 1_000_000_000
        i += 4 + size
    import time
    return int(time.mktime(info.date_time + (0, 0, -1))) * 1_000_000_000
