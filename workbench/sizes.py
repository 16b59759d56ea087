"""Sizes in bytes as people write and read them: the one home of both rules.

``parse_size`` reads what a config file or a flag gives (``2GiB``, ``500MB``, ``1.5 GB`` or a
number of bytes: decimal units are powers of 1000, binary ones of 1024); ``human_size`` writes a
byte count for people (``1.5 GiB``, always in binary units). A leaf module: it imports only
workbench.errors.
"""

import re

from .errors import ConfigError

_UNITS = {"": 1, "B": 1, "K": 1000, "KB": 1000, "M": 1000**2, "MB": 1000**2, "G": 1000**3,
          "GB": 1000**3, "T": 1000**4, "TB": 1000**4, "KIB": 1024, "MIB": 1024**2,
          "GIB": 1024**3, "TIB": 1024**4}
_SIZE_RE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*")
_HUMAN_UNITS = ("KiB", "MiB", "GiB", "TiB")


def parse_size(key, value, allow_zero=False):
    """Bytes from ``2GiB``, ``500MB``, ``1.5 GB`` or an integer; ConfigError naming *key* if bad."""
    if isinstance(value, bool):
        raise ConfigError(key, value, "expected a size such as 2GiB, 500MB or a number of bytes")
    if isinstance(value, int):
        n = value
    else:
        m = _SIZE_RE.fullmatch(str(value))
        unit = m.group(2).upper() if m else None
        if not m or unit not in _UNITS:
            raise ConfigError(key, value, "expected a size such as 2GiB, 500MB or a number of bytes")
        n = int(float(m.group(1)) * _UNITS[unit])
    if n < 0 or (n == 0 and not allow_zero):
        raise ConfigError(key, value, "must be more than 0 bytes")
    return n


def human_size(n):
    """``1.5 GiB``-style text of a byte count: ``512 bytes`` below 1 KiB, one decimal above (in
    KiB, MiB, GiB or TiB); ``unknown`` for None.

    >>> human_size(1536), human_size(512), human_size(None)
    ('1.5 KiB', '512 bytes', 'unknown')
    """
    if n is None:
        return "unknown"
    value = float(n)
    if abs(value) < 1024:
        return f"{value:.0f} bytes"
    for unit in _HUMAN_UNITS:
        value /= 1024
        if abs(value) < 1024 or unit == _HUMAN_UNITS[-1]:
            return f"{value:.1f} {unit}"


__all__ = ["parse_size", "human_size"]
