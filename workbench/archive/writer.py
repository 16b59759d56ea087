"""Write a set as zip volumes on a target: each volume a standalone zip, never above the limit.

Volumes are written under temporary names (``<volume>.wb-<run token>.partial``, a name no other
tool writes) and published under their final names only when complete; the caller publishes the
manifest after the last one (see backup.py). SetWriter writes them in this process; VolumeFiles
hands them out to the backup's worker processes, which write volumes of their own (pack.py).
"""

import os

from ..modes import open_file
from ..naming import partial_name, volume_name
from .volume import (FileChanged, VolumeSeries, VolumeWriter, fits_alone, read_marker,
                     volume_comment)

__all__ = ["FileChanged", "SetWriter", "VolumeFiles", "VolumeWriter", "fits_alone",
           "read_marker", "volume_comment"]


class SetWriter(VolumeSeries):
    """Writes the volumes of one set in turn, opening the next when a member does not fit.

    Finished volumes are published under their final names at once (never overwriting), so a run
    killed later leaves only whole volumes and at most one temporary file behind, named with
    *token* (the run's). With *key* (an aes.ZipKey) every member is WinZip AES encrypted.
    """

    def __init__(self, target, set_name, limit, token=None, key=None):
        super().__init__(set_name, limit, key)
        self.target = target
        self.token = token or os.urandom(8).hex()
        self.volumes = []        # [{"name", "bytes", "members"}] of published volumes

    def _tmp(self, index):
        return partial_name(volume_name(self.set_name, index), self.token)

    def _open(self):
        index = len(self.volumes)
        return index, self.target.open_write(self._tmp(index))

    def _finished(self, index, size, members):
        name = volume_name(self.set_name, index)
        self.target.publish(self._tmp(index), name)
        self.volumes.append({"name": name, "bytes": size, "members": members})

    def _discard(self, index):
        self.target.remove(self._tmp(index))

    def fits_alone(self, name, size):
        """True if a file of *size* bytes fits in an empty volume (else it is oversize)."""
        return fits_alone(self.set_name, self.limit, name, size)

    def add_stream(self, name, src, size, mtime_ns, level, alone=False, mode=0):
        """Stream a large file into a volume with room for all of it uncompressed (or its own);
        *mode* is the file's permission bits (for the central directory)."""
        return self.add_member_stream(self.member(name, mtime_ns, mode), src, size, level, alone)

    def finish(self):
        """Close the last volume (a set always has at least one, possibly empty)."""
        if self.current is None:
            self._start()
        self.close_volume()
        return self.volumes


class VolumeFiles:
    """The volumes of a set that backup worker processes write (archive/pack.py: Storers):
    numbered here in the order the workers ask for them, created empty under temporary names
    on a target with local files, and published together once the set is written.

    Publishing goes in ascending order, the last volume (which holds the manifest copy) last, so
    a run killed meanwhile leaves what an interrupted run of ours always leaves: volumes 0..k,
    the last of them without the manifest copy, and temporary files named with *token*.
    """

    def __init__(self, target, set_name, token):
        self.target, self.set_name, self.token = target, str(set_name), token
        self.count = 0
        self.volumes = []  # [{"name", "bytes", "members"}] of published volumes

    def _tmp(self, index):
        return partial_name(volume_name(self.set_name, index), self.token)

    def allocate(self):
        """``(number, local path)`` of a new volume's temporary file, created empty with the
        target's file mode (never over an existing file)."""
        index = self.count
        path = self.target.local_path(self._tmp(index))
        os.close(open_file(path, self.target.file_mode, os.O_WRONLY | os.O_CREAT | os.O_EXCL))
        self.count += 1
        return index, path

    @staticmethod
    def describe(finished, set_name):
        """``[{"name", "bytes", "members"}]`` of the finished volumes ``(number, bytes,
        members)``, as manifests list them."""
        return [{"name": volume_name(set_name, i), "bytes": size, "members": members}
                for i, size, members in finished]

    def publish(self, finished):
        """Publish the finished volumes ``(number, bytes, members)`` (every one allocated, in
        order); return them as manifests list them."""
        if [i for i, _, _ in finished] != list(range(self.count)):
            raise RuntimeError(f"volumes {[i for i, _, _ in finished]} finished, "
                               f"{self.count} allocated")
        for item in self.describe(finished, self.set_name):
            self.target.publish(self._tmp(len(self.volumes)), item["name"])
            self.volumes.append(item)
        return self.volumes

    def abort(self):
        """Nothing to drop here: the temporary files carry the run's token (backup.py removes
        them after a failure)."""
