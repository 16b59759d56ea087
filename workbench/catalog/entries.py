"""``read_entries``: one row per file a set lists (stored in it, inherited from its full, or
deleted since), cached per manifest; sets made by Kerio from their volumes' central
directories."""

import numpy as np
import pandas as pd

from ..archive import manifest as mf
from ..lease import read_lease
from ..sets import COMPLETE, DAMAGED, INCOMPLETE, base_of, entries_of, skipped_entries
from .fleet import over_targets
from .frames import (categorical, categorical_from_codes, concat, constant_category,
                     fixed_category, ints, text, text_isin, times_ns, with_set_dtype)
from .manifests import Coded, held_sets, load_sets, manifest_of, pick
from .settings import settings


ENTRY_COLUMNS = ("set", "path", "file_kind", "domain", "user", "folder", "size",
                 "compressed_size", "mtime", "crc32", "stored_in", "volume", "change", "skipped")


CHANGES = ("added", "changed", "unchanged", "deleted")


def read_entries(target=None, set=None, storage_options=None, config=None):
    """One row per file a set lists: stored in it, inherited from its full, or deleted since.

    Parameters
    ----------
    target : str, os.PathLike, Target or list of them, optional
        See read_sets (default: the config's target).
    set : str, optional
        The set to read (default: the one a recovery now would use, see recovery_plan).
    storage_options : dict, optional
        Passed to ``open_target``.
    config : Config or str, optional
        See read_sets.

    Returns
    -------
    pandas.DataFrame
        ``set`` (the set read), ``path`` (str, relative to the server directory), ``file_kind``
        (category: message, folder, public, archive, config, license, certificate, lists, spam,
        other), ``domain``, ``user``, ``folder`` (category, missing where they do not apply),
        ``size`` (Int64: the file's bytes in the store), ``compressed_size`` (Int64: its data's
        bytes in the volume), ``mtime`` (UTC datetime, to the nanosecond), ``crc32`` (Int64),
        ``stored_in`` (the set whose volume holds the data), ``volume`` (Int64: that volume's
        number, as read_volumes' ``volume``), ``change`` (category, relative to the set's
        full: ``added`` and ``changed`` files are stored in this set, ``unchanged`` ones in the
        full, ``deleted`` ones were in the full and are gone from the store; every file of a full
        or copy is ``added``; missing for a skipped file) and ``skipped`` (category: missing for
        the files the set holds; for a file the backup recorded but did not store, the reason,
        ``oversize``: larger than the volume size; such a row has no ``stored_in``, ``volume``,
        ``compressed_size`` or ``crc32``). A Kerio differential records no deletions. Set names
        are an ordered category (oldest set first); docs/catalog.md has every column.

    Raises
    ------
    SetNotFound, IncompleteSet, DamagedSet, NoCompleteBackup
    """
    cfg = settings(config)
    return over_targets(target, storage_options, lambda t, s: _read_entries(t, set), cfg)


def _read_entries(target, name, include_deleted=True):
    sets, _ = load_sets(target)
    df = cached_frame(target, sets, pick(sets, name), "entries")
    if df is None:
        with read_lease(target) as lease:
            sets = held_sets(target, lease, lambda ss: [pick(ss, name)])
            df = entries_frame(target, sets, pick(sets, name))
    if not include_deleted:
        df = df[df["change"] != "deleted"]
    return with_set_dtype(df.copy(), [str(s.name) for s in sets])


def _core_entries(target, info):
    """The cached entries frame of a set of ours, straight from its manifest columns."""
    m = manifest_of(target, str(info.name), copy=info.copy)
    with m.lock:
        df = m.frames.get("entries")
        if df is None:
            df = frame_from_columns(m.columns("entries", _entry_column, info), converted=True)
            m.frames["entries"] = df
    return df


_ENTRY_FRAME_COLUMNS = {"path": "path", "kind": "file_kind", "domain": "domain", "user": "user",
                        "folder": "folder", "size": "size", "csize": "compressed_size",
                        "mtime_ns": "mtime", "crc32": "crc32", "stored_in": "stored_in",
                        "volume": "volume"}


def _entry_column(name, values):
    """One manifest entry column as the frame's column (None for the columns not kept)."""
    if name == "path":
        return text(values)
    if isinstance(values, Coded):
        return categorical_from_codes(values)
    if name in ("kind", "domain", "user", "folder", "stored_in"):
        return categorical(values)
    if name == "mtime_ns":
        return times_ns(values)
    if name in ("size", "csize", "crc32", "volume"):
        return ints(values)
    return None


def frame_from_columns(c, converted=False):
    """The entries frame (without ``set`` and ``change``) from manifest columns."""
    if not converted:
        c = {name: _entry_column(name, values) for name, values in c.items()}
    return pd.DataFrame({_ENTRY_FRAME_COLUMNS[k]: c[k] for k in _ENTRY_FRAME_COLUMNS},
                        index=pd.RangeIndex(len(c["path"])))


def _cached_entries(target, sets, info):
    """``(frame or None, manifest, cache key)`` of *info*'s entries frame, from the cache."""
    base = base_of(sets, info)
    m = manifest_of(target, str(info.name), copy=info.copy)
    key = ("read_entries", None if base is None or base is info or base.header is None else
           (str(base.name), manifest_of(target, str(base.name), copy=base.copy).stamp))
    with m.lock:
        return m.frames.get(key), m, key


def cached_frame(target, sets, info, frame):
    """The *frame* ("entries" or "messages") of a set of ours if the cache has it, else None:
    a reader that reads nothing from the target needs no lease."""
    if info.header is None or info.status not in (COMPLETE, DAMAGED):
        return None
    if frame == "entries":
        return _cached_entries(target, sets, info)[0]
    m = manifest_of(target, str(info.name), copy=info.copy)
    with m.lock:
        return m.frames.get("read_messages")


def entries_frame(target, sets, info):
    """The entries frame of *info* with ``set`` and ``change`` (cached for sets of ours)."""
    name = str(info.name)
    if info.status == INCOMPLETE or (info.status == DAMAGED and info.header is None):
        entries_of(target, sets, info)  # raises IncompleteSet or DamagedSet with its message
    if info.header is None:
        return _foreign_frame(target, sets, info)
    hit, m, key = _cached_entries(target, sets, info)
    if hit is not None:
        return hit
    base = base_of(sets, info)
    core = _core_entries(target, info)
    own = (core["stored_in"] == name).to_numpy()
    if base is None or base is info or base.header is None:
        change = np.where(own, 0, 2)
        deleted = None
    else:
        base_core = _core_entries(target, base)
        in_base = np.ones(len(core), dtype=bool)
        in_base[own] = text_isin(core["path"][own], base_core["path"])
        change = np.where(own, np.where(in_base, 1, 0), 2)
        deleted = None
        if int((~own).sum()) + int((own & in_base).sum()) < len(base_core):
            gone = ~text_isin(base_core["path"], core["path"])
            if gone.any():
                deleted = base_core[gone]
    df = core.copy()
    df["change"] = _changes(change)
    if deleted is not None:
        deleted = deleted.copy()
        deleted["change"] = _changes(np.full(len(deleted), 3, dtype=np.int8))
        df = concat([df, deleted])
    df = _with_skipped(df, info)
    df.insert(0, "set", constant_category(name, len(df)))
    with m.lock:
        m.frames[key] = df
    return df


def _with_skipped(df, info):
    """*df* with the ``skipped`` column, and a row for each file *info* skipped at backup."""
    skipped = skipped_entries(info)
    reasons = [None] * len(df)
    if skipped:
        c = {col: [getattr(e, col) for e in skipped] for col in mf.COLUMNS}
        c["stored_in"] = [None] * len(skipped)
        extra = frame_from_columns(c)
        for col in ("compressed_size", "crc32", "volume"):
            extra[col] = pd.array([None] * len(skipped), dtype="Int64")
        extra["change"] = _changes(np.full(len(skipped), -1, dtype=np.int8))
        df = concat([df, extra])
        reasons += [e.skipped for e in skipped]
    df["skipped"] = _reasons(reasons)
    return df


def _foreign_frame(target, sets, info):
    """Entries of a set without a manifest (Kerio's), from its volumes' central directories."""
    name = str(info.name)
    entries = entries_of(target, sets, info)
    c = {col: [getattr(e, col) for e in entries] for col in mf.COLUMNS}
    df = frame_from_columns(c)
    own = (df["stored_in"] == name).to_numpy()
    base = base_of(sets, info)
    if base is not None and base is not info:
        base_paths = {e.path for e in entries_of(target, sets, base)}
        in_base = np.fromiter((p in base_paths for p in c["path"]), dtype=bool, count=len(df))
        change = np.where(own, np.where(in_base, 1, 0), 2)
    else:
        change = np.where(own, 0, 2)
    df["change"] = _changes(change)
    df["skipped"] = _reasons([None] * len(df))
    df.insert(0, "set", constant_category(name, len(df)))
    return df


def empty_entries_frame():
    """The read_entries frame without rows (its columns and dtypes)."""
    df = frame_from_columns({c: [] for c in _ENTRY_FRAME_COLUMNS})
    df["change"] = _changes([])
    df["skipped"] = _reasons([])
    df.insert(0, "set", fixed_category([], []))
    return df


def _changes(codes):
    return pd.Categorical.from_codes(np.asarray(codes, dtype=np.int8),
                                     dtype=fixed_category([], CHANGES).dtype)


def _reasons(reasons):
    """The ``skipped`` column: text categories even when no file was skipped."""
    return fixed_category(reasons, sorted({r for r in reasons if r is not None}))
