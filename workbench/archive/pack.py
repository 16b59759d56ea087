"""Read, checksum and compress store files on every core, handing results back in order.

Small jobs run in threads (no start-up cost); big ones in worker processes, since per-file Python
work (open, stat, read, header parsing) holds the GIL and kept a thread pool near one core. Files go
to the workers in batches to keep per-task overhead low, and the bytes in flight are bounded so
memory stays flat whatever the store's size.

The workers are plain subprocesses (running ``serve`` below) that read pickled batches
on stdin and answer on stdout. multiprocessing was tried first: its fork start method copies the
locks of whatever threads the caller runs (a scheduler, a notebook kernel), and its spawn and
forkserver methods re-run the caller's main script in every worker, which fails for ``python -c``
or stdin and repeats the work of a script without a ``__main__`` guard.
"""

import os
import pickle
import queue
import subprocess
import sys
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple, Optional

from ..headers import parse_headers
from . import zipformat as zf
from .compress import checksum, compress_member
from .manifest import header_row
from .messages import prepare

_BATCH_FILES = 64
_BATCH_BYTES = 2 * 1024 * 1024
_MAX_INFLIGHT_BYTES = 16 * 1024 * 1024
# Below this much work, starting processes costs more than it saves.
_PROCESS_MIN_FILES = 10000
_PROCESS_MIN_BYTES = 256 * 1024 * 1024


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


def read_stable(path):
    """``(stat, data)`` of the file *path*, read whole while it held still, or a Failed.

    A file whose size or mtime differs after the read from before it (the server appended to it)
    is read once more; a file that changes during both reads is a Failed ``changed``. A change
    between the walk and the read costs nothing: the file is taken as it is now.
    """
    for _ in range(2):
        try:
            with open(path, "rb") as f:
                st = os.fstat(f.fileno())
                data = f.read()
                after = os.fstat(f.fileno())
        except FileNotFoundError:
            return Failed("vanished", "deleted during the backup")
        except OSError as e:
            return Failed("unreadable", str(e.strerror or e))
        if (after.st_size, after.st_mtime_ns) == (st.st_size, st.st_mtime_ns) \
                and len(data) == st.st_size:
            return st, data
    return Failed("changed", CHANGED)


def pack_file(path, level, message, name=None):
    """Read, checksum and compress one file (member *name*, default *path*); a Packed, or a
    Failed if it cannot be read (or kept changing while it was read)."""
    got = read_stable(path)
    if isinstance(got, Failed):
        return got
    st, data = got
    method, payload = compress_member(data, level)
    headers = prepare(name or path, header_row(parse_headers(data))) if message else None
    crc = checksum(data)
    mode = st.st_mode & 0o7777
    member = zf.Member(name or path, st.st_mtime_ns, mode)
    record = zf.local_header(member, method, crc, len(payload), len(data),
                             zip64=len(data) >= zf.MAX32) + payload
    return Packed(len(data), st.st_mtime_ns, crc, method, len(payload), member, record, headers,
                  mode)


def _pack_batch(root, batch, level):
    return [pack_file(os.path.join(root, rel), level, message, rel) for rel, message, _ in batch]


def _batches(items):
    """Group ``(key, relpath, message, size)`` items; items with ``key`` None pass alone."""
    batch, keys, nbytes = [], [], 0
    for key, rel, message, size in items:
        if rel is None:  # not for the workers (streamed by the caller): keep the order
            if batch:
                yield keys, batch, nbytes
                batch, keys, nbytes = [], [], 0
            yield [key], None, 0
            continue
        batch.append((rel, message, size))
        keys.append(key)
        nbytes += size
        if len(batch) >= _BATCH_FILES or nbytes >= _BATCH_BYTES:
            yield keys, batch, nbytes
            batch, keys, nbytes = [], [], 0
    if batch:
        yield keys, batch, nbytes


# The worker registers a bare ``workbench`` package before importing this module, so that it loads
# only what packing needs (archive, headers, model) and not the whole package's API: a third of
# the start-up time and of the memory of each worker.
#
# Workers run at a lower priority than the process that walks the store and writes the volumes:
# with every core compressing, that process lost its turns and the pipeline stalled behind it
# (a differential's walk took 1.0 s instead of 0.5 s). The mail server keeps its priority too.
_WORKER_NICE = 10
#
# A worker ignores SIGINT: Ctrl-C reaches the whole process group, and the run that started it
# stops it (closing its stdin, or killing it); a worker whose run is gone ends quietly (serve).
_WORKER = (f"import os, signal, sys, types\nif hasattr(os, 'nice'): os.nice({_WORKER_NICE})\n"
           "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
           "pkg = types.ModuleType('workbench')\n"
           "pkg.__path__ = [sys.argv[1]]\n"
           "sys.modules['workbench'] = pkg\n"
           "from workbench.archive.pack import serve\n"
           "serve(sys.stdin.buffer, sys.stdout.buffer)\n")


class _ProcessPool:
    """Worker subprocesses fed batches round-robin; results come back in submission order.

    A thread per worker reads its answers as soon as they are written, so a worker never waits
    on a full pipe while this process waits for another worker's older batch; the bytes in
    flight (pack_files) bound what the threads hold.
    """

    def __init__(self, count):
        package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        self.procs = [subprocess.Popen([sys.executable, "-c", _WORKER, package],
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE)
                      for _ in range(count)]
        self.answers = [queue.SimpleQueue() for _ in self.procs]
        self.readers = [threading.Thread(target=_read_answers, args=(proc, answers), daemon=True,
                                         name="backup-worker-reader")
                        for proc, answers in zip(self.procs, self.answers)]
        for proc, reader in zip(self.procs, self.readers):
            _widen_pipe(proc.stdin)
            reader.start()
        self.turn = 0
        # Batches sent ahead per worker: their paths must fit in the stdin pipe, which a worker
        # empties only between batches.
        self.depth = 6 * count

    def submit(self, fn, root, batch, level):
        i = self.turn % len(self.procs)
        self.turn += 1
        proc = self.procs[i]
        pickle.dump((root, batch, level), proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
        proc.stdin.flush()
        return _Answer(proc, self.answers[i])

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for proc in self.procs:
            try:
                proc.stdin.close()
            except OSError:
                pass
        for proc in self.procs:
            if exc[0] is not None:
                proc.kill()
            proc.wait()
        for reader in self.readers:
            reader.join()
        for proc in self.procs:
            proc.stdout.close()


def _read_answers(proc, answers):
    """Unpickle a worker's answers into *answers* until it ends (then put None)."""
    try:
        while True:
            answers.put(pickle.load(proc.stdout))
    except (EOFError, OSError, ValueError, pickle.UnpicklingError):
        answers.put(None)


def _widen_pipe(f):
    """Make the pipe hold a whole megabyte where Linux allows it (default 64 KiB)."""
    try:
        import fcntl
        fcntl.fcntl(f.fileno(), fcntl.F_SETPIPE_SZ, 1024 * 1024)
    except (ImportError, AttributeError, OSError):
        pass


class _Answer:
    """The pending answer of one worker to one batch (answers come in the order sent)."""

    def __init__(self, proc, answers):
        self.proc, self.answers = proc, answers

    def result(self):
        answer = self.answers.get()
        if answer is None:
            self.answers.put(None)  # later batches of this worker fail the same way
            raise RuntimeError(f"backup worker process {self.proc.pid} died "
                               f"(exit status {self.proc.wait()})")
        return answer


def _executor(total_files, total_bytes):
    workers = os.cpu_count() or 2
    if total_files >= _PROCESS_MIN_FILES or total_bytes >= _PROCESS_MIN_BYTES:
        return _ProcessPool(workers)
    return ThreadPoolExecutor(workers)


def pack_files(root, items, level, total_files, total_bytes):
    """Yield ``(key, Packed | Failed | None)`` for each item of *items*, in order.

    Parameters
    ----------
    root : str
        Directory the relative paths are under.
    items : iterable of (key, relpath or None, is_message, size)
        A None relpath marks an item the caller handles itself (a large file it streams); it is
        yielded in its place with None as result.
    level : int
        Compression level.
    total_files, total_bytes : int
        Size of the job (files the caller handles, bytes compressed), to choose threads or
        processes: threads share the GIL with the caller.
    """
    with _executor(total_files, total_bytes) as pool:
        pending = deque()
        inflight = 0
        for keys, batch, nbytes in _batches(items):
            fut = pool.submit(_pack_batch, root, batch, level) if batch is not None else None
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


def serve(stdin, stdout):
    """The worker's loop: answer each pickled batch with the list of its results. It ends, without
    a word, when its run closes the pipes or is gone (killed): a half-sent batch or a closed
    answer pipe is no error of the worker's."""
    try:
        while True:
            try:
                root, batch, level = pickle.load(stdin)
            except (EOFError, pickle.UnpicklingError):
                return
            pickle.dump(_pack_batch(root, batch, level), stdout, protocol=pickle.HIGHEST_PROTOCOL)
            stdout.flush()
    except (BrokenPipeError, ConnectionResetError, KeyboardInterrupt):
        # What is left in the buffer goes nowhere, also when the interpreter flushes at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), stdout.fileno())

