"""Raw deflate for zip members: ISA-L when installed (several times faster, same format), else zlib.

Both release the GIL while they work, so a thread pool compresses on every core.

Also the rule that picks the ``compression_level`` of a backup whose config sets none
(:func:`sample_files`, :func:`choose_level`): the cheapest level whose deflate of a sample of the
store comes within ``LEVEL_MARGIN`` of zlib level 6's, the level of ``zip -6``. ISA-L's fast
levels match zlib 6 on most mail but fall behind it on long relayed header blocks (many
``Received:`` lines, long ``References:``), where only a higher level, at more CPU, comes near.
"""

import io
import os
import zlib

try:
    from isal import isal_zlib as _fast
except ImportError:  # the core runs without the optional speed-up
    _fast = None

from .zipformat import DEFLATED, STORED


def _isal_level(level):
    # ISA-L has levels 0-3; its level 3 is close to zlib's 6 on mail, and is still much faster.
    return min(3, max(0, (level + 1) // 3 + (1 if level >= 6 else 0)))


# compression_level values tried by choose_level, cheapest first: with ISA-L its levels 0, 1, 2
# and 3, without it zlib's 1, 3, 5 and 6.
LEVELS = (1, 3, 5, 6)
REFERENCE_LEVEL = 6  # zlib's, what Info-ZIP's zip -6 writes
# The sample's deflated size at the level chosen is at most this much over zlib 6's. The target
# is 1.03 x zip's output, of which the records and the manifest copy take 0.3-0.5 % on ordinary
# mail; the sample's error is about 1 %. A tighter margin sent the default bench store (ISA-L 1
# at 1.023 x zlib 6 over all its bytes, 1.027 x zip's output) to ISA-L 3 for 10 % more CPU.
LEVEL_MARGIN = 1.025
# At most this many bytes are read for the sample, from at most SAMPLE_POINTS files: about
# 40 ms of deflate on one core.
SAMPLE_BYTES = 1024 * 1024
SAMPLE_POINTS = 64

_pread = os.pread  # module-level so that tests can count the bytes a sample reads


def checksum(data, value=0):
    """CRC-32 of *data* (ISA-L's is several times faster than zlib's)."""
    return (_fast or zlib).crc32(data, value)


def compress_member(data, level):
    """``(method, payload)`` for *data*: deflated, or stored when deflate would not make it smaller."""
    if _fast is not None:
        out = _fast.compress(data, _isal_level(level), -15)
    else:
        c = zlib.compressobj(level, zlib.DEFLATED, -15)
        out = c.compress(data) + c.flush()
    if len(out) >= len(data):
        return STORED, data
    return DEFLATED, out


def level_text(level):
    """What the ``compression_level`` *level* deflates with, for logs: ``"ISA-L level 1"``."""
    return f"ISA-L level {_isal_level(level)}" if _fast is not None else f"zlib level {level}"


def _deflated_size(data, level, reference=False):
    """Bytes of *data*'s member at *level* (compress_member's, stored when not smaller), or
    with *reference* at zlib's REFERENCE_LEVEL, ISA-L or not."""
    if not reference:
        return len(compress_member(data, level)[1])
    c = zlib.compressobj(REFERENCE_LEVEL, zlib.DEFLATED, -15)
    return min(len(c.compress(data)) + len(c.flush()), len(data))


def sample_files(files, total, budget=SAMPLE_BYTES, points=SAMPLE_POINTS):
    """A sample of the files *files* for :func:`choose_level`: ``[(weight, data)]``.

    Parameters
    ----------
    files : iterable of (path, size)
        The files, in any fixed order (the walk's); *total* is the sum of their sizes.
    budget, points : int
        At most *budget* bytes are read, around *points* evenly spaced byte offsets of the
        files taken end to end: ``budget / points`` bytes around each (the whole file if it is
        smaller), so that each file counts by its bytes, as in the backup's output, and a big
        file by pieces of its inside rather than by its start alone. A store of one huge file
        costs *budget* bytes.

    Unreadable files are left out (the backup itself reports them).
    """
    if total <= 0 or points <= 0:
        return []
    step, span = total / points, max(1, budget // points)
    pieces = {}  # (path, start) -> [weight, length]
    offset, at, used = step / 2, 0, 0
    for path, size in files:
        while offset < at + size and used < points:
            start = min(max(0, int(offset - at) - span // 2), max(0, size - span))
            piece = pieces.setdefault((path, start), [0, min(span, size)])
            piece[0] += 1
            used, offset = used + 1, offset + step
        at += size
        if used == points:
            break
    sample = []
    for (path, start), (weight, length) in pieces.items():
        data = _read_piece(path, start, length)
        if data:
            sample.append((weight, data))
    return sample


def _read_piece(path, start, n):
    """Up to *n* bytes of the file *path* from offset *start*; b"" if it cannot be read."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return b""
    try:
        parts, left = [], n
        while left > 0:
            chunk = _pread(fd, left, start + n - left)
            if not chunk:
                break
            parts.append(chunk)
            left -= len(chunk)
        return b"".join(parts)
    except OSError:
        return b""
    finally:
        os.close(fd)


def choose_level(sample, margin=LEVEL_MARGIN, levels=LEVELS):
    """``(level, ratios)``: the cheapest ``compression_level`` of *levels* whose deflate of
    *sample* (from :func:`sample_files`) is at most *margin* times zlib 6's, or the one that
    comes nearest if none does; *ratios* maps each level tried to its size over zlib 6's.

    Each piece counts by its weight over its length, so that the sample estimates the ratio of
    the whole store's bytes. An empty sample (an empty store) gives the first level.
    """
    if not sample:
        return levels[0], {}

    def size(level, reference=False):
        return sum(w * _deflated_size(data, level, reference) / len(data) for w, data in sample)

    reference = size(REFERENCE_LEVEL, reference=True)
    ratios = {}
    for level in levels:
        ratios[level] = size(level) / reference
        if ratios[level] <= margin:
            return level, ratios
    return min(ratios, key=lambda level: (ratios[level], level)), ratios


def compressor(level):
    """A streaming raw-deflate compressor object (``compress``/``flush``) for large files."""
    if _fast is not None:
        return _fast.compressobj(_isal_level(level), _fast.DEFLATED, -15)
    return zlib.compressobj(level, zlib.DEFLATED, -15)


def gzip_writer(f):
    """A gzip stream writing into the binary file *f* (for manifests; ISA-L's is 8x faster)."""
    if _fast is not None:
        from isal import igzip  # loads gzip: only for manifests
        return igzip.GzipFile(fileobj=f, mode="wb", compresslevel=3, mtime=0)
    import gzip
    return gzip.GzipFile(fileobj=f, mode="wb", compresslevel=6, mtime=0)


# What a damaged gzip stream raises, whichever library inflates it.
INFLATE_ERRORS = (zlib.error,) + ((_fast.error,) if _fast is not None else ())


def gzip_inflater():
    """A streaming inflater of a gzip file (one member, as manifests are written)."""
    return (_fast or zlib).decompressobj(31)


def gunzip(data, limit):
    """The content of a one-member gzip file held in *data*; ValueError once it passes *limit*
    bytes (inflating stops there)."""
    out = gzip_inflater().decompress(data, limit + 1)
    if len(out) > limit:
        raise ValueError(f"inflates beyond {limit} bytes")
    return out


def gzip_reader(f, limit):
    """A buffered stream of the gzip file *f* (a binary file) inflated; reading past *limit*
    inflated bytes raises ValueError."""
    if _fast is not None:
        from isal import igzip as gzip
    else:
        import gzip
    return io.BufferedReader(_Capped(gzip.GzipFile(fileobj=f), limit))


_READ_CHUNK = 1024 * 1024


class _Capped(io.RawIOBase):
    """A stream that stops with ValueError once more than *limit* bytes came through it."""

    def __init__(self, stream, limit):
        self._stream, self._limit, self._left = stream, limit, limit

    def readable(self):
        return True

    def readinto(self, buffer):
        # At most a megabyte a call (the reader above calls again until it has what it asked
        # for): gzip inflates a call's whole request into a temporary bytes object and copies
        # it, and a column of a million rows asked at once took a fresh, page-faulted 70 MB
        # for that copy every time.
        with memoryview(buffer) as view:
            n = self._stream.readinto(view[:_READ_CHUNK])
        self._left -= n
        if self._left < 0:
            raise ValueError(f"inflates beyond {self._limit} bytes")
        return n


def decompressor():
    """A streaming raw-inflate object (``decompress(data, max_length)``, ``unconsumed_tail``)."""
    if _fast is not None:
        return _fast.decompressobj(-15)
    return zlib.decompressobj(-15)
