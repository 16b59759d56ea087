"""Attachment payloads: valid PDF and PNG files of random pixels, which deflate as poorly as real
PDFs and images do, and random base64 text for very large attachments and for signatures."""

from __future__ import annotations

import random
import struct
import zlib


def pdf(rng: random.Random, size: int, title: str) -> bytes:
    """A one-page PDF showing an uncompressed RGB image of random pixels, about ``size`` bytes."""
    width = 256
    height = max(1, size // (width * 3))
    pixels = rng.randbytes(width * height * 3)
    text = f"BT /F1 14 Tf 72 780 Td ({title}) Tj ET q 450 0 0 {450 * height // width} 72 300 cm /Im1 Do Q"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> /XObject << /Im1 6 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(text), text.encode("latin-1")),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceRGB "
        b"/BitsPerComponent 8 /Length %d >>\nstream\n%s\nendstream" % (width, height, len(pixels), pixels),
    ]
    out = [b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"]
    offsets, pos = [], len(out[0])
    for number, body in enumerate(objects, 1):
        chunk = b"%d 0 obj\n%s\nendobj\n" % (number, body)
        offsets.append(pos)
        out.append(chunk)
        pos += len(chunk)
    xref = [b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)]
    xref += [b"%010d 00000 n \n" % offset for offset in offsets]
    out += xref
    out.append(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, pos))
    return b"".join(out)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(rng: random.Random, size: int) -> bytes:
    """A valid RGB PNG of random pixels, about ``size`` bytes.

    The image data is zlib level 0 (stored), which costs almost nothing to produce; noise would
    not compress anyway.
    """
    width = 256
    height = max(1, size // (width * 3 + 1))
    rows = bytearray(rng.randbytes((width * 3 + 1) * height))
    rows[:: width * 3 + 1] = bytes(height)  # filter byte "None" at the start of every row
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
            + _png_chunk(b"IDAT", zlib.compress(bytes(rows), 0)) + _png_chunk(b"IEND", b""))


# Every byte value maps to one of the 64 base64 characters (256 = 4 x 64, so all equally often):
# random bytes through this table are random base64 text, made at C speed.
_B64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_B64_TABLE = _B64_ALPHABET * 4
_LINE = 76  # base64 characters per line of a MIME body (RFC 2045 6.8)
_LINES_PER_CHUNK = 13_443  # about 1 MB of CRLF lines per chunk


def base64_noise(rng: random.Random, length: int) -> bytes:
    """``length`` random base64 characters (no padding, no line breaks).

    Any string of them whose length is a multiple of 4 is valid base64 that decodes to random
    bytes, so this stands in for encoding random data at a fraction of the cost.
    """
    return rng.randbytes(length).translate(_B64_TABLE)


def base64_lines(rng: random.Random, lines: int):
    """Yield ``lines`` full lines (76 characters and CRLF) of random base64, about 1 MB at a time.

    The body of a very large attachment: it decodes to ``57 * lines`` random bytes, deflates
    about as well as base64 of compressed data does (to about 0.76), and never has to be held
    in memory whole.
    """
    width = _LINE + 2
    while lines > 0:
        count = min(lines, _LINES_PER_CHUNK)
        chunk = bytearray(rng.randbytes(width * count).translate(_B64_TABLE))
        chunk[_LINE::width] = b"\r" * count
        chunk[_LINE + 1::width] = b"\n" * count
        yield chunk
        lines -= count
