"""Backup targets: where sets live. ``open_target(url)`` picks the implementation.

``base.Target`` is the contract every target inherits; ``local.LocalTarget`` a local or mounted
directory; ``smb`` (a package, the only code that imports smbprotocol) an SMB share, imported
only when an ``smb://`` or UNC target is opened.
"""

from ..modes import DEFAULT_FILE_MODE
from .base import Target
from .local import LocalTarget


def open_target(url, **options):
    """Open a target from a local path, ``file://`` URL, ``smb://`` URL or UNC path.

    Parameters
    ----------
    url : str or os.PathLike or Target
        ``/mnt/backup``, ``file:///mnt/backup``, ``smb://[user@]host[:port]/share/dir`` or
        ``\\\\host\\share\\dir``. A Target object is returned as it is.
    **options
        ``file_mode`` for a local directory (see workbench.modes); the others are passed to the
        remote implementation (credentials, port, ...), where the server decides file modes.
    """
    if isinstance(url, Target):
        return url
    text = str(url)
    file_mode = options.pop("file_mode", DEFAULT_FILE_MODE)
    if text.startswith("file://"):
        return LocalTarget(text[len("file://"):], file_mode=file_mode)
    if text.startswith("smb://") or text.startswith("\\\\") or text.startswith("//"):
        from .smb import SMBTarget  # imported here so the core runs without smbprotocol
        return SMBTarget.from_url(text, **options)
    return LocalTarget(text, file_mode=file_mode)


__all__ = ["open_target", "Target", "LocalTarget"]
