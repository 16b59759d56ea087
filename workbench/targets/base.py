"""The Target contract: a flat directory of backup files, local or remote.

Every implementation (LocalTarget, SMBTarget) inherits :class:`Target` and passes the shared
conformance tests in ``tests/test_targets.py``, which cover every method below (modelled on
restic's backend interface and its one test suite). Callers use only these methods and
attributes; a new target (S3, SFTP, ...) implements the abstract ones and is opened by
``targets.open_target``.
"""

import abc
import io
import os

from ..modes import DEFAULT_FILE_MODE
from ..naming import partial_name
from ..passwords import PasswordSource


class Target(abc.ABC):
    """Where sets live: a flat directory of files.

    Names are plain file names (no ``/``, not ``""``, ``.`` or ``..``: ValueError); a target holds
    no subdirectories that matter to us.

    Attributes
    ----------
    url : str
        What the target is called in messages, results and the status record (never with a
        password in it).
    file_mode : int
        Permission bits of the files the target creates where it decides them (local
        directories; see workbench.modes). An SMB server decides its own.
    backup_password : workbench.passwords.PasswordSource
        Where the password of the encrypted sets on this target comes from (``open_target``
        sets it from the ``password_env`` option; by default ``$WORKBENCH_PASSWORD``, the
        keyring or a prompt). Looked up only when an encrypted set is read or written.
    """

    url: str
    file_mode: int = DEFAULT_FILE_MODE
    _backup_password = None

    @property
    def backup_password(self):
        if self._backup_password is None:
            self._backup_password = PasswordSource()
        return self._backup_password

    @backup_password.setter
    def backup_password(self, source):
        self._backup_password = source

    # -- what every target implements --------------------------------------------------------

    @abc.abstractmethod
    def exists(self) -> bool:
        """True if the target directory exists."""

    @abc.abstractmethod
    def ensure(self) -> None:
        """Create the target directory if it is missing (before a backup); TargetError if it
        cannot be created."""

    @abc.abstractmethod
    def list(self) -> dict[str, int]:
        """``{name: size}`` of every file (not directories or links), in one round trip per batch
        where remote; TargetError if the directory is missing ("does not exist") or unreadable."""

    @abc.abstractmethod
    def stat(self, name: str) -> tuple[int, float]:
        """``(size in bytes, mtime in seconds since 1970)`` of a file, the mtime as the
        filesystem or server keeps it (what "older than" is measured by for a damaged lock file);
        FileNotFoundError if it is missing."""

    @abc.abstractmethod
    def open_read(self, name: str) -> io.BufferedIOBase:
        """A seekable binary file; FileNotFoundError if *name* is missing."""

    @abc.abstractmethod
    def open_write(self, name: str) -> io.BufferedIOBase:
        """Create or truncate *name* and return a seekable binary file whose ``close()`` flushes
        the data to stable storage (fsync, SMB2 FLUSH) before returning."""

    @abc.abstractmethod
    def publish(self, src: str, dst: str) -> None:
        """Rename *src* to *dst*, never overwriting: FileExistsError if *dst* exists (*src* is
        left in place), FileNotFoundError if *src* is missing. SMB refuses rename-over, and a
        backup must never replace a committed file."""

    @abc.abstractmethod
    def remove(self, name: str) -> None:
        """Delete a file; a missing one is not an error."""

    @abc.abstractmethod
    def disk_usage(self) -> tuple[int, int]:
        """``(total, free)`` bytes of the filesystem or share."""

    # -- shared behaviour, overridden where a target can do better ---------------------------

    def read_bytes(self, name: str) -> bytes:
        """The whole content of *name*; FileNotFoundError if it is missing."""
        with self.open_read(name) as f:
            return f.read()

    def write_new(self, name: str, data: bytes) -> None:
        """Write *data* under a temporary name of its own and publish it as *name*: never
        overwriting (FileExistsError), and nothing left behind when it fails."""
        tmp = partial_name(name, os.urandom(8).hex())
        try:
            with self.open_write(tmp) as f:
                f.write(data)
            self.publish(tmp, name)
        except BaseException:
            self.remove(tmp)
            raise

    @property
    def local_root(self) -> str | None:
        """The target's directory on this machine's filesystem, or None if it is remote (the
        backup walk never enters it; hooks see it as WORKBENCH_TARGET)."""
        return None

    def local_path(self, name: str) -> str | None:
        """A local filesystem path of *name*, or None if the target is remote."""
        return None

    def named_error(self, error: OSError):
        """The WorkbenchError that names *error* (met writing one of the target's files) for
        the user, such as TargetFull; None if it is no such error."""
        return None

    def close(self) -> None:
        """Let go of connections (a remote target reconnects when used again)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


__all__ = ["Target"]
