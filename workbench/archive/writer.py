"""Write a set as zip volumes on a target: each volume a standalone zip, never above the limit.

Volumes are written under temporary names (``<volume>.partial``) and published under their final
names only when complete; the caller publishes the manifest after the last one (see backup.py).
"""

import json
import zlib

from ..naming import PARTIAL_SUFFIX, volume_name
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


class VolumeWriter:
    """One zip volume being written to an open, seekable file."""

    def __init__(self, f, set_name, index, limit):
        self.f, self.index, self.limit = f, index, limit
        self.comment = volume_comment(set_name, index)
        self.offset = 0
        self.central = []
        self.cd_size = 0
        self.members = 0

    def room_for(self, name, csize, zip64=False):
        """True if a member with *csize* payload bytes still fits under the limit."""
        need = (self.offset + zf.local_header_size(name, zip64) + csize + self.cd_size
                + zf.central_record_size(name) + zf.END_RESERVE + len(self.comment))
        return need <= self.limit

    def add(self, name, method, payload, crc, size, mtime_ns):
        """Append a member whose payload is already compressed; return its header offset."""
        offset = self.offset
        header = zf.local_header(name, method, crc, len(payload), size, mtime_ns,
                                 zip64=size >= zf.MAX32)
        self.f.write(header)
        self.f.write(payload)
        self.offset += len(header) + len(payload)
        self._record(name, method, crc, len(payload), size, mtime_ns, offset)
        return offset

    def add_stream(self, name, src, size, mtime_ns, level):
        """Append a large file by streaming it through deflate; return ``(offset, csize, crc, method)``.

        The header is patched afterwards, so memory stays flat whatever the size. If the file does
        not shrink, it is rewritten as stored so that the payload is never larger than the file.
        """
        offset = self.offset
        zip64 = size >= zf.MAX32 - _CHUNK
        header_len = len(zf.local_header(name, zf.DEFLATED, 0, 0, size, mtime_ns, zip64))
        self.f.write(b"\0" * header_len)
        comp, crc, csize, read = compressor(level), 0, 0, 0
        while True:
            chunk = src.read(_CHUNK)
            if not chunk:
                break
            read += len(chunk)
            crc = zlib.crc32(chunk, crc)
            out = comp.compress(chunk)
            csize += len(out)
            self.f.write(out)
        out = comp.flush()
        csize += len(out)
        self.f.write(out)
        if read != size:
            raise OSError(f"{name} changed size while it was read ({size} -> {read} bytes)")
        method = zf.DEFLATED
        if csize >= size:
            method, csize = zf.STORED, size
            self.f.seek(offset + header_len)
            self.f.truncate()
            src.seek(0)
            while chunk := src.read(_CHUNK):
                self.f.write(chunk)
        end = self.f.tell()
        self.f.seek(offset)
        self.f.write(zf.local_header(name, method, crc, csize, size, mtime_ns, zip64))
        self.f.seek(end)
        self.offset = end
        self._record(name, method, crc, csize, size, mtime_ns, offset)
        return offset, csize, crc, method

    def _record(self, name, method, crc, csize, size, mtime_ns, offset):
        rec = zf.central_record(name, method, crc, csize, size, mtime_ns, offset)
        self.central.append(rec)
        self.cd_size += len(rec)
        self.members += 1

    def finish(self):
        """Write the central directory and end records; return the volume's size in bytes."""
        cd_offset = self.offset
        self.f.write(b"".join(self.central))
        self.f.write(zf.end_records(self.members, cd_offset, self.cd_size, self.comment))
        self.central = []
        return cd_offset + self.cd_size + len(zf.end_records(self.members, cd_offset, self.cd_size,
                                                             self.comment))


class SetWriter:
    """Writes the volumes of one set in turn, opening the next when a member does not fit.

    Finished volumes are published under their final names at once (never overwriting), so a run
    killed later leaves only whole volumes and at most one ``.partial`` file behind.
    """

    def __init__(self, target, set_name, limit):
        self.target, self.set_name, self.limit = target, str(set_name), limit
        self.volumes = []        # [{"name", "bytes", "members"}] of published volumes
        self._vol = None
        self._file = None

    @property
    def current_index(self):
        return len(self.volumes)

    def _open(self):
        name = volume_name(self.set_name, len(self.volumes))
        self._file = self.target.open_write(name + PARTIAL_SUFFIX)
        self._vol = VolumeWriter(self._file, self.set_name, len(self.volumes), self.limit)

    def _close(self):
        size = self._vol.finish()
        self._file.close()
        name = volume_name(self.set_name, len(self.volumes))
        self.target.publish(name + PARTIAL_SUFFIX, name)
        self.volumes.append({"name": name, "bytes": size, "members": self._vol.members})
        self._vol = self._file = None

    def _volume_for(self, name, csize, alone=False):
        """The volume writer to take this member, rolling over when it does not fit."""
        if self._vol is None:
            self._open()
        elif self._vol.members and (alone or not self._vol.room_for(name, csize)):
            self._close()
            self._open()
        return self._vol

    def fits_alone(self, name, size):
        """True if a file of *size* bytes fits in an empty volume (else it is oversize)."""
        probe = VolumeWriter(None, self.set_name, 0, self.limit)
        return probe.room_for(name, size, zip64=size >= zf.MAX32 - _CHUNK)

    def add(self, name, method, payload, crc, size, mtime_ns):
        """Add a compressed member; return ``(volume index, offset)``."""
        vol = self._volume_for(name, len(payload))
        return self.current_index, vol.add(name, method, payload, crc, size, mtime_ns)

    def add_stream(self, name, src, size, mtime_ns, level, alone=False):
        """Stream a large file into a volume with room for all of it uncompressed (or its own)."""
        vol = self._volume_for(name, size, alone=alone)
        offset, csize, crc, method = vol.add_stream(name, src, size, mtime_ns, level)
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
                self._file.close()
            except OSError:
                pass
            self.target.remove(volume_name(self.set_name, len(self.volumes)) + PARTIAL_SUFFIX)
            self._vol = self._file = None
