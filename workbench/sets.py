"""The sets on a target: find them, tell complete from incomplete and foreign, load their entries.

A set of ours is *complete* when its manifest is present and valid; volumes of ours (recognised by
the marker in their zip comment) without one belong to an interrupted run and are *incomplete*. Sets
without our marker were written by Kerio Connect itself: they are read from the zips' central
directories, and a differential's full is the newest full or copy before it.
"""

import zipfile
from dataclasses import dataclass, field
from datetime import timezone
from typing import Optional

from .archive import manifest as mf
from .archive.compress import INFLATE_ERRORS
from .archive.reader import list_zip
from .archive.writer import read_marker
from .errors import IncompleteSet, NoCompleteBackup, SetNotFound, TargetError
from .naming import (LOCK_NAME, PARTIAL_SUFFIX, SetName, index_name, manifest_name,
                     parse_set_name, parse_volume_name)

COMPLETE, INCOMPLETE, FOREIGN = "complete", "incomplete", "foreign"


# What reading a damaged manifest raises: bad JSON or columns, a truncated or corrupt gzip.
MANIFEST_ERRORS = (ValueError, OSError, EOFError, *INFLATE_ERRORS)


def unreadable_manifest(set_name, error):
    """The IncompleteSet error for a set whose manifest cannot be read (*error* says why)."""
    return IncompleteSet(f"set {set_name}: manifest unreadable ({error}); it cannot be used")


@dataclass
class SetInfo:
    """One set on a target.

    ``header`` is the manifest's header (kind, base, times, volumes, stats) of a complete set of
    ours; ``manifest`` is the whole manifest, entries included, read on first use and kept.
    """

    name: SetName
    volumes: dict = field(default_factory=dict)   # volume index -> (file name, bytes)
    status: str = INCOMPLETE
    header: Optional[dict] = None
    leftovers: list = field(default_factory=list)  # temporary files of an interrupted run
    problem: str = ""
    target: object = field(default=None, repr=False, compare=False)
    _doc: Optional[dict] = field(default=None, repr=False, compare=False)

    @property
    def manifest(self):
        """The whole manifest (None for foreign and incomplete sets)."""
        if self.header is None:
            return None
        if self._doc is None:
            try:
                self._doc = mf.decode(self.target.read_bytes(manifest_name(str(self.name))))
            except MANIFEST_ERRORS as e:
                raise unreadable_manifest(self.name, e) from None
        return self._doc

    @manifest.setter
    def manifest(self, doc):
        self._doc = doc
        self.header = None if doc is None else {k: v for k, v in doc.items()
                                                 if k not in ("entries", "messages")}

    @property
    def base(self):
        """Name of the full this set belongs to (itself for a full or copy)."""
        if self.header is not None:
            return self.header.get("base") or str(self.name)
        return None if self.name.kind == "D" else str(self.name)

    @property
    def usable(self):
        return self.status in (COMPLETE, FOREIGN)

    def __str__(self):
        return str(self.name)


def list_sets(target, load=True, files=None):
    """All sets on *target*, oldest first, with their status (and manifest headers when *load*).

    *files* is ``target.list()`` when the caller has it already (a round trip saved on SMB).
    """
    files = target.list() if files is None else files
    sets = {}

    def get(text):
        sn = parse_set_name(text)
        if sn is None:
            return None
        return sets.setdefault(text, SetInfo(sn, target=target))

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
                with target.open_read(manifest_name(text)) as f:
                    info.header = mf.decode_header(f)
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
    if info.header is not None:
        try:
            base = find_set(sets, info.header["base"])
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


def entries_of(target, sets, info, on_error=None):
    """Every entry of the store as *info* recorded it, each with the set and volume holding it.

    For a foreign set, a volume whose central directory cannot be read raises TargetError, or,
    given *on_error*, is reported as ``on_error(set name, volume file, message)`` and left out (so
    a restore can still take what the other volumes hold).
    """
    if info.status == INCOMPLETE:
        raise IncompleteSet(f"set {info.name} is incomplete (its run was interrupted) and cannot be "
                            "used; the next backup removes it")
    if info.manifest is not None:
        return mf.from_columns(info.manifest["entries"])
    return _foreign_entries(target, sets, info, on_error)


def _foreign_entries(target, sets, info, on_error=None):
    own = {}
    last = max(info.volumes, default=-1)
    for index in range(last + 1):
        if index not in info.volumes:
            # A gap in the numbering: a lost volume of a set that Kerio wrote.
            message = f"volume {index} is missing (later volumes are present)"
            if on_error is None:
                raise TargetError(f"set {info.name}: {message}")
            on_error(str(info.name), f"{info.name}.{index}.zip", message)
            continue
        fname = info.volumes[index][0]
        try:
            with target.open_read(fname) as f:
                entries, _ = list_zip(f, str(info.name), index)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
            if on_error is None:
                raise TargetError(f"cannot read volume {fname}: {e}") from None
            on_error(str(info.name), fname, f"cannot read the volume's directory: {e}")
            continue
        for e in entries:
            own[e.path] = e
    if info.name.kind == "D":
        base = base_of(sets, info)
        if base is not None:
            inherited = {e.path: e for e in _foreign_entries(target, sets, base, on_error)}
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


__all__ = ["SetInfo", "list_sets", "find_set", "base_of", "latest_restorable", "choose_set",
           "entries_of", "leftover_files", "remove_set", "COMPLETE", "INCOMPLETE", "FOREIGN",
           "LOCK_NAME"]


def choose_set(sets, at=None):
    """The set a recovery at time *at* uses: the newest restorable set started at or before *at*.

    Restorable means complete (or foreign, as Kerio wrote it) with its full present: an incomplete
    set is never chosen, nor a differential whose full is gone. For a differential the recovery
    reads its full too (``base_of``); with ``differentials = "all"`` each kept differential is a
    time that can be chosen.

    Parameters
    ----------
    sets : list of SetInfo
        As list_sets returns them.
    at : datetime, optional
        The time to recover to (naive means UTC); default: the newest restorable set.

    Returns
    -------
    SetInfo

    Raises
    ------
    NoCompleteBackup
        If no restorable set was started at or before *at*.
    """
    if at is not None:
        if at.tzinfo is None:
            at = at.replace(tzinfo=timezone.utc)
    for s in sorted(sets, key=lambda s: s.name, reverse=True):
        if at is not None and s.name.time > at:
            continue
        if s.usable and base_of(sets, s) is not None:
            return s
    when = f" at or before {at.isoformat()}" if at is not None else ""
    raise NoCompleteBackup(f"the target holds no complete backup{when} to restore from; "
                           "`workbench sets` lists the sets and their status")
