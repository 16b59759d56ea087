"""``read_sets`` and ``read_volumes``: one row per set, one row per volume file."""

import pandas as pd

from ..archive.reader import read_volume_end
from ..sets import FOREIGN, base_of, find_set
from .fleet import over_targets
from .frames import (ROTATIONS, SET_KINDS, STATUSES, UTC_NS, fixed_category, set_dtype, set_time,
                     text, with_set_dtype)
from .manifests import load_sets
from .settings import rotation_decisions, settings


SET_COLUMNS = ("set", "kind", "base", "chain", "started", "finished", "status", "foreign",
               "files", "stored_files", "stored_size", "volumes", "volume_bytes", "skipped",
               "rotation", "rotation_reason", "problem")


VOLUME_COLUMNS = ("set", "volume", "file", "volume_bytes", "members", "problem")


def read_sets(target=None, keep=None, storage_options=None, config=None, keep_copies=None):
    """One row per set on *target*, oldest first.

    Parameters
    ----------
    target : str, os.PathLike, Target or list of them, optional
        A directory, ``smb://`` URL or UNC path, a Target, or a list (adds a ``target`` column).
        Default: the config's target.
    keep : int, optional
        The rotation limit the ``rotation`` column is computed under (default: the config's
        ``keep``, 7 without one: complete backups, fulls with their differentials).
    storage_options : dict, optional
        Passed to ``open_target`` (SMB credentials and such; the config's are the defaults).
    config : Config or str, optional
        A Config or a config file (default: ``$WORKBENCH_CONFIG``, else the defaults), read as
        the command line reads it: its target, SMB settings, ``keep`` and ``keep_copies``.
    keep_copies : int, optional
        The copies ("Start now") kept beside the chains, for the ``rotation`` column (default:
        the config's ``keep_copies``, 3 without one).

    Returns
    -------
    pandas.DataFrame
        ``set`` (the set's name: an ordered category, oldest first), ``kind`` (category F/D/C),
        ``base`` (the full a differential is based on; missing for a full or copy, which have
        none), ``chain`` (the full or copy heading the set's chain: the set itself for a full or
        copy), ``started`` (UTC datetime: the set's time, as its name says, to the second),
        ``finished`` (UTC datetime to the second; missing for sets without a manifest),
        ``status`` (category: complete, incomplete, damaged: a volume is missing or has the wrong
        size, the manifest is unreadable, or a Kerio set is not whole; unsupported: a layout that
        cannot be read, such as a split zip archive), ``foreign`` (bool: made by Kerio Connect,
        no manifest), ``files`` (entries listed), ``stored_files`` (entries whose data the set
        holds), ``stored_size`` (the store bytes of those files), ``volumes`` (volume files),
        ``volume_bytes`` (bytes of its volume files on the target) and ``skipped`` (files not
        backed up), all Int64 and missing where unknown, ``rotation`` (category: keep or
        delete-next under *keep* and *keep_copies*), ``rotation_reason`` (str) and ``problem``
        (str, empty when fine). docs/catalog.md has every frame's columns.
    """
    cfg = settings(config)
    return over_targets(target, storage_options,
                        lambda t, s: _read_sets(t, s, keep, keep_copies), cfg)


def set_status(info, files=None):
    """complete, incomplete, damaged or unsupported, as workbench.sets says
    (``SetInfo.shown_status``: load_sets has checked the volumes against the manifests)."""
    return info.shown_status


def _read_sets(target, server, keep, keep_copies=None, listing=None):
    """The read_sets frame of *target* under *server*'s settings (from *listing*, a load_sets
    result, when the caller has one)."""
    sets, files = listing or load_sets(target)
    decisions = rotation_decisions(sets, server.config, keep,
                                   server.keep_copies if keep_copies is None else keep_copies)
    rows = []
    for s in sets:
        name = str(s.name)
        m = s.header or {}
        stats = m.get("stats") or {}
        base = base_of(sets, s) if s.usable else None
        d = decisions.get(name)
        rows.append({
            "set": name, "kind": s.name.kind,
            "base": (m.get("base") or (str(base.name) if base is not None and base is not s
                                       else None)) if s.name.kind == "D" else None,
            "chain": str(base.name) if base is not None else (m.get("base") or None),
            "started": set_time(s.name.time), "finished": set_time(m.get("finished")),
            "status": set_status(s, files), "foreign": s.status == FOREIGN,
            "files": stats.get("files"), "stored_files": stats.get("stored"),
            "stored_size": stats.get("bytes_in"), "volumes": len(s.volumes),
            "volume_bytes": sum(size for _, size in s.volumes.values()),
            "skipped": len(m["skipped"]) if "skipped" in m else None,
            "rotation": None if d is None else ("keep" if d.action == "keep" else "delete-next"),
            "rotation_reason": "" if d is None else d.reason,
            "problem": s.problem,
        })
    return sets_frame(rows)


def sets_frame(rows):
    """The read_sets frame of *rows* (dicts of SET_COLUMNS); no rows: the empty frame."""
    cols = {c: [r[c] for r in rows] for c in SET_COLUMNS}
    names = set_dtype(cols["set"] + cols["base"] + cols["chain"])
    return pd.DataFrame({
        **{c: pd.Categorical(cols[c], dtype=names) for c in ("set", "base", "chain")},
        "kind": fixed_category(cols["kind"], SET_KINDS),
        "started": pd.Series(cols["started"], dtype="object").astype(UTC_NS),
        "finished": pd.Series(cols["finished"], dtype="object").astype(UTC_NS),
        "status": fixed_category(cols["status"], STATUSES),
        "foreign": pd.Series(cols["foreign"], dtype="bool"),
        **{c: pd.array(cols[c], dtype="Int64") for c in ("files", "stored_files", "stored_size",
                                                         "volumes", "volume_bytes", "skipped")},
        "rotation": fixed_category(cols["rotation"], ROTATIONS),
        "rotation_reason": text(cols["rotation_reason"]),
        "problem": text(cols["problem"]),
    }, columns=list(SET_COLUMNS))


def read_volumes(target=None, sets=None, storage_options=None, config=None):
    """One row per volume file of the sets on *target*.

    Parameters
    ----------
    target : str, os.PathLike, Target or list of them, optional
        See read_sets (default: the config's target).
    sets : str or list of str, optional
        Set names to include (default: every set).
    storage_options : dict, optional
        Passed to ``open_target``.
    config : Config or str, optional
        See read_sets.

    Returns
    -------
    pandas.DataFrame
        ``set``, ``volume`` (Int64: 0 for ``X.zip``, 1 for ``X.1.zip``, ...; read_entries'
        ``volume``), ``file`` (str), ``volume_bytes`` (Int64: the file's bytes on the target,
        missing if it is gone), ``members`` (Int64: zip members, from the manifest, or for a Kerio
        set from the volume's end record; missing if unreadable) and ``problem`` (str, empty
        when fine).
    """
    cfg = settings(config)
    return over_targets(target, storage_options, lambda t, s: _read_volumes(t, sets), cfg)


def _read_volumes(target, wanted, listing=None):
    all_sets, files = listing or load_sets(target)
    if wanted is not None:
        names = [wanted] if isinstance(wanted, str) else [str(w) for w in wanted]
        chosen = [find_set(all_sets, n) for n in names]
    else:
        chosen = all_sets
    rows = []
    for s in chosen:
        listed = {}
        if s.header is not None:
            for i, v in enumerate(s.header.get("volumes", [])):
                listed[i] = v
        for i in sorted(set(listed) | set(s.volumes)):
            fname = s.volumes[i][0] if i in s.volumes else listed[i]["name"]
            size = files.get(fname)
            problem = ""
            if i in listed:
                members = listed[i].get("members")
                if size is None:
                    problem = "missing"
                elif size != listed[i]["bytes"]:
                    problem = f"{size} bytes, manifest says {listed[i]['bytes']}"
            elif s.header is not None:
                members, problem = None, "not listed in the manifest"
            else:
                members = _zip_member_count(target, fname)
                if members is None:
                    problem = "not a readable zip"
            rows.append((str(s.name), i, fname, size, members, problem))
    return volumes_frame(rows, [str(s.name) for s in all_sets])


def volumes_frame(rows, names=()):
    """The read_volumes frame of *rows* (set, volume, file, volume_bytes, members, problem);
    *names* are the target's sets, the categories of ``set``."""
    cols = [list(c) for c in zip(*rows)] if rows else [[] for _ in VOLUME_COLUMNS]
    df = pd.DataFrame({
        "set": pd.Categorical(cols[0], dtype=set_dtype(cols[0])),
        "volume": pd.array(cols[1], dtype="Int64"), "file": text(cols[2]),
        "volume_bytes": pd.array(cols[3], dtype="Int64"),
        "members": pd.array(cols[4], dtype="Int64"), "problem": text(cols[5]),
    }, columns=list(VOLUME_COLUMNS))
    return with_set_dtype(df, names)


def _zip_member_count(target, fname):
    """Members of a zip from its end records only (the central directory is not read); None if
    it is no readable zip."""
    try:
        with target.open_read(fname) as f:
            return read_volume_end(f).members
    except (OSError, ValueError):
        return None
