"""Rotation: keep at most ``keep`` complete backups (a full with its differentials) and at most
``keep_copies`` copies.

Copies ("Start now", kind C) are fulls for recovery but stand beside the chains: never a
differential's base, not counted by ``keep``, kept by their own ``keep_copies``; a copy run
rotates only copies (``apply_rotation(copies_only=True)``), so pressing Start now never removes a
full or a differential.

Applied only after a new set is committed. A differential is never kept without its full: whole
chains are kept or deleted together, and a differential whose full is gone cannot be restored.
Rotation deletes only what it has facts for:

- a damaged set is never deleted, nor counted among the ``keep`` complete backups, and the
  differentials of a damaged full stay with it; an unsupported one (a split zip archive) is
  left alone;
- a set made by Kerio Connect is deleted under the same ``keep`` rule, and only when it is whole
  (no volume missing, every volume a readable zip) and older than every kept backup;
- a differential is deleted as "its full is gone" only when no file of that full is left;
- a set being read (a live read lease) is not deleted now: its removal is postponed, and said so.
"""

import logging
from dataclasses import dataclass

from .config import Config
from .lock import DEFAULT_STALE_AFTER
from .removal import remove_unread
from .sets import (COMPLETE, DAMAGED, FOREIGN, INCOMPLETE, UNSUPPORTED, base_of, list_sets,
                   remove_set)

log = logging.getLogger("workbench.backup")

DEFAULT_KEEP_COPIES = Config.keep_copies


@dataclass(frozen=True)
class Decision:
    """What rotation does with one set, and why."""

    set: str
    action: str  # "keep" or "delete" (planned); "postpone" (a delete put off: being read)
    reason: str


def _whole(s):
    """A set that counts as a complete backup: ours complete, or Kerio's with nothing missing."""
    return s.status == COMPLETE or (s.status == FOREIGN and not s.problem)


def _full_left(sets, s):
    """True if any file of the full that differential *s* belongs to is still on the target."""
    if s.header is not None:
        return any(str(x.name) == s.header.get("base") for x in sets)
    return any(x.name.kind == "F" and x.name.time <= s.name.time for x in sets)  # Kerio's rule


def plan_rotation(sets, keep, keep_copies=DEFAULT_KEEP_COPIES):
    """One Decision per set in *sets* (as list_sets returns them), oldest first: at most *keep*
    complete backups (fulls with their differentials) and *keep_copies* copies are kept."""
    fulls = [s for s in sets if s.name.kind == "F" and _whole(s)]
    copies = [s for s in sets if s.name.kind == "C" and _whole(s)]
    kept = list(reversed(fulls))[:keep]
    kept_copies = list(reversed(copies))[:keep_copies]
    kept_fulls = {str(s.name): i + 1 for i, s in enumerate(kept)}
    kept_copy = {str(s.name): i + 1 for i, s in enumerate(kept_copies)}
    oldest_kept = kept[-1].name if kept else None
    oldest_copy = kept_copies[-1].name if kept_copies else None
    out = []

    def decide(s, action, reason):
        out.append(Decision(str(s.name), action, reason))

    for s in sets:
        if s.status == INCOMPLETE:
            decide(s, "delete", "incomplete: its run was interrupted")
            continue
        if s.status == DAMAGED:
            decide(s, "keep", f"damaged ({s.problem}): kept until repaired or removed by hand, "
                   "not counted among the complete backups")
            continue
        if s.status == UNSUPPORTED:
            decide(s, "keep", f"unsupported ({s.problem}): left alone")
            continue
        if s.status == FOREIGN and s.problem:
            decide(s, "keep", f"made by Kerio Connect but not whole ({s.problem}): rotation "
                   "deletes only whole sets")
            continue
        if s.name.kind == "C":
            if str(s.name) in kept_copy:
                decide(s, "keep", f"copy {kept_copy[str(s.name)]} of {keep_copies} kept (newest "
                       "first; copies are kept by keep_copies, not counted by keep)")
            elif s.status == FOREIGN and oldest_copy is not None and not s.name < oldest_copy:
                decide(s, "keep", "made by Kerio Connect and not older than every kept copy")
            else:
                decide(s, "delete", f"older than the {keep_copies} newest copies (keep_copies)")
            continue
        base = base_of(sets, s)
        if base is None:
            if _full_left(sets, s):
                decide(s, "keep", "its full is not readable but some of it is left: kept with it")
            else:
                decide(s, "delete", "its full backup is gone, so it cannot be restored")
            continue
        if str(base.name) in kept_fulls:
            n = kept_fulls[str(base.name)]
            if base is s:
                decide(s, "keep", f"complete backup {n} of {keep} kept (newest first)")
            else:
                decide(s, "keep", f"differential of kept full {base.name}")
        elif str(base.name) in kept_copy:  # a differential made on a copy by an older workbench
            decide(s, "keep", f"differential of kept copy {base.name}")
        elif not _whole(base):
            decide(s, "keep", f"differential of full {base.name}, which is kept as it is "
                   f"{'damaged' if base.status == DAMAGED else 'not whole'}")
        elif s.status == FOREIGN and oldest_kept is not None and not s.name < oldest_kept:
            decide(s, "keep", "made by Kerio Connect and not older than every kept backup")
        elif base is s:
            decide(s, "delete", f"older than the {keep} newest complete backups")
        else:
            decide(s, "delete", f"its full {base.name} is rotated out")
    # Never a full (or copy) that a kept differential (a damaged one, say) needs.
    needed = {}
    for s, d in zip(sets, out):
        if d.action == "keep" and not s.name.is_full:
            base = (s.header or {}).get("base") or getattr(base_of(sets, s), "name", None)
            if base is not None:
                needed.setdefault(str(base), str(s.name))
    return [Decision(d.set, "keep", f"the full of kept differential {needed[d.set]}")
            if d.action == "delete" and d.set in needed else d for d in out]


def apply_rotation(target, keep, sets=None, stale_after=DEFAULT_STALE_AFTER,
                   keep_copies=DEFAULT_KEEP_COPIES, copies_only=False):
    """Delete what plan_rotation says to delete, unless it is being read; with *copies_only*
    (after a copy run) only copies.

    Returns the Decisions acted on: ``delete`` for the sets removed, ``postpone`` for those
    being read (a full stays while one of its differentials is), removed by a later run.
    """
    sets = list_sets(target) if sets is None else sets
    by_name = {str(s.name): s for s in sets}
    planned = [d for d in plan_rotation(sets, keep, keep_copies) if d.action == "delete"
               and (not copies_only or by_name[d.set].name.kind == "C")]
    # Differentials first: a full stays while a differential of its chain is being read.
    planned.sort(key=lambda d: by_name[d.set].name.is_full)
    held, done = set(), []
    for d in planned:
        info = by_name[d.set]
        if info.status == INCOMPLETE:  # never read: only the files proven ours go
            log.info("rotation removes %s: %s", d.set, d.reason)
            remove_set(target, info)
            done.append(d)
            continue
        if info.name.is_full and d.set in held:
            why = "a differential of its chain is being read; the next backup removes it"
        else:
            why = remove_unread(target, info, d.reason, stale_after)
        if why is None:
            log.info("rotation removes %s: %s", d.set, d.reason)
            done.append(d)
        else:
            log.warning("rotation postpones the removal of %s (%s): %s", d.set, d.reason, why)
            done.append(Decision(d.set, "postpone", why))
            base = base_of(sets, info)
            if base is not None:
                held.add(str(base.name))
    return done
