"""The Target interface: a flat directory of backup files, local or remote.

Contract (every implementation passes the shared tests in ``tests/test_targets.py``):

- Names are plain file names (no ``/``); a target holds no subdirectories that matter to us.
- ``list()`` returns ``{name: size}`` for every file, in one round trip per batch where remote.
- ``open_read(name)`` returns a seekable binary file; a missing file raises ``FileNotFoundError``.
- ``open_write(name)`` creates or truncates *name* and returns a seekable binary file; its ``close()``
  flushes the data to stable storage (fsync) before returning.
- ``publish(src, dst)`` renames *src* to *dst* and never overwrites: if *dst* exists it raises
  ``FileExistsError`` and *src* is left in place (SMB refuses rename-over, and a backup must never
  replace a committed file).
- ``create_exclusive(name, data)`` writes a new file and returns True, or returns False if it exists.
- ``remove(name)`` deletes a file; a missing one is not an error.
- ``stat(name)`` returns ``(size in bytes, mtime in seconds since 1970)`` of a file (the mtime as
  the filesystem or server keeps it: what "older than" is measured by for a damaged lock file); a
  missing file raises ``FileNotFoundError``.
- ``write_new(name, data)`` writes *data* under a temporary name of its own and publishes it as
  *name* (never overwriting: ``FileExistsError``, and nothing left behind).
- ``disk_usage()`` returns ``(total, free)`` bytes of the filesystem or share.
- ``local_path(name)`` returns a local filesystem path for *name*, or None if the target is remote.
"""

from typing import BinaryIO, Dict, Optional, Protocol, Tuple


class Target(Protocol):
    url: str

    def list(self) -> Dict[str, int]: ...

    def open_read(self, name: str) -> BinaryIO: ...

    def open_write(self, name: str) -> BinaryIO: ...

    def publish(self, src: str, dst: str) -> None: ...

    def create_exclusive(self, name: str, data: bytes) -> bool: ...

    def remove(self, name: str) -> None: ...

    def stat(self, name: str) -> Tuple[int, float]: ...

    def disk_usage(self) -> Tuple[int, int]: ...

    def local_path(self, name: str) -> Optional[str]: ...

    def ensure(self) -> None:
        """Create the target directory if it is missing (before a backup)."""

    def exists(self) -> bool: ...

    def read_bytes(self, name: str) -> bytes:
        with self.open_read(name) as f:
            return f.read()

    def write_new(self, name: str, data: bytes) -> None:
        """Write *data* under a temporary name, then publish it as *name* (never overwriting)."""
