"""One backup at a time per target: a lock file recording host, pid, process start and start time.

The record is written whole under a temporary name and then published as ``.workbench.lock``
without overwriting (a hard link locally, a rename on SMB: both refuse an existing name), so no
reader ever sees an empty or half-written lock, and of two runs only one publishes.

A lock is taken over only when its owner is provably gone: on this host, its pid is dead, or
alive but another process (a different process start time); on another host, which cannot be
asked, when it is older than ``stale_after`` seconds (the config key ``lock_stale_after``). A
lock of this very process that no ``target_lock`` block holds any more (left when the target
became unreachable before it could be removed) is stale too: a long-running scheduler must not
be locked out by itself. A lock file that cannot be read counts as held (LockDamaged) until it
is older than ``stale_after``.

Taking over is race-free: the stale lock is first renamed to a name derived from its content
(``.workbench.lock.stale-<digest>``). Of the runs that judged that record stale, only one rename
succeeds; the others find the name taken and look again. The renamed file is kept while the new
owner holds the lock, so that a run that read the old record at the same time cannot rename the
new lock in its place (should one still get that far, it finds the record it moved is not the one
it judged, and puts it back).

The same owner records and the same staleness rules serve the readers' leases (lease.py).
"""

import json
import os
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timezone

from .errors import LockDamaged, LockHeld, WorkbenchError
from .lazylog import get_logger
from .naming import LEASE_PREFIX, LOCK_NAME, is_lease_name, parse_partial_name, partial_name

log = get_logger("workbench.backup")

DEFAULT_STALE_AFTER = 24 * 3600
ASIDE_PREFIX = LOCK_NAME + ".stale-"
_TRIES = 5

_held = set()  # tokens of the locks and leases this process holds right now
_held_lock = threading.Lock()


def hostname():
    """This machine's name, as socket.gethostname() says it (read without loading socket)."""
    if hasattr(os, "uname"):
        return os.uname().nodename
    import socket
    return socket.gethostname()


def process_alive(pid):
    """True if process *pid* exists on this host (it may belong to another user)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _boot_id():
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            return f.read().strip()
    except OSError:
        return None


def process_start(pid):
    """``"<boot id>:<start time in clock ticks>"`` of process *pid*, or None where /proc does not
    tell: with the pid it names one process, never one that reused the number later."""
    boot = _boot_id()
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
        start = int(stat.rsplit(b")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None
    return f"{boot}:{start}" if boot else None


def owner_record(**extra):
    """A new owner record (host, pid, process start, start time, token) with *extra* fields."""
    pid = os.getpid()
    return {"host": hostname(), "pid": pid, "proc_start": process_start(pid),
            "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "time": time.time(), "token": os.urandom(16).hex(), **extra}


def parse_record(raw):
    """The owner record in the bytes *raw*, or None if they are not one (a damaged file)."""
    try:
        record = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    if (not isinstance(record, dict) or not isinstance(record.get("host"), str)
            or not isinstance(record.get("pid"), int) or isinstance(record.get("pid"), bool)):
        return None
    return record


def owner_gone(record, stale_after, age=None):
    """Why the owner of *record* is provably gone (text), or None while it may be alive.

    *age* gives the file's age in seconds (a callable), used when the record of another host
    has no usable time.
    """
    pid = record["pid"]
    if record["host"] == hostname():
        recorded = record.get("proc_start")
        recorded = recorded if isinstance(recorded, str) else None
        boot = _boot_id()
        if recorded and boot and recorded.split(":", 1)[0] != boot:
            return "this host has restarted since"
        now_start = process_start(pid)
        if recorded and now_start and now_start != recorded:
            return f"pid {pid} now belongs to another process" if process_alive(pid) else \
                f"process {pid} is gone"
        if pid == os.getpid():
            with _held_lock:
                held = record.get("token") in _held
            return None if held else "this process no longer holds it"
        if not process_alive(pid):
            return f"process {pid} is gone"
        return None
    t = record.get("time")
    if isinstance(t, (int, float)) and not isinstance(t, bool):
        age = time.time() - t
    elif age is not None:
        age = age()
    if age is not None and age > stale_after:
        return f"older than {stale_after} s (lock_stale_after)"
    return None


def publish_record(target, name, data, token):
    """Write *data* whole under a temporary name, then publish it as *name*; False if *name*
    exists (nothing is left behind)."""
    tmp = partial_name(name, token)
    try:
        with target.open_write(tmp) as f:
            f.write(data)
        target.publish(tmp, name)
    except FileExistsError:
        target.remove(tmp)
        return False
    except BaseException:
        target.remove(tmp)
        raise
    return True


def hold_token(token):
    with _held_lock:
        _held.add(token)


def drop_token(token):
    with _held_lock:
        _held.discard(token)


def _read(target, name):
    """``(raw bytes, record or None if damaged)`` of *name*, or None if there is no such file."""
    try:
        raw = target.read_bytes(name)
    except FileNotFoundError:
        return None
    except OSError as e:
        raise LockDamaged(target.url, name, f"it cannot be read ({e.strerror or e})") from None
    return raw, parse_record(raw)


def file_age(target, name):
    """Seconds since the file *name* on *target* was last written, or None if it is gone."""
    try:
        return time.time() - target.stat(name)[1]
    except FileNotFoundError:
        return None


def _judge(target, raw, owner, stale_after):
    """Why the lock *raw* may be taken over; LockHeld (or LockDamaged) while it is held."""
    if owner is None:
        age = file_age(target, LOCK_NAME)
        if age is None:
            return None  # gone meanwhile: try again
        if age > stale_after:
            return f"a damaged lock file older than {stale_after} s (lock_stale_after)"
        reason = "it is empty" if not raw.strip() else "it is not a lock record"
        raise LockDamaged(target.url, LOCK_NAME, reason, age=age, stale_after=stale_after)
    why = owner_gone(owner, stale_after, lambda: file_age(target, LOCK_NAME))
    if why is None:
        raise LockHeld(target.url, owner)
    return why


def _take_over(target, raw, owner, why):
    """Move the stale lock *raw* aside; True if this run did (and may now publish its own)."""
    import hashlib  # only for a damaged lock file
    aside = ASIDE_PREFIX + hashlib.sha256(raw).hexdigest()[:32]
    try:
        target.publish(LOCK_NAME, aside)
    except (FileNotFoundError, FileExistsError):
        return False  # gone, or another run took this very record over: look again
    moved = target.read_bytes(aside)
    if moved != raw:
        # Not the record judged stale (only a run that read it before its aside was swept can
        # get here): put it back for its owner.
        try:
            target.publish(aside, LOCK_NAME)
        except FileExistsError:
            log.error("a lock moved aside by mistake could not be put back (%s): another run "
                      "holds the lock now", aside)
        return False
    owner = owner or {}
    log.warning("taking over stale lock of host %s pid %s (started %s): %s", owner.get("host"),
                owner.get("pid"), owner.get("started"), why)
    return aside


@contextmanager
def target_lock(target, stale_after=DEFAULT_STALE_AFTER):
    """Hold the target's lock for the duration of the ``with`` block.

    Parameters
    ----------
    target : Target
    stale_after : int
        Seconds after which a lock of another host (or a damaged lock file) is taken over.

    Raises
    ------
    LockHeld
        If a live owner holds the lock; LockDamaged if the lock file cannot be read and is not
        yet older than *stale_after*.
    """
    me = owner_record()
    data = json.dumps(me).encode()
    aside = None
    for _ in range(_TRIES):
        if publish_record(target, LOCK_NAME, data, me["token"]):
            break
        found = _read(target, LOCK_NAME)
        if found is None:
            continue  # removed between our two calls: try again
        why = _judge(target, *found, stale_after)
        if why is not None:
            aside = _take_over(target, *found, why) or aside
    else:
        found = _read(target, LOCK_NAME)
        if found is not None and found[1] is None:
            raise LockDamaged(target.url, LOCK_NAME, "it is not a lock record",
                              age=file_age(target, LOCK_NAME), stale_after=stale_after)
        raise LockHeld(target.url, (found[1] if found else None) or {})
    hold_token(me["token"])
    try:
        sweep(target, stale_after, keep=aside)
        yield me
    finally:
        drop_token(me["token"])
        _release(target, data, aside)


def _release(target, data, aside=None):
    try:
        found = _read(target, LOCK_NAME)
        if found is not None and found[0] == data:
            target.remove(LOCK_NAME)
        if aside:
            # Any run that read the stale record when we did has acted on it long ago.
            target.remove(aside)
    except (OSError, WorkbenchError) as e:
        # The target went away: the lock stays, and is stale once this process is gone.
        log.warning("could not remove the lock on %s: %s", target.url, e)


def sweep(target, stale_after, keep=None):
    """Remove the work files of dead lock and lease writers, stale leases, and the asides of
    locks taken over more than *stale_after* seconds ago (but not *keep*, this run's own)."""
    try:
        names = target.list()
    except (OSError, WorkbenchError):
        return
    for name in names:
        partial = parse_partial_name(name)
        if partial is not None and (partial[0] == LOCK_NAME or is_lease_name(partial[0])):
            pass
        elif is_lease_name(name):
            pass
        elif name.startswith(ASIDE_PREFIX) and name != keep:
            age = file_age(target, name)
            if age is not None and age > stale_after:
                target.remove(name)
            continue
        else:
            continue
        try:
            raw = target.read_bytes(name)
        except FileNotFoundError:
            continue
        record = parse_record(raw)
        if record is None:
            age = file_age(target, name)
            gone = age is not None and age > stale_after
        else:
            gone = owner_gone(record, stale_after, lambda: file_age(target, name)) is not None
        if gone:
            log.info("removing %s, left by a process that is gone", name)
            target.remove(name)


__all__ = ["target_lock", "process_alive", "process_start", "owner_record",
           "owner_gone", "parse_record", "publish_record", "sweep", "DEFAULT_STALE_AFTER",
           "LEASE_PREFIX"]
