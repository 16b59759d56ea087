"""Restore a backup, or part of it, into a directory, recreating the server directory layout.

A restore first makes a plan (which set, which of its entries, read from which volumes), then reads
each volume once, in offset order, while worker threads inflate, check the CRC-32 and write. Every
file is written under a temporary name and renamed into place, so a failed entry never leaves a
half-written file; nothing is written outside the destination and nothing is deleted.
"""

import logging
import os
import threading
import time
import zlib
from collections import defaultdict, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from .archive.reader import STREAM_THRESHOLD, copy_member, read_payload, unpack
from .config import Config, validate
from .errors import CorruptVolume, NoCompleteBackup, RestoreIncomplete, UnsafePath, WorkbenchError
from .model import Progress, RestoreResult
from .sets import base_of, entries_of, find_set, latest_restorable, list_sets
from .targets import open_target

log = logging.getLogger("workbench.restore")

CONFLICTS = ("skip", "rename", "overwrite")
_MAX_INFLIGHT_BYTES = 64 * 1024 * 1024
_count_lock = threading.Lock()


@dataclass
class Plan:
    """What a restore reads and writes: the chosen set, the sets it reads, and the entries."""

    set: object                      # SetInfo of the chosen set
    sets_used: list                  # names of the sets whose volumes are read
    entries: list                    # Entry objects to restore
    volumes: dict = field(default_factory=dict)   # (set name, volume index) -> file name

    @property
    def bytes(self):
        return sum(e.size for e in self.entries)


def check_member_path(path):
    """Raise UnsafePath unless *path* is a relative, '/'-separated path without '..'."""
    if (not path or path.startswith(("/", "\\")) or "\\" in path or "\0" in path
            or (len(path) > 1 and path[1] == ":")):
        raise UnsafePath(f"member {path!r} has an absolute or non-portable path; refused")
    parts = path.split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise UnsafePath(f"member {path!r} contains '..' or empty parts; refused")


def make_plan(target, set=None, select=None):
    """The Plan for restoring *set* (name; default: the newest complete backup).

    *select*, a callable(Entry) -> bool, narrows the entries.
    """
    sets = list_sets(target)
    info = find_set(sets, set) if set is not None else latest_restorable(sets)
    if base_of(sets, info) is None:
        raise NoCompleteBackup(f"set {info.name} is a differential whose full backup is gone; "
                               "it cannot be restored")
    entries = entries_of(target, sets, info)
    if select is not None:
        entries = [e for e in entries if select(e)]
    volumes = {}
    for e in entries:
        key = (e.stored_in, e.volume)
        if key not in volumes:
            src = find_set(sets, e.stored_in)
            if e.volume not in src.volumes:
                volumes[key] = None
            else:
                volumes[key] = src.volumes[e.volume][0]
    used = sorted({s for s, _ in volumes})
    return Plan(info, used, entries, volumes)


def restore(to, set=None, *, config=None, conflict="skip", select=None, progress=None, **settings):
    """Restore the store as *set* recorded it into the directory *to*; return a RestoreResult.

    Parameters
    ----------
    to : str
        Destination directory; the server directory layout (``store/mail/...``,
        ``mailserver.cfg``) is recreated under it.
    set : str, optional
        Set name; a differential brings in its full. Default: the newest full with its newest
        differential.
    conflict : {"skip", "rename", "overwrite"}
        What to do with files that already exist at the destination. Nothing is overwritten
        unless asked.
    select : callable(Entry) -> bool, optional
        Restore only the entries it accepts.
    progress : callable(Progress), optional

    Raises
    ------
    RestoreIncomplete
        If some entries failed (missing or corrupt volume, CRC mismatch, unsafe path); every
        other entry has been restored. ``error.result`` holds the RestoreResult.
    """
    if conflict not in CONFLICTS:
        raise WorkbenchError(f"conflict must be one of {', '.join(CONFLICTS)}, not {conflict!r}")
    cfg = validate(settings, config or Config())
    target = open_target(cfg.target_or_default)
    plan = make_plan(target, set, select)
    return execute_plan(target, plan, to, conflict=conflict, progress=progress)


def execute_plan(target, plan, to, conflict="skip", progress=None):
    """Carry out *plan* into directory *to* (see restore)."""
    started = time.monotonic()
    dest = os.path.realpath(to)
    os.makedirs(dest, exist_ok=True)
    result = RestoreResult(str(plan.set.name), plan.sets_used, dest)
    writer = _Writer(dest, conflict, result)
    by_volume = defaultdict(list)
    for e in plan.entries:
        try:
            check_member_path(e.path)
        except UnsafePath as err:
            log.error("%s", err)
            result.failures.append((e.path, str(err)))
            continue
        by_volume[(e.stored_in, e.volume)].append(e)
    total = len(plan.entries)
    meter = _Meter(progress, total, plan.bytes)
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        for key in sorted(by_volume):
            entries = sorted(by_volume[key], key=lambda e: e.offset)
            fname = plan.volumes.get(key)
            if fname is None:
                for e in entries:
                    result.failures.append((e.path, f"volume {key[1]} of set {key[0]} is missing"))
                continue
            _restore_volume(target, fname, entries, writer, pool, result, meter)
    meter.report(force=True)
    result.duration = time.monotonic() - started
    if result.failures:
        err = RestoreIncomplete(result.failures)
        err.result = result
        raise err
    log.info("restored %d files (%d bytes) from %s into %s", result.files, result.bytes,
             result.set_name, dest)
    return result


def _restore_volume(target, fname, entries, writer, pool, result, meter):
    """Read the entries of one volume in offset order; workers inflate and write them."""
    try:
        f = target.open_read(fname)
    except OSError as e:
        for entry in entries:
            result.failures.append((entry.path, f"volume {fname} cannot be opened: {e}"))
        return
    pending = deque()
    inflight = 0

    def settle(limit):
        nonlocal inflight
        while pending and (inflight > limit or pending[0][1].done()):
            entry, fut = pending.popleft()
            inflight -= entry.csize
            err = fut.exception()
            if err is not None:
                result.failures.append((entry.path, _reason(err, fname)))
            meter.add(entry)

    with f:
        for entry in entries:
            try:
                if entry.csize > STREAM_THRESHOLD:
                    settle(0)
                    writer.stream(f, entry)
                    meter.add(entry)
                    continue
                payload = read_payload(f, entry.offset, entry.csize)
            except (OSError, ValueError, CorruptVolume) as e:
                result.failures.append((entry.path, _reason(e, fname)))
                meter.add(entry)
                continue
            pending.append((entry, pool.submit(writer.write, entry, payload)))
            inflight += entry.csize
            settle(_MAX_INFLIGHT_BYTES)
        settle(-1)


def _reason(err, fname):
    if isinstance(err, (CorruptVolume, UnsafePath)):
        return str(err)
    return f"{fname}: {err}"


class _Meter:
    """Counts progress and reports it a few times a second."""

    def __init__(self, callback, files_total, bytes_total):
        self.callback, self.files_total, self.bytes_total = callback, files_total, bytes_total
        self.files = self.bytes = 0
        self._last = 0.0

    def add(self, entry):
        self.files += 1
        self.bytes += entry.size
        self.report(entry.path)

    def report(self, path="", force=False):
        if self.callback is None:
            return
        now = time.monotonic()
        if force or now - self._last > 0.1:
            self._last = now
            self.callback(Progress("restore", self.files, self.files_total, self.bytes,
                                   self.bytes_total, path))


class _Writer:
    """Writes restored files under the destination, safely (used from several threads)."""

    def __init__(self, dest, conflict, result):
        self.dest, self.conflict, self.result = dest, conflict, result
        self._dirs = set()

    def _final_path(self, entry):
        """The path to write, or None to skip; UnsafePath if it would leave the destination."""
        path = os.path.join(self.dest, *entry.path.split("/"))
        parent = os.path.dirname(path)
        if parent not in self._dirs:
            os.makedirs(parent, exist_ok=True)
            real = os.path.realpath(parent)
            if real != self.dest and not real.startswith(self.dest + os.sep):
                raise UnsafePath(f"member {entry.path!r} would be written outside the destination "
                                 f"(through a link to {real}); refused")
            self._dirs.add(parent)
        if os.path.islink(path):
            raise UnsafePath(f"member {entry.path!r}: the destination is a symbolic link; refused")
        if os.path.lexists(path):
            if self.conflict == "skip":
                self.result.skipped.append(entry.path)
                return None
            if self.conflict == "rename":
                n = 1
                while os.path.lexists(f"{path}.restored-{n}"):
                    n += 1
                path = f"{path}.restored-{n}"
                self.result.renamed.append(entry.path)
        return path

    def write(self, entry, payload):
        path = self._final_path(entry)
        if path is None:
            return
        data = unpack(entry.method, payload)
        if zlib.crc32(data) != entry.crc32 or len(data) != entry.size:
            raise CorruptVolume(f"{entry.path}: CRC-32 or size does not match (volume damaged)")
        self._place(path, entry, lambda out: out.write(data))

    def stream(self, f, entry):
        path = self._final_path(entry)
        if path is None:
            return
        crc = None

        def fill(out):
            nonlocal crc
            crc = copy_member(f, entry, out)

        self._place(path, entry, fill, check=lambda: crc == entry.crc32)

    def _place(self, path, entry, fill, check=None):
        tmp = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.wb-restore")
        try:
            with open(tmp, "wb") as out:
                fill(out)
            if check is not None and not check():
                raise CorruptVolume(f"{entry.path}: CRC-32 does not match (volume damaged)")
            os.utime(tmp, ns=(entry.mtime_ns, entry.mtime_ns))
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        with _count_lock:
            self.result.files += 1
            self.result.bytes += entry.size

