"""Set and volume names, as Kerio Connect writes them (pure functions, no I/O).

A set is named ``<K><YYYYMMDD>T<HHMMSS>Z`` in UTC, K being F (full), D (differential) or C (copy);
its volumes are ``<name>.zip``, ``<name>.1.zip``, ``<name>.2.zip`` and so on.
"""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

KINDS = {"F": "full", "D": "differential", "C": "copy"}
KIND_LETTERS = {v: k for k, v in KINDS.items()}

_SET_RE = re.compile(r"([FDC])(\d{8}T\d{6})Z")
_VOLUME_RE = re.compile(r"([FDC]\d{8}T\d{6}Z)(?:\.([1-9]\d*))?\.zip")


@dataclass(frozen=True, order=True)
class SetName:
    """A parsed set name. Orders by time, then kind letter."""

    time: datetime
    kind: str  # "F", "D" or "C"

    def __str__(self):
        return f"{self.kind}{self.time.strftime('%Y%m%dT%H%M%S')}Z"

    @property
    def is_full(self):
        """True for F and C: a copy counts as a full."""
        return self.kind in ("F", "C")


def parse_set_name(text):
    """Parse ``F20261126T010000Z``; return a SetName or None if *text* is not a set name."""
    m = _SET_RE.fullmatch(text)
    if not m:
        return None
    t = datetime.strptime(m.group(2), "%Y%m%dT%H%M%S").replace(tzinfo=timezone.utc)
    return SetName(t, m.group(1))


def make_set_name(kind, when):
    """The set name for *kind* ("F"/"D"/"C" or "full"/...) started at *when* (aware datetime)."""
    letter = KIND_LETTERS.get(kind, kind)
    if letter not in KINDS:
        raise ValueError(f"unknown backup kind {kind!r}")
    when = when.astimezone(timezone.utc).replace(microsecond=0)
    return SetName(when, letter)


def next_free_name(name, taken):
    """*name*, moved on by whole seconds until its timestamp clashes with no name in *taken*.

    Two runs in the same second (a "Start now" right after a scheduled full) must not collide, and
    names that differ only in kind letter would sort ambiguously, so the timestamp itself must be new.
    """
    stamps = {str(t)[1:] for t in taken}
    while str(name)[1:] in stamps:
        name = SetName(name.time + timedelta(seconds=1), name.kind)
    return name


def volume_name(set_name, index):
    """File name of volume *index* (0-based) of *set_name*: ``X.zip``, ``X.1.zip``, ..."""
    return f"{set_name}.zip" if index == 0 else f"{set_name}.{index}.zip"


def parse_volume_name(filename):
    """Return ``(set name text, index)`` for a volume file name, or None."""
    m = _VOLUME_RE.fullmatch(filename)
    if not m:
        return None
    return m.group(1), int(m.group(2) or 0)


def manifest_name(set_name):
    return f"{set_name}.manifest.json.gz"


def index_name(set_name):
    return f"{set_name}.index.sqlite"


PARTIAL_SUFFIX = ".partial"
LOCK_NAME = ".workbench.lock"
