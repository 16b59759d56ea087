"""Read members out of zip volumes by offset, and list foreign volumes' central directories."""

import zipfile
import zlib

from ..model import Entry
from ..store import classify
from . import zipformat as zf
from .compress import decompressor, inflate

_CHUNK = 1024 * 1024
STREAM_THRESHOLD = 16 * 1024 * 1024


def read_payload(f, offset, csize):
    """The raw (still compressed) payload of the member whose local header is at *offset*."""
    f.seek(offset)
    head = f.read(zf.LOCAL_FMT.size)
    if len(head) < zf.LOCAL_FMT.size:
        raise ValueError("volume is truncated before this member")
    header_len = zf.parse_local_header(head)[0]
    f.seek(offset + header_len)
    data = f.read(csize)
    if len(data) != csize:
        raise ValueError("volume is truncated inside this member")
    return data


def unpack(method, payload):
    """Decompress a whole payload."""
    if method == zf.STORED:
        return payload
    if method == zf.DEFLATED:
        return inflate(payload)
    raise ValueError(f"compression method {method} is not supported")


def copy_member(f, entry, out):
    """Stream the member of *entry* from volume file *f* into *out*; return the CRC-32 written."""
    f.seek(entry.offset)
    header_len = zf.parse_local_header(f.read(zf.LOCAL_FMT.size))[0]
    f.seek(entry.offset + header_len)
    left, crc = entry.csize, 0
    d = decompressor() if entry.method == zf.DEFLATED else None
    if entry.method not in (zf.STORED, zf.DEFLATED):
        raise ValueError(f"compression method {entry.method} is not supported")
    while left:
        chunk = f.read(min(_CHUNK, left))
        if not chunk:
            raise ValueError("volume is truncated inside this member")
        left -= len(chunk)
        if d is not None:
            chunk = d.decompress(chunk)
        crc = zlib.crc32(chunk, crc)
        out.write(chunk)
    if d is not None:
        tail = d.flush()
        crc = zlib.crc32(tail, crc)
        out.write(tail)
    return crc


def list_zip(f, set_name, volume):
    """Entries from a volume's central directory (for sets without a manifest, such as Kerio's)."""
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
    which zipfile then decodes as cp437: undo that when the bytes are valid UTF-8."""
    if info.flag_bits & 0x800:
        return info.filename
    try:
        return info.filename.encode("cp437").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return info.filename


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
