"""Read, checksum and compress store files on every core, handing results back in order.

Small jobs run in threads (no start-up cost); big ones in worker processes, since per-file Python
work (open, stat, read, header parsing) holds the GIL and kept a thread pool near one core. Files go
to the workers in batches to keep per-task overhead low, and the bytes in flight are bounded so
memory stays flat whatever the store's size.
"""

import multiprocessing
import os
from collections import deque
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from typing import NamedTuple, Optional

from ..headers import parse_headers
from .compress import checksum, compress_member
from .manifest import header_row

_BATCH_FILES = 64
_BATCH_BYTES = 4 * 1024 * 1024
_MAX_INFLIGHT_BYTES = 48 * 1024 * 1024
# Below this much work, starting processes costs more than it saves.
_PROCESS_MIN_FILES = 2000
_PROCESS_MIN_BYTES = 64 * 1024 * 1024


class Packed(NamedTuple):
    """One file read and compressed: what the volume writer and the manifest need."""

    size: int
    mtime_ns: int
    crc32: int
    method: int
    payload: bytes
    headers: Optional[tuple]  # parsed message headers (manifest.header_row) for messages


class Failed(NamedTuple):
    """A file that could not be read: ``vanished`` (deleted meanwhile) or ``unreadable``."""

    reason: str
    error: str


def pack_file(path, level, message):
    """Read, checksum and compress one file; a Packed, or a Failed if it cannot be read."""
    try:
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())
            data = f.read()
    except FileNotFoundError:
        return Failed("vanished", "deleted during the backup")
    except OSError as e:
        return Failed("unreadable", str(e.strerror or e))
    method, payload = compress_member(data, level)
    headers = header_row(parse_headers(data)) if message else None
    return Packed(len(data), st.st_mtime_ns, checksum(data), method, payload, headers)


def _pack_batch(root, batch, level):
    return [pack_file(os.path.join(root, rel), level, message) for rel, message, _ in batch]


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


def _executor(total_files, total_bytes):
    workers = os.cpu_count() or 2
    if total_files >= _PROCESS_MIN_FILES or total_bytes >= _PROCESS_MIN_BYTES:
        # forkserver: workers are forked from a clean helper process, never from this one, which
        # may run threads (a scheduler, a notebook kernel) whose locks a fork would copy held.
        return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("forkserver"))
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
        Size of the job, to choose threads or processes.
    """
    with _executor(total_files, total_bytes) as pool:
        pending = deque()
        inflight = 0
        for keys, batch, nbytes in _batches(items):
            fut = pool.submit(_pack_batch, root, batch, level) if batch is not None else None
            pending.append((keys, fut, nbytes))
            inflight += nbytes
            while pending and (inflight >= _MAX_INFLIGHT_BYTES or fut is None):
                done_keys, done, size = pending.popleft()
                inflight -= size
                yield from zip(done_keys, done.result() if done else [None])
                if done is None:
                    break
        while pending:
            done_keys, done, _ = pending.popleft()
            yield from zip(done_keys, done.result() if done else [None])
