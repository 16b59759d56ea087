"""Backup targets: where sets live. ``open_target(url)`` picks the implementation.

``base.Target`` is the contract every target inherits; ``local.LocalTarget`` a local or mounted
directory; ``smb`` (a package, the only code that imports smbprotocol) an SMB share, imported
only when an ``smb://`` or UNC target is opened.
"""

from ..modes import DEFAULT_FILE_MODE
from ..passwords import PasswordSource
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
        ``password_env`` names the environment variable of the encrypted sets' password
        (``Target.backup_password``).
    """
    if isinstance(url, Target):
        return url
    text = str(url)
    file_mode = options.pop("file_mode", DEFAULT_FILE_MODE)
    source = PasswordSource(options.pop("password_env", None))
    if text.startswith("file://"):
        target = LocalTarget(text[len("file://"):], file_mode=file_mode)
    elif text.startswith("smb://") or text.startswith("\\\\") or text.startswith("//"):
        from .smb import SMBTarget  # imported here so the core runs without smbprotocol
        target = SMBTarget.from_url(text, **options)
    else:
        target = LocalTarget(text, file_mode=file_mode)
    target.backup_password = source
    return target


__all__ = ["open_target", "Target", "LocalTarget"]
