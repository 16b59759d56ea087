"""Verify that sets can be restored, and name exactly what cannot.

Three levels: ``catalog`` (each set complete, its manifest consistent, every volume present with the
size the manifest records, every entry inside a volume that exists, a differential's full present;
for Kerio's own sets, every volume's central directory readable and no gap in their numbering; no
member declaring a size past ``max_member_size`` or ``max_ratio``; no member that a restore
refuses: an absolute path, ``..``, a backslash, a drive letter, a NUL, a symbolic link, a name
listed twice), ``data`` (the catalog checks, then every member read,
inflated, no further than its declared size, and its CRC-32 and size checked, each volume read once
in offset order on every core) and ``sample=P`` (the same on a random P % of the members). Each
problem is one :class:`Problem` naming the set, volume, path and user it affects.
"""

import math
import os
import random
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Optional

from .archive.reader import check_declared, copy_member, copy_payload, inflates_whole, unpack
from .config import Config, validate
from .errors import CorruptVolume, MemberTooLarge, WorkbenchError
from .lease import read_lease
from .naming import volume_name
from .progress import Meter
from .archive.reader import read_volume
from .sets import (DAMAGED, FOREIGN, INCOMPLETE, READABLE, UNSUPPORTED, base_of, entries_of,
                   find_set, list_sets, listed_twice, refusal, resolve_source, skipped_entries,
                   twice_reason)
from .targets import open_target

@dataclass(frozen=True)
class Problem:
    """One problem found: the set and volume holding the data, the member path and its user
    (``user@domain``, or None for files outside mailboxes), and what is wrong."""

    set: Optional[str]
    volume: Optional[str]
    path: Optional[str]
    user: Optional[str]
    problem: str

    def as_dict(self):
        return asdict(self)


def parse_level(level):
    """``("catalog" | "data", fraction of members read)`` from ``catalog``, ``data``, ``sample=P``."""
    text = str(level).strip().lower()
    if text == "catalog":
        return "catalog", 0.0
    if text == "data":
        return "data", 1.0
    if text.startswith("sample="):
        try:
            p = float(text[len("sample="):].rstrip("%"))
        except ValueError:
            p = -1
        if 0 < p <= 100:
            return "data", p / 100
    raise WorkbenchError(f"--level {level!r}: use catalog, data or sample=P with P a percentage "
                         "from 0 (exclusive) to 100, e.g. sample=5")


def _user(entry):
    if entry.user and entry.domain:
        return f"{entry.user}@{entry.domain}"
    return None


def verify(set=None, *, level="data", seed=None, config=None, progress=None, skipped=None,
           **settings):
    """Check sets on the target; return the problems found (an empty list when all is well).

    Parameters
    ----------
    set : str, optional
        A set name, a backup directory or a set's first volume (``X.zip``); default: every set on
        the target. A differential is checked together with the members it needs from its full.
    level : {"catalog", "data", "sample=P"}
    seed : int, optional
        Seed of the random choice of ``sample=P`` (default: a new choice each time).
    progress : callable(Progress), optional
    skipped : list, optional
        Gets ``(set name, Entry)`` for each file of the checked sets that their backup recorded
        without storing it (``Entry.skipped`` says why, e.g. larger than the volume size): not a
        problem of the set, but a file no restore can bring back, for the caller to name.
    config, **settings
        As for :func:`workbench.restore` (``target`` names the backup directory).

    Returns
    -------
    list of Problem
    """
    kind, fraction = parse_level(level)
    cfg = validate(settings, config or Config())
    target_url, name = resolve_source(set, cfg.target) if set is not None else (cfg.target, None)
    target = open_target(target_url or cfg.target_or_default,
                         **cfg.target_options)
    with read_lease(target, cfg.lock_stale_after) as lease:
        # Held before any manifest or volume is read: rotation keeps away meanwhile.
        # Every set: but those being removed by rotation, which are no backups any more.
        names = [name] if name is not None else [str(s.name) for s in
                                                  list_sets(target, load=False) if not s.markers]
        sets = list_sets(target, files=lease.settle(names))
        chosen = [find_set(sets, name)] if name is not None else [
            s for s in sets if str(s.name) in names]
        lease.settle({str(b.name) for b in (base_of(sets, s) for s in chosen) if b is not None})
        problems = []
        members = {}  # (set, volume, offset) -> Entry, each member checked once
        for info in chosen:
            info.unlocked()  # an encrypted set without its password: PasswordMissing, not damage
            if skipped is not None:
                skipped.extend((str(info.name), e) for e in skipped_entries(info))
            for entry in _check_catalog(target, sets, info, problems, cfg):
                members.setdefault((entry.stored_in, entry.volume, entry.offset), entry)
        if kind == "data":
            todo = list(members.values())
            if fraction < 1.0 and todo:
                todo = random.Random(seed).sample(todo, max(1, math.ceil(len(todo) * fraction)))
            problems += _check_data(target, sets, todo, progress)
    return problems


def _check_catalog(target, sets, info, problems, cfg):
    """Append the catalog problems of *info*; return its entries whose data can be read (members
    declaring sizes past the limits of *cfg* are problems, never inflated)."""
    name = str(info.name)
    if info.status == INCOMPLETE:
        problems.append(Problem(name, None, None, None, "incomplete set (no valid manifest: an "
                                "interrupted run); it cannot be restored"
                                + (f"; {info.problem}" if info.problem else "")))
        return []
    if info.status == UNSUPPORTED:
        problems.append(Problem(name, None, None, None, f"unsupported set: {info.problem}; it "
                                "cannot be restored"))
        return []
    if info.status == DAMAGED:
        problems.append(Problem(name, None, None, None, f"damaged set: {info.problem}"))
        try:
            info.manifest  # the copy in its last volume, where there is one
        except WorkbenchError as e:
            problems.append(Problem(name, None, None, None, str(e)))
            return []
        if info.manifest is None:
            return []
    if base_of(sets, info) is None:
        problems.append(Problem(name, None, None, None, "differential whose full backup is gone; "
                                "it cannot be restored"))
        return []
    if info.status == FOREIGN:
        entries = entries_of(target, sets, info, on_error=lambda s, v, m: problems.append(
            Problem(s, v, None, None, m)))
    else:
        try:
            entries = entries_of(target, sets, info)
        except WorkbenchError as e:  # a manifest damaged past its header, without a copy
            problems.append(Problem(name, None, None, None, str(e)))
            return []
        for vol in info.manifest.get("volumes", []):
            present = {fname: size for fname, size in info.volumes.values()}
            if vol["name"] in present and present[vol["name"]] != vol["bytes"]:
                problems.append(Problem(name, vol["name"], None, None,
                                        f"volume is {present[vol['name']]} bytes, the manifest "
                                        f"says {vol['bytes']}"))
    by_name = {str(s.name): s for s in sets}
    readable = []
    twice, told = listed_twice(entries), set()

    def where(e):
        src = by_name.get(e.stored_in)
        return src.volumes[e.volume][0] if src and e.volume in src.volumes else None

    for e in entries:
        src = by_name.get(e.stored_in)
        refused = refusal(e) or (twice_reason(e.path) if e.path in twice else None)
        if refused:  # what a restore refuses to write is not a backup of it
            if (e.path, refused) not in told:
                told.add((e.path, refused))
                problems.append(Problem(e.stored_in, where(e), e.path, _user(e), refused))
            continue
        if src is None or src.status not in READABLE:
            problems.append(Problem(e.stored_in, None, e.path, _user(e),
                                    f"needed by {name} but set {e.stored_in} is gone"))
        elif e.volume not in src.volumes:
            problems.append(Problem(e.stored_in, volume_name(e.stored_in, e.volume), e.path,
                                    _user(e), "volume missing"))
        elif e.offset + e.csize > src.volumes[e.volume][1]:
            problems.append(Problem(e.stored_in, src.volumes[e.volume][0], e.path, _user(e),
                                    "member lies beyond the end of the volume (truncated)"))
        else:
            try:
                check_declared(e, cfg.max_member_size, cfg.max_ratio)
            except MemberTooLarge as err:
                problems.append(Problem(e.stored_in, src.volumes[e.volume][0], e.path, _user(e),
                                        str(err)))
                continue
            readable.append(e)
    return readable


def _check_data(target, sets, entries, progress):
    by_name = {str(s.name): s for s in sets}
    groups = {}
    for e in entries:
        groups.setdefault((e.stored_in, e.volume), []).append(e)
    problems = []
    meter = Meter(progress, "verify", len(entries), sum(e.size for e in entries))

    def check(entry, payload):
        if not inflates_whole(entry):
            if copy_payload(entry, payload, _Sink()) != entry.crc32:
                raise CorruptVolume("CRC-32 does not match (data damaged)")
            return
        data = unpack(entry, payload)
        if len(data) != entry.size or zlib.crc32(data) != entry.crc32:
            raise CorruptVolume("CRC-32 or size does not match (data damaged)")

    def check_stream(f, entry):
        if copy_member(f, entry, _Sink(), target.backup_password) != entry.crc32:
            raise CorruptVolume("CRC-32 does not match (data damaged)")

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        for key in sorted(groups):
            fname = by_name[key[0]].volumes[key[1]][0]

            def fail(entry, err, fname=fname):
                reason = str(err) if isinstance(err, CorruptVolume) else f"unreadable: {err}"
                problems.append(Problem(entry.stored_in, fname, entry.path, _user(entry), reason))

            read_volume(target, fname, sorted(groups[key], key=lambda e: e.offset), pool, check,
                        check_stream, fail, lambda e: meter.add(1, e.size, e.path))
    meter.report(force=True)
    return sorted(problems, key=lambda p: (p.set or "", p.volume or "", p.path or ""))


class _Sink:
    def write(self, data):
        return len(data)


__all__ = ["verify", "Problem", "parse_level"]
