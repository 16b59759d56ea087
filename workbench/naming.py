"""Set and volume names, as Kerio Connect writes them, and the names of our own work files
(pure functions, no I/O).

A set is named ``<K><YYYYMMDD>T<HHMMSS>Z`` in UTC, K being F (full), D (differential) or C (copy);
its volumes are ``<name>.zip``, ``<name>.1.zip``, ``<name>.2.zip`` and so on.

Files only workbench writes carry ``.wb-<token>`` in their names, so that no file another tool
leaves beside a set (a ``F....zip.partial`` of Kerio's, say) is ever taken for one of ours:

- ``<final name>.wb-<token>.partial``: a file being written, published as *final name* when
  whole (the token is the writing run's);
- ``<set>.wb-<token>.removing`` and ``<set>.wb-<token>.deleting``: a set being removed (see
  removal.py);
- ``.workbench.lock`` (one backup at a time) and ``.workbench.read-<token>`` (a reader's lease).
"""

import re
from datetime import datetime, timedelta, timezone

from .records import FrozenRecord

KINDS = {"F": "full", "D": "differential", "C": "copy"}
KIND_LETTERS = {v: k for k, v in KINDS.items()}


def kind_letter(kind):
    """``"F"``, ``"D"`` or ``"C"`` for a backup kind given as a letter or a name (``full``,
    ``differential``, ``copy``; any case); None if it is neither. The one home of this mapping."""
    text = str(kind).strip() if kind is not None else ""
    if text.upper() in KINDS:
        return text.upper()
    return KIND_LETTERS.get(text.lower())


def kind_name(kind):
    """``"full"``, ``"differential"`` or ``"copy"`` for a kind given as a letter or a name;
    None if it is neither."""
    letter = kind_letter(kind)
    return KINDS[letter] if letter else None

_SET_RE = re.compile(r"([FDC])(\d{8}T\d{6})Z")
_VOLUME_RE = re.compile(r"([FDC]\d{8}T\d{6}Z)(?:\.([1-9]\d*))?\.zip")
_SET_PREFIX_RE = re.compile(r"[FDC]\d{8}T\d{6}Z")
# Parts of a spanned or split archive: Info-ZIP's ``X.z01``, ``X.z02`` ... (beside the last part,
# ``X.zip``) and 7-Zip's ``X.zip.001``, ``X.zip.002`` ...
_SPLIT_PART_RE = re.compile(r"([FDC]\d{8}T\d{6}Z)\.(?:z(\d{2,})|zip\.(\d{3,}))")
_TOKEN = r"[0-9a-f]{8,64}"
_PARTIAL_RE = re.compile(rf"(.+)\.wb-({_TOKEN})\.partial")
_MARKER_RE = re.compile(rf"([FDC]\d{{8}}T\d{{6}}Z)\.wb-({_TOKEN})\.(removing|deleting)")


class SetName(FrozenRecord):
    """A parsed set name. Orders by time, then kind letter."""

    _fields = ("time", "kind")

    def __init__(self, time, kind):
        self.__dict__.update(time=time, kind=kind)  # kind: "F", "D" or "C"

    def __lt__(self, other):
        if other.__class__ is not self.__class__:
            return NotImplemented
        return (self.time, self.kind) < (other.time, other.kind)

    def __le__(self, other):
        if other.__class__ is not self.__class__:
            return NotImplemented
        return (self.time, self.kind) <= (other.time, other.kind)

    def __gt__(self, other):
        if other.__class__ is not self.__class__:
            return NotImplemented
        return (self.time, self.kind) > (other.time, other.kind)

    def __ge__(self, other):
        if other.__class__ is not self.__class__:
            return NotImplemented
        return (self.time, self.kind) >= (other.time, other.kind)

    def __str__(self):
        return f"{self.kind}{self.time.strftime('%Y%m%dT%H%M%S')}Z"

    @property
    def is_full(self):
        """True for F and C: a copy is a full for recovery (it needs no other set), though it
        stands beside the chains (never a differential's base, see rotation)."""
        return self.kind in ("F", "C")


def parse_set_name(text):
    """Parse ``F20261126T010000Z``; return a SetName or None if *text* is not a set name."""
    m = _SET_RE.fullmatch(text)
    if not m:
        return None
    try:
        d = m.group(2)  # YYYYMMDDTHHMMSS (datetime checks the ranges; strptime took 1 ms)
        t = datetime(int(d[:4]), int(d[4:6]), int(d[6:8]), int(d[9:11]), int(d[11:13]),
                     int(d[13:15]), tzinfo=timezone.utc)
    except ValueError:  # the shape of a name, but no such time (month 13, say)
        return None
    return SetName(t, m.group(1))


def make_set_name(kind, when):
    """The set name for *kind* ("F"/"D"/"C" or "full"/...) started at *when* (aware datetime)."""
    letter = kind_letter(kind)
    if letter is None:
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


def parse_split_part(filename):
    """``(set name text, part number)`` for a part of a spanned or split archive (Info-ZIP's
    ``X.z01``, 7-Zip's ``X.zip.001``), or None. Such archives are no sets of standalone volumes."""
    m = _SPLIT_PART_RE.fullmatch(filename)
    if not m:
        return None
    return m.group(1), int(m.group(2) or m.group(3))


def manifest_name(set_name):
    return f"{set_name}.manifest.json.gz"


def index_name(set_name):
    return f"{set_name}.index.sqlite"


def set_name_prefix(filename):
    """The set name *filename* starts with (text), or None: every such file keeps its name taken."""
    m = _SET_PREFIX_RE.match(filename)
    return m.group(0) if m and parse_set_name(m.group(0)) is not None else None


PARTIAL_SUFFIX = ".partial"
LOCK_NAME = ".workbench.lock"
LEASE_PREFIX = ".workbench.read-"
REMOVING, DELETING = "removing", "deleting"


def partial_name(name, token):
    """The temporary name under which *name* is written by the run (or writer) *token*."""
    return f"{name}.wb-{token}{PARTIAL_SUFFIX}"


def parse_partial_name(filename):
    """``(final name, token)`` of a temporary file of ours, or None for any other name."""
    m = _PARTIAL_RE.fullmatch(filename)
    return (m.group(1), m.group(2)) if m else None


def removal_marker(set_name, token, stage):
    """Name of the marker that says set *set_name* is being removed: *stage* is REMOVING (the
    readers are being asked) or DELETING (decided: its files are being deleted)."""
    return f"{set_name}.wb-{token}.{stage}"


def parse_removal_marker(filename):
    """``(set name text, token, stage)`` of a removal marker, or None."""
    m = _MARKER_RE.fullmatch(filename)
    return (m.group(1), m.group(2), m.group(3)) if m else None


def lease_name(token):
    """Name of the read lease *token*."""
    return f"{LEASE_PREFIX}{token}"


def is_lease_name(filename):
    return filename.startswith(LEASE_PREFIX) and re.fullmatch(_TOKEN, filename[len(LEASE_PREFIX):]) \
        is not None
