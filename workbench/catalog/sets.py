"""``read_sets`` and ``read_volumes``: one row per set, one row per volume file."""

import pandas as pd

from ..archive.reader import read_volume_end
from ..config import Config
from ..rotation import plan_rotation
from ..sets import FOREIGN, base_of, find_set
from .frames import STATUSES, UTC_NS, iso_time, over_targets
from .manifests import load_sets


SET_COLUMNS = ("name", "kind", "base", "chain", "started", "finished", "status", "foreign", "files",
               "stored", "bytes_in", "bytes_out", "volumes", "skipped", "rotation",
               "rotation_reason", "problem")


VOLUME_COLUMNS = ("set", "index", "file", "bytes", "members", "problem")


def read_sets(target, keep=None, storage_options=None, keep_copies=None):
    """One row per set on *target*, oldest first.

    Parameters
    ----------
    target : str, os.PathLike, Target or list of them
        A directory, ``smb://`` URL or UNC path, a Target, or a list (adds a ``target`` column).
    keep : int, optional
        The rotation limit the ``rotation`` column is computed under (default: the config
        default, 7 complete backups: fulls with their differentials).
    storage_options : dict, optional
        Passed to ``open_target`` (SMB credentials and such).
    keep_copies : int, optional
        The copies ("Start now") kept beside the chains, for the ``rotation`` column (default:
        the config default, 3).

    Returns
    -------
    pandas.DataFrame
        ``name`` (str), ``kind`` (category F/D/C), ``base`` (str: the full a differential
        belongs to; missing for a full or copy), ``chain`` (str: the full heading the set's chain,
        the set itself for a full), ``started``/``finished`` (UTC datetimes; ``finished`` missing
        for sets without a manifest), ``status`` (category: complete, incomplete, damaged: a
        volume is missing or has the wrong size, the manifest is unreadable, or a Kerio set is
        not whole; unsupported: a layout that cannot be read, such as a split zip archive),
        ``foreign`` (bool: made by Kerio Connect, no manifest), ``files`` (entries listed),
        ``stored`` (entries whose data the set holds), ``bytes_in`` (bytes of those files),
        ``bytes_out`` (bytes of its volume files on the target), ``volumes`` and ``skipped``
        (counts, Int64; missing where unknown), ``rotation`` (category: keep or delete-next under
        *keep* and *keep_copies*), ``rotation_reason`` (str) and ``problem`` (str, empty when fine).
    """
    keep = Config().keep if keep is None else keep
    keep_copies = Config().keep_copies if keep_copies is None else keep_copies
    return over_targets(target, storage_options, lambda t: _read_sets(t, keep, keep_copies))


def set_status(info, files=None):
    """complete, incomplete, damaged or unsupported, as workbench.sets says
    (``SetInfo.shown_status``: load_sets has checked the volumes against the manifests)."""
    return info.shown_status


def _read_sets(target, keep, keep_copies):
    sets, files = load_sets(target)
    decisions = {d.set: d for d in plan_rotation(sets, keep, keep_copies)}
    rows = []
    for s in sets:
        name = str(s.name)
        m = s.header or {}
        stats = m.get("stats") or {}
        base = base_of(sets, s) if s.usable else None
        d = decisions.get(name)
        rows.append({
            "name": name, "kind": s.name.kind,
            "base": (m.get("base") or (str(base.name) if base is not None and base is not s
                                       else None)) if s.name.kind == "D" else None,
            "chain": str(base.name) if base is not None else (m.get("base") or None),
            "started": iso_time(m.get("started")) if m.get("started") else pd.Timestamp(s.name.time),
            "finished": iso_time(m.get("finished")),
            "status": set_status(s, files), "foreign": s.status == FOREIGN,
            "files": stats.get("files"), "stored": stats.get("stored"),
            "bytes_in": stats.get("bytes_in"),
            "bytes_out": sum(size for _, size in s.volumes.values()),
            "volumes": len(s.volumes),
            "skipped": len(m["skipped"]) if "skipped" in m else None,
            "rotation": None if d is None else ("keep" if d.action == "keep" else "delete-next"),
            "rotation_reason": "" if d is None else d.reason,
            "problem": s.problem,
        })
    return _sets_frame(rows)


def _sets_frame(rows):
    cols = {c: [r[c] for r in rows] for c in SET_COLUMNS}
    return pd.DataFrame({
        "name": pd.Series(cols["name"], dtype="str"),
        "kind": pd.Categorical(cols["kind"], categories=["F", "D", "C"]),
        "base": pd.Series(cols["base"], dtype="str"),
        "chain": pd.Series(cols["chain"], dtype="str"),
        "started": pd.Series(cols["started"], dtype="object").astype(UTC_NS),
        "finished": pd.Series(cols["finished"], dtype="object").astype(UTC_NS),
        "status": pd.Categorical(cols["status"], categories=list(STATUSES)),
        "foreign": pd.Series(cols["foreign"], dtype="bool"),
        **{c: pd.array(cols[c], dtype="Int64") for c in ("files", "stored", "bytes_in",
                                                         "bytes_out", "volumes", "skipped")},
        "rotation": pd.Categorical(cols["rotation"], categories=["keep", "delete-next"]),
        "rotation_reason": pd.Series(cols["rotation_reason"], dtype="str"),
        "problem": pd.Series(cols["problem"], dtype="str"),
    }, columns=list(SET_COLUMNS))


def read_volumes(target, sets=None, storage_options=None):
    """One row per volume file of the sets on *target*.

    Parameters
    ----------
    target : str, os.PathLike, Target or list of them
        See read_sets.
    sets : str or list of str, optional
        Set names to include (default: every set).
    storage_options : dict, optional
        Passed to ``open_target``.

    Returns
    -------
    pandas.DataFrame
        ``set`` (category), ``index`` (Int64: 0 for ``X.zip``, 1 for ``X.1.zip``, ...), ``file``
        (str), ``bytes`` (Int64: size on the target, missing if the file is gone), ``members``
        (Int64: zip members, from the manifest, or for a Kerio set from the volume's end record;
        missing if unreadable) and ``problem`` (str, empty when fine).
    """
    return over_targets(target, storage_options, lambda t: _read_volumes(t, sets))


def _read_volumes(target, wanted):
    all_sets, files = load_sets(target)
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
    cols = list(zip(*rows)) if rows else [[] for _ in VOLUME_COLUMNS]
    return pd.DataFrame({
        "set": pd.Categorical(cols[0]), "index": pd.array(cols[1], dtype="Int64"),
        "file": pd.Series(cols[2], dtype="str"), "bytes": pd.array(cols[3], dtype="Int64"),
        "members": pd.array(cols[4], dtype="Int64"), "problem": pd.Series(cols[5], dtype="str"),
    }, columns=list(VOLUME_COLUMNS))


def _zip_member_count(target, fname):
    """Members of a zip from its end records only (the central directory is not read); None if
    it is no readable zip."""
    try:
        with target.open_read(fname) as f:
            return read_volume_end(f).members
    except (OSError, ValueError):
        return None
