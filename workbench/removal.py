"""Removing a set from a target, never from under a reader (rotation, replaced differentials).

The protocol, against the readers' leases (lease.py):

1. publish a marker ``<set>.wb-<token>.removing`` (host, pid, reason): readers that list the
   target from now on see the set as being removed and wait;
2. read the leases: a live one naming the set calls the removal off (the marker is removed, the
   set stays, the removal is postponed to a later run and said so);
3. otherwise rename the marker to ``<set>.wb-<token>.deleting`` (decided), delete the set's files
   (manifest first), and the marker last.

A reader publishes its lease before it lists the target again, so either the remover sees the
lease (step 2 comes after it) or the reader sees the marker. A run stopped part-way leaves its
marker; the next run that holds the lock calls an undecided removal off and finishes a decided
one (``resume_removals``).
"""

import json
import logging
import os

from .lease import readers_of
from .lock import DEFAULT_STALE_AFTER, drop_token, hold_token, owner_record, publish_record
from .naming import DELETING, REMOVING, parse_removal_marker, removal_marker

log = logging.getLogger("workbench.backup")


def remove_unread(target, info, reason, stale_after=DEFAULT_STALE_AFTER):
    """Remove the set *info* unless a live read lease names it.

    Returns None when the set was removed, else why the removal is postponed (text).
    """
    name = str(info.name)
    token = os.urandom(8).hex()
    marker = removal_marker(name, token, REMOVING)
    record = owner_record(set=name, reason=reason)
    hold_token(record["token"])  # live while this process works on it (lock.owner_gone)
    try:
        publish_record(target, marker, json.dumps(record).encode(), token)
        try:
            readers = readers_of(target, name, stale_after)
        except BaseException:
            target.remove(marker)
            raise
        if readers:
            target.remove(marker)
            who = readers[0]
            return (f"it is being read (a lease of host {who['host']} pid {who['pid']}); the "
                    "next backup removes it")
        decided = removal_marker(name, token, DELETING)
        target.publish(marker, decided)
        for fname in info.files:
            target.remove(fname)
        target.remove(decided)
        return None
    finally:
        drop_token(record["token"])


FINISHED_REASON = "its removal was decided by a run that stopped part-way; finished now"


def resume_removals(target, sets):
    """Deal with the removal markers of runs that stopped part-way.

    Only a run that holds the target's lock may call this (no other remover is running then): a
    decided removal (``.deleting``) is finished, an undecided one (``.removing``) is called off,
    its set kept for rotation to decide again. Returns ``[{"set", "reason", "removed"}]`` for
    every set that had a marker (empty, so false, when none had): ``removed`` is True for the
    sets whose removal was finished.
    """
    handled = []
    for s in sets:
        stages = {parse_removal_marker(m)[2] for m in s.markers}
        if not stages:
            continue
        if DELETING in stages:
            log.warning("finishing the removal of %s, begun by a run that stopped", s.name)
            for fname in s.files:
                target.remove(fname)
            handled.append({"set": str(s.name), "reason": FINISHED_REASON, "removed": True})
        else:
            log.warning("%s: calling off a removal begun by a run that stopped", s.name)
            handled.append({"set": str(s.name), "reason": "a removal begun by a run that "
                            "stopped was called off; the set is kept", "removed": False})
        for m in s.markers:
            target.remove(m)
    return handled


__all__ = ["remove_unread", "resume_removals"]
