"""Read leases: a reader's claim on the sets it reads, so that no backup removes them under it.

A lease is a small file ``.workbench.read-<token>`` on the target: JSON with host, pid, process
start time, time and the names of the sets read. It is published whole (a temporary name, then a
publish that never overwrites) before the reader opens any manifest or volume of those sets, and
removed when the reader is done. A lease whose owner is gone (the lock's rules, lock.py) is
ignored, and swept by the next backup.

The other half is in removal.py: a remover first marks the set as being removed (new readers
see the mark), then reads the leases; a lease naming the set calls the removal off. A reader,
once its lease is published, lists the target again and waits while a live remover marks one of
its sets: that remover either sees the lease and calls the removal off, or had decided before the
lease was there, and the set is gone (SetBeingRemoved, or SetNotFound afterwards).
"""

import json
import time
from contextlib import contextmanager

from .errors import SetBeingRemoved, WorkbenchError
from .lazylog import get_logger
from .lock import (DEFAULT_STALE_AFTER, drop_token, file_age, hold_token, owner_gone,
                   owner_record, parse_record, publish_record)
from .naming import DELETING, is_lease_name, lease_name, parse_removal_marker

log = get_logger("workbench.lease")

# How long a reader waits for a removal in progress to finish or be called off (a remover
# decides within one listing of the target; the rest is margin for slow servers).
WAIT = 30.0
_POLL = 0.1


class ReadLease:
    """The lease of one reader on *target*: ``hold(names)`` before reading, ``close()`` after.

    Parameters
    ----------
    target : Target
    stale_after : int
        Seconds after which another host's lease (or removal marker) counts as abandoned.
    """

    def __init__(self, target, stale_after=DEFAULT_STALE_AFTER):
        self.target, self.stale_after = target, stale_after
        self.names = set()
        self.file = self.token = None

    def hold(self, names):
        """Add the sets *names* to the lease, publishing it anew (before they are read)."""
        wanted = self.names | {str(n) for n in names if n}
        if wanted == self.names and self.file is not None:
            return
        record = owner_record(sets=sorted(wanted), purpose="read")
        name = lease_name(record["token"])
        hold_token(record["token"])
        try:
            publish_record(self.target, name, json.dumps(record).encode(), record["token"])
        except BaseException:
            drop_token(record["token"])
            raise
        old, old_token = self.file, self.token
        self.file, self.token, self.names = name, record["token"], wanted
        if old is not None:
            self._remove(old, old_token)

    def settle(self, names, wait=WAIT):
        """Hold *names*, then return a listing of the target made after the lease was published,
        once no live remover marks any of them.

        Raises
        ------
        SetBeingRemoved
            If one of the sets is being deleted (its removal was decided before the lease), or a
            removal in progress neither finished nor was called off within *wait* seconds.
        """
        names = {str(n) for n in names if n}
        self.hold(names)
        deadline = time.monotonic() + wait
        while True:
            files = self.target.list()
            busy = self._busy(files, names)
            if not busy:
                return files
            name, why, final = busy[0]
            if final or time.monotonic() > deadline:
                raise SetBeingRemoved(f"set {name} is being removed ({why}); it cannot be read. "
                                      "`workbench sets` lists the sets there are")
            time.sleep(_POLL)

    def _busy(self, files, names):
        """``[(set, why, final)]`` for the sets of *names* a removal marks."""
        out = []
        for fname in files:
            marker = parse_removal_marker(fname)
            if marker is None or marker[0] not in names:
                continue
            if marker[2] == DELETING:
                out.append((marker[0], "its deletion has started", True))
                continue
            record = _read_record(self.target, fname)
            if record is None:
                continue  # gone meanwhile: the remover has decided, look again
            if owner_gone(record, self.stale_after, lambda: file_age(self.target, fname)) is None:
                out.append((marker[0], f"by host {record['host']} pid {record['pid']}", False))
        return out

    def close(self):
        """Remove the lease (the sets may be removed from now on)."""
        if self.file is not None:
            self._remove(self.file, self.token)
            self.file = self.token = None

    def _remove(self, name, token):
        try:
            self.target.remove(name)
        except (OSError, WorkbenchError) as e:  # stale once this process is gone
            log.warning("could not remove the read lease %s: %s", name, e)
        finally:
            drop_token(token)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


@contextmanager
def read_lease(target, stale_after=DEFAULT_STALE_AFTER):
    """A :class:`ReadLease` on *target* for the duration of the ``with`` block."""
    lease = ReadLease(target, stale_after)
    try:
        yield lease
    finally:
        lease.close()


def _read_record(target, name):
    try:
        return parse_record(target.read_bytes(name))
    except FileNotFoundError:
        return None


def readers_of(target, set_name, stale_after=DEFAULT_STALE_AFTER):
    """The owner records of the live leases on *target* that name *set_name*."""
    out = []
    for fname in target.list():
        if not is_lease_name(fname):
            continue
        try:
            raw = target.read_bytes(fname)
        except FileNotFoundError:
            continue  # its reader is done
        record = parse_record(raw)
        if record is None:
            # Published whole, so never half-written: a damaged lease is no one's, unless young.
            age = file_age(target, fname)
            if age is not None and age <= stale_after:
                out.append({"host": "?", "pid": "?", "sets": [set_name], "file": fname})
            continue
        if set_name in (record.get("sets") or ()) and owner_gone(
                record, stale_after, lambda: file_age(target, fname)) is None:
            out.append(record)
    return out


__all__ = ["ReadLease", "read_lease", "readers_of", "WAIT"]
