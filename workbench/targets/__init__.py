"""Backup targets: where sets live. ``open_target(url)`` picks the implementation."""

from .local import LocalTarget


def open_target(url, **options):
    """Open a target from a local path, ``file://`` URL, ``smb://`` URL or UNC path.

    Parameters
    ----------
    url : str or os.PathLike or Target
        ``/mnt/backup``, ``file:///mnt/backup``, ``smb://[user@]host[:port]/share/dir`` or
        ``\\\\host\\share\\dir``. A Target object is returned as it is.
    **options
        Passed to the remote implementation (credentials, port, ...).
    """
    if hasattr(url, "publish"):
        return url
    text = str(url)
    if text.startswith("file://"):
        return LocalTarget(text[len("file://"):])
    if text.startswith("smb://") or text.startswith("\\\\") or text.startswith("//"):
        from .smb import SMBTarget  # imported here so the core runs without smbprotocol
        return SMBTarget.from_url(text, **options)
    return LocalTarget(text)


__all__ = ["open_target", "LocalTarget"]
