"""Carrying a restore plan out: each volume read once, in offset order, while writer threads
inflate, check the CRC-32 and write.

Every file is written under a temporary name and renamed into place (or created exclusively once
its data is whole and checked), so a failed entry never leaves a half-written file. Nothing is
written outside the destination (the directories on the way are checked, links included) and
nothing is ever deleted: an overwrite replaces only a file the plan names, and a live folder's
index is set aside, not removed. No member is inflated beyond the size it declares (see
archive.reader); what the writer threads hold in memory is bounded.
"""

import gc
import os
import queue
import stat
import threading
import time
from collections import defaultdict
from datetime import datetime, timezone

from ..archive.compress import checksum
from ..archive.reader import (READ_ERRORS, copy_member, copy_payload, inflated_at_once,
                              inflates_whole, read_payload, reads_payload, unpack)
from ..errors import CorruptVolume, MemberTooLarge, RestoreIncomplete, UnsafePath
from ..lazylog import get_logger
from ..lease import read_lease
from ..model import RestoreResult
from ..modes import set_mode
from ..progress import Meter
from .plan import REINDEX_SUFFIX, Layout, msg_number, plan_files

log = get_logger("workbench.restore")

# Restore hands members to its writer threads in batches of one directory's files: see _Pipeline.
_RESTORE_INFLIGHT_BYTES = 24 * 1024 * 1024


_BATCH_BYTES = 1024 * 1024


_BATCH_FILES = 128


_count_lock = threading.Lock()


def execute_plan(target, plan, to=None, conflict=None, progress=None, lease=None):
    """Carry out *plan* (see :func:`restore`). *to* and *conflict* are for plans made without a
    destination (they are planned here). *lease* holds the plan's sets (default: a lease of
    its own, taken before the first volume is read)."""
    if lease is None:
        with read_lease(target) as own:
            own.settle(plan.sets_used)
            return execute_plan(target, plan, to, conflict, progress, own)
    started = time.monotonic()
    if to is not None and not plan.items:
        plan.layout = Layout(to)
        plan.conflict = conflict or plan.conflict
        plan_files(plan, plan.layout)
    for root in plan.layout.roots():
        os.makedirs(root, exist_ok=True)
    roots = plan.layout.roots()
    result = RestoreResult(str(plan.set.name), plan.sets_used, roots[0] if len(roots) == 1
                           else ", ".join(roots))
    result.failures.extend(plan.refused)
    result.passed_over = list(plan.passed_over)
    result.not_in_backup = list(plan.not_in_backup)
    writer = _Writer(plan.conflict, result, live=plan.into_live)
    by_volume = defaultdict(list)
    for item in plan.items:
        by_volume[(item.entry.stored_in, item.entry.volume)].append(item)
    meter = Meter(progress, "restore", len(plan.items), sum(i.entry.size for i in plan.items))
    touched = set()

    causes = dict(plan.causes)

    def fail(item, err, fname):
        result.failures.append((item.entry.path, _reason(err, fname)))
        causes[item.entry.path] = err

    # The plan's hundred thousand entries are long-lived: keep the cyclic collector from walking
    # them again and again while the restore allocates payloads.
    gc.freeze()
    # No more writer threads than files: a one-message restore starts one.
    pipe = _Pipeline(writer, fail, meter, min(os.cpu_count() or 2, max(1, len(plan.items))))
    try:
        for key in sorted(by_volume):
            fname = plan.volumes.get(key)
            if fname is None:
                continue  # already refused in the plan
            items = sorted(by_volume[key], key=lambda i: i.entry.offset)
            _restore_volume(target, fname, items, pipe, writer)
        pipe.drain()
    finally:
        pipe.close()
        gc.unfreeze()
    for path, dest in result.placed:
        touched.add(os.path.dirname(os.path.dirname(dest)))
    if plan.into_live:
        result.marked = [_mark_for_reindex(d) for d in plan.marks if d in touched]
        result.marked = [m for m in result.marked if m]
    meter.report(force=True)
    result.duration = time.monotonic() - started
    if result.failures:
        err = _one_file_error(plan, result, causes) or RestoreIncomplete(result.failures)
        err.result = result
        raise err
    log.info("restored %d files (%d bytes) from %s into %s", result.files, result.bytes,
             result.set_name, result.destination)
    return result


def _one_file_error(plan, result, causes):
    """The error of the one file a restore of single files (``--path``, ``--message-id``) asked
    for, when that file failed: a missing or damaged volume (CorruptVolume), an unsafe name
    (UnsafePath), a refused size (MemberTooLarge), each with its own exit code; None otherwise
    (RestoreIncomplete: some entries failed)."""
    if not (plan.selection and plan.selection.single) or result.files or len(result.failures) != 1:
        return None
    cause = causes.get(result.failures[0][0])
    if isinstance(cause, (CorruptVolume, UnsafePath, MemberTooLarge)):
        return cause
    return None


def _mark_for_reindex(folder_dir):
    """Set a live folder's ``index.fld`` aside (never deleted) so that Kerio rebuilds it."""
    src = os.path.join(folder_dir, "index.fld")
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    for n in range(1000):
        dst = f"{src}{REINDEX_SUFFIX}{stamp}" + (f".{n}" if n else "")
        try:
            os.link(src, dst)  # no-clobber: never replaces an earlier copy
        except FileExistsError:
            continue
        except FileNotFoundError:
            return None  # the server is rebuilding it already
        os.unlink(src)
        log.info("%s set aside as %s: the server rebuilds the folder index", src, dst)
        return dst
    return None


def _restore_volume(target, fname, items, pipe, writer):
    """Read the members of *items* (Items, in offset order) from volume *fname*, opening it once,
    and hand them to *pipe* in batches of one directory's files (each counted in flight by what
    it holds in memory at its peak: its payloads, and the most one member inflates at once, as a
    batch is written one member after the other); members whose payload is not small
    (reader.reads_payload) are streamed here once the writers are idle."""
    try:
        f = target.open_read(fname)
    except OSError as e:
        for item in items:
            pipe.fail(item, OSError(f"volume {fname} cannot be opened: {e.strerror or e}"), fname)
        return
    batch, nbytes, peak, where = [], 0, 0, None
    secret = target.backup_password  # an encrypted set's members are decrypted as they are read
    with f:
        for item in items:
            entry = item.entry
            here = (item.root, item.rel.rpartition("/")[0])
            if batch and (here != where or nbytes >= _BATCH_BYTES or len(batch) >= _BATCH_FILES):
                pipe.put(where, batch, nbytes + peak, fname)
                batch, nbytes, peak = [], 0, 0
            where = here
            try:
                if not reads_payload(entry):
                    pipe.drain()
                    writer.stream(f, item, secret)
                    pipe.count(item)
                    continue
                payload = read_payload(f, entry.offset, entry.csize, secret, repr(entry.path))
            except READ_ERRORS as e:
                pipe.fail(item, e, fname)
                continue
            batch.append((item, payload))
            nbytes += entry.csize
            peak = max(peak, inflated_at_once(entry))
        if batch:
            pipe.put(where, batch, nbytes + peak, fname)


class _Pipeline:
    """Writer threads fed with batches of files, each batch from one directory.

    Creating a file holds its directory's lock in the kernel for the whole inode allocation, so
    two threads creating files in one directory take turns (and the waiter spins on the lock),
    which is why more threads used to make no difference. Here a directory's batches go to the
    thread that still holds one of its batches, a directory not queued anywhere to the least busy
    thread, so the threads create files in different directories, in parallel. What batches
    hold in memory is bounded: each counts its payloads and what they inflate at once.
    """

    def __init__(self, writer, fail, meter, workers, limit=None):
        self.writer, self._fail, self.meter = writer, fail, meter
        self.limit = _RESTORE_INFLIGHT_BYTES if limit is None else limit
        self.cond = threading.Condition()
        self.inflight = 0
        self.load = [0] * workers  # queued work per thread, in files
        self.busy = {}  # directory -> (its thread, batches queued there and not yet written)
        self.aborted = False
        self.files = self.bytes = 0
        self.path = ""
        self.queues = [queue.SimpleQueue() for _ in range(workers)]
        self.threads = [threading.Thread(target=self._run, args=(n,), daemon=True,
                                         name=f"restore-writer-{n}") for n in range(workers)]
        for t in self.threads:
            t.start()

    def put(self, where, batch, nbytes, fname):
        with self.cond:
            while self.inflight and self.inflight + nbytes > self.limit:
                self.cond.wait(0.2)
                self._report()
            worker, queued = self.busy.get(where, (None, 0))
            if worker is None:
                worker = self.load.index(min(self.load))
            self.busy[where] = (worker, queued + 1)
            self.load[worker] += len(batch)
            self.inflight += nbytes
            self._report()
        self.queues[worker].put((where, batch, nbytes, fname))

    def _run(self, n):
        q, write, fail = self.queues[n], self.writer.write, self._fail
        while True:
            job = q.get()
            if job is None:
                return
            where, batch, nbytes, fname = job
            size = 0
            for item, payload in batch:
                if self.aborted:
                    break
                try:
                    write(item, payload)
                except Exception as e:  # the entry fails, the restore goes on
                    fail(item, e, fname)
                size += item.entry.size
            with self.cond:
                self.load[n] -= len(batch)
                worker, queued = self.busy.pop(where)
                if queued > 1:
                    self.busy[where] = (worker, queued - 1)
                self.inflight -= nbytes
                self.files += len(batch)
                self.bytes += size
                self.path = batch[-1][0].entry.path
                self.cond.notify_all()

    def count(self, item):
        with self.cond:
            self.files += 1
            self.bytes += item.entry.size
            self.path = item.entry.path

    def fail(self, item, err, fname):
        self._fail(item, err, fname)
        self.count(item)

    def _report(self):
        self.meter.files, self.meter.bytes = self.files, self.bytes
        self.meter.report(self.path)

    def drain(self):
        """Wait until every batch handed over is written."""
        with self.cond:
            while self.inflight:
                self.cond.wait(0.2)
                self._report()
            self._report()

    def close(self):
        """Stop the threads (after the batches they hold, unless the restore is interrupted)."""
        with self.cond:
            self.aborted = bool(self.inflight)
        for q in self.queues:
            q.put(None)
        for t in self.threads:
            t.join()


def _reason(err, fname):
    if isinstance(err, (CorruptVolume, UnsafePath)):
        return str(err)
    return f"{fname}: {err}"


def _inside(path, root):
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


_OPEN_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(
    os, "O_CLOEXEC", 0)


class _Writer:
    """Writes restored files under their roots, safely (used from several threads)."""

    def __init__(self, conflict, result, live=False):
        self.conflict, self.result, self.live = conflict, result, live
        self._dirs = set()
        self._parents = {}  # (root, relative directory) -> checked directory path
        self._token = f"{os.getpid()}-{threading.get_ident() % 10000}"
        self._n = 0

    def _ensure_dir(self, item):
        """Create the directories to the item's parent, refusing any link that leads outside."""
        key = (item.root, item.rel.rpartition("/")[0])
        done = self._parents.get(key)
        if done is not None:
            return done
        parts = item.rel.split("/")[:-1]
        path = item.root
        for part in parts:
            path = os.path.join(path, part)
            if path in self._dirs:
                continue
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                try:
                    os.mkdir(path)
                except FileExistsError:
                    pass
                st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                real = os.path.realpath(path)
                if not _inside(real, item.root):
                    raise UnsafePath(f"member {item.entry.path!r} would be written outside the "
                                     f"destination (through the link {path} to {real}); refused")
                st = os.stat(path)
            if not stat.S_ISDIR(st.st_mode):
                raise UnsafePath(f"member {item.entry.path!r}: {path} is not a directory; refused")
            self._dirs.add(path)
        self._parents[key] = path
        return path

    def _final_path(self, item, path=None):
        """The path to write, or None to skip; UnsafePath if it would leave the destination."""
        if path is None:
            path = os.path.join(self._ensure_dir(item), item.rel.rsplit("/", 1)[-1])
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return path
        if stat.S_ISLNK(st.st_mode):
            raise UnsafePath(f"member {item.entry.path!r}: the destination {path} is a symbolic "
                             "link; refused")
        if self.live:
            return path  # a clash with new mail is resolved when placing (next free name)
        if self.conflict == "skip":
            with _count_lock:
                self.result.skipped.append(item.entry.path)
            return None
        if self.conflict == "rename":
            n = 1
            while os.path.lexists(f"{path}.restored-{n}"):
                n += 1
            path = f"{path}.restored-{n}"
            with _count_lock:
                self.result.renamed.append(item.entry.path)
        return path

    def write(self, item, payload):
        entry = item.entry
        if not inflates_whole(entry):
            self._stream(item, lambda out: copy_payload(entry, payload, out))
            return
        data = unpack(entry, payload)
        if len(data) != entry.size or checksum(data) != entry.crc32:
            raise CorruptVolume(f"{entry.path}: CRC-32 or size does not match (volume damaged)")
        path = os.path.join(self._ensure_dir(item), item.rel.rsplit("/", 1)[-1])
        if not self.live and self._create(path, entry, data):
            return
        path = self._final_path(item, path)
        if path is None:
            return
        self._place(path, item, lambda fd: _write_all(fd, data))

    def _create(self, path, entry, data):
        """Write checked data straight to a new file; False if the name is taken (or a link).

        The data is whole and its CRC-32 checked before the file is created, so only a killed
        process could leave it short; a temporary name and a rename would double the metadata
        work of a restore, which is mostly small files.
        """
        try:
            fd = os.open(path, _OPEN_FLAGS, 0o600)  # O_EXCL: never replaces, never follows a link
        except FileExistsError:
            return False
        try:
            try:
                _write_all(fd, data)
                _finish(fd, entry)
            finally:
                os.close(fd)
        except BaseException:
            os.unlink(path)
            raise
        with _count_lock:
            self.result.files += 1
            self.result.bytes += entry.size
        return True

    def stream(self, f, item, secret=None):
        """Write *item* streamed from the volume file *f*, a chunk at a time (decrypted with
        *secret*'s password if it is encrypted)."""
        self._stream(item, lambda out: copy_member(f, item.entry, out, secret))

    def _stream(self, item, copy):
        """Write *item* through ``copy(out)``, which writes its data and returns the CRC-32."""
        path = self._final_path(item)
        if path is None:
            return
        crc = None

        def fill(fd):
            nonlocal crc
            with open(fd, "wb", closefd=False) as out:
                crc = copy(out)

        self._place(path, item, fill, check=lambda: crc == item.entry.crc32)

    def _tmp_name(self, path):
        with _count_lock:
            self._n += 1
            n = self._n
        return os.path.join(os.path.dirname(path),
                            f".{os.path.basename(path)}.{self._token}-{n}.wb-restore")

    def _place(self, path, item, fill, check=None):
        entry = item.entry
        tmp = self._tmp_name(path)
        fd = os.open(tmp, _OPEN_FLAGS, 0o600)
        try:
            try:
                fill(fd)
                _finish(fd, entry)
            finally:
                os.close(fd)
            if check is not None and not check():
                raise CorruptVolume(f"{entry.path}: CRC-32 does not match (volume damaged)")
            if self.live:
                path = _link_new(tmp, path)
                os.unlink(tmp)
                with _count_lock:
                    self.result.placed.append((entry.path, path))
            else:
                os.replace(tmp, path)
        except BaseException:
            if os.path.lexists(tmp):
                os.unlink(tmp)
            raise
        with _count_lock:
            self.result.files += 1
            self.result.bytes += entry.size


def restored_mode(entry):
    """The permission bits a restored file gets: the store's as the backup recorded them, never
    setuid, setgid or sticky; 0600 where the backup did not record them."""
    return entry.mode & 0o777 or 0o600


def _finish(fd, entry):
    """Give a restored file its recorded mode (exactly, whatever the umask) and its mtime."""
    set_mode(fd, restored_mode(entry))
    os.utime(fd, ns=(entry.mtime_ns, entry.mtime_ns))


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _link_new(tmp, path):
    """Give *tmp* the name *path*, or the next free 8-hex name if new mail took it meanwhile."""
    directory, name = os.path.split(path)
    number = msg_number(name)
    while True:
        try:
            os.link(tmp, path)
            return path
        except FileExistsError:
            if number is None:
                raise
            number += 1
            path = os.path.join(directory, f"{number:08x}.eml")
