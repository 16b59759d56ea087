"""Rotation: keep at most ``keep`` complete backups (a full or copy with its differentials).

Applied only after a new set is committed. A differential is never kept without its full: whole
chains are kept or deleted together, and a differential whose full is gone cannot be restored.
"""

import logging
from dataclasses import dataclass

from .sets import INCOMPLETE, base_of, list_sets, remove_set

log = logging.getLogger("workbench.backup")


@dataclass(frozen=True)
class Decision:
    """What rotation does with one set, and why."""

    set: str
    action: str  # "keep" or "delete"
    reason: str


def plan_rotation(sets, keep):
    """One Decision per set in *sets* (as list_sets returns them), oldest first."""
    fulls = [s for s in sets if s.name.is_full and s.usable]
    kept_fulls = {str(s.name): i + 1 for i, s in enumerate(reversed(fulls)) if i < keep}
    out = []
    for s in sets:
        name = str(s.name)
        if s.status == INCOMPLETE:
            out.append(Decision(name, "delete", "incomplete: its run was interrupted"))
            continue
        base = base_of(sets, s)
        if base is None:
            out.append(Decision(name, "delete", "its full backup is gone, so it cannot be restored"))
        elif str(base.name) in kept_fulls:
            n = kept_fulls[str(base.name)]
            if base is s:
                out.append(Decision(name, "keep", f"complete backup {n} of {keep} kept (newest first)"))
            else:
                out.append(Decision(name, "keep", f"differential of kept full {base.name}"))
        elif base is s:
            out.append(Decision(name, "delete", f"older than the {keep} newest complete backups"))
        else:
            out.append(Decision(name, "delete", f"its full {base.name} is rotated out"))
    return out


def apply_rotation(target, keep, sets=None):
    """Delete what plan_rotation says to delete; return the Decisions acted on."""
    sets = list_sets(target) if sets is None else sets
    by_name = {str(s.name): s for s in sets}
    done = []
    for d in plan_rotation(sets, keep):
        if d.action == "delete":
            log.info("rotation removes %s: %s", d.set, d.reason)
            remove_set(target, by_name[d.set])
            done.append(d)
    return done
