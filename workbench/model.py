"""Plain data shared by the layers: store entries and the results of backups and restores
(progress events live in workbench.progress), and the words for files a backup skipped."""

from .records import Record


class Entry(Record):
    """One file of a backed-up store, as a manifest records it.

    ``stored_in`` is the set whose volume ``volume`` holds the data at ``offset`` (the offset of the
    member's local header); for an unchanged file of a differential it names the base full.
    ``mode`` holds the file's permission bits in the store (``st_mode & 0o7777``), 0 where they
    are unknown (manifests written before they were recorded, zips not made on Unix).
    ``skipped`` is the reason (a SKIP_REASONS key) of a file the backup recorded but did not
    store: it has ``stored_in`` "" and is in no volume (see workbench.sets.skipped_entries).
    """

    _fields = __slots__ = ("path", "kind", "domain", "user", "folder", "size", "mtime_ns", "crc32",
                           "stored_in", "volume", "offset", "csize", "method", "mode", "skipped")

    def __init__(self, path, kind, domain, user, folder, size, mtime_ns, crc32=0, stored_in="",
                 volume=0, offset=0, csize=0, method=8, mode=0, skipped=""):
        self.path = path            # str
        self.kind = kind            # str
        self.domain = domain        # str or None
        self.user = user            # str or None
        self.folder = folder        # str or None
        self.size = size            # int
        self.mtime_ns = mtime_ns    # int
        self.crc32 = crc32
        self.stored_in = stored_in
        self.volume = volume
        self.offset = offset
        self.csize = csize
        self.method = method
        self.mode = mode
        self.skipped = skipped


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


class BackupResult(Record):
    """What a backup run did. ``requested`` differs from ``kind`` when a differential ran as a full."""

    _fields = ("set_name", "kind", "requested", "base", "target", "started", "finished", "files",
               "stored", "bytes_in", "bytes_out", "volumes", "skipped", "unreadable", "removed",
               "postponed", "note", "compression_level", "compression_chosen")

    def __init__(self, set_name, kind, requested, base, target, started, finished, files=0,
                 stored=0, bytes_in=0, bytes_out=0, volumes=None, skipped=None, unreadable=None,
                 removed=None, postponed=None, note="",
                 compression_level=None, compression_chosen=""):
        self.set_name = set_name    # str
        self.kind = kind            # str
        self.requested = requested  # str
        self.base = base            # str or None
        self.target = target        # str
        self.started = started      # datetime
        self.finished = finished    # datetime
        self.files = files          # entries in the manifest (the store as it was)
        self.stored = stored        # entries whose data this set holds
        self.bytes_in = bytes_in    # bytes of the stored files
        self.bytes_out = bytes_out  # bytes of all volumes written
        self.volumes = [] if volumes is None else volumes
        self.skipped = [] if skipped is None else skipped  # [{"path", "size", "reason", ...}]
        self.unreadable = [] if unreadable is None else unreadable  # [{"path", "error"}]
        # sets removed after the commit, with reasons; [{"set", "reason"}]: removals put off
        self.removed = [] if removed is None else removed
        self.postponed = [] if postponed is None else postponed
        self.note = note
        # the compression_level the members were deflated at, and how it was chosen: "config",
        # "measured" (on a sample of the store) or "base" (its full's)
        self.compression_level = compression_level
        self.compression_chosen = compression_chosen

    @property
    def duration(self):
        """Seconds the run took."""
        return (self.finished - self.started).total_seconds()


class RestoreResult(Record):
    """What a restore did: the sets read, the files written, and the ones that failed."""

    _fields = ("set_name", "sets_used", "destination", "files", "bytes", "skipped", "renamed",
               "failures", "duration", "placed", "marked", "passed_over", "not_in_backup")

    def __init__(self, set_name, sets_used, destination, files=0, bytes=0, skipped=None,
                 renamed=None, failures=None, duration=0.0, placed=None, marked=None,
                 passed_over=None, not_in_backup=None):
        self.set_name = set_name        # str
        self.sets_used = sets_used      # list
        self.destination = destination  # str
        self.files = files
        self.bytes = bytes
        self.skipped = [] if skipped is None else skipped  # existing files left alone (skip)
        self.renamed = [] if renamed is None else renamed
        self.failures = [] if failures is None else failures  # [(path, reason)]
        self.duration = duration
        self.placed = [] if placed is None else placed  # [(member path, path written)] if renamed
        self.marked = [] if marked is None else marked  # folder index files set aside to rebuild
        self.passed_over = [] if passed_over is None else passed_over  # [(set, why)]: not used
        # Entry of the selected files the backup skipped
        self.not_in_backup = [] if not_in_backup is None else not_in_backup
