"""A local or mounted directory as a backup target.

Files are created with the target's ``file_mode`` (default 0600) and a directory the target
creates gets the matching mode (0700): backups hold everyone's mail (see workbench.modes).
"""

import errno
import os
import shutil

from ..errors import TargetError, TargetFull
from ..modes import DEFAULT_FILE_MODE, make_dirs, open_file
from .base import Target


class _SyncedFile:
    """A buffered file whose close() also fsyncs, so a published volume is on disk.

    Every 32 MB written, the kernel is asked to start writing them out (posix_fadvise DONTNEED
    starts writeback without waiting for it): the fsync at close then finds little left to do,
    instead of all of a volume (0.4 s of a 100k-message backup's commit).
    """

    HINT = 32 * 1024 * 1024

    def __init__(self, path, file_mode=DEFAULT_FILE_MODE):
        self._path = path
        self._f = open(open_file(path, file_mode), "wb", buffering=1024 * 1024)
        self._hinted = self._written = 0
        self._hints = hasattr(os, "posix_fadvise")

    def __getattr__(self, name):
        return getattr(self._f, name)

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
        # Write errors of buffered files carry no file name: give them this one, so that the
        # caller can tell a full target (LocalTarget.named_error) from a full temporary disk.
        if e.filename is None:
            e.filename = self._path
        return e

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class LocalTarget(Target):
    """A directory on a local disk or a mounted network filesystem."""

    def __init__(self, path, file_mode=DEFAULT_FILE_MODE):
        self.root = os.path.abspath(os.path.expanduser(str(path)))
        self.url = self.root
        self.file_mode = file_mode

    def __repr__(self):
        return f"LocalTarget({self.root!r})"

    def _p(self, name):
        if "/" in name or name in ("", ".", ".."):
            raise ValueError(f"bad target file name {name!r}")
        return os.path.join(self.root, name)

    def exists(self):
        return os.path.isdir(self.root)

    def named_error(self, e):
        """The WorkbenchError for the OSError *e* met while creating or writing one of this
        target's files (full, or not writable), or None if *e* is another error."""
        path = getattr(e, "filename", None)
        if not isinstance(path, str) or os.path.dirname(path) != self.root:
            return None
        name = os.path.basename(path)
        if e.errno in _FULL:
            return TargetFull(self.root, name, e.strerror)
        if e.errno in _DENIED:
            return TargetError(f"cannot write to the backup directory {self.root}: {e.strerror} "
                               f"(creating {name}); give the user running workbench write "
                               "permission there, or choose another target")
        return None

    def _creating(self, e):
        """*e* as its named error where it has one (for the calls that create files)."""
        return self.named_error(e) or e

    def ensure(self):
        try:
            make_dirs(self.root, self.file_mode)
        except OSError as e:
            raise TargetError(f"cannot create backup directory {self.root}: {e.strerror}") from None

    def list(self):
        try:
            with os.scandir(self.root) as it:
                return {d.name: d.stat().st_size for d in it if d.is_file(follow_symlinks=False)}
        except FileNotFoundError:
            raise TargetError(f"backup directory {self.root} does not exist") from None
        except OSError as e:
            raise TargetError(f"cannot list backup directory {self.root}: {e.strerror}") from None

    def open_read(self, name):
        return open(self._p(name), "rb")

    def open_write(self, name):
        try:
            return _SyncedFile(self._p(name), self.file_mode)
        except OSError as e:
            raise self._creating(e) from None

    def publish(self, src, dst):
        s, d = self._p(src), self._p(dst)
        try:
            # link() fails with EEXIST instead of replacing: an atomic no-overwrite rename.
            os.link(s, d)
        except OSError as e:
            if e.errno == errno.EEXIST:
                raise FileExistsError(errno.EEXIST, "target file exists", dst) from None
            if e.errno not in (errno.EPERM, errno.ENOTSUP, errno.EXDEV, errno.EMLINK):
                raise self._creating(e) from None
            # Filesystems without hard links (vfat, some network mounts): check, then rename.
            if os.path.exists(d):
                raise FileExistsError(errno.EEXIST, "target file exists", dst) from None
            os.rename(s, d)
        else:
            os.unlink(s)
        self._sync_dir()

    def stat(self, name):
        st = os.stat(self._p(name))
        return st.st_size, st.st_mtime

    def remove(self, name):
        try:
            os.unlink(self._p(name))
        except FileNotFoundError:
            pass

    def disk_usage(self):
        u = shutil.disk_usage(self.root if os.path.isdir(self.root) else _existing_parent(self.root))
        return u.total, u.free

    @property
    def local_root(self):
        return self.root

    def local_path(self, name):
        return self._p(name)

    def _sync_dir(self):
        fd = os.open(self.root, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


_FULL = (errno.ENOSPC, errno.EDQUOT)
_DENIED = (errno.EACCES, errno.EPERM, errno.EROFS)


def _existing_parent(path):
    while not os.path.isdir(path):
        path = os.path.dirname(path)
    return path
