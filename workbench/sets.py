"""The sets on a target: find them, tell complete from incomplete and foreign, load their entries.

A set of ours is *complete* when its manifest is present and valid; volumes of ours (recognised by
the marker in their zip comment) without one belong to an interrupted run and are *incomplete*. Sets
without our marker were written by Kerio Connect itself: they are read from the zips' central
directories, and a differential's full is the newest full or copy before it.
"""

import zipfile
from dataclasses import dataclass, field
from typing import Optional

from .archive import manifest as mf
from .archive.reader import list_zip
from .archive.writer import read_marker
from .errors import IncompleteSet, NoCompleteBackup, SetNotFound, TargetError
from .naming import (LOCK_NAME, PARTIAL_SUFFIX, SetName, index_name, manifest_name,
                     parse_set_name, parse_volume_name)

COMPLETE, INCOMPLETE, FOREIGN = "complete", "incomplete", "foreign"


@dataclass
class SetInfo:
    """One set on a target. ``manifest`` is loaded for complete sets of ours."""

    name: SetName
    volumes: dict = field(default_factory=dict)   # volume index -> (file name, bytes)
    status: str = INCOMPLETE
    manifest: Optional[dict] = None
    leftovers: list = field(default_factory=list)  # temporary files of an interrupted run
    problem: str = ""

    @property
    def base(self):
        """Name of the full this set belongs to (itself for a full or copy)."""
        if self.manifest is not None:
            return self.manifest.get("base") or str(self.name)
        return None if self.name.kind == "D" else str(self.name)

    @property
    def usable(self):
        return self.status in (COMPLETE, FOREIGN)

    def __str__(self):
        return str(self.name)


def list_sets(target, load=True):
    """All sets on *target*, oldest first, with their status (and manifests when *load*)."""
    files = target.list()
    sets = {}

    def get(text):
        sn = parse_set_name(text)
        if sn is None:
            return None
        return sets.setdefault(text, SetInfo(sn))

    for fname, size in files.items():
        base = fname[:-len(PARTIAL_SUFFIX)] if fname.endswith(PARTIAL_SUFFIX) else None
        if base is not None:
            stem = base.split(".", 1)[0]
            info = get(stem)
            if info is not None:
                info.leftovers.append(fname)
            continue
        vol = parse_volume_name(fname)
        if vol:
            get(vol[0]).volumes[vol[1]] = (fname, size)
            continue
        stem = fname.split(".", 1)[0]
        if fname in (manifest_name(stem), index_name(stem)):
            get(stem)
    for text, info in sets.items():
        if manifest_name(text) in files:
            if not load:
                info.status = COMPLETE
                continue
            try:
                info.manifest = mf.decode(target.read_bytes(manifest_name(text)))
                info.status = COMPLETE
            except (ValueError, OSError, EOFError) as e:
                info.problem = f"manifest unreadable: {e}"
                info.status = INCOMPLETE
        elif info.volumes and 0 in info.volumes and not info.leftovers:
            ours = _is_ours(target, info.volumes[0][0])
            info.status = INCOMPLETE if ours else FOREIGN
            if ours is None:
                info.problem = "first volume is not a readable zip"
    return sorted(sets.values(), key=lambda s: s.name)


def _is_ours(target, volume_file):
    try:
        with target.open_read(volume_file) as f, zipfile.ZipFile(f) as z:
            return read_marker(z.comment) is not None
    except (zipfile.BadZipFile, OSError, ValueError):
        # Our volumes are published only once whole, so an unreadable one was not left by a crash
        # of ours: call it foreign (damaged), so that cleanup never deletes it.
        return None


def find_set(sets, name):
    """The SetInfo named *name* (text or SetName) in *sets*; SetNotFound otherwise."""
    for s in sets:
        if str(s.name) == str(name):
            return s
    raise SetNotFound(f"no set named {name} on this target; `workbench sets` lists them")


def base_of(sets, info):
    """The full (F or C) that *info* depends on, or None if it is gone."""
    if info.name.is_full:
        return info
    if info.manifest is not None:
        try:
            base = find_set(sets, info.manifest["base"])
        except SetNotFound:
            return None
        return base if base.usable else None
    # Kerio's differential: the newest usable full or copy before it.
    fulls = [s for s in sets if s.name.is_full and s.usable and s.name.time <= info.name.time]
    return fulls[-1] if fulls else None


def latest_restorable(sets):
    """The newest usable set whose full is present: the newest full with its newest differential."""
    for s in reversed(sets):
        if s.usable and base_of(sets, s) is not None:
            return s
    raise NoCompleteBackup("the target holds no complete backup to restore from; run "
                           "`workbench backup full` first, or check `workbench sets`")


def entries_of(target, sets, info):
    """Every entry of the store as *info* recorded it, each with the set and volume holding it."""
    if info.status == INCOMPLETE:
        raise IncompleteSet(f"set {info.name} is incomplete (its run was interrupted) and cannot be "
                            "used; the next backup removes it")
    if info.manifest is not None:
        return mf.from_columns(info.manifest["entries"])
    return _foreign_entries(target, sets, info)


def _foreign_entries(target, sets, info):
    own = {}
    for index in sorted(info.volumes):
        fname = info.volumes[index][0]
        try:
            with target.open_read(fname) as f:
                entries, _ = list_zip(f, str(info.name), index)
        except (zipfile.BadZipFile, OSError) as e:
            raise TargetError(f"cannot read volume {fname}: {e}") from None
        for e in entries:
            own[e.path] = e
    if info.name.kind == "D":
        base = base_of(sets, info)
        if base is not None:
            inherited = {e.path: e for e in _foreign_entries(target, sets, base)}
            inherited.update(own)
            own = inherited
    return list(own.values())


def leftover_files(sets):
    """Files of interrupted runs: temporary files, and every file of incomplete sets of ours."""
    out = []
    for s in sets:
        out.extend(s.leftovers)
        if s.status == INCOMPLETE:
            out.extend(fname for fname, _ in s.volumes.values())
            out.extend([manifest_name(str(s.name)), index_name(str(s.name))])
    return out


def remove_set(target, info):
    """Delete a set: the manifest first, so that a crash part-way leaves it incomplete, not wrong."""
    name = str(info.name)
    target.remove(manifest_name(name))
    target.remove(index_name(name))
    for fname, _ in info.volumes.values():
        target.remove(fname)
    for fname in info.leftovers:
        target.remove(fname)


__all__ = ["SetInfo", "list_sets", "find_set", "base_of", "latest_restorable", "entries_of",
           "leftover_files", "remove_set", "COMPLETE", "INCOMPLETE", "FOREIGN", "LOCK_NAME"]
