"""Plain data shared by the layers: store entries and the results of backups and restores
(progress events live in workbench.progress), and the words for files a backup skipped."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Optional


@dataclass(slots=True)
class Entry:
    """One file of a backed-up store, as a manifest records it.

    ``stored_in`` is the set whose volume ``volume`` holds the data at ``offset`` (the offset of the
    member's local header); for an unchanged file of a differential it names the base full.
    ``mode`` holds the file's permission bits in the store (``st_mode & 0o7777``), 0 where they
    are unknown (manifests written before they were recorded, zips not made on Unix).
    ``skipped`` is the reason (a SKIP_REASONS key) of a file the backup recorded but did not
    store: it has ``stored_in`` "" and is in no volume (see workbench.sets.skipped_entries).
    """

    path: str
    kind: str
    domain: Optional[str]
    user: Optional[str]
    folder: Optional[str]
    size: int
    mtime_ns: int
    crc32: int = 0
    stored_in: str = ""
    volume: int = 0
    offset: int = 0
    csize: int = 0
    method: int = 8
    mode: int = 0
    skipped: str = ""


# Why a backup records a file without storing it: the reason as manifests and results hold it,
# and the words people read. The one home of both.
SKIP_REASONS = {"oversize": "larger than the volume size"}


def skip_text(reason):
    """``skipped at backup, larger than the volume size`` for a reason such as ``oversize``."""
    return f"skipped at backup, {SKIP_REASONS.get(reason, reason)}"


def not_in_backup_text(reasons):
    """One line for files a backup skipped, from their reasons: ``1 file is not in the backup:
    skipped at backup, larger than the volume size``."""
    reasons = list(reasons)
    n = len(reasons)
    why = "; ".join(dict.fromkeys(map(skip_text, reasons)))
    return f"{n} file{'s are' if n != 1 else ' is'} not in the backup: {why}"


@dataclass
class BackupResult:
    """What a backup run did. ``requested`` differs from ``kind`` when a differential ran as a full."""

    set_name: str
    kind: str
    requested: str
    base: Optional[str]
    target: str
    started: datetime
    finished: datetime
    files: int = 0          # entries in the manifest (the store as it was)
    stored: int = 0         # entries whose data this set holds
    bytes_in: int = 0       # bytes of the stored files
    bytes_out: int = 0      # bytes of all volumes written
    volumes: list = field(default_factory=list)
    skipped: list = field(default_factory=list)      # [{"path", "size", "reason", ...}]
    unreadable: list = field(default_factory=list)   # [{"path", "error"}]
    removed: list = field(default_factory=list)      # sets removed after the commit, with reasons
    postponed: list = field(default_factory=list)    # [{"set", "reason"}]: removals put off
    note: str = ""
    compression_level: Optional[int] = None  # the compression_level the members were deflated at
    compression_chosen: str = ""    # how: "config", "measured" (a sample) or "base" (its full's)

    @property
    def duration(self):
        """Seconds the run took."""
        return (self.finished - self.started).total_seconds()


@dataclass
class RestoreResult:
    """What a restore did: the sets read, the files written, and the ones that failed."""

    set_name: str
    sets_used: list
    destination: str
    files: int = 0
    bytes: int = 0
    skipped: list = field(default_factory=list)      # existing files left alone (conflict=skip)
    renamed: list = field(default_factory=list)
    failures: list = field(default_factory=list)     # [(path, reason)]
    duration: float = 0.0
    placed: list = field(default_factory=list)       # [(member path, path written)] when renamed
    marked: list = field(default_factory=list)       # folder index files set aside for a rebuild
    passed_over: list = field(default_factory=list)  # [(set, why)]: newer sets not used
    not_in_backup: list = field(default_factory=list)  # Entry of selected files skipped at backup
