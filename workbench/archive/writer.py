"""Write a set as zip volumes on a target: each volume a standalone zip, never above the limit.

Volumes are written under temporary names (``<volume>.wb-<run token>.partial``, a name no other
tool writes) and published under their final names only when complete; the caller publishes the
manifest after the last one (see backup.py).
"""

import json
import os
import secrets
import shutil
import tempfile
import zlib
from collections import deque
from concurrent.futures import ThreadPoolExecutor

from ..naming import partial_name, volume_name
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


class VolumeWriter:
    """One zip volume being written to an open, seekable file."""

    def __init__(self, f, set_name, index, limit):
        self.f, self.index, self.limit = f, index, limit
        self.out = _Spool(f) if f is not None else None
        self.comment = volume_comment(set_name, index)
        self.offset = 0
        # The central directory grows by about 130 bytes a member: kept in a temporary file, not
        # in memory, until the volume is finished.
        self.central = tempfile.TemporaryFile() if f is not None else None
        self.central_size = 0
        self.members = 0

    def room_for(self, name_len, csize, zip64=False):
        """True if a member with a name of *name_len* bytes and *csize* payload bytes still fits."""
        need = (self.offset + zf.LOCAL_FMT.size + name_len + 9 + (20 if zip64 else 0) + csize
                + self.central_size + zf.CENTRAL_FMT.size + name_len + 37 + zf.END_RESERVE
                + len(self.comment))
        return need <= self.limit

    def add(self, m, method, payload, crc, size):
        """Append a member (a zipformat.Member) whose payload is compressed; return its offset."""
        header = zf.local_header(m, method, crc, len(payload), size, zip64=size >= zf.MAX32)
        return self.add_record(m, method, header + payload, crc, len(payload), size)

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
        comp, crc, csize, read = compressor(level), 0, 0, 0
        while True:
            chunk = src.read(_CHUNK)
            if not chunk:
                break
            read += len(chunk)
            crc = zlib.crc32(chunk, crc)
            out = comp.compress(chunk)
            csize += len(out)
            f.write(out)
        out = comp.flush()
        csize += len(out)
        f.write(out)
        if changed(read, before):
            raise FileChanged(f"{m.name} changed while it was read ({size} -> {read} bytes)")
        method = zf.DEFLATED
        if csize >= size:
            method, csize = zf.STORED, size
            f.seek(offset + header_len)
            f.truncate()
            src.seek(0)
            read = 0
            while chunk := src.read(_CHUNK):
                read += len(chunk)
                f.write(chunk)
            if changed(read, before):  # the copy would not match the CRC-32 of the first read
                raise FileChanged(f"{m.name} changed while it was copied ({size} -> {read} bytes)")
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
        shutil.copyfileobj(self.central, self.f, _CHUNK)
        self.f.write(end)
        self.close()
        return cd_offset + cd_size + len(end)

    def close(self):
        """Stop the background writer and drop the central directory (done or abandoned)."""
        try:
            self.out.close()
        finally:
            self.central.close()


class SetWriter:
    """Writes the volumes of one set in turn, opening the next when a member does not fit.

    Finished volumes are published under their final names at once (never overwriting), so a run
    killed later leaves only whole volumes and at most one temporary file behind, named with
    *token* (the run's).
    """

    def __init__(self, target, set_name, limit, token=None):
        self.target, self.set_name, self.limit = target, str(set_name), limit
        self.token = token or secrets.token_hex(8)
        self.volumes = []        # [{"name", "bytes", "members"}] of published volumes
        self._vol = None
        self._file = None
        self._tmp = None
        self._probe = None

    @property
    def current_index(self):
        return len(self.volumes)

    def _open(self):
        name = volume_name(self.set_name, len(self.volumes))
        self._tmp = partial_name(name, self.token)
        self._file = self.target.open_write(self._tmp)
        self._vol = VolumeWriter(self._file, self.set_name, len(self.volumes), self.limit)

    def _close(self):
        size = self._vol.finish()
        self._file.close()
        name = volume_name(self.set_name, len(self.volumes))
        self.target.publish(self._tmp, name)
        self.volumes.append({"name": name, "bytes": size, "members": self._vol.members})
        self._vol = self._file = None

    def _volume_for(self, m, csize, alone=False):
        """The volume writer to take this member, rolling over when it does not fit."""
        if self._vol is None:
            self._open()
        elif self._vol.members and (alone or not self._vol.room_for(len(m.raw), csize)):
            self._close()
            self._open()
        return self._vol

    def fits_alone(self, name, size):
        """True if a file of *size* bytes fits in an empty volume (else it is oversize)."""
        if self._probe is None:
            self._probe = VolumeWriter(None, self.set_name, 0, self.limit)
        return self._probe.room_for(len(name.encode("utf-8")), size,
                                    zip64=size >= zf.MAX32 - _CHUNK)

    def add_record(self, m, method, record, crc, csize, size):
        """Add a member built by a packing worker (see VolumeWriter.add_record)."""
        vol = self._volume_for(m, csize)
        return self.current_index, vol.add_record(m, method, record, crc, csize, size)

    def add_stream(self, name, src, size, mtime_ns, level, alone=False, mode=0):
        """Stream a large file into a volume with room for all of it uncompressed (or its own);
        *mode* is the file's permission bits (for the central directory)."""
        m = zf.Member(name, mtime_ns, mode)
        vol = self._volume_for(m, size, alone=alone)
        offset, csize, crc, method = vol.add_stream(m, src, size, level)
        index = self.current_index
        if alone:
            self._close()
        return index, offset, csize, crc, method

    def finish(self):
        """Close the last volume (a set always has at least one, possibly empty)."""
        if self._vol is None:
            self._open()
        self._close()
        return self.volumes

    def abort(self):
        """Drop the volume being written (after an error); published volumes stay for cleanup."""
        if self._file is not None:
            try:
                self._vol.close()
            except OSError:
                pass
            try:
                self._file.close()
            except OSError:
                pass
            self.target.remove(self._tmp)
            self._vol = self._file = None
