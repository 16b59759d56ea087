"""Make a backup set: full (F), differential (D) or copy (C) of a mail store, as zip volumes.

The run, in order: free-space guard, target lock, cleanup of interrupted runs (only what sets.py
proves ours and interrupted), store walk, change detection against the chain's full
(differentials), parallel compression into volumes, index, and the manifest last, which commits the
set. Only then are the previous differential (``latest``) and old chains (rotation) removed, never
while a reader holds them (removal.py): such a removal is postponed and listed in the result. Any
failure before the commit leaves every earlier set untouched, and the failing run removes only the
files it published itself.
"""

import logging
import os
import queue
import secrets
import shutil
import socket
import tempfile
import threading
import time
from array import array
from bisect import bisect_right
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from datetime import datetime, timezone
from itertools import chain, islice, repeat
from operator import lt

from .archive import manifest as mf
from .archive.crypt import Sealer, keyring, open_plain, set_key_of, zip_key
from .archive.compress import choose_level, gzip_writer, level_text, sample_files
from .archive.index import copy_index, discard_copy, publish_index_from, write_index
from .archive.messages import MessageBlock
from .archive.reader import STREAM_THRESHOLD
from .archive.table import INT_TYPES, EntryTable
from .archive.writer import SetWriter, VolumeFiles, fits_alone
from .config import Config, validate
from .errors import ConfigError, NotEnoughSpace, TargetUnreachable, WorkbenchError
from .lock import target_lock
from .model import BackupResult
from .progress import Meter
from .sizes import human_size
from .naming import (index_name, kind_letter, make_set_name, manifest_name, next_free_name,
                     parse_partial_name, parse_set_name, partial_name, set_name_prefix)
from .removal import remove_unread, resume_removals
from .rotation import apply_rotation
from .sets import COMPLETE, leftover_files, list_sets

from .store import MESSAGE_KINDS, StoreRun, is_message, walk_store_runs
from .targets import open_target

log = logging.getLogger("workbench.backup")

# The sample that measures the compression level is spread over at least this many bytes of the
# walk's first files (archive.compress.sample_files), or the whole store when smaller.
SAMPLE_SPAN = 32 * 1024 * 1024

# What a differential takes from its full's manifest for the files that did not change; it
# reads them in step with the paths from temporary files (_Base), and reads past the others.
_BASE_COLUMNS = ("size", "mtime_ns", "crc32", "stored_in", "volume", "offset", "csize", "method")
_SPOOLED = ("path",) + _BASE_COLUMNS
_UNUSED = tuple(c for c in mf.COLUMNS if c not in _SPOOLED)
# From how many files of its full on a differential walks the store in a process of its own
# (starting it costs some 40 ms).
_WALK_APART_MIN_FILES = 10000
# Files the walk may run ahead of the compressors (_walk_ahead): about 8 MB of names and
# numbers. Holding a million files' took 30 MB, a tenth of what the whole backup may use.
_AHEAD_FILES = 256 * 1024


def _kind_letter(kind):
    letter = kind_letter(kind)
    if letter is None:
        raise WorkbenchError(f"unknown backup kind {kind!r}: use full, differential or copy")
    return letter


def check_free_space(target, min_free):
    """NotEnoughSpace unless *target* has at least *min_free* bytes free; return the free bytes."""
    _, free = target.disk_usage()
    if free < min_free:
        raise NotEnoughSpace(target.url, free, min_free, human_size)
    return free


def backup(kind="full", *, config=None, progress=None, now=None, **settings):
    """Make a backup set and return a BackupResult.

    Parameters
    ----------
    kind : {"full", "differential", "copy"} or {"F", "D", "C"}
        A differential with no usable full runs as a full (``result.requested`` keeps "D" and
        ``result.note`` says why).
    config : Config, optional
        Settings; keyword *settings* (``store``, ``target``, ``volume_size``, ``keep``, ``min_free``,
        ``differentials``, ``oversize``, ``compression_level``) override it.
    progress : callable(Progress), optional
        Called as files are stored (a few times a second at most).
    now : datetime, optional
        The run's start time (for tests); defaults to the current UTC time.

    Returns
    -------
    BackupResult
    """
    cfg = validate(settings, config or Config())
    if not cfg.store:
        raise ConfigError("store", None, "no store given: set 'store' or pass --store")
    requested = _kind_letter(kind)
    target = open_target(cfg.target_or_default, **cfg.target_options)
    if cfg.encrypt:  # the password, and that 7-Zip can use it, before anything is written
        zip_key(target.backup_password, "the encrypted backup")
    # What a lost target means for the backup, by how far the run got: said in its error.
    outcome = "nothing was written"
    try:
        check_free_space(target, cfg.min_free)  # before anything is written, even the directory
        target.ensure()
        outcome = ("no backup set was started (a lock file left behind is taken over by the next "
                   "run)")
        with target_lock(target, cfg.lock_stale_after):
            files = target.list()
            taken = {parse_set_name(p) for p in map(set_name_prefix, files) if p}
            sets = list_sets(target, files=files)
            resumed = resume_removals(target, sets)
            if resumed:
                sets = list_sets(target)
            cleaned = [{"set": r["set"], "reason": r["reason"]} for r in resumed if r["removed"]]
            cleaned += _clean_up(target, sets)
            sets = [s for s in sets if s.usable]
            run = _Run(cfg, target, requested, sets, progress, now, taken)
            outcome = (f"the backup set {run.name} being written stays incomplete; the next run "
                       f"removes it")
            result = run.execute()
            outcome = (f"the backup set {result.set_name} is complete, but what follows it "
                       f"(removing replaced or rotated sets, the lock) may not have finished")
            removed, result.postponed = _after_commit(cfg, target, result)
            result.removed = cleaned + removed
    except TargetUnreachable as e:
        raise type(e)(f"{e}; {outcome}") from None
    except OSError as e:
        # A full or unwritable target is the user's to fix: say so by name (the run has
        # removed what it wrote). Other OS errors stay what they are.
        named = target.named_error(e)
        if named is None:
            raise
        raise named from e
    return result


def _clean_up(target, sets):
    """Remove the files of interrupted runs of ours (sets.leftover_files: nothing else); return
    ``[{"set", "reason", "files"}]``, one per set name whose files went."""
    by_set = {}
    for fname in leftover_files(sets):
        log.warning("removing %s, left by an interrupted run", fname)
        target.remove(fname)
        by_set.setdefault(set_name_prefix(fname) or fname, []).append(fname)
    return [{"set": name, "reason": "left by an interrupted run (incomplete)", "files": files}
            for name, files in by_set.items()]


def _after_commit(cfg, target, result):
    """Drop the replaced differential (``latest``) and rotate.

    Returns ``(removed, postponed)``: lists of ``{"set", "reason"}``, the sets removed and those
    whose removal waits for a later run because they are being read. A copy's run rotates only
    copies: pressing Start now never removes a full or a differential.
    """
    removed, postponed = [], []
    sets = list_sets(target)
    if result.kind == "D" and cfg.differentials == "latest":
        for s in sets:
            if (s.name.kind == "D" and s.status == COMPLETE and str(s.name) != result.set_name
                    and s.base == result.base):
                reason = f"replaced by {result.set_name}"
                why = remove_unread(target, s, reason, cfg.lock_stale_after)
                if why is None:
                    log.info("removing differential %s, %s", s.name, reason)
                    removed.append({"set": str(s.name), "reason": reason})
                else:
                    log.warning("the removal of differential %s (%s) is postponed: %s", s.name,
                                reason, why)
                    postponed.append({"set": str(s.name), "reason": f"{reason}, but {why}"})
        sets = list_sets(target)
    for d in apply_rotation(target, cfg.keep, sets, cfg.lock_stale_after, cfg.keep_copies,
                            copies_only=result.kind == "C"):
        (removed if d.action == "delete" else postponed).append({"set": d.set,
                                                                 "reason": d.reason})
    return removed, postponed


class _Run:
    """One backup run: holds the state shared by its steps."""

    def __init__(self, cfg, target, requested, sets, progress, now, taken=()):
        self.cfg, self.target, self.sets = cfg, target, sets
        self.started = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
        self.kind, self.base, self.note = requested, None, ""
        if requested == "D":
            # A copy stands beside the chains: never a differential's base.
            fulls = [s for s in sets if s.name.kind == "F" and s.status == COMPLETE]
            if fulls:
                self.base = fulls[-1]
                why = self._unfit_base(self.base)
                if why:
                    self.base, self.kind = None, "F"
                    self.note = f"{why}: the differential ran as a full"
                    log.warning(self.note)
            else:
                self.kind = "F"
                self.note = "no usable full backup on the target: the differential ran as a full"
                log.warning(self.note)
        # An encrypted set: a key per member for the volumes, the chain's key for the sealed
        # manifest and index (a differential's is its full's: the same password opens both).
        self.key = self.sealer = None
        if cfg.encrypt:
            source = target.backup_password
            self.key = zip_key(source, "the encrypted backup")
            if self.base is not None:
                base = str(self.base.name)
                set_key = set_key_of(target, manifest_name(base), f"the manifest of {base}")
            else:
                set_key = keyring(source, "the encrypted backup").new_key()
            self.sealer = Sealer(set_key)
        # Free against every file on the target: any file starting with a set name keeps that
        # name taken, whoever wrote it.
        self.name = next_free_name(make_set_name(self.kind, self.started), taken)
        self.token = secrets.token_hex(8)  # names this run's temporary files
        self.published = []  # files of this run published besides its volumes
        self.skipped, self.unreadable = [], []
        # Headers of the messages this set stores (a differential's unchanged messages keep theirs
        # in the full's manifest), gathered into temporary files as they come.
        self.messages = MessageBlock()
        self.meter = Meter(progress, "backup")
        self.planned = [0, 0]  # files and bytes to store, as the walk finds them
        self.walked = False
        # The size of the job before the walk has told: the last set of this kind on the target.
        similar = [s for s in sets if s.name.kind == self.kind and s.header]
        stats = similar[-1].header.get("stats", {}) if similar else {}
        self.expected = (stats.get("stored"), stats.get("bytes_in"))

    def _unfit_base(self, base):
        """Why the full *base* cannot be this differential's (its encryption is not this run's,
        or the password given does not open it), or "" if it can: a chain is encrypted
        throughout, with one password, so that every differential can be restored."""
        if self.cfg.encrypt and base.encrypted and base.locked:
            return f"the password given does not open the full backup {base.name}"
        if self.cfg.encrypt and not base.encrypted:
            return f"encryption is on and the full backup {base.name} is not encrypted"
        if not self.cfg.encrypt and base.encrypted:
            return f"encryption is off and the full backup {base.name} is encrypted"
        return ""

    def execute(self):
        name = str(self.name)
        log.info("backup %s started (%s) from %s to %s", name, self.kind, self.cfg.store,
                 self.target.url)
        self.counted, self._stop = None, threading.Event()
        files, self.big, ahead = self._look_ahead(self._walk())
        self.level, self.level_chosen, self.level_sample = self._choose_level(ahead)
        entries = EntryTable()
        # Big jobs to a target with local files: worker processes write volumes of their own
        # (archive/pack.py), and no compressed byte passes through this process.
        own = self.big and self.target.local_path(name) is not None
        if own:
            writer = VolumeFiles(self.target, name, self.token)
        else:
            writer = SetWriter(self.target, name, self.cfg.volume_size, self.token, self.key)
        # SQLite works without the GIL: the index is made in this thread while the rest runs.
        self.index_pool = ThreadPoolExecutor(1, thread_name_prefix="index")
        self.index_copy = None
        if self.base is not None:  # a differential's index starts as a copy of its full's
            self.index_copy = self.index_pool.submit(copy_index, self.target, index_name(name),
                                                     index_name(str(self.base.name)), self.token,
                                                     self.sealer)
        try:
            from .archive.pack import Storers  # subprocesses, pickle: only when backing up
            with (Storers(name, self.cfg.volume_size, writer.allocate, key=self.key) if own
                  else nullcontext()) as storers:
                # The walk feeds the compressors as it goes: workers start on the first files
                # while the rest of the store is still being listed.
                todo = self._plan(files, entries)
                if storers is not None:
                    self._store_in_workers(storers, entries, todo)
                else:
                    self._store(writer, entries, todo)
                self.dropped = entries.drop_unstored()  # files that vanished or failed
                stored = entries.count(name)  # (files, bytes) whose data this set holds
                volumes = self._commit(writer, entries, stored, self.messages, storers)
        except BaseException:
            writer.abort()
            if self.index_copy is not None and not self.index_copy.cancel():
                discard_copy(self.index_copy.result())
            self._discard(writer)
            raise
        finally:
            self._stop.set()
            self.index_pool.shutdown()
            self.messages.close()
        finished = datetime.now(timezone.utc)
        result = BackupResult(
            set_name=name, kind=self.kind, requested=self.requested_letter, target=self.target.url,
            base=str(self.base.name) if self.base else None, started=self.started,
            finished=finished, files=len(entries), stored=stored[0],
            bytes_in=stored[1], bytes_out=sum(v["bytes"] for v in volumes),
            volumes=[v["name"] for v in volumes], skipped=self.skipped,
            unreadable=self.unreadable, note=self.note, compression_level=self.level,
            compression_chosen=self.level_chosen)
        log.info("backup %s committed: %d files, %d stored, %d bytes in, %d bytes out, %d volumes, "
                 "%d skipped", name, result.files, result.stored, result.bytes_in,
                 result.bytes_out, len(volumes), len(self.skipped))
        return result

    def _commit(self, writer, entries, stored, messages, storers=None):
        """Write the manifest into the last volume, the index, then the manifest file (the commit).

        The column lines are written once to a temporary file and streamed from there into both
        copies, so a 100k-entry manifest never sits in memory as one document. Worker processes
        that write volumes of their own read that file by its name.
        """
        messages.flush()  # the index and the manifest both read the message spools
        index = self.index_pool.submit(self._write_index, entries, messages)
        try:
            with tempfile.NamedTemporaryFile(prefix="workbench-manifest-") as body:
                volumes = self._write_manifest(writer, body, entries, stored, messages, storers)
                index.result()  # published before the manifest that commits the set
                self._publish_manifest(body, volumes, entries, stored)
        except BaseException:
            index.exception()  # let the index finish before the caller cleans up
            raise
        return volumes

    def _write_manifest(self, writer, body, entries, stored, messages, storers=None):
        """Write the manifest's text to *body* and into the last volume; return the volumes."""
        name = str(self.name)
        if storers is None:
            before = writer.volumes
        else:  # the workers finish their volumes; the one with the last keeps it open for this
            before = VolumeFiles.describe(storers.finish_all_but_last(), name)
        body.write(mf.header_line(self._header(before, entries, stored)))
        mf.write_body(body, entries, messages)
        size = body.tell()
        if storers is not None:
            body.flush()
            return writer.publish(storers.finish_last(mf.member_name(name), body.name, size,
                                                      time.time_ns(), 6))
        body.seek(0)
        writer.add_stream(mf.member_name(name), body, size, time.time_ns(), 6)
        return writer.finish()

    def _publish_manifest(self, body, volumes, entries, stored):
        """Publish the gzip manifest file: this commits the set."""
        name = str(self.name)
        body.seek(0)
        body.readline()  # the in-volume header, which lacks the last volume's size
        tmp = partial_name(manifest_name(name), self.token)
        with self.target.open_write(tmp) as f:
            # An encrypted set's manifest is sealed: gzip writes into the sealing writer.
            with (self.sealer.writer(f) if self.sealer else nullcontext(f)) as out:
                with gzip_writer(out) as gz:
                    gz.write(mf.header_line(self._header(volumes, entries, stored)))
                    shutil.copyfileobj(body, gz, 1024 * 1024)
        self.target.publish(tmp, manifest_name(name))
        self.published.append(manifest_name(name))

    def _write_index(self, entries, messages):
        """The set's index: for a differential, the full's index with this set's changes."""
        name = str(self.name)
        work = self.index_copy.result() if self.index_copy is not None else None
        self.index_copy = None  # from here on this job owns the copy
        if work is not None:
            gone = self.base_gone + self.dropped
            mine = list(entries.entries(stored_in=name))
            if publish_index_from(self.target, index_name(name), name, work, mine, gone,
                                  messages, self.token, self.sealer):
                self.published.append(index_name(name))
                return
        if self.base is not None:  # no usable copy: the unchanged messages' IDs are the full's
            messages = list(messages.index_rows()) + self._inherited_message_ids(entries)
        write_index(self.target, index_name(name), name, entries, messages, self.token,
                    self.sealer)
        self.published.append(index_name(name))

    def _inherited_message_ids(self, entries):
        """``(message_id, path)`` of the messages this differential takes from its full."""
        base = str(self.base.name)
        inherited = {row[0] for row in entries.rows(stored_in=base)}
        with open_plain(self.target, manifest_name(base), f"the manifest of {base}") as f:
            columns = mf.read_manifest(f).get("messages") or {}
        if not columns:
            return []
        ids, paths = (mf.decode_column(columns[c]) for c in ("message_id", "path"))
        return [(i, p) for i, p in zip(ids, paths) if i is not None and p in inherited]

    @property
    def requested_letter(self):
        return "D" if self.note else self.kind

    def _walk_error(self, path, message):
        if message.startswith("skipped"):
            log.info("%s: %s", path, message)
        else:
            log.warning("%s: %s", path, message)
            self.unreadable.append({"path": path, "error": message})

    def _plan(self, runs, entries):
        """Yield an archive.pack.Files for the files of each store.StoreRun of *runs* whose data
        this set must store, appending a row for every file to the EntryTable *entries*;
        ``self.planned`` counts what was yielded so far and ``self.walked`` is set once the
        store is listed."""
        from .archive.pack import Files
        base = None
        if self.base is not None:
            # Read here rather than through SetInfo.manifest, which would keep it for the run;
            # the columns it takes wait in temporary files, read once, in order, by the walk.
            base_name = str(self.base.name)
            with open_plain(self.target, manifest_name(base_name),
                            f"the manifest of {base_name}") as f:
                columns = mf.read_manifest(f, stop_after="entries", spool=_SPOOLED,
                                           skip=_UNUSED)["entries"]
            base = _Base(columns)
            del columns
        planned = self.planned
        for run in runs:
            message = run.kind in MESSAGE_KINDS
            if base is None:
                files = self._new_files(run)
                if files is None:
                    continue
                names, sizes, mtimes, modes, hows = files
                first = entries.append_run(run.directory, run.kind, run.domain, run.user,
                                           run.folder, names, sizes, mtimes, modes)
                rows = range(first, first + len(names))
            else:
                rows, names, sizes, mtimes, hows = self._changed_files(run, base, entries)
                if not rows:
                    continue
            planned[0] += len(rows)
            planned[1] += sum(sizes)
            yield Files(rows, run.directory, message, names, sizes, mtimes, hows)
        # Paths of the full that the store no longer holds: deleted from the differential's index.
        self.base_gone = base.finish() if base is not None else []
        self.walked = True

    def _walk(self):
        """The store's runs (store.walk_store_runs). A differential of a big store walks in a
        process of its own (walker.py): it stores few files, and the walk of all of them was
        half of this process's time while the workers waited."""
        exclude, report = [self.target.local_root or ""], self._walk_error
        files = (self.base.header or {}).get("stats", {}).get("files", 0) if self.base else 0
        if files < _WALK_APART_MIN_FILES:
            runs = walk_store_runs(self.cfg.store, exclude=exclude, on_error=report)
            if self.meter.callback is None or self.kind == "D":
                return runs
            return self._walk_ahead(runs)
        from .walker import walk_store_runs_apart  # subprocess, pickle: only when backing up
        env = None if self.key is None else {k: v for k, v in os.environ.items()
                                             if not self.key.is_password(v)}
        return walk_store_runs_apart(self.cfg.store, exclude=exclude, on_error=report, env=env)

    def _new_files(self, run):
        """``(names, sizes, mtimes, modes, hows)`` of the files of *run* to store (oversize ones
        skipped, or stored alone); *hows* None when every file is read whole. None if no file
        is left."""
        from .archive.pack import ALONE, PACK, STREAM
        names, sizes, mtimes, modes = run.names, run.sizes, run.mtimes, run.modes
        limit = self.cfg.volume_size
        # Below this size a file is neither streamed nor oversize (its name takes < 8 x its
        # length in the records).
        plain = min(STREAM_THRESHOLD, limit - 8 * (len(run.directory) + 1 + 255) - 1024)
        if max(sizes) <= plain:
            return names, sizes, mtimes, modes, None
        keep, hows = [], []
        for i, size in enumerate(sizes):
            how = PACK if size <= STREAM_THRESHOLD else STREAM
            path = run.path(i)
            if not fits_alone(str(self.name), limit, path, size, self.key is not None):
                if self.cfg.oversize == "skip":
                    log.warning("%s skipped: %d bytes is more than the volume size %d", path,
                                size, limit)
                    # Recorded in the manifest as an entry not stored (sets.skipped_entries), so
                    # that listings, restores and their checks count it.
                    self.skipped.append({"path": path, "size": size, "reason": "oversize",
                                         "mtime_ns": mtimes[i], "mode": modes[i]})
                    continue
                how = ALONE
            keep.append(i)
            hows.append(how)
        if not keep:
            return None
        if len(keep) < len(names):
            names, sizes, mtimes, modes = ([v[i] for i in keep]
                                           for v in (names, sizes, mtimes, modes))
        return names, sizes, mtimes, modes, hows

    def _changed_files(self, run, base, entries):
        """A differential's part of *run*: each unchanged file (size and mtime as in the full)
        gets its row with the full's data; ``(rows, names, sizes, mtimes, hows)`` of the others,
        each with its new row, to store.

        The run's rows are appended together and the full's data is copied in by column: a
        differential keeps nearly every file, and a call per file was most of its own time."""
        from .archive.pack import ALONE, PACK, STREAM
        names, sizes, mtimes, modes = run.names, run.sizes, run.mtimes, run.modes
        found = base.find_run(run.directory, names)
        changed = base.changed(found, sizes, mtimes)
        hows = None
        if changed:
            hows, skipped, limit = {}, [], self.cfg.volume_size
            for i in changed:
                path, size = run.path(i), sizes[i]
                how = PACK if size <= STREAM_THRESHOLD else STREAM
                if not fits_alone(str(self.name), limit, path, size, self.key is not None):
                    if self.cfg.oversize == "skip":
                        log.warning("%s skipped: %d bytes is more than the volume size %d",
                                    path, size, limit)
                        self.skipped.append({"path": path, "size": size, "reason": "oversize",
                                             "mtime_ns": mtimes[i], "mode": modes[i]})
                        skipped.append(i)
                        continue
                    how = ALONE
                hows[i] = how
            if skipped:  # not in this set at all: their rows go
                keep = sorted(set(range(len(names))) - set(skipped))
                names, sizes, mtimes, modes, found = ([v[i] for i in keep] for v in
                                                      (names, sizes, mtimes, modes, found))
                position = {old: new for new, old in enumerate(keep)}
                changed = [position[i] for i in changed if i in position]
                hows = {position[i]: how for i, how in hows.items() if i in position}
            if not names:
                return [], [], [], [], None
        # the mode as the store has it now: a chmod changes neither size nor mtime
        first = entries.append_run(run.directory, run.kind, run.domain, run.user, run.folder,
                                   names, sizes, mtimes, modes)
        count = len(names)
        if len(changed) < count:
            base.copy_rows(entries, first, found, changed)
        rows = [first + i for i in changed]
        return (rows, [names[i] for i in changed], [sizes[i] for i in changed],
                [mtimes[i] for i in changed],
                [hows[i] for i in changed] if hows and any(hows.values()) else None)

    def _look_ahead(self, runs):
        """``(runs, big, ahead)``: the walk's *runs* (the first ones read ahead, *ahead*), and
        whether the job is big enough for worker processes (archive.pack.wants_processes): the
        walk goes on until it has listed that many files or bytes, or the store is listed. A
        differential stores few files but walks the whole store: in threads, compressing would
        slow the walk down (every stat gives up the GIL), so what it walks is what counts.
        When the compression level is to be measured on *ahead*, it holds at least
        SAMPLE_SPAN bytes, unless the store is smaller."""
        from .archive.pack import wants_processes
        ahead, count, nbytes = [], 0, 0
        span = SAMPLE_SPAN if self.cfg.compression_level is None else 0
        for run in runs:
            ahead.append(run)
            count += len(run.names)
            nbytes += sum(run.sizes)
            if wants_processes(count, nbytes) and nbytes >= span:
                return chain(ahead, runs), True, ahead
        return ahead, wants_processes(count, nbytes), ahead  # the whole store, listed

    def _choose_level(self, ahead):
        """``(compression_level, chosen, sample)``: the config's (*chosen* ``"config"``); else a
        differential's full's, as its manifest records it (``"base"``: a chain deflates alike);
        else measured (``"measured"``) on a sample of the files of *ahead* (the walk's first
        runs) by archive.compress.choose_level, *sample* then saying what was measured, before
        any file is stored. The sample is at most compress.SAMPLE_BYTES, whatever the store."""
        if self.cfg.compression_level is not None:
            return self.cfg.compression_level, "config", None
        header = self.base.header if self.base is not None else None
        level = (header or {}).get("compression_level")
        if isinstance(level, int) and not isinstance(level, bool) and 1 <= level <= 9:
            log.info("compression_level %d (%s), as in the full backup %s", level,
                     level_text(level), self.base.name)
            return level, "base", None
        root, total = self.cfg.store, sum(sum(run.sizes) for run in ahead)
        files = ((os.path.join(root, run.path(i)), size) for run in ahead
                 for i, size in enumerate(run.sizes))
        started = time.perf_counter()
        sample = sample_files(files, total)
        level, ratios = choose_level(sample)
        spent = time.perf_counter() - started
        read = sum(len(data) for _, data in sample)
        log.info("compression_level %d (%s) chosen on a sample of %d bytes from %d files in "
                 "%.3f s; deflated size over zlib 6's: %s", level, level_text(level), read,
                 len(sample), spent, ", ".join(f"level {k} {v:.4f}" for k, v in ratios.items()))
        return level, "measured", {"files": len(sample), "bytes": read,
                                   "ratios": {str(k): round(v, 4) for k, v in ratios.items()}}

    def _store_in_workers(self, storers, entries, todo):
        """Have the worker processes store the files of *todo* (see _plan) in volumes of their
        own, and fill in their rows of *entries*; rows that could not be stored keep
        ``stored_in`` ""."""
        name, path_of = str(self.name), entries.path
        done_files = done_bytes = 0
        for rows, stored in storers.store(self.cfg.store, todo, self.level):
            failed = stored.failed
            entries.fill(rows, stored.columns, name, [i for i, _, _ in failed])
            for i, reason, error in failed:
                self._failed(path_of(rows[i]), reason, error)
            if stored.messages is not None:
                self.messages.add_packed(stored.messages)
            done_files += len(rows)
            done_bytes += sum(stored.columns["size"])
            self._report(done_files, done_bytes, path_of(rows[-1]))
        self._report(done_files, done_bytes, "", force=True)

    def _store(self, writer, entries, todo):
        """Compress the files of *todo* (see _plan) on every core, write them in order into
        *writer*'s volumes and fill in their rows of *entries*; rows that could not be stored
        keep ``stored_in`` ""."""
        from .archive.pack import ALONE, PACK, Failed, pack_files  # subprocess, pickle
        level = self.level
        done_files = done_bytes = 0
        name = str(self.name)
        hows = {}

        def items():
            for files in todo:
                for i, row in enumerate(files.rows):
                    how = files.hows[i] if files.hows else PACK
                    if how != PACK:
                        hows[row] = how
                    yield (row, files.path(i), files.message and files.names[i].endswith(".eml"),
                           files.sizes[i], files.mtimes[i], how)

        size = (float("inf"),) * 2 if self.big else (0, 0)
        for row, packed in pack_files(self.cfg.store, items(), level, *size, key=self.key):
            path = entries.path(row)
            if packed is None:
                ok = self._stream_one(writer, entries, row, hows.pop(row) == ALONE, level)
            elif isinstance(packed, Failed):
                ok = self._failed(path, packed.reason, packed.error)
            else:
                if packed.headers is not None:
                    self.messages.add_prepared(packed.headers)
                volume, offset = writer.add_record(packed.member, packed.method, packed.record,
                                                   packed.crc32, packed.csize, packed.size)
                entries.update(row, size=packed.size, mtime_ns=packed.mtime_ns,
                               crc32=packed.crc32, method=packed.method, csize=packed.csize,
                               volume=volume, offset=offset, mode=packed.mode)
                ok = True
            if ok:
                entries.update(row, stored_in=name)
            done_files += 1
            done_bytes += entries.get(row, "size")
            self._report(done_files, done_bytes, path)
        self._report(done_files, done_bytes, "", force=True)

    def _stream_one(self, writer, entries, row, alone, level):
        """Stream a large (or own-volume) file into the set; False if it cannot be read (or kept
        changing while it was streamed: see archive.pack.stream_file)."""
        from .archive.pack import Failed, stream_file  # loaded already: _store packs with it
        name = entries.path(row)
        got = stream_file(writer, os.path.join(self.cfg.store, name), name, level,
                          _is_message(entries.get(row, "kind"), name), alone)
        if isinstance(got, Failed):
            return self._failed(name, got.reason, got.error)
        st, (volume, offset, csize, crc, method), headers = got
        if headers is not None:
            self.messages.add_prepared(headers)
        entries.update(row, size=st.st_size, mtime_ns=st.st_mtime_ns, volume=volume,
                       offset=offset, csize=csize, crc32=crc, method=method,
                       mode=st.st_mode & 0o7777)
        return True

    def _failed(self, path, reason, error):
        if reason == "vanished":
            log.info("%s vanished during the backup (deleted by the server)", path)
        else:  # unreadable, or changed while it was read (twice): reported alike
            what = "not backed up" if reason == "changed" else "cannot be read"
            log.warning("%s %s: %s", path, what, error)
            self.unreadable.append({"path": path, "error": error})
        return False

    def _walk_ahead(self, runs):
        """The runs of the walk *runs*, walked ahead in a thread, counting what a full or copy
        stores into ``self.counted`` once the store is listed: someone follows the progress,
        and the walk that feeds the compressors keeps pace with them, so it ends only near the
        end of the run and its counts are no total. One walk gives both: a second walk to
        count cost about 0.6 CPU-s per 100k files. The runs the thread is ahead by wait
        compactly (names joined, numbers in arrays: about 30 bytes a file, not 170), at most
        _AHEAD_FILES of them; a walk that gets further ahead waits, and a second walk counts
        the store (_count). A differential's total (the files changed) is known when its walk
        ends; it does not walk ahead."""
        stop, ahead, room, held = self._stop, queue.SimpleQueue(), threading.Condition(), [0]

        def walk():
            files = nbytes = 0
            counting = False
            try:
                for run in runs:
                    if stop.is_set():
                        return
                    stored = self._stored_count(run)
                    files, nbytes = files + stored[0], nbytes + stored[1]
                    count = len(run.names)
                    with room:
                        while held[0] >= _AHEAD_FILES and not stop.is_set():
                            if not counting:  # too big to hold until the walk is done
                                counting = True
                                threading.Thread(target=self._count, name="backup-count",
                                                 daemon=True).start()
                            room.wait(1.0)
                        held[0] += count
                    ahead.put((count, run.directory, run.kind, run.domain, run.user,
                               run.folder, "\0".join(run.names), array("q", run.sizes),
                               array("q", run.mtimes), array("H", run.modes)))
                self.counted = (files, nbytes)
                ahead.put(None)
            except BaseException as e:  # raised where the runs are taken, as a walk raises
                ahead.put(e)

        threading.Thread(target=walk, name="backup-walk", daemon=True).start()
        try:
            while True:
                item = ahead.get()
                if item is None:
                    return
                if isinstance(item, BaseException):
                    raise item
                count, directory, kind, domain, user, folder, names, sizes, mtimes, modes = item
                with room:
                    held[0] -= count
                    room.notify()
                yield StoreRun(directory, kind, domain, user, folder, names.split("\0"),
                               sizes.tolist(), mtimes.tolist(), modes.tolist())
        finally:
            stop.set()  # a run that stops early stops its walk
            with room:
                room.notify_all()

    def _stored_count(self, run):
        """``(files, bytes)`` of *run* that a full or copy stores: oversize files are not, with
        ``oversize = "skip"`` (the rule of _new_files)."""
        sizes = run.sizes
        files, nbytes = len(sizes), sum(sizes)
        limit = self.cfg.volume_size
        if self.cfg.oversize == "skip" and sizes and max(sizes) > limit // 2:
            name, encrypted = str(self.name), self.key is not None
            for i, size in enumerate(sizes):
                if not fits_alone(name, limit, run.path(i), size, encrypted):
                    files -= 1
                    nbytes -= size
        return files, nbytes

    def _count(self):
        """Count what a full or copy stores, by a walk of its own (for a store the run's walk
        cannot hold until it is listed: see _walk_ahead)."""
        files = nbytes = 0
        try:
            for run in walk_store_runs(self.cfg.store, exclude=[self.target.local_root or ""]):
                if self._stop.is_set():
                    return
                stored = self._stored_count(run)
                files, nbytes = files + stored[0], nbytes + stored[1]
        except (OSError, WorkbenchError) as e:  # the run's own walk reports what matters
            log.debug("counting the store for the progress total failed: %s", e)
            return
        if not self.walked:
            self.counted = (files, nbytes)

    def _report(self, files, nbytes, path, force=False):
        m = self.meter
        if m.callback is None:  # called once per file: no work when nobody listens
            return
        m.files, m.bytes = files, nbytes
        m.files_total, m.bytes_total = self.planned
        counted = self.counted
        m.total_known = self.walked or counted is not None
        if not self.walked and counted is not None:  # the count is done, the walk is not
            m.files_total = max(m.files_total, counted[0])
            m.bytes_total = max(m.bytes_total, counted[1])
        elif not self.walked:  # still listing: no total; the last similar set, as a guess
            m.files_estimate, m.bytes_estimate = self.expected
        m.report(path, force)

    def _header(self, volumes, entries, stored):
        return {
            "set": str(self.name), "kind": self.kind, "requested": self.requested_letter,
            "base": str(self.base.name) if self.base else None, "note": self.note,
            "started": self.started.isoformat(), "finished": datetime.now(timezone.utc).isoformat(),
            "host": socket.gethostname(), "store": os.path.abspath(self.cfg.store),
            "volume_size": self.cfg.volume_size, "oversize": self.cfg.oversize,
            "differentials": self.cfg.differentials, "volumes": volumes, "skipped": self.skipped,
            # How the members were deflated (a differential without a level set reuses it).
            "compression_level": self.level, "compression_chosen": self.level_chosen,
            **({"compression_sample": self.level_sample} if self.level_sample else {}),
            "unreadable": self.unreadable,
            # The messages block holds the headers of the messages this set stores; those of a
            # differential's unchanged messages are in its full's manifest.
            "message_headers": "stored",
            # The volumes are WinZip AES-256 and the manifest and index sealed (archive/crypt.py).
            **({"encrypted": True} if self.key is not None else {}),
            "stats": {"files": len(entries), "stored": stored[0], "bytes_in": stored[1],
                      "bytes_out": sum(v["bytes"] for v in volumes)},
        }

    def _discard(self, writer):
        """Remove what this failed run published, and its temporary files: nothing else, not even
        a file of the same set name that this run did not write itself."""
        mine = [v["name"] for v in writer.volumes] + self.published
        try:
            mine += [f for f in self.target.list() if (parse_partial_name(f) or ("", ""))[1]
                     == self.token]
            for fname in mine:
                self.target.remove(fname)
        except (OSError, WorkbenchError) as e:  # the target is gone: the next run cleans up
            log.warning("could not remove the files of the failed run %s: %s", self.name, e)


def _is_message(kind, path):
    """True for the entries whose headers are indexed: mail, public-folder and archive messages."""
    return is_message(kind, path)


class _Base:
    """A differential's full, entry by entry, matched against the walk without a dictionary of
    its paths (a million of them took 200 MB): the walk and the full's manifest list the store
    in the same order (depth first, by name), so one pass over both finds every path.

    Its columns are read in step with its paths, a window of a few thousand rows at a time
    from the temporary files read_manifest spooled them to (``_SPOOLED``): holding them whole
    took some 60 bytes a file. ``find`` and ``find_run`` must be asked in the walk's order, and
    the rows they give are read (``changed``, ``copy_rows``) before the next ``find_run``.
    Should the manifest not be in that order (no manifest of ours is), its paths are looked up
    in a dictionary from there on, and its columns held whole.
    """

    def __init__(self, columns):
        self._sources = {c: _Column(c, columns.pop(c)) for c in _BASE_COLUMNS}
        self._stored_values = self._sources["stored_in"].values
        self._cols = {c: src.empty() for c, src in self._sources.items()}
        self._paths = mf.iter_text(columns.pop("path"))
        self._ahead, self._at = [], 0  # the full's paths read ahead of _path, and where
        self._first = 0  # the full's row of _ahead[0] and of each column's first value
        self._keep = 0  # the first row the caller may still ask for (see find_run)
        self._passed = []  # (path, row) of the full that the walk went past: gone, so far
        self._by_path = None
        self._path, self._key, self._row = None, "", -1
        self._next()

    def _peek(self, n):
        """The full's next *n* paths after _path (fewer at its end), not taken yet."""
        if len(self._ahead) - self._at < n:
            # Keep the rows from the current one (or the run's first) on; read as many more.
            drop = max(0, min(self._at - 1, self._keep - self._first))
            more = list(islice(self._paths, max(n, 4096)))
            self._ahead = self._ahead[drop:] + more
            self._at -= drop
            self._first += drop
            for c, src in self._sources.items():
                column = self._cols[c]
                del column[:drop]
                column.extend(src.read(len(more)))
        return self._ahead[self._at:self._at + n]

    def _next(self):
        last = self._key
        if self._at == len(self._ahead):
            self._peek(1)
        if self._at < len(self._ahead):
            self._path = self._ahead[self._at]
            self._at += 1
        else:
            self._path = None
        self._row += 1
        self._key = None if self._path is None else self._path.replace("/", "\0")
        if self._key is not None and self._key < last:  # out of order: look paths up instead
            self._by_path = dict(self._passed)
            self._by_path[self._path] = self._row
            rest = chain(self._ahead[self._at:], self._paths)
            for row, path in enumerate(rest, self._row + 1):
                self._by_path[path] = row
            self._passed, self._path, self._key = [], None, None
            self._ahead, self._at = [], 0
            # Rows are asked for in any order from here on: every column whole.
            self._cols = {c: src.whole() for c, src in self._sources.items()}
            self._first = 0

    def find(self, path):
        """The full's row of *path*, or None (its data may be read until the next find)."""
        self._keep = self._row
        return self._find(path)

    def _find(self, path):
        if self._by_path is None:
            # Depth first by name is the order of the paths' parts: "/" sorts before all.
            key = path.replace("/", "\0")
            while self._key is not None and self._key < key:
                self._passed.append((self._path, self._row))
                self._next()
            if self._by_path is None:
                if self._key == key:
                    row = self._row
                    self._next()
                    return row
                return None
        return self._by_path.pop(path, None)

    def find_run(self, directory, names):
        """The full's row of each file *names* of *directory* (None for a new file), as find
        gives them; a range when the full lists the same files next, as it nearly always
        does (compared as one list, not path by path). Otherwise the full's paths up to the
        run's last one are matched against the run at once."""
        paths = [f"{directory}/{name}" for name in names] if directory else names
        if self._by_path is not None:
            return [self._by_path.pop(path, None) for path in paths]
        self._keep = self._row
        if self._path == paths[0]:
            if self._peek(len(paths) - 1) == paths[1:]:
                first = self._row
                self._take(len(paths), paths[-1].replace("/", "\0"))
                return range(first, first + len(paths))
        if self._path is None:  # past the full's end: every file is new
            return [None] * len(paths)
        # The full's paths from _path on that sort before the run's last one (by key), read
        # ahead until one sorts after it or the full ends.
        last, n = paths[-1].replace("/", "\0"), len(paths)
        while True:
            window = [self._path] + self._peek(n)
            if len(window) <= n or window[-1].replace("/", "\0") > last:
                break
            n *= 2
        keys = [p.replace("/", "\0") for p in window]
        if not all(map(lt, keys, keys[1:])):  # not in the walk's order: path by path
            return [self._find(path) for path in paths]
        taken = bisect_right(keys, last)
        row = self._row
        rows = dict(zip(window[:taken], range(row, row + taken)))
        found = list(map(rows.pop, paths, repeat(None)))
        self._passed.extend(rows.items())  # the full's files the walk did not list: gone
        if taken:
            self._take(taken, keys[taken - 1])
        return found

    def _take(self, count, key):
        """Move past the current path and the *count* - 1 after it (the last one's key *key*)."""
        self._at += count - 1
        self._row += count - 1
        self._key = key
        self._next()

    def changed(self, found, sizes, mtimes):
        """The positions of *found* (find_run's) whose file is new, or whose size or mtime is
        not the full's (*sizes*, *mtimes*: the walk's)."""
        first, size, mtime = self._first, self._cols["size"], self._cols["mtime_ns"]
        if isinstance(found, range):
            lo, hi = found.start - first, found.stop - first
            if size[lo:hi] == array("q", sizes) and mtime[lo:hi] == array("q", mtimes):
                return []  # the whole run as in the full: compared as arrays
            found = range(lo, hi)
            return [i for i, b in enumerate(found) if size[b] != sizes[i] or
                    mtime[b] != mtimes[i]]
        return [i for i, b in enumerate(found)
                if b is None or size[b - first] != sizes[i] or mtime[b - first] != mtimes[i]]

    def copy_rows(self, entries, first, found, changed):
        """Give the rows ``first + i`` of *entries* the full's data of row ``found[i]``
        (crc32, where it is stored), except the positions *changed*: those are stored again
        and keep ``stored_in`` "" until they are."""
        count = len(found)
        start, cols = self._first, self._cols
        if isinstance(found, range):  # the full's rows in one piece
            lo, hi = found.start - start, found.stop - start
            pick = lambda column: column[lo:hi]  # noqa: E731
        else:
            rows = [0 if b is None else b - start for b in found]
            pick = lambda column: [column[b] for b in rows]  # noqa: E731
        columns = {c: array(INT_TYPES[c], pick(cols[c]))
                   for c in ("crc32", "volume", "offset", "csize", "method")}
        codes = pick(cols["stored_in"])
        skip = set(changed)
        used = {c for i, c in enumerate(codes) if i not in skip} if changed else set(codes)
        rows = range(first, first + count)
        values = self._stored_values
        entries.fill(rows, columns, values[min(used)], changed)
        used.discard(min(used))
        for i in changed:  # as a new row has them until it is stored
            entries.update(first + i, crc32=0, volume=0, offset=0, csize=0, method=8)
        for other in used:  # a full's files are all stored in it: never, in practice
            for i, c in enumerate(codes):
                if c == other and i not in skip:
                    entries.update(first + i, stored_in=values[other])

    def finish(self):
        """The full's paths that the walk did not find (it is done)."""
        while self._key is not None:
            self._passed.append((self._path, self._row))
            self._next()
        gone = [p for p, _ in self._passed]
        if self._by_path is not None:
            gone.extend(self._by_path)
        return gone


class _Column:
    """One of a full's columns (as read_manifest read it: spooled, or whole for older
    manifests), read in row order; a coded one (``stored_in``) as codes into ``values``."""

    def __init__(self, name, value):
        self.values = None  # a coded column's distinct values
        if isinstance(value, dict) and "spool" in value:
            self._spooled, self._whole = value, None
            self.values = value.get("values")
            self.typecode = mf.typecode(value["type"])
            return
        self._spooled, self._pos = None, 0
        if isinstance(value, dict) and "values" in value:  # coded, held in memory
            self.values = value["values"]
            self._whole = mf.decode_column({"uint32": value["codes"]})
        elif name == "stored_in":  # a list of set names (version 1)
            self.values = list(dict.fromkeys(value))
            code_of = {v: i for i, v in enumerate(self.values)}
            self._whole = array("I", map(code_of.__getitem__, value))
        else:
            column = mf.decode_column(value)
            self._whole = column if isinstance(column, array) else array("q", column)
        self.typecode = self._whole.typecode

    def empty(self):
        return array(self.typecode)

    def read(self, count):
        """The next *count* values (fewer at the end), as an array."""
        if self._spooled is not None:
            return mf.spooled_array(self._spooled, count)
        out = self._whole[self._pos:self._pos + count]
        self._pos += len(out)
        return out

    def whole(self):
        """Every value, from the first row."""
        if self._spooled is None:
            return array(self.typecode, self._whole)
        self._spooled["spool"].seek(0)
        return mf.spooled_array(self._spooled)
