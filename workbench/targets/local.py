"""A local or mounted directory as a backup target.

Files are created with the target's ``file_mode`` (default 0600) and a directory the target
creates gets the matching mode (0700): backups hold everyone's mail (see workbench.modes).
"""

import errno
import os

from ..durable import SyncedFile
from ..errors import TargetError, TargetFull
from ..modes import DEFAULT_FILE_MODE, make_dirs, open_file
from .base import Target


def _SyncedFile(path, file_mode=DEFAULT_FILE_MODE):
    """A new file *path* with *file_mode*, written through durable.SyncedFile (fsynced when
    closed, writeback started as it grows)."""
    return SyncedFile(open_file(path, file_mode), path)


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
                out = {}
                for d in it:
                    if d.is_file(follow_symlinks=False):
                        try:
                            out[d.name] = d.stat().st_size
                        except FileNotFoundError:  # removed since the directory was read
                            continue
                return out
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
        path = self.root if os.path.isdir(self.root) else _existing_parent(self.root)
        if not hasattr(os, "statvfs"):  # Windows
            import shutil
            u = shutil.disk_usage(path)
            return u.total, u.free
        st = os.statvfs(path)  # what shutil.disk_usage reads, without loading shutil (and bz2, lzma)
        return st.f_blocks * st.f_frsize, st.f_bavail * st.f_frsize

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
