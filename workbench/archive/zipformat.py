"""The zip records we write and read (PKWARE APPNOTE 6.3), Zip64 included. Pure, no I/O."""

import struct
import time

LOCAL_SIG = 0x04034B50
CENTRAL_SIG = 0x02014B50
EOCD_SIG = 0x06054B50
EOCD64_SIG = 0x06064B50
EOCD64_LOCATOR_SIG = 0x07064B50

STORED, DEFLATED = 0, 8
MAX32 = 0xFFFFFFFF
MAX16 = 0xFFFF
FLAG_UTF8 = 0x800

# WinZip AES (APPNOTE 6.3, section 7.2.1, and WinZip's AE-1/AE-2 notes): the headers name method
# 99, set flag bit 0, and carry the real method in the 0x9901 extra field. In AE-2 the CRC fields
# are 0 (the authentication code replaces them, and a CRC would tell about small plaintexts).
AES_METHOD = 99
FLAG_ENCRYPTED = 0x1
AES_EXTRA_ID = 0x9901
AES_EXTRA_FMT = struct.Struct("<HHH2sBH")            # 11 bytes
AES_VENDOR = b"AE"
AE_1, AE_2 = 1, 2
AES_256 = 3                                          # strength: 1, 2, 3 = AES-128, 192, 256

LOCAL_FMT = struct.Struct("<IHHHHHIIIHH")            # 30 bytes
CENTRAL_FMT = struct.Struct("<IHHHHHHIIIHHHHHII")    # 46 bytes
EOCD_FMT = struct.Struct("<IHHHHIIH")                # 22 bytes
EOCD64_FMT = struct.Struct("<IQHHIIQQQQ")            # 56 bytes
EOCD64_LOCATOR_FMT = struct.Struct("<IIQI")          # 20 bytes
# Room that the end records of any volume can take besides the comment.
END_RESERVE = EOCD_FMT.size + EOCD64_FMT.size + EOCD64_LOCATOR_FMT.size


def dos_datetime(mtime_ns):
    """DOS date and time words for an mtime (local time, as Info-ZIP writes them)."""
    t = time.localtime(mtime_ns // 1_000_000_000)
    year = min(max(t.tm_year, 1980), 2107)
    return ((year - 1980) << 9 | t.tm_mon << 5 | t.tm_mday,
            t.tm_hour << 11 | t.tm_min << 5 | t.tm_sec // 2)


def extended_timestamp(mtime_ns):
    """The 'UT' extra field that carries the exact second in UTC (unzip and 7-Zip apply it)."""
    secs = mtime_ns // 1_000_000_000
    if not -(2**31) <= secs < 2**31:
        return b""
    return struct.pack("<HHBi", 0x5455, 5, 1, secs)


class Member:
    """The parts of a member's records that do not depend on its data: name, times and mode.

    Computed once and shared by the local header and the central directory record, since the
    DOS time conversion costs as much as the rest of the record together. *mode* holds the
    file's permission bits (0 = unknown, written as 0600).

    With *encrypted*, the records describe a WinZip AES-256 (AE-2) member: the caller passes the
    real method, its CRC and the encrypted payload's size, and the records say method 99, CRC 0,
    and carry the real method in the AES extra field (see archive/aes.py for the payload).
    """

    __slots__ = ("name", "raw", "flags", "date", "time", "ut", "mode")

    def __init__(self, name, mtime_ns, mode=0, encrypted=False):
        self.name = name
        self.mode = mode & 0o7777 or 0o600
        self.raw = name.encode("utf-8")
        self.flags = (0 if name.isascii() else FLAG_UTF8) | (FLAG_ENCRYPTED if encrypted else 0)
        self.date, self.time = dos_datetime(mtime_ns)
        self.ut = extended_timestamp(mtime_ns)

    @property
    def encrypted(self):
        return bool(self.flags & FLAG_ENCRYPTED)

    def __eq__(self, other):
        return isinstance(other, Member) and all(
            getattr(self, k) == getattr(other, k) for k in self.__slots__)

    def __repr__(self):
        return f"Member({self.name!r})"


def aes_extra(method, strength=AES_256, version=AE_2):
    """The 0x9901 extra field of a WinZip AES member whose data is compressed by *method*."""
    return AES_EXTRA_FMT.pack(AES_EXTRA_ID, 7, version, AES_VENDOR, strength, method)


def parse_aes_extra(extra):
    """``(version, strength, method)`` from the 0x9901 field in the extra bytes, or None if absent.

    ValueError if the field is there but malformed (wrong size, vendor or strength).
    """
    i = 0
    while i + 4 <= len(extra):
        tag, size = struct.unpack_from("<HH", extra, i)
        if tag == AES_EXTRA_ID:
            if size != 7 or i + 11 > len(extra):
                raise ValueError("AES extra field has the wrong size")
            _, _, version, vendor, strength, method = AES_EXTRA_FMT.unpack_from(extra, i)
            if vendor != AES_VENDOR or version not in (AE_1, AE_2) or strength not in (1, 2, 3):
                raise ValueError("AES extra field names an unknown vendor, version or strength")
            return version, strength, method
        i += 4 + size
    return None


# "Version needed to extract" of an AES member: 5.1 (APPNOTE 4.4.3.2), above Zip64's 4.5.
_AES_VERSION = 51


def local_header(m, method, crc, csize, size, zip64):
    """Local file header of Member *m*; with *zip64* both sizes move into the Zip64 extra."""
    aes = b""
    if m.flags & FLAG_ENCRYPTED:  # the records name method 99; the real one is in the extra
        method, crc, aes = AES_METHOD, 0, aes_extra(method)
    extra = m.ut
    if zip64:
        extra += struct.pack("<HHQQ", 1, 16, size, csize)
        csize = size = MAX32
    extra += aes
    version = _AES_VERSION if aes else 45 if zip64 else 20
    return LOCAL_FMT.pack(LOCAL_SIG, version, m.flags, method, m.time, m.date,
                          crc & MAX32, csize, size, len(m.raw), len(extra)) + m.raw + extra


def local_header_size(name, zip64, encrypted=False):
    return (LOCAL_FMT.size + len(name.encode("utf-8")) + 9 + (20 if zip64 else 0)
            + (AES_EXTRA_FMT.size if encrypted else 0))


def central_record(m, method, crc, csize, size, offset):
    """Central directory record of Member *m*; fields over 32 bits move into the Zip64 extra."""
    aes = b""
    if m.flags & FLAG_ENCRYPTED:  # the records name method 99; the real one is in the extra
        method, crc, aes = AES_METHOD, 0, aes_extra(method)
    extra = m.ut
    z64 = b""
    if size >= MAX32:
        z64 += struct.pack("<Q", size)
        size = MAX32
    if csize >= MAX32:
        z64 += struct.pack("<Q", csize)
        csize = MAX32
    if offset >= MAX32:
        z64 += struct.pack("<Q", offset)
        offset = MAX32
    if z64:
        extra += struct.pack("<HH", 1, len(z64)) + z64
    extra += aes
    version = _AES_VERSION if aes else 45 if z64 else 20
    return CENTRAL_FMT.pack(CENTRAL_SIG, 3 << 8 | version, version, m.flags, method, m.time, m.date,
                            crc & MAX32, csize, size, len(m.raw), len(extra), 0, 0, 0,
                            (0o100000 | m.mode) << 16, offset) + m.raw + extra


def central_record_size(name, encrypted=False):
    return (CENTRAL_FMT.size + len(name.encode("utf-8")) + 9 + 28
            + (AES_EXTRA_FMT.size if encrypted else 0))


def end_records(count, cd_offset, cd_size, comment):
    """End of central directory, preceded by the Zip64 end records when counts or sizes need them."""
    out = b""
    if count >= MAX16 or cd_offset >= MAX32 or cd_size >= MAX32:
        eocd64_offset = cd_offset + cd_size
        out += EOCD64_FMT.pack(EOCD64_SIG, 44, 3 << 8 | 45, 45, 0, 0, count, count, cd_size,
                               cd_offset)
        out += EOCD64_LOCATOR_FMT.pack(EOCD64_LOCATOR_SIG, 0, eocd64_offset, 1)
        count = min(count, MAX16)
        cd_offset = min(cd_offset, MAX32)
        cd_size = min(cd_size, MAX32)
    return out + EOCD_FMT.pack(EOCD_SIG, 0, 0, count, count, cd_size, cd_offset, len(comment)) + comment


def find_end_record(tail):
    """Offset in *tail* (a zip's last bytes) of its end of central directory record: the last one
    whose comment runs exactly to the end of the file (a signature inside a comment is not one);
    -1 if there is none."""
    end = tail.rfind(b"PK\x05\x06")
    while end >= 0 and not (end + EOCD_FMT.size <= len(tail) and end + EOCD_FMT.size
                            + int.from_bytes(tail[end + 20:end + 22], "little") == len(tail)):
        end = tail.rfind(b"PK\x05\x06", 0, end)
    return end


def last_central_name(tail, records):
    """The name of the central directory record that ends at offset *records* of *tail*, or None
    if it cannot be told from these bytes."""
    pos = tail.rfind(b"PK\x01\x02", 0, max(records, 0))
    while pos >= 0:
        if pos + CENTRAL_FMT.size <= records:
            nlen, xlen, clen = (int.from_bytes(tail[pos + i:pos + i + 2], "little")
                                for i in (28, 30, 32))
            if pos + CENTRAL_FMT.size + nlen + xlen + clen == records:
                return tail[pos + 46:pos + 46 + nlen].decode("utf-8", "replace")
        pos = tail.rfind(b"PK\x01\x02", 0, pos)
    return None


def parse_local_header(raw):
    """``(header length, name bytes length, extra length, method, flags)`` from the first 30 bytes."""
    sig, _, flags, method, _, _, _, _, _, nlen, xlen = LOCAL_FMT.unpack(raw[:LOCAL_FMT.size])
    if sig != LOCAL_SIG:
        raise ValueError("no local file header at this offset")
    return LOCAL_FMT.size + nlen + xlen, nlen, xlen, method, flags
