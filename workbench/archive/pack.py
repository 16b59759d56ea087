"""Read, checksum and compress store files on every core.

Two ways, chosen by the caller (backup.py) from the size of the job and the target:

- **Workers that store** (``Storers``: big jobs to a target with local files). Worker processes
  read each file once (one ``os.read`` sized by the walk), checksum it, parse a message's headers
  and compress it, and write it into zip volumes of their own, each a standalone zip. Compressed
  bytes never cross a pipe: a worker answers a batch with a few bytes a file (sizes, CRC-32,
  where its member lives, as arrays) and its messages' headers column by column. The main
  process hands out the volumes (their numbers and temporary files, on a worker's request, so
  numbering stays in one place) and publishes them when the set is done; the worker holding the
  last volume writes the manifest copy into it.
- **Packers** (``pack_files``: small jobs in threads, which cost nothing to start, or processes
  for a remote target). A file's member (local header and payload) comes back, and the caller
  writes it into its own volumes in order.

Per-file Python work (open, stat, read, header parsing) holds the GIL, which kept a thread pool
near one core: big jobs go to processes. Files go to the workers in batches to keep per-task
overhead low, and what is in flight is bounded so memory stays flat whatever the store's size.

The workers are plain subprocesses (running ``serve`` below) that read pickled requests on stdin
and answer on stdout. multiprocessing was tried first: its fork start method copies the locks of
whatever threads the caller runs (a scheduler, a notebook kernel), and its spawn and forkserver
methods re-run the caller's main script in every worker, which fails for ``python -c`` or stdin
and repeats the work of a script without a ``__main__`` guard.
"""

import os
import pickle
import queue
import subprocess
import threading
from array import array
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple, Optional

from ..children import child_command, widen_pipe
from ..durable import SyncedFile
from ..headers import parse_headers
from . import zipformat as zf
from .compress import checksum, compress_member
from .manifest import header_row
from .messages import MessageRows, prepare
from .volume import FileChanged, VolumeSeries

_BATCH_FILES = 64
_BATCH_BYTES = 2 * 1024 * 1024
_MAX_INFLIGHT_BYTES = 16 * 1024 * 1024
# Below this much work, starting processes costs more than it saves.
_PROCESS_MIN_FILES = 10000
_PROCESS_MIN_BYTES = 256 * 1024 * 1024
# How much of a message too big to read whole is parsed for its headers (and attachment check).
HEAD_BYTES = 1024 * 1024
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)

# How a file is stored: read whole, streamed through deflate (big), or streamed into a volume
# of its own (bigger than a volume: the oversize option "own-volume").
PACK, STREAM, ALONE = 0, 1, 2


class Packed(NamedTuple):
    """One file read and compressed: what the volume writer and the manifest need.

    The worker also builds the member's local header (``record`` is header + payload), which
    takes that work off the one process that writes the volumes.
    """

    size: int
    mtime_ns: int
    crc32: int
    method: int
    csize: int
    member: zf.Member
    record: bytes
    headers: Optional[tuple]  # a message's row for the manifest (messages.prepare)
    mode: int                 # permission bits (st_mode & 0o7777)


class Failed(NamedTuple):
    """A file that could not be stored: ``vanished`` (deleted meanwhile), ``unreadable``, or
    ``changed`` (it changed while it was read, twice)."""

    reason: str
    error: str


# Why a file that kept changing was not stored (said in the result, manifest, log and e-mail).
CHANGED = "changed while it was read (tried twice)"

# The integer columns a worker that stores answers, with the types of table.EntryTable's.
STORED_COLUMNS = {"size": "q", "mtime_ns": "q", "crc32": "I", "method": "q", "csize": "q",
                  "volume": "q", "offset": "q", "mode": "H"}


class Files(NamedTuple):
    """Files of one directory to pack, with their row numbers in the caller's table."""

    rows: object          # a range or list of ints
    directory: str        # relative to the store's root ("" for its top)
    message: bool         # the directory holds messages: its .eml files get their headers parsed
    names: list
    sizes: list           # what the walk saw
    mtimes: list
    hows: Optional[list]  # PACK, STREAM or ALONE for each file; None: PACK for all

    def path(self, i):
        return f"{self.directory}/{self.names[i]}" if self.directory else self.names[i]


class Stored(NamedTuple):
    """A batch of files stored by a worker in its own volumes, in the batch's order."""

    columns: dict     # STORED_COLUMNS name -> array (a failed file's values are 0)
    failed: list      # (position in the batch, reason, error) of the files not stored
    messages: Optional[tuple]  # the messages' headers (MessageRows.pack), or None
    volumes: list     # (volume, bytes, members) of the volumes the worker finished meanwhile


_read = os.read  # module-level so that tests can make a file change while it is read


def _read_up_to(fd, size):
    """At most *size* + 1 bytes of the open file *fd* (more than *size* means it grew): one
    read, more only while a filesystem answers with less than *size* bytes (network mounts cap
    their reads) and the file has not ended."""
    data = _read(fd, size + 1)
    while len(data) < size:
        chunk = _read(fd, size + 1 - len(data))
        if not chunk:
            break
        data += chunk
    return data


def read_stable(path, size=None, mtime_ns=None):
    """``(stat, data)`` of the file *path*, read whole while it held still, or a Failed.

    *size* and *mtime_ns* are what the walk saw: the read is sized by them, and the file's stat
    after the read must match them (four system calls: open, read, fstat, close). A file whose
    size or mtime differs after the read from before it (the server appended to it, or it
    changed since the walk) is read once more, with a stat before and after that read; a file
    that changes during both reads is a Failed ``changed``. A change between the walk and the
    read costs nothing but the second read: the file is taken as it is now.
    """
    for attempt in range(2):
        try:
            fd = os.open(path, os.O_RDONLY | _O_CLOEXEC)
        except FileNotFoundError:
            return Failed("vanished", "deleted during the backup")
        except OSError as e:
            return Failed("unreadable", str(e.strerror or e))
        try:
            if attempt == 0 and size is not None:
                before = (size, mtime_ns)
            else:
                st = os.fstat(fd)
                before = (st.st_size, st.st_mtime_ns)
            data = _read_up_to(fd, before[0])
            after = os.fstat(fd)
        except OSError as e:
            return Failed("unreadable", str(e.strerror or e))
        finally:
            os.close(fd)
        if (after.st_size, after.st_mtime_ns) == before and len(data) == before[0]:
            return after, data
    return Failed("changed", CHANGED)


def _message_row(name, data):
    return prepare(name, header_row(parse_headers(data)))


def pack_file(path, level, message, name=None, size=None, mtime_ns=None, key=None):
    """Read, checksum and compress one file (member *name*, default *path*); a Packed, or a
    Failed if it cannot be read (or kept changing while it was read). *size* and *mtime_ns*
    are the walk's (see read_stable). With *key* (an aes.ZipKey) the member is encrypted
    (its csize is then the encrypted payload's)."""
    got = read_stable(path, size, mtime_ns)
    if isinstance(got, Failed):
        return got
    st, data = got
    method, payload = compress_member(data, level)
    headers = _message_row(name or path, data) if message else None
    crc = checksum(data)
    mode = st.st_mode & 0o7777
    member = zf.Member(name or path, st.st_mtime_ns, mode, encrypted=key is not None)
    if key is not None:
        payload = key.encrypt(payload)
    record = zf.local_header(member, method, crc, len(payload), len(data),
                             zip64=len(data) >= zf.MAX32) + payload
    return Packed(len(data), st.st_mtime_ns, crc, method, len(payload), member, record, headers,
                  mode)


def stream_file(series, path, name, level, message, alone=False):
    """Stream the big file *path* into *series* (a volume.VolumeSeries) as member *name*.

    Returns ``(stat, (volume, offset, csize, crc, method), headers row or None)``, or a Failed.
    A file that changes while it is streamed is cut out of the volume and read once more; if it
    changes again it is a Failed ``changed``, like an unreadable file.
    """
    for _ in range(2):
        try:
            src = open(path, "rb")
        except FileNotFoundError:
            return Failed("vanished", "deleted during the backup")
        except OSError as e:
            return Failed("unreadable", str(e.strerror or e))
        with src:
            st = os.fstat(src.fileno())
            headers = None
            if message:
                headers = _message_row(name, src.read(HEAD_BYTES))
                src.seek(0)
            member = series.member(name, st.st_mtime_ns, st.st_mode & 0o7777)
            try:
                where = series.add_member_stream(member, src, st.st_size, level, alone)
            except FileChanged:
                continue
        return st, where, headers
    return Failed("changed", CHANGED)


def _pack_batch(root, batch, level, key=None):
    return [pack_file(os.path.join(root, rel), level, message, rel, size, mtime_ns, key)
            for rel, message, size, mtime_ns in batch]


def _batches(items):
    """Group ``(key, relpath, is_message, size, mtime_ns, how)`` items into ``(keys, batch,
    bytes)``. Items the packers do not take (``how`` not PACK) pass alone with batch None, in
    their place."""
    batch, keys, nbytes = [], [], 0
    for key, rel, message, size, mtime_ns, how in items:
        if how != PACK:  # streamed by the caller: keep the order
            if batch:
                yield keys, batch, nbytes
                batch, keys, nbytes = [], [], 0
            yield [key], None, 0
            continue
        batch.append((rel, message, size, mtime_ns))
        keys.append(key)
        nbytes += size
        if len(batch) >= _BATCH_FILES or nbytes >= _BATCH_BYTES:
            yield keys, batch, nbytes
            batch, keys, nbytes = [], [], 0
    if batch:
        yield keys, batch, nbytes


def _file_batches(todo):
    """Group the Files of *todo* into ``(rows, parts)`` batches of about _BATCH_FILES files or
    _BATCH_BYTES bytes (a streamed file counts as a batch's bytes); a part is ``(directory,
    message, names, sizes, mtimes, hows)``, a slice of one Files."""
    rows, parts, nfiles, nbytes = [], [], 0, 0
    for files in todo:
        sizes, hows, count = files.sizes, files.hows, len(files.names)
        start = 0
        while start < count:
            end = start
            while end < count and nfiles < _BATCH_FILES and nbytes < _BATCH_BYTES:
                nbytes += sizes[end] if hows is None or hows[end] == PACK else _BATCH_BYTES
                nfiles += 1
                end += 1
            parts.append((files.directory, files.message, files.names[start:end],
                          sizes[start:end], files.mtimes[start:end],
                          None if hows is None else hows[start:end]))
            rows.extend(files.rows[start:end])
            start = end
            if nfiles >= _BATCH_FILES or nbytes >= _BATCH_BYTES:
                yield rows, parts
                rows, parts, nfiles, nbytes = [], [], 0, 0
    if parts:
        yield rows, parts


# ----------------------------------------------------------------------------- worker processes

# Workers run at a lower priority than the process that walks the store: with every core
# compressing, that process lost its turns and the pipeline stalled behind it (a differential's
# walk took 1.0 s instead of 0.5 s). The mail server keeps its priority too.
_WORKER_NICE = 10
#
# A worker ignores SIGINT: Ctrl-C reaches the whole process group, and the run that started it
# stops it (closing its stdin, or killing it); a worker whose run is gone ends quietly (serve).
# (children.child_command registers a bare package first: a worker loads only what packing needs.)
_WORKER = (f"import os, signal\nif hasattr(os, 'nice'): os.nice({_WORKER_NICE})\n"
           "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
           "from workbench.archive.pack import serve\n"
           "serve(sys.stdin.buffer, sys.stdout.buffer, int(sys.argv[2]))\n")


class _ProcessPool:
    """Worker subprocesses fed requests round-robin (or by number); answers come back in the
    order each worker was asked.

    A thread per worker reads its answers as soon as they are written, so a worker never waits
    on a full pipe while this process waits for another worker's older batch. A worker asks for
    a new volume (Storers) on the same pipe; that thread answers it at once through the worker's
    reply pipe, with *allocate*'s ``(number, path)``.
    """

    def __init__(self, count, allocate=None, key=None):
        self.allocate = allocate
        self.procs, self.replies = [], []
        # An encrypted set's workers get the key through their pipe: the variable that holds
        # the password is kept out of their environment too.
        env = None if key is None else {k: v for k, v in os.environ.items()
                                        if not key.is_password(v)}
        try:
            for _ in range(count):
                reply_r, reply_w = os.pipe()
                try:
                    proc = subprocess.Popen(child_command(_WORKER, reply_r),
                                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                            pass_fds=(reply_r,), env=env)
                finally:
                    os.close(reply_r)
                self.procs.append(proc)
                self.replies.append(os.fdopen(reply_w, "wb"))
        except BaseException:
            self._stop(kill=True)
            raise
        self.answers = [queue.SimpleQueue() for _ in self.procs]
        self.readers = [threading.Thread(target=self._read_answers, args=(i,), daemon=True,
                                         name="backup-worker-reader")
                        for i in range(len(self.procs))]
        for proc, reader in zip(self.procs, self.readers):
            widen_pipe(proc.stdin)
            reader.start()
        self.turn = 0
        # Batches sent ahead per worker: their paths must fit in the stdin pipe, which a worker
        # empties only between batches.
        self.depth = 6 * count
        self.owners = {}  # volume number -> the worker it was given to

    def submit(self, fn, root, batch, level, key=None, worker=None):
        """Send *batch* to the next worker (or to *worker*); its pending _Answer. The *key* of
        an encrypted set goes through the pipe, pickled: never on a command line."""
        return self.send(("pack", root, batch, level, key), worker)

    def send(self, request, worker=None):
        if worker is None:
            worker = self.turn % len(self.procs)
            self.turn += 1
        proc = self.procs[worker]
        try:
            pickle.dump(request, proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass  # it died: its answer says so
        return _Answer(proc, self.answers[worker])

    def _read_answers(self, i):
        """Unpickle worker *i*'s answers into its queue until it ends (then put None); answer
        its requests for volumes."""
        proc, answers = self.procs[i], self.answers[i]
        try:
            while True:
                answer = pickle.load(proc.stdout)
                if answer[0] == "volume?":
                    self._give_volume(i)
                else:
                    answers.put(answer)
        except EOFError:
            answers.put(None)
        except (OSError, ValueError, pickle.UnpicklingError) as e:
            # Its stream is lost, and the worker may be alive (waiting for work, or blocked on
            # this pipe): the one waiting for its answer stops it (_Answer.result).
            answers.put(("unreadable", e))

    def _give_volume(self, i):
        try:
            number, path = self.allocate()
            self.owners[number] = i
            reply = ("volume", number, path)
        except Exception as e:  # said to the worker, which answers its batch with it
            reply = ("error", e)
        try:
            pickle.dump(reply, self.replies[i], protocol=pickle.HIGHEST_PROTOCOL)
            self.replies[i].flush()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._stop(kill=exc[0] is not None)

    def _stop(self, kill):
        for proc in self.procs:
            try:
                proc.stdin.close()
            except OSError:
                pass
        for proc in self.procs:
            if kill:
                proc.kill()
            proc.wait()
        for reader in getattr(self, "readers", ()):
            reader.join()
        for proc in self.procs:
            proc.stdout.close()
        for f in self.replies:
            try:
                f.close()
            except OSError:
                pass


class _Answer:
    """The pending answer of one worker to one request (answers come in the order asked)."""

    def __init__(self, proc, answers):
        self.proc, self.answers = proc, answers

    def result(self):
        answer = self.answers.get()
        if answer is None or answer[0] == "unreadable":
            self.answers.put(answer)  # later requests of this worker fail the same way
            if answer is None or self.proc.poll() is not None:  # a half-written answer
                raise RuntimeError(f"backup worker process {self.proc.pid} died "
                                   f"(exit status {self.proc.wait()})")
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError(f"backup worker process {self.proc.pid} stopped: its answers "
                               f"could not be read ({answer[1]})")
        if answer[0] == "error":
            raise answer[1]
        return answer[1]


def _executor(total_files, total_bytes, key=None):
    workers = os.cpu_count() or 2
    if total_files >= _PROCESS_MIN_FILES or total_bytes >= _PROCESS_MIN_BYTES:
        return _ProcessPool(workers, key=key)
    return ThreadPoolExecutor(workers)


def wants_processes(total_files, total_bytes):
    """True if a job of this size is worth worker processes (see _executor)."""
    return total_files >= _PROCESS_MIN_FILES or total_bytes >= _PROCESS_MIN_BYTES


def pack_files(root, items, level, total_files, total_bytes, key=None):
    """Yield ``(key, Packed | Failed | None)`` for each item of *items*, in order.

    Parameters
    ----------
    root : str
        Directory the relative paths are under.
    items : iterable of (key, relpath, is_message, size, mtime_ns, how)
        *size* and *mtime_ns* are what the walk saw; an item whose *how* is not PACK is one the
        caller streams itself: it is yielded in its place with None as result.
    level : int
        Compression level.
    total_files, total_bytes : int
        Size of the job (files the caller handles, bytes compressed), to choose threads or
        processes: threads share the GIL with the caller.
    key : aes.ZipKey, optional
        Encrypt every member (the key derivation per member happens in the packers).
    """
    with _executor(total_files, total_bytes, key) as pool:
        pending = deque()
        inflight = 0
        for keys, batch, nbytes in _batches(items):
            fut = (pool.submit(_pack_batch, root, batch, level, key) if batch is not None
                   else None)
            pending.append((keys, fut, nbytes))
            inflight += nbytes
            while pending and (inflight >= _MAX_INFLIGHT_BYTES or fut is None
                               or len(pending) > getattr(pool, "depth", len(pending))):
                done_keys, done, size = pending.popleft()
                inflight -= size
                yield from zip(done_keys, done.result() if done else [None])
                if done is None:
                    break
        while pending:
            done_keys, done, _ = pending.popleft()
            yield from zip(done_keys, done.result() if done else [None])


class Storers:
    """Worker processes that store files into volumes of their own (see the module docstring).

    Parameters
    ----------
    set_name : str
        Named in each volume's marker.
    limit : int
        The volume size.
    allocate : callable() -> (number, path)
        A new volume: its number (the next of the set) and the local path of its temporary file,
        created empty. Called from a reader thread, one call at a time.
    count : int, optional
        Worker processes (default: one per core).
    key : aes.ZipKey, optional
        The key of an encrypted set: sent to each worker through its pipe, which encrypts every
        member it writes (deriving each member's key where it compresses it).
    """

    def __init__(self, set_name, limit, allocate, count=None, key=None):
        self.lock = threading.Lock()
        self._allocate = allocate
        self.pool = _ProcessPool(count or os.cpu_count() or 2, self._allocate_one, key)
        self.finished = []  # (volume, bytes, members) of the volumes the workers finished
        for i in range(len(self.pool.procs)):
            self.pool.send(("volumes", str(set_name), limit, key), i)

    def _allocate_one(self):
        with self.lock:
            return self._allocate()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.pool.__exit__(*exc)

    def store(self, root, todo, level):
        """Yield ``(rows, Stored)`` for the files of the Files of *todo*, in batches, in order;
        *rows* are their row numbers."""
        pending = deque()
        depth = self.pool.depth
        for rows, parts in _file_batches(todo):
            pending.append((rows, self.pool.send(("store", root, parts, level))))
            if len(pending) > depth:
                yield self._done(*pending.popleft())
        while pending:
            yield self._done(*pending.popleft())

    def _done(self, keys, answer):
        stored = answer.result()
        self.finished.extend(stored.volumes)
        return keys, stored

    def finish_all_but_last(self):
        """Finish every volume but the last one (by number), if that is still being written;
        return the volumes finished ``(number, bytes, members)``, in order."""
        last = max(self.pool.owners, default=None)
        self.holder = 0  # the worker that writes the manifest copy: any, if none holds the last
        if last is not None and last not in {v for v, _, _ in self.finished}:
            self.holder = self.pool.owners[last]
        answers = [self.pool.send(("finish",), i) for i in range(len(self.pool.procs))
                   if i != self.holder]
        for a in answers:
            self.finished.extend(a.result())
        return sorted(self.finished)

    def finish_last(self, name, path, size, mtime_ns, level):
        """Add the file *path* as member *name* to the last volume (the manifest copy; into a
        new volume if it does not fit, or if the last one is finished already) and finish it.
        Returns every volume ``(number, bytes, members)``, in order."""
        answer = self.pool.send(("last", name, path, size, mtime_ns, level), self.holder)
        self.finished.extend(answer.result())
        return sorted(self.finished)


class _OwnVolumes(VolumeSeries):
    """A worker's volumes: numbered and created by the main process on request (``ask``)."""

    spool = False  # the worker reads and compresses in the same thread: no writer thread

    def __init__(self, set_name, limit, ask, key=None):
        super().__init__(set_name, limit, key)
        self.ask = ask
        self.done = []

    def _open(self):
        number, path = self.ask()
        return number, SyncedFile(os.open(path, os.O_WRONLY | _O_CLOEXEC), path)

    def _finished(self, index, size, members):
        self.done.append((index, size, members))

    def take_done(self):
        done, self.done = self.done, []
        return done


class _Worker:
    """What runs in a worker process: packs batches, or stores them in its own volumes."""

    def __init__(self, stdout, replies):
        self.stdout, self.replies = stdout, replies
        self.volumes = None

    def answer(self, value):
        pickle.dump(("ok", value), self.stdout, protocol=pickle.HIGHEST_PROTOCOL)
        self.stdout.flush()

    def ask_volume(self):
        pickle.dump(("volume?",), self.stdout, protocol=pickle.HIGHEST_PROTOCOL)
        self.stdout.flush()
        reply = pickle.load(self.replies)
        if reply[0] == "error":
            raise reply[1]
        return reply[1], reply[2]

    def handle(self, request):
        kind = request[0]
        if kind == "pack":
            return _pack_batch(*request[1:])
        if kind == "volumes":
            self.volumes = _OwnVolumes(request[1], request[2], self.ask_volume, *request[3:4])
            return None
        if kind == "store":
            return self.store(*request[1:])
        if kind == "finish":
            self.volumes.close_volume()
            return self.volumes.take_done()
        if kind == "last":
            _, name, path, size, mtime_ns, level = request
            with open(path, "rb") as src:
                self.volumes.add_member_stream(self.volumes.member(name, mtime_ns), src, size,
                                               level)
            self.volumes.close_volume()
            return self.volumes.take_done()
        raise ValueError(f"unknown request {kind!r}")

    def store(self, root, parts, level):
        """Store a batch (see _file_batches) in this worker's volumes: a Stored."""
        columns = {name: array(code) for name, code in STORED_COLUMNS.items()}
        size_c, mtime_c, crc_c, method_c, csize_c, volume_c, offset_c, mode_c = columns.values()
        failed, rows = [], MessageRows()
        volumes, i = self.volumes, 0
        key = volumes.key  # an encrypted set's: each member gets its own salt and key
        for directory, message, names, sizes, mtimes, hows in parts:
            prefix = f"{directory}/" if directory else ""
            where = f"{root}/{prefix}"
            for j, name in enumerate(names):
                rel, path = prefix + name, where + name
                message_file = message and name.endswith(".eml")
                how = PACK if hows is None else hows[j]
                if how == PACK:
                    got = read_stable(path, sizes[j], mtimes[j])
                    if got.__class__ is not Failed:
                        st, data = got
                        method, payload = compress_member(data, level)
                        crc = checksum(data)
                        if message_file:
                            rows.add(_message_row(rel, data))
                        if key is not None:
                            payload = key.encrypt(payload)
                        volume, offset = volumes.add(zf.Member(rel, st.st_mtime_ns,
                                                               st.st_mode & 0o7777,
                                                               key is not None),
                                                     method, payload, crc, len(data))
                        csize = len(payload)
                else:
                    got = stream_file(volumes, path, rel, level, message_file,
                                      alone=how == ALONE)
                    if got.__class__ is not Failed:
                        st, (volume, offset, csize, crc, method), headers = got
                        if headers is not None:
                            rows.add(headers)
                if got.__class__ is Failed:
                    failed.append((i, got.reason, got.error))
                    volume = offset = csize = crc = method = 0
                    size_c.append(0)
                    mtime_c.append(0)
                    mode_c.append(0)
                else:
                    size_c.append(st.st_size)
                    mtime_c.append(st.st_mtime_ns)
                    mode_c.append(st.st_mode & 0o7777)
                crc_c.append(crc)
                method_c.append(method)
                csize_c.append(csize)
                volume_c.append(volume)
                offset_c.append(offset)
                i += 1
        return Stored(columns, failed, rows.pack() if len(rows) else None,
                      volumes.take_done())


def serve(stdin, stdout, replies_fd=None):
    """The worker's loop: answer each pickled request (see _Worker.handle) in turn. After an
    error it answers with the error and stops (the backup fails; its files are removed). It ends
    without a word when its run closes the pipes or is gone (killed): a half-sent request or a
    closed answer pipe is no error of the worker's."""
    replies = os.fdopen(replies_fd, "rb") if replies_fd is not None and replies_fd >= 0 else None
    worker = _Worker(stdout, replies)
    try:
        while True:
            try:
                request = pickle.load(stdin)
            except (EOFError, pickle.UnpicklingError):
                return
            try:
                result = worker.handle(request)
            except (BrokenPipeError, ConnectionResetError, KeyboardInterrupt):
                raise
            except BaseException as e:
                try:
                    pickle.dump(("error", e), stdout, protocol=pickle.HIGHEST_PROTOCOL)
                except Exception:  # an error that does not pickle: its text does
                    pickle.dump(("error", RuntimeError(f"{type(e).__name__}: {e}")), stdout)
                stdout.flush()
                if worker.volumes is not None:
                    worker.volumes.abort()
                return
            if request[0] != "volumes":
                worker.answer(result)
    except (BrokenPipeError, ConnectionResetError, KeyboardInterrupt):
        # What is left in the buffer goes nowhere, also when the interpreter flushes at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), stdout.fileno())
