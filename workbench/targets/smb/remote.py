"""A file on the share, open for reading or writing, that survives a reconnect."""

import errno
import io
import time
from concurrent.futures import ThreadPoolExecutor

import smbclient

from ...errors import TargetError
from .connection import PROBE_TIMEOUT, _is_transient, _NoReply
from .wire import _CREDIT, _version


# Big requests: one SMB round trip per 4 MiB written or read instead of per 64 KiB.
_BUFFER = 4 * 1024 * 1024


# Reads at least this big are taken for sequential: the next chunk is fetched ahead.
_READ_AHEAD_MIN = 256 * 1024


class _RemoteFile(io.RawIOBase):
    """A seekable raw file on the share that survives a reconnect: it reopens and resumes.

    Reads and writes are positional, so a request repeated after a lost reply is harmless. A write
    handle is reopened without truncation; ``close()`` sends SMB2 FLUSH, so the server has the
    data on disk before the file is published.

    Opening for reading opens, reads the first :data:`_HEAD` bytes and closes in one round trip;
    a handle is opened only when reading goes past them, and refuses a file that changed since.
    """

    def __init__(self, target, name, mode):
        super().__init__()
        self._t, self.name, self._mode = target, name, mode
        self._path = target._unc(name)
        self._pos = 0
        self._fd = None
        self._gen = None
        self._size = 0
        self._head, self._version = b"", None
        self._ahead_pool = self._ahead = None
        if mode == "rb":
            self._head, self._version = target._head(name)
            self._size = self._version[0]
        else:
            self._handle(first=True)

    def _handle(self, first=False):
        if self._fd is not None and self._gen == self._t._generation:
            return self._fd
        mode = self._mode if first else ("rb" if self._mode == "rb" else "r+b")

        def op():
            share = "r" if mode == "rb" else None
            return smbclient.open_file(self._path, mode, buffering=0, share_access=share,
                                       **self._t._kwargs())
        if first:
            self._fd = self._t._call(f"opening {self.name}", op)
        else:
            self._fd = op()  # inside a _call already: its retry loop covers this
        self._gen = self._t._generation
        if first:
            self._size = self._fd.fd.end_of_file
        elif self._mode == "rb" and _version(self._fd.fd) != self._version:
            # Published files never change; one that did would give bytes of two versions.
            self._fd.close()
            self._fd = None
            raise OSError(errno.ESTALE, f"{self.name} changed on the share while being read",
                          self._t.url + "/" + self.name)
        return self._fd

    def readable(self):
        return self._mode != "wb"

    def writable(self):
        return self._mode != "rb"

    def seekable(self):
        return True

    def tell(self):
        return self._pos

    def seek(self, offset, whence=io.SEEK_SET):
        if whence == io.SEEK_SET:
            pos = offset
        elif whence == io.SEEK_CUR:
            pos = self._pos + offset
        elif whence == io.SEEK_END:
            pos = self._size + offset
        else:
            raise ValueError(f"bad whence {whence}")
        if pos < 0:
            raise ValueError("negative seek position")
        self._pos = pos
        return pos

    def readinto(self, b):
        if self._mode == "rb":
            if self._pos >= self._size:
                return 0
            if self._pos < len(self._head):
                n = min(len(b), len(self._head) - self._pos)
                b[:n] = self._head[self._pos:self._pos + n]
                self._pos += n
                return n
            if len(b) >= _READ_AHEAD_MIN:
                return self._read_ahead(b)
        n = self._read_at(self._pos, b)
        self._pos += n
        return n

    def _read_at(self, pos, b):
        """Read into *b* from offset *pos* of the file; the number of bytes read."""
        def op():
            fd = self._handle()
            fd.seek(pos)
            return fd.readinto(b)
        return self._t._call(f"reading {self.name}", op)

    def _fetch(self, pos, length):
        buf = bytearray(length)
        return memoryview(buf)[:self._read_at(pos, buf)]

    def _read_ahead(self, b):
        """Big sequential reads: the next chunk is requested while the caller works on this one
        (inflating a manifest, say), which hides much of each round trip. Every read of the
        handle happens in the one read-ahead thread."""
        if self._ahead_pool is None:
            self._ahead_pool = ThreadPoolExecutor(1, thread_name_prefix="smb-read-ahead")
        pos, want = self._pos, len(b)
        ahead, self._ahead = self._ahead, None
        if ahead is None or ahead[0] != pos or ahead[1] < want:
            if ahead is not None:
                ahead[2].cancel()
            ahead = (pos, want, self._ahead_pool.submit(self._fetch, pos, want))
        data = ahead[2].result()[:want]
        n = len(data)
        b[:n] = data
        self._pos = pos + n
        if n and self._pos < self._size:
            self._ahead = (self._pos, want,
                           self._ahead_pool.submit(self._fetch, self._pos, want))
        return n

    def readall(self):
        # RawIOBase's would read 8 KiB per round trip.
        parts = []
        while True:
            buf = bytearray(min(max(self._size - self._pos, _CREDIT), _BUFFER))
            n = self.readinto(buf)
            if not n:
                return b"".join(parts)
            parts.append(bytes(buf[:n]) if n < len(buf) else bytes(buf))

    def write(self, b):
        data = bytes(b)

        def op():
            fd = self._handle()
            fd.seek(self._pos)
            return fd.write(data)
        try:
            n = self._t._call(f"writing {self.name}", op)
        except OSError as e:
            # A failed write is the target's failure, not the source file's (see backup.py).
            raise TargetError(f"cannot write {self.name} on {self._t.url}: "
                              f"{e.strerror or e}") from None
        self._pos += n
        self._size = max(self._size, self._pos)
        return n

    def truncate(self, size=None):
        size = self._pos if size is None else size

        def op():
            return self._handle().truncate(size)
        self._t._call(f"truncating {self.name}", op)
        self._size = size
        return size

    def close(self):
        if self.closed:
            return
        if self._ahead_pool is not None:
            self._ahead_pool.shutdown(cancel_futures=True)  # waits for a read under way
            self._ahead_pool = self._ahead = None
        try:
            if self._mode != "rb" and self._fd is not None:
                def op():
                    fd = self._handle()
                    fd.fd.flush()  # SMB2 FLUSH: the server writes the file to stable storage
                    fd.close()
                self._t._call(f"flushing {self.name}", op)
            elif (self._fd is not None and self._gen == self._t._generation
                  and self._t._down is None):  # else the connection is gone, and the handle
                deadline = time.monotonic() + min(self._t._timeout, PROBE_TIMEOUT)
                try:
                    self._t._attempt(self._fd.close, deadline, connect=False)
                except _NoReply:
                    self._t._reset()
                except Exception as e:
                    if not _is_transient(e):
                        raise
        finally:
            self._fd = None
            super().close()
