"""Raw deflate for zip members: ISA-L when installed (several times faster, same format), else zlib.

Both release the GIL while they work, so a thread pool compresses on every core.
"""

import io
import zlib

try:
    from isal import isal_zlib as _fast
except ImportError:  # the core runs without the optional speed-up
    _fast = None

from .zipformat import DEFLATED, STORED


def _isal_level(level):
    # ISA-L has levels 0-3; its level 3 is close to zlib's 6 on mail, and is still much faster.
    return min(3, max(0, (level + 1) // 3 + (1 if level >= 6 else 0)))


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
