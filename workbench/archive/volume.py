"""One zip volume being written: members, central directory and end records, never above its
size limit. Standalone: the main process writes volumes with it (writer.SetWriter), and so does
each backup worker process, into volumes of its own (pack.py).
"""

import json
import os
import zlib
from collections import deque

from . import zipformat as zf
from .compress import compressor

_CHUNK = 1024 * 1024


def volume_comment(set_name, index):
    """The marker that tells our volumes from foreign (Kerio) ones: set name and volume number."""
    return json.dumps({"workbench": 1, "set": str(set_name), "volume": index},
                      separators=(",", ":")).encode()


def read_marker(comment):
    """The ``{"set", "volume"}`` marker from a zip comment, or None for a foreign volume."""
    try:
        data = json.loads(comment.decode())
    except (UnicodeDecodeError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("workbench") == 1 else None


class _Spool:
    """Gathers small writes into blocks that a background thread writes to the file.

    Compressed members arrive a few kilobytes at a time; writing them from the thread that also
    builds the zip records made that thread wait on the disk. The write system call releases the
    GIL, so a second thread overlaps the two. Errors of the write surface at the next block.
    """

    BLOCK = 4 * 1024 * 1024
    DEPTH = 2  # blocks queued at most: bounds memory

    def __init__(self, f):
        self.f = f
        self.buf = bytearray()
        self.pending = deque()
        from concurrent.futures import ThreadPoolExecutor  # only when writing
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="volume-writer")

    def write(self, data):
        self.buf += data
        if len(self.buf) >= self.BLOCK:
            self._hand_off()

    def _hand_off(self):
        block, self.buf = self.buf, bytearray()
        self.pending.append(self.pool.submit(self.f.write, block))
        while len(self.pending) > self.DEPTH:
            self.pending.popleft().result()

    def drain(self):
        """Write out everything buffered; the file is then at the end of what was written."""
        if self.buf:
            self._hand_off()
        while self.pending:
            self.pending.popleft().result()

    def close(self):
        try:
            self.drain()
        finally:
            self.pool.shutdown()


class FileChanged(OSError):
    """A streamed file changed while it was read; the volume no longer holds any of it."""


def _identity(src):
    """Size and mtime of the open file *src* (None if it is no real file)."""
    try:
        st = os.fstat(src.fileno())
    except (AttributeError, OSError, ValueError):
        return None
    return st.st_size, st.st_mtime_ns


class _Direct:
    """Writes straight to the (buffered) file: for a process that does nothing else meanwhile."""

    def __init__(self, f):
        self.write = f.write

    def drain(self):
        pass

    def close(self):
        pass


class VolumeWriter:
    """One zip volume being written to an open, seekable file.

    With *spool* (the default) small writes are gathered and written by a background thread
    (_Spool); a backup worker process, which reads and compresses in the same thread anyway,
    writes straight to its buffered file instead.
    """

    def __init__(self, f, set_name, index, limit, spool=True, key=None):
        self.f, self.index, self.limit = f, index, limit
        self.key = key  # an aes.ZipKey: members written with ``encrypted`` Members use it
        self.out = None if f is None else _Spool(f) if spool else _Direct(f)
        self.comment = volume_comment(set_name, index)
        self.offset = 0
        # The central directory grows by about 130 bytes a member: kept in a temporary file, not
        # in memory, until the volume is finished.
        if f is not None:
            import tempfile  # only when writing
        self.central = tempfile.TemporaryFile() if f is not None else None
        self.central_size = 0
        self.members = 0

    def room_for(self, name_len, csize, zip64=False):
        """True if a member with a name of *name_len* bytes and *csize* payload bytes still fits."""
        need = (self.offset + zf.LOCAL_FMT.size + name_len + 9 + (20 if zip64 else 0) + csize
                + self.central_size + zf.CENTRAL_FMT.size + name_len + 37 + zf.END_RESERVE
                + len(self.comment))
        if self.key is not None:  # the AES extra field in both records
            need += 2 * zf.AES_EXTRA_FMT.size
        return need <= self.limit

    def add(self, m, method, payload, crc, size):
        """Append a member (a zipformat.Member) whose payload is compressed; return its offset.

        *payload* is the member's data as stored: the compressed bytes, or (for an encrypted
        member, ``m.encrypted``) the WinZip AES payload built from them (archive/aes.py).
        """
        header = zf.local_header(m, method, crc, len(payload), size, zip64=size >= zf.MAX32)
        offset = self.offset
        self.out.write(header)  # header and payload gathered by the spool: no copy of both
        self.out.write(payload)
        self.offset += len(header) + len(payload)
        self._record(m, method, crc, len(payload), size, offset)
        return offset

    def add_record(self, m, method, record, crc, csize, size):
        """Append a member given as its local header and payload together; return its offset."""
        offset = self.offset
        self.out.write(record)
        self.offset += len(record)
        self._record(m, method, crc, csize, size, offset)
        return offset

    def add_stream(self, m, src, size, level):
        """Append a large file by streaming it through deflate; return ``(offset, csize, crc, method)``.

        The header is patched afterwards, so memory stays flat whatever the size. If the file does
        not shrink, it is rewritten as stored so that the payload is never larger than the file.
        If *src* does not give *size* bytes, or its size or mtime changes while it is read, the
        volume is cut back to where the member began (it stays a valid zip without it) and
        FileChanged is raised: the caller may read the file again.
        """
        self.out.drain()
        f = self.f
        offset = self.offset
        # An encrypted member: salt and verifier before the data, the code after it; a member
        # rewritten as stored is a new member, with a new salt and key (see archive/aes.py).
        enc = self.key.encryptor() if m.encrypted else None
        extra = 0 if enc is None else len(enc.header) + 10

        def changed(read, before):
            if read == size and _identity(src) == before:
                return False
            f.seek(offset)
            f.truncate()
            return True

        before = _identity(src)
        zip64 = size >= zf.MAX32 - _CHUNK
        header_len = len(zf.local_header(m, zf.DEFLATED, 0, 0, size, zip64))
        f.write(b"\0" * header_len)
        if enc is not None:
            f.write(enc.header)
        write = f.write if enc is None else (lambda data: f.write(enc.update(data)))
        comp, crc, csize, read = compressor(level), 0, 0, 0
        while True:
            chunk = src.read(_CHUNK)
            if not chunk:
                break
            read += len(chunk)
            crc = zlib.crc32(chunk, crc)
            out = comp.compress(chunk)
            csize += len(out)
            write(out)
        out = comp.flush()
        csize += len(out)
        write(out)
        if enc is not None:
            f.write(enc.finish())
        if changed(read, before):
            raise FileChanged(f"{m.name} changed while it was read ({size} -> {read} bytes)")
        method = zf.DEFLATED
        if csize >= size:
            method, csize = zf.STORED, size
            f.seek(offset + header_len)
            f.truncate()
            src.seek(0)
            read = 0
            if enc is not None:
                enc = self.key.encryptor()
                f.write(enc.header)
                write = lambda data: f.write(enc.update(data))  # noqa: E731
            else:
                write = f.write
            while chunk := src.read(_CHUNK):
                read += len(chunk)
                write(chunk)
            if enc is not None:
                f.write(enc.finish())
            if changed(read, before):  # the copy would not match the CRC-32 of the first read
                raise FileChanged(f"{m.name} changed while it was copied ({size} -> {read} bytes)")
        csize += extra
        end = f.tell()
        f.seek(offset)
        f.write(zf.local_header(m, method, crc, csize, size, zip64))
        f.seek(end)
        self.offset = end
        self._record(m, method, crc, csize, size, offset)
        return offset, csize, crc, method

    def _record(self, m, method, crc, csize, size, offset):
        self.central_size += self.central.write(
            zf.central_record(m, method, crc, csize, size, offset))
        self.members += 1

    def finish(self):
        """Write the central directory and end records; return the volume's size in bytes."""
        cd_offset, cd_size = self.offset, self.central_size
        end = zf.end_records(self.members, cd_offset, cd_size, self.comment)
        self.out.drain()
        self.central.seek(0)
        while chunk := self.central.read(_CHUNK):
            self.f.write(chunk)
        self.f.write(end)
        self.close()
        return cd_offset + cd_size + len(end)

    def close(self):
        """Stop the background writer and drop the central directory (done or abandoned)."""
        try:
            self.out.close()
        finally:
            self.central.close()


def fits_alone(set_name, limit, name, size, encrypted=False):
    """True if a file *name* of *size* bytes fits in an empty volume of *limit* bytes (else it is
    oversize: skipped, or stored in a volume of its own); *encrypted* counts what WinZip AES
    adds (its extra fields, salt, verifier and code)."""
    if size + 8 * len(name) + 1024 <= limit:  # the records take less than this: no need to ask
        return True
    probe = VolumeWriter(None, set_name, 0, limit, key=True if encrypted else None)
    return probe.room_for(len(name.encode("utf-8")), size + (28 if encrypted else 0),
                          zip64=size >= zf.MAX32 - _CHUNK)


class VolumeSeries:
    """Volumes written one after the other, the next opened when a member does not fit: the
    volumes of a set (writer.SetWriter), or a backup worker's share of them (pack.py).

    Subclasses say where a volume's file comes from (``_open``, returning its number and the
    open file) and what happens to it once it is finished (``_finished``).
    """

    spool = True  # see VolumeWriter

    def __init__(self, set_name, limit, key=None):
        self.set_name, self.limit = str(set_name), limit
        self.key = key  # an aes.ZipKey for an encrypted set, else None
        self._vol = self._file = None

    def _open(self):
        raise NotImplementedError

    def _finished(self, index, size, members):
        raise NotImplementedError

    def _discard(self, index):
        """Remove the unfinished volume *index* (after an error)."""

    @property
    def current(self):
        """The volume being written (a VolumeWriter), or None."""
        return self._vol

    def _start(self):
        index, self._file = self._open()
        self._vol = VolumeWriter(self._file, self.set_name, index, self.limit, self.spool,
                                 self.key)

    def close_volume(self):
        """Finish the volume being written, if any."""
        if self._vol is None:
            return
        vol, f = self._vol, self._file
        size = vol.finish()
        f.close()
        self._vol = self._file = None
        self._finished(vol.index, size, vol.members)

    def _volume_for(self, name_len, csize, alone=False):
        """The volume writer to take this member, rolling over when it does not fit."""
        if self._vol is None:
            self._start()
        elif self._vol.members and (alone or not self._vol.room_for(name_len, csize)):
            self.close_volume()
            self._start()
        return self._vol

    def add(self, m, method, payload, crc, size):
        """Add a member whose payload is compressed (VolumeWriter.add); ``(volume, offset)``."""
        vol = self._volume_for(len(m.raw), len(payload))
        return vol.index, vol.add(m, method, payload, crc, size)

    def add_record(self, m, method, record, crc, csize, size):
        """Add a member built by a packing worker (VolumeWriter.add_record); ``(volume, offset)``."""
        vol = self._volume_for(len(m.raw), csize)
        return vol.index, vol.add_record(m, method, record, crc, csize, size)

    def member(self, name, mtime_ns, mode=0):
        """The zipformat.Member of a file of this series: encrypted if the series has a key."""
        return zf.Member(name, mtime_ns, mode, encrypted=self.key is not None)

    def add_member_stream(self, m, src, size, level, alone=False):
        """Stream a large file into a volume with room for all of it uncompressed (or its own,
        closed at once with *alone*); ``(volume, offset, csize, crc, method)``."""
        vol = self._volume_for(len(m.raw), size + (28 if m.encrypted else 0), alone=alone)
        offset, csize, crc, method = vol.add_stream(m, src, size, level)
        if alone:
            self.close_volume()
        return vol.index, offset, csize, crc, method

    def abort(self):
        """Drop the volume being written (after an error); finished ones stay for cleanup."""
        if self._vol is None:
            return
        vol, f = self._vol, self._file
        self._vol = self._file = None
        try:
            vol.close()
        except OSError:
            pass
        try:
            f.close()
        except OSError:
            pass
        self._discard(vol.index)
