"""One backup at a time per target: a lock file recording host, pid and start time.

A lock whose owner is dead (same host, process gone) or that is older than ``stale_after`` seconds
(another host, which we cannot ask) is taken over, with a warning in the log. A lock of this very
process that no ``target_lock`` block holds any more (left when the target became unreachable before
it could be removed) is stale too: a long-running scheduler must not be locked out by itself.
"""

import json
import logging
import os
import socket
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timezone

from .errors import LockHeld
from .naming import LOCK_NAME

log = logging.getLogger("workbench.backup")

_held = set()  # tokens of the locks this process holds right now
_held_lock = threading.Lock()


def process_alive(pid):
    """True if process *pid* exists on this host (it may belong to another user)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_stale(owner, stale_after):
    if owner.get("host") == socket.gethostname():
        pid = owner.get("pid")
        if pid == os.getpid():
            with _held_lock:
                return owner.get("token") not in _held
        return not (isinstance(pid, int) and process_alive(pid))
    return time.time() - owner.get("time", 0) > stale_after


@contextmanager
def target_lock(target, stale_after=24 * 3600):
    """Hold the target's lock for the duration of the ``with`` block; LockHeld if a live one exists."""
    me = {"host": socket.gethostname(), "pid": os.getpid(),
          "started": datetime.now(timezone.utc).isoformat(timespec="seconds"), "time": time.time(),
          "token": os.urandom(16).hex()}
    data = json.dumps(me).encode()
    for _ in range(3):
        if target.create_exclusive(LOCK_NAME, data):
            break
        owner = read_lock(target)
        if owner is None:
            continue  # removed between our two calls: try again
        if not _is_stale(owner, stale_after):
            raise LockHeld(target.url, owner)
        log.warning("taking over stale lock of host %s pid %s (started %s)", owner.get("host"),
                    owner.get("pid"), owner.get("started"))
        target.remove(LOCK_NAME)
    else:
        raise LockHeld(target.url, read_lock(target) or {})
    with _held_lock:
        _held.add(me["token"])
    try:
        yield me
    finally:
        with _held_lock:
            _held.discard(me["token"])
        if read_lock(target) == me:
            target.remove(LOCK_NAME)


def read_lock(target):
    """The lock owner's record, or None if there is no lock."""
    try:
        raw = target.read_bytes(LOCK_NAME)
    except (FileNotFoundError, OSError):
        return None
    try:
        owner = json.loads(raw)
        return owner if isinstance(owner, dict) else {}
    except ValueError:
        return {}  # an unreadable lock counts as held by an unknown owner until it goes stale
