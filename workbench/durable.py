"""Files whose data is on the disk once they are closed: the volumes a backup writes.

Every 32 MB written, the kernel is asked to start writing them out (posix_fadvise DONTNEED
starts writeback without waiting for it), so the fsync at close finds little left to do instead
of all of a volume. Write errors carry the file's name, so that a caller can tell a full target
from a full temporary disk.

A leaf of the standard library alone: the backup's worker processes write their volumes with it
(see archive/pack.py), and local targets open their files with it.
"""

import os


class SyncedFile:
    """A buffered binary file on the descriptor *fd* (opened for writing by the caller, at its
    start) whose close() also fsyncs; *path* names it in errors."""

    HINT = 32 * 1024 * 1024

    def __init__(self, fd, path):
        self._path = path
        self._f = open(fd, "wb", buffering=1024 * 1024)
        self._hinted = self._written = 0
        self._hints = hasattr(os, "posix_fadvise")

    def __getattr__(self, name):
        return getattr(self._f, name)

    @property
    def path(self):
        return self._path

    def write(self, data):
        try:
            n = self._f.write(data)
        except OSError as e:
            raise self._named(e)
        self._written += n
        if self._written - self._hinted >= self.HINT and self._hints:
            self.flush()
            end = self._f.tell()
            if end > self._hinted:
                try:
                    os.posix_fadvise(self._f.fileno(), self._hinted, end - self._hinted,
                                     os.POSIX_FADV_DONTNEED)
                except OSError:  # only advice: a filesystem that refuses it loses nothing
                    self._hints = False
            self._hinted = self._written = end
        return n

    # Calls that flush the buffer (and so may meet a full disk) besides write and close.
    def seek(self, *args):
        return self._call(self._f.seek, *args)

    def truncate(self, *args):
        return self._call(self._f.truncate, *args)

    def flush(self):
        return self._call(self._f.flush)

    def _call(self, fn, *args):
        try:
            return fn(*args)
        except OSError as e:
            raise self._named(e)

    def close(self):
        if not self._f.closed:
            try:
                self._f.flush()
                os.fsync(self._f.fileno())
            except OSError as e:
                try:
                    self._f.close()  # the data cannot be written: the caller drops the file
                except OSError:
                    pass
                raise self._named(e)
            self._f.close()

    def _named(self, e):
        # Write errors of buffered files carry no file name: give them this one.
        if e.filename is None:
            e.filename = self._path
        return e

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
