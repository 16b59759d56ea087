"""The catalog: backup sets, volumes, files and messages on a target, as pandas DataFrames.

The one module of workbench that imports pandas. Every reader takes a *target* (a directory path,
an ``smb://`` URL or UNC path with ``storage_options`` for ``open_target``, or a Target object) or a
list of them, in which case the frames of all targets are concatenated with a ``target`` column
in front, so one notebook covers a fleet of servers.

Sets of ours are read from their manifests alone (never from a zip central directory); a decoded
manifest is kept in a small per-process cache keyed by target, set and the manifest file's size
and mtime (manifests are written once and never changed, so a hit is always current). Sets made by
Kerio Connect itself have no manifest and are read from their volumes' central directories.

Dtypes: times are ``datetime64[ns, UTC]``; ``kind``, ``domain``, ``user``, ``folder``,
``stored_in``, ``change`` and other small vocabularies are ``category``; counts and sizes are the
nullable ``Int64``; text is ``str``; flags are ``bool`` or the nullable ``boolean``.
"""

import io
import json
import os
import threading
import zipfile
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import pandas as pd

from .archive import manifest as mf
from .config import Config
from .headers import normalize_message_id
from .lease import read_lease
from .naming import index_name, manifest_name
from .rotation import plan_rotation
from .selection import Selection
from .sizes import parse_size
from .sets import (COMPLETE, DAMAGED, FOREIGN, INCOMPLETE, MANIFEST_ERRORS, base_of,
                   choose_set, entries_of, find_set, list_sets, open_copy, protect_bases,
                   set_damaged, unreadable_manifest)
from .targets import open_target
from .times import parse_time

__all__ = ["read_sets", "read_volumes", "read_entries", "read_messages", "recovery_plan",
           "RecoveryPlan", "storage_usage", "forecast_storage", "StorageForecast",
           "find_messages", "diff_sets", "read_verify", "clear_cache",
           "SET_COLUMNS", "VOLUME_COLUMNS", "ENTRY_COLUMNS", "MESSAGE_COLUMNS"]

SET_COLUMNS = ("name", "kind", "base", "chain", "started", "finished", "status", "foreign", "files",
               "stored", "bytes_in", "bytes_out", "volumes", "skipped", "rotation",
               "rotation_reason", "problem")
VOLUME_COLUMNS = ("set", "index", "file", "bytes", "members", "problem")
ENTRY_COLUMNS = ("set", "path", "kind", "domain", "user", "folder", "size", "compressed_size",
                 "mtime", "crc32", "stored_in", "volume", "change")
MESSAGE_COLUMNS = ("set", "path", "domain", "user", "folder", "message_id", "from", "to", "cc",
                   "subject", "date", "date_raw", "size", "has_attachments", "stored_in")
CHANGES = ("added", "changed", "unchanged", "deleted")
STATUSES = ("complete", "incomplete", "damaged")
_UTC_NS = "datetime64[ns, UTC]"
_MESSAGE_KINDS = ("message", "public")


# ---------------------------------------------------------------------------------------------
# Targets, one or many


def _over_targets(target, storage_options, build):
    """``build(Target)`` for one target, or the concatenation with a ``target`` column for a list."""
    options = storage_options or {}
    if not isinstance(target, (list, tuple)):
        return build(open_target(target, **options))
    frames = []
    for t in target:
        t = open_target(t, **options)
        df = build(t)
        df.insert(0, "target", t.url)
        frames.append(df)
    if not frames:
        raise ValueError("target: an empty list; give at least one target")
    out = pd.concat(frames, ignore_index=True)
    for col, dtype in frames[0].dtypes.items():
        if isinstance(dtype, pd.CategoricalDtype) or col == "target":
            out[col] = out[col].astype("category")  # concat of unequal categories gives object
    return out


# ---------------------------------------------------------------------------------------------
# Manifests, decoded once per process


class _Manifest:
    """One manifest: its header, and frames built from its column blocks when first asked for.

    Only the header is parsed up front; it comes first in the file, so reading the sets
    decompresses a few kilobytes of each manifest. A column block is read and parsed when a frame
    needs it, and only the frames are kept (the parsed lists take several times their memory).
    """

    def __init__(self, target, set_name, stamp, header, copy=None):
        self.target, self.set_name, self.stamp, self.header = target, set_name, stamp, header
        self.copy = copy  # the volume whose manifest copy is read instead of the file
        self.frames = {}
        self.lock = threading.Lock()
        # The text of the block not asked for, kept from the last inflate until it is read (a
        # read_messages reads the entries block first, then the messages block).
        self.spare = {}
        self.expect_messages = False

    def columns(self, block, convert=None, info=None):
        """The ``entries`` or ``messages`` columns as ``{name: convert(name, values)}``.

        *values* is a list, or for version 2's encoded entry columns a numpy array (integers) or
        a ``_Coded`` (repetitive text); each column is converted on its own and its raw value
        dropped, so only one column's intermediate data is alive at a time. Returns None if the
        manifest has no such block. A manifest file damaged past its header is read from the
        copy in the last volume of the set *info*, which is then marked damaged.
        """
        convert = convert or (lambda name, values: values)
        keep = self.spare if block != "entries" or self.expect_messages else None
        try:
            cols = _read_block(self.target, self.set_name, self.copy, block, keep)
        except _READ_ERRORS as e:
            copy = None
            if self.copy is None and info is not None:
                set_damaged(self.target, info, f"manifest file unreadable ({e})")
                copy = info.copy
            if copy is None:
                raise unreadable_manifest(self.set_name, e) from None
            try:
                cols = _read_block(self.target, self.set_name, copy, block, keep)
            except _READ_ERRORS as e2:
                raise unreadable_manifest(self.set_name, f"{e}; the copy in {copy}: {e2}") \
                    from None
        if cols is None:
            return None
        names = mf.COLUMNS if block == "entries" else mf.MESSAGE_COLUMNS
        out = {n: convert(n, _column_values(cols.pop(n))) for n in names if n in cols}
        rows = len(next(iter(out.values()))) if out else 0
        for n in names:  # a column older manifests lack (date_raw): missing values
            if n not in out:
                out[n] = convert(n, [None] * rows)
        return {n: out[n] for n in names}

    @property
    def rows(self):
        return int((self.header.get("stats") or {}).get("files") or 0)


_CACHE = OrderedDict()
_CACHE_LOCK = threading.Lock()
# Manifests whose frames are kept, counted in entries: about six sets of 100k files.
_CACHE_ROWS = 600_000


def clear_cache():
    """Forget every manifest this process has read (the next read parses them again)."""
    with _CACHE_LOCK:
        _CACHE.clear()


class _Coded:
    """A text column stored as distinct values and one code per row."""

    def __init__(self, values, codes):
        self.values, self.codes = values, codes

    def __len__(self):
        return len(self.codes)


_DTYPES = {"int64": "<i8", "uint32": "<u4", "uint16": "<u2"}


def _column_values(value):
    """A manifest column's values: the list, a numpy or Arrow array, or a _Coded, by encoding."""
    if isinstance(value, list):
        return value
    if "lengths" in value:
        return _arrow_text(value)
    if "values" in value:
        return _Coded(value["values"], np.frombuffer(mf.raw(value["codes"]), "<u4"))
    (kind, data), = value.items()
    return np.frombuffer(mf.raw(data), _DTYPES[kind]).astype(np.int64)


def _arrow_text(value):
    """An Arrow string array straight from the column's bytes and lengths (no object per row)."""
    try:
        import pyarrow as pa
    except ImportError:
        return mf.decode_column(value)
    (kind, packed), = value["lengths"].items()
    lengths = np.frombuffer(mf.raw(packed), _DTYPES[kind])
    offsets = np.zeros(len(lengths) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    valid = pa.py_buffer(mf.raw(value["valid"])) if "valid" in value else None
    return pa.StringArray.from_buffers(len(lengths), pa.py_buffer(offsets),
                                       pa.py_buffer(mf.text_bytes(value)), valid)


# What reading a manifest or its copy in a volume raises when it is damaged.
_READ_ERRORS = MANIFEST_ERRORS + (zipfile.BadZipFile, KeyError)


@contextmanager
def _open_manifest(target, set_name, copy=None):
    """The manifest of *set_name*: its file, or the copy in the volume *copy*."""
    if copy is None:
        with target.open_read(manifest_name(set_name)) as f:
            yield f
    else:
        with open_copy(target, copy, set_name) as f:
            yield f


def _read_block(target, set_name, copy, block, spare=None):
    """The ``entries`` or ``messages`` columns of a manifest, or None if it has none.

    Entries read alone are read and inflated no further than their end. Otherwise the file is
    inflated in one call (the fastest way) and, when *spare* is a dict, the messages block is
    kept in it for the next call.
    """
    if spare and block in spare:
        return spare.pop(block)
    if block == "entries" and spare is None and copy is None:
        # Entries come first: stop reading the file (a third of it) where they end. A copy is
        # read to its end, where its CRC-32 is checked: it stands in for a damaged file.
        with _open_manifest(target, set_name, copy) as f:
            return mf.read_manifest(f, stop_after="entries").get("entries")
    if copy is None:
        data = target.read_bytes(manifest_name(set_name))
    else:
        with _open_manifest(target, set_name, copy) as f:
            data = f.read()
    f = io.BytesIO(mf.plain(data))
    doc = mf.read_body(f, json.loads(f.readline()))
    if spare is not None and block == "entries" and "messages" in doc:
        spare["messages"] = doc["messages"]
    return doc.get(block)


def _read_header(target, set_name, copy=None):
    """A manifest's header (its first line: everything but the column blocks)."""
    with _open_manifest(target, set_name, copy) as f:
        header = mf.decode_header(f)
    for block in ("entries", "messages"):  # a one-line manifest: its header line is all of it
        header.pop(block, None)
    return header


def _stamp(target, fname, size):
    local = target.local_path(fname) if hasattr(target, "local_path") else None
    if local is not None:
        st = os.stat(local)  # FileNotFoundError if the set went away since it was listed
        return fname, st.st_size, st.st_mtime_ns
    return fname, size, None


def _manifest(target, set_name, size=None, copy=None):
    """The manifest of *set_name* on *target* (or its *copy* in a volume), from the cache when
    the file is unchanged."""
    fname = copy or manifest_name(set_name)
    stamp = _stamp(target, fname, size)
    key = (target.url, set_name)
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
        if hit is not None and hit.stamp == stamp:
            _CACHE.move_to_end(key)
            return hit
    loaded = _Manifest(target, set_name, stamp, _read_header(target, set_name, copy), copy)
    with _CACHE_LOCK:
        _CACHE[key] = loaded
        _CACHE.move_to_end(key)
        total = sum(m.rows for m in _CACHE.values())
        while len(_CACHE) > 1 and total > _CACHE_ROWS:
            _, old = _CACHE.popitem(last=False)
            total -= old.rows
    return loaded


def _load_sets(target, files=None):
    """``(sets, files)``: list_sets without its manifest decoding, manifests from the cache.

    Each complete set of ours gets its manifest header (no column blocks) as ``SetInfo.header``,
    which is all that base_of, rotation and the set table need; a damaged one the header of the
    manifest copy in its last volume, where that is readable. A set whose manifest vanished
    since the listing (removed meanwhile) is left out.
    """
    files = target.list() if files is None else files
    sets = list_sets(target, load=False, files=files)
    for s in list(sets):
        try:
            if s.status == COMPLETE:
                try:
                    s.header = _manifest(target, str(s.name),
                                         files.get(manifest_name(str(s.name)))).header
                    continue
                except FileNotFoundError:
                    raise
                except _READ_ERRORS as e:
                    set_damaged(target, s, f"manifest file unreadable ({e})")
            if s.status == DAMAGED and s.copy is not None:
                try:
                    s.header = _manifest(target, str(s.name), files.get(s.copy), s.copy).header
                except FileNotFoundError:
                    raise
                except _READ_ERRORS as e:
                    s.problem += f" (that copy is unreadable too: {e})"
                    s.copy = None
        except FileNotFoundError:
            sets.remove(s)
    protect_bases(sets)
    return sets, files


def _held(target, lease, pick):
    """The sets (as _load_sets gives them) listed once *lease* holds those ``pick(sets)`` names,
    with their fulls: readers of manifests and volumes keep rotation away from what they read.

    ``pick(sets)`` returns the SetInfos to read; it is asked again on the new listing, and what
    it picks then is held too.
    """
    sets, _ = _load_sets(target)
    files = lease.settle(_with_bases(sets, pick(sets)))
    sets, _ = _load_sets(target, files)
    again = _with_bases(sets, pick(sets))
    if not again <= lease.names:
        lease.settle(again)
    return sets


def _with_bases(sets, chosen):
    names = set()
    for s in chosen:
        names.add(str(s.name))
        base = base_of(sets, s)
        if base is not None:
            names.add(str(base.name))
    return names


def _pick(sets, name):
    """The SetInfo for *name* (str, SetName or SetInfo); the recovery's choice for None."""
    if name is None:
        return choose_set(sets)
    return find_set(sets, getattr(name, "name", name))


# ---------------------------------------------------------------------------------------------
# Column helpers (fast paths for 100k-row column lists)


def _categorical(values):
    """A Categorical (categories sorted, None missing) from a list with few distinct values.

    pyarrow's dictionary encoding does it in C, several times faster than pandas on a list;
    without pyarrow a dict does the factorising.
    """
    try:
        import pyarrow as pa
    except ImportError:
        pa = None
    if pa is not None:
        enc = pa.array(values, type=pa.string()).dictionary_encode()
        codes = enc.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int32)
        cats = enc.dictionary.to_pylist()
    else:
        table = {}
        codes = np.fromiter((table.setdefault(v, len(table)) for v in values), dtype=np.int32,
                            count=len(values))
        cats = list(table)
        if None in table:
            missing = table.pop(None)
            cats.pop(missing)
            codes = np.where(codes == missing, -1, np.where(codes > missing, codes - 1, codes))
    order = sorted(range(len(cats)), key=cats.__getitem__)
    remap = np.empty(len(cats) + 1, dtype=np.int32)
    remap[np.array(order, dtype=np.int64)] = np.arange(len(cats), dtype=np.int32)
    remap[-1] = -1  # code -1 (missing) stays -1
    return pd.Categorical.from_codes(remap[codes], categories=pd.Index([cats[i] for i in order],
                                                                       dtype="str"))


def _categorical_from_codes(coded):
    """A Categorical (categories sorted, None missing) from a manifest's coded column."""
    cats = coded.values
    order = sorted((i for i, v in enumerate(cats) if v is not None), key=cats.__getitem__)
    remap = np.full(len(cats), -1, dtype=np.int32)
    remap[np.array(order, dtype=np.int64)] = np.arange(len(order), dtype=np.int32)
    codes = remap[coded.codes] if len(cats) else np.empty(0, dtype=np.int32)
    return pd.Categorical.from_codes(codes, categories=pd.Index([cats[i] for i in order],
                                                                dtype="str"))


def _constant_category(value, n):
    return pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), categories=pd.Index([value],
                                                                                  dtype="str"))


def _ints(values):
    return pd.array(np.asarray(values, dtype=np.int64), dtype="Int64")


def _times_ns(values):
    return pd.to_datetime(np.asarray(values, dtype=np.int64), unit="ns", utc=True)


# Epoch seconds datetime64[ns] holds (1677-09-21T00:12:44Z to 2262-04-11T23:47:16Z).
_MIN_S, _MAX_S = -9223372036, 9223372036


def _times_s(values):
    """UTC datetimes from epoch seconds; None, and whatever no datetime64[ns] holds (a far
    year in a manifest of an older workbench, a damaged value), is NaT."""
    try:
        arr = np.array(values, dtype="float64") if len(values) else np.empty(0)
    except (TypeError, ValueError):
        arr = np.array([v if isinstance(v, (int, float)) and not isinstance(v, bool) else None
                        for v in values], dtype="float64")
    arr[~((arr >= _MIN_S) & (arr <= _MAX_S))] = np.nan
    return pd.to_datetime(arr, unit="s", utc=True).as_unit("ns")


def _iso(text):
    """A UTC Timestamp from a manifest's ISO time (NaT if absent)."""
    return _timestamp(text, "time") if text else pd.NaT


def _timestamp(value, key):
    """A UTC pandas Timestamp from a datetime, Timestamp, date or ISO text, None for None; a time
    without a zone is read by the one rule of workbench.times (the machine's zone)."""
    if value is None:
        return None
    return pd.Timestamp(parse_time(value, key))


# ---------------------------------------------------------------------------------------------
# Sets and volumes


def read_sets(target, keep=None, storage_options=None):
    """One row per set on *target*, oldest first.

    Parameters
    ----------
    target : str, os.PathLike, Target or list of them
        A directory, ``smb://`` URL or UNC path, a Target, or a list (adds a ``target`` column).
    keep : int, optional
        The rotation limit the ``rotation`` column is computed under (default: the config
        default, 7 complete backups).
    storage_options : dict, optional
        Passed to ``open_target`` (SMB credentials and such).

    Returns
    -------
    pandas.DataFrame
        ``name`` (str), ``kind`` (category F/D/C), ``base`` (str: the full a differential
        belongs to; missing for a full or copy), ``chain`` (str: the full heading the set's chain,
        the set itself for a full), ``started``/``finished`` (UTC datetimes; ``finished`` missing
        for sets without a manifest), ``status`` (category: complete, incomplete, damaged: a
        volume is missing, has the wrong size, or a Kerio set's first volume is unreadable),
        ``foreign`` (bool: made by Kerio Connect, no manifest), ``files`` (entries listed),
        ``stored`` (entries whose data the set holds), ``bytes_in`` (bytes of those files),
        ``bytes_out`` (bytes of its volume files on the target), ``volumes`` and ``skipped``
        (counts, Int64; missing where unknown), ``rotation`` (category: keep or delete-next under
        *keep*), ``rotation_reason`` (str) and ``problem`` (str, empty when fine).
    """
    keep = Config().keep if keep is None else keep
    return _over_targets(target, storage_options, lambda t: _read_sets(t, keep))


def _volume_problems(info, files):
    """Problems of a set's volume files against its manifest (or, foreign, their numbering)."""
    problems = []
    if info.header is not None:
        for v in info.header.get("volumes", []):
            size = files.get(v["name"])
            if size is None:
                problems.append((v["name"], "missing"))
            elif size != v["bytes"]:
                problems.append((v["name"], f"{size} bytes, manifest says {v['bytes']}"))
    elif info.status == FOREIGN:
        indexes = sorted(info.volumes)
        for i in range(indexes[-1] + 1 if indexes else 0):
            if i not in info.volumes:
                problems.append((f"volume {i}", "missing"))
    return problems


def _status(info, files):
    if info.status == INCOMPLETE:
        return "incomplete"
    if info.problem or _volume_problems(info, files):
        return "damaged"
    return "complete"


def _read_sets(target, keep):
    sets, files = _load_sets(target)
    decisions = {d.set: d for d in plan_rotation(sets, keep)}
    rows = []
    for s in sets:
        name = str(s.name)
        m = s.header or {}
        stats = m.get("stats") or {}
        base = base_of(sets, s) if s.usable else None
        problems = _volume_problems(s, files)
        d = decisions.get(name)
        rows.append({
            "name": name, "kind": s.name.kind,
            "base": (m.get("base") or (str(base.name) if base is not None and base is not s
                                       else None)) if s.name.kind == "D" else None,
            "chain": str(base.name) if base is not None else (m.get("base") or None),
            "started": _iso(m.get("started")) if m.get("started") else pd.Timestamp(s.name.time),
            "finished": _iso(m.get("finished")),
            "status": _status(s, files), "foreign": s.status == FOREIGN,
            "files": stats.get("files"), "stored": stats.get("stored"),
            "bytes_in": stats.get("bytes_in"),
            "bytes_out": sum(size for _, size in s.volumes.values()),
            "volumes": len(s.volumes),
            "skipped": len(m["skipped"]) if "skipped" in m else None,
            "rotation": None if d is None else ("keep" if d.action == "keep" else "delete-next"),
            "rotation_reason": "" if d is None else d.reason,
            "problem": "; ".join([s.problem] * bool(s.problem)
                                 + [f"{v}: {p}" for v, p in problems]),
        })
    return _sets_frame(rows)


def _sets_frame(rows):
    cols = {c: [r[c] for r in rows] for c in SET_COLUMNS}
    return pd.DataFrame({
        "name": pd.Series(cols["name"], dtype="str"),
        "kind": pd.Categorical(cols["kind"], categories=["F", "D", "C"]),
        "base": pd.Series(cols["base"], dtype="str"),
        "chain": pd.Series(cols["chain"], dtype="str"),
        "started": pd.Series(cols["started"], dtype="object").astype(_UTC_NS),
        "finished": pd.Series(cols["finished"], dtype="object").astype(_UTC_NS),
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
    return _over_targets(target, storage_options, lambda t: _read_volumes(t, sets))


def _read_volumes(target, wanted):
    all_sets, files = _load_sets(target)
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
    """Members of a zip from its end records only (the central directory is not read)."""
    try:
        with target.open_read(fname) as f:
            f.seek(0, 2)
            size = f.tell()
            tail = min(size, 65535 + 22 + 20)
            f.seek(size - tail)
            data = f.read(tail)
    except OSError:
        return None
    pos = data.rfind(b"PK\x05\x06")
    if pos < 0 or pos + 22 > len(data):
        return None
    count = int.from_bytes(data[pos + 10:pos + 12], "little")
    if count == 0xFFFF:  # Zip64: the real count is in the Zip64 end record
        loc = data.rfind(b"PK\x06\x07", 0, pos)
        if loc < 0:
            return None
        rec_offset = int.from_bytes(data[loc + 8:loc + 16], "little")
        try:
            with target.open_read(fname) as f:
                f.seek(rec_offset)
                rec = f.read(56)
        except OSError:
            return None
        if rec[:4] != b"PK\x06\x06":
            return None
        count = int.from_bytes(rec[32:40], "little")
    return count


# ---------------------------------------------------------------------------------------------
# Entries


def read_entries(target, set=None, storage_options=None):
    """One row per file a set lists: stored in it, inherited from its full, or deleted since.

    Parameters
    ----------
    target : str, os.PathLike, Target or list of them
        See read_sets.
    set : str, optional
        The set to read (default: the one a recovery now would use, see recovery_plan).
    storage_options : dict, optional
        Passed to ``open_target``.

    Returns
    -------
    pandas.DataFrame
        ``set`` (category: the set read), ``path`` (str, relative to the server directory),
        ``kind`` (category: message, folder, public, archive, config, license, certificate,
        lists, spam, other), ``domain``, ``user``, ``folder`` (category, missing where they do not
        apply), ``size``, ``compressed_size`` (Int64 bytes), ``mtime`` (UTC datetime), ``crc32``
        (Int64), ``stored_in`` (category: the set whose volume holds the data), ``volume``
        (Int64: that volume's index) and ``change`` (category, relative to the set's full:
        ``added`` and ``changed`` files are stored in this set, ``unchanged`` ones in the full,
        ``deleted`` ones were in the full and are gone from the store; every file of a full or
        copy is ``added``). A Kerio differential records no deletions.

    Raises
    ------
    SetNotFound, IncompleteSet, DamagedSet, NoCompleteBackup
    """
    return _over_targets(target, storage_options, lambda t: _read_entries(t, set))


def _read_entries(target, name, include_deleted=True):
    sets, _ = _load_sets(target)
    df = _cached(target, sets, _pick(sets, name), "entries")
    if df is None:
        with read_lease(target) as lease:
            sets = _held(target, lease, lambda ss: [_pick(ss, name)])
            df = _entries_frame(target, sets, _pick(sets, name))
    if not include_deleted:
        df = df[df["change"] != "deleted"]
    return df.copy()


def _core_entries(target, info):
    """The cached entries frame of a set of ours, straight from its manifest columns."""
    m = _manifest(target, str(info.name), copy=info.copy)
    with m.lock:
        df = m.frames.get("entries")
        if df is None:
            df = _frame_from_columns(m.columns("entries", _entry_column, info), converted=True)
            m.frames["entries"] = df
    return df


_ENTRY_FRAME_COLUMNS = {"path": "path", "kind": "kind", "domain": "domain", "user": "user",
                        "folder": "folder", "size": "size", "csize": "compressed_size",
                        "mtime_ns": "mtime", "crc32": "crc32", "stored_in": "stored_in",
                        "volume": "volume"}


def _entry_column(name, values):
    """One manifest entry column as the frame's column (None for the columns not kept)."""
    if name == "path":
        return pd.Series(values, dtype="str")
    if isinstance(values, _Coded):
        return _categorical_from_codes(values)
    if name in ("kind", "domain", "user", "folder", "stored_in"):
        return _categorical(values)
    if name == "mtime_ns":
        return _times_ns(values)
    if name in ("size", "csize", "crc32", "volume"):
        return _ints(values)
    return None


def _frame_from_columns(c, converted=False):
    """The entries frame (without ``set`` and ``change``) from manifest columns."""
    if not converted:
        c = {name: _entry_column(name, values) for name, values in c.items()}
    return pd.DataFrame({_ENTRY_FRAME_COLUMNS[k]: c[k] for k in _ENTRY_FRAME_COLUMNS},
                        index=pd.RangeIndex(len(c["path"])))


def _cached_entries(target, sets, info):
    """``(frame or None, manifest, cache key)`` of *info*'s entries frame, from the cache."""
    base = base_of(sets, info)
    m = _manifest(target, str(info.name), copy=info.copy)
    key = ("read_entries", None if base is None or base is info or base.header is None else
           (str(base.name), _manifest(target, str(base.name), copy=base.copy).stamp))
    with m.lock:
        return m.frames.get(key), m, key


def _cached(target, sets, info, frame):
    """The *frame* ("entries" or "messages") of a set of ours if the cache has it, else None:
    a reader that reads nothing from the target needs no lease."""
    if info.header is None or info.status not in (COMPLETE, DAMAGED):
        return None
    if frame == "entries":
        return _cached_entries(target, sets, info)[0]
    m = _manifest(target, str(info.name), copy=info.copy)
    with m.lock:
        return m.frames.get("read_messages")


def _entries_frame(target, sets, info):
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
        in_base[own] = core["path"][own].isin(base_core["path"]).to_numpy()
        change = np.where(own, np.where(in_base, 1, 0), 2)
        deleted = None
        if int((~own).sum()) + int((own & in_base).sum()) < len(base_core):
            gone = ~base_core["path"].isin(core["path"]).to_numpy()
            if gone.any():
                deleted = base_core[gone]
    df = core.copy()
    df["change"] = pd.Categorical.from_codes(change.astype(np.int8), categories=list(CHANGES))
    if deleted is not None:
        deleted = deleted.copy()
        deleted["change"] = pd.Categorical.from_codes(np.full(len(deleted), 3, dtype=np.int8),
                                                      categories=list(CHANGES))
        df = pd.concat([df, deleted], ignore_index=True)
        for col in ("kind", "domain", "user", "folder", "stored_in"):
            if not isinstance(df[col].dtype, pd.CategoricalDtype):
                df[col] = df[col].astype("category")
    df.insert(0, "set", _constant_category(name, len(df)))
    with m.lock:
        m.frames[key] = df
    return df


def _foreign_frame(target, sets, info):
    """Entries of a set without a manifest (Kerio's), from its volumes' central directories."""
    name = str(info.name)
    entries = entries_of(target, sets, info)
    c = {col: [getattr(e, col) for e in entries] for col in mf.COLUMNS}
    df = _frame_from_columns(c)
    own = (df["stored_in"] == name).to_numpy()
    base = base_of(sets, info)
    if base is not None and base is not info:
        base_paths = {e.path for e in entries_of(target, sets, base)}
        in_base = np.fromiter((p in base_paths for p in c["path"]), dtype=bool, count=len(df))
        change = np.where(own, np.where(in_base, 1, 0), 2)
    else:
        change = np.where(own, 0, 2)
    df["change"] = pd.Categorical.from_codes(change.astype(np.int8), categories=list(CHANGES))
    df.insert(0, "set", _constant_category(name, len(df)))
    return df


# ---------------------------------------------------------------------------------------------
# Messages


def read_messages(target, set=None, storage_options=None):
    """One row per message (``.eml`` of a mailbox or public folder) a set lists.

    Headers come from the manifest, where the backup stored them as it read each message, so
    nothing is decompressed. Malformed or missing headers are missing values, never an error.

    Parameters
    ----------
    target : str, os.PathLike, Target or list of them
        See read_sets.
    set : str, optional
        The set to read (default: the one a recovery now would use).
    storage_options : dict, optional
        Passed to ``open_target``.

    Returns
    -------
    pandas.DataFrame
        ``set`` (category), ``path`` (str), ``domain``, ``user``, ``folder`` (category),
        ``message_id`` (str, ``<...>``), ``from``, ``to``, ``cc``, ``subject`` (str, RFC 2047
        decoded), ``date`` (UTC datetime of the Date header; NaT if it cannot be read or is
        outside 1677-2262), ``date_raw`` (str: the Date header's text as written, which says what
        a NaT date was; missing in sets of a workbench before it), ``size`` (Int64 bytes),
        ``has_attachments`` (boolean) and ``stored_in`` (category). Sets made by Kerio, or by a
        workbench before headers were indexed, give missing header values.
    """
    return _over_targets(target, storage_options, lambda t: _read_messages(t, set))


def _read_messages(target, name):
    sets, _ = _load_sets(target)
    df = _cached(target, sets, _pick(sets, name), "messages")
    if df is None:
        with read_lease(target) as lease:
            sets = _held(target, lease, lambda ss: [_pick(ss, name)])
            df = _messages_frame(target, sets, _pick(sets, name))
    return df.copy()


def _messages_frame(target, sets, info):
    name = str(info.name)
    m = _manifest(target, name, copy=info.copy) if info.header is not None else None
    if m is not None:
        with m.lock:
            hit = m.frames.get("read_messages")
        if hit is not None:
            return hit
    if m is not None:
        m.expect_messages = True  # inflate the messages line with the entries, once
    entries = _entries_frame(target, sets, info)
    keep = (entries["kind"].isin(_MESSAGE_KINDS).to_numpy()
            & entries["path"].str.endswith(".eml").to_numpy()
            & (entries["change"] != "deleted").to_numpy())
    sub = entries.loc[keep, ["set", "path", "domain", "user", "folder", "size", "stored_in"]]
    sub = sub.reset_index(drop=True)
    cols = m.columns("messages", _message_column, info) if m is not None else None
    base = base_of(sets, info)
    if (m is not None and info.header.get("message_headers") == "stored" and base is not None
            and base is not info and base.header is not None):
        # A differential lists the headers of the messages it stores; the unchanged ones are
        # in its full's manifest. Its own come first, so a rewritten message's headers win.
        cols = _stack(cols, _manifest(target, str(base.name), copy=base.copy).columns(
            "messages", _message_column, base))
    headers = _headers_frame(cols, sub["path"])
    attach = headers.pop("_attach").rename("has_attachments")
    df = pd.concat([sub[["set", "path", "domain", "user", "folder"]], headers, sub[["size"]],
                    attach, sub[["stored_in"]]], axis=1)
    df = df[list(MESSAGE_COLUMNS)]
    if m is not None:
        with m.lock:
            m.frames["read_messages"] = df
    return df


_TEXT_HEADERS = ("message_id", "from", "to", "cc", "subject", "date_raw")


def _message_column(name, values):
    """One manifest ``messages`` column as a Series (converted at once, to free the list)."""
    if name == "date":
        return pd.Series(_times_s(values))
    if name == "has_attachments":
        return pd.Series(pd.array(values, dtype="boolean"))
    return pd.Series(values, dtype="str")


def _stack(first, second):
    """Message columns of two manifests one after the other (either may be None)."""
    if not first or not second:
        return first or second
    return {k: pd.concat([first[k], second[k]], ignore_index=True) for k in first}


def _headers_frame(cols, paths):
    """Header columns aligned with *paths* (positionally when the block matches, else by path)."""
    n = len(paths)
    if not cols or not len(cols.get("path", ())):
        out = pd.DataFrame({c: pd.Series([None] * n, dtype="str") for c in _TEXT_HEADERS})
        out["date"] = pd.Series(pd.NaT, index=range(n), dtype=_UTC_NS)
        out["_attach"] = pd.array([None] * n, dtype="boolean")
        return out
    frame = pd.DataFrame({**{c: cols[c] for c in _TEXT_HEADERS}, "date": cols["date"],
                          "_attach": cols["has_attachments"]})
    block_paths = cols["path"]
    if len(block_paths) != n or not (block_paths.to_numpy() == paths.to_numpy()).all():
        frame.index = block_paths.to_numpy()
        frame = frame[~frame.index.duplicated()].reindex(paths.to_numpy())
    return frame.reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# Recovery plans


@dataclass
class RecoveryPlan:
    """What a recovery at a given time reads.

    Attributes
    ----------
    at : pandas.Timestamp or None
        The time asked for (UTC); None means "now".
    set : str
        The set the recovery uses: the newest restorable set started at or before ``at``.
    full : str
        The full (or copy) it depends on (the set itself for a full).
    chain : list of str
        The full and its differentials up to ``set``, oldest first (with ``differentials =
        "all"`` several; each differential holds everything changed since the full, so only
        ``full`` and ``set`` are read).
    sets : pandas.DataFrame
        One row per set read: ``set`` (str), ``kind`` (category), ``role`` (category: full,
        differential), ``started`` (UTC datetime), ``files`` (Int64: files restored from it),
        ``bytes`` (Int64: their size) and ``compressed_bytes`` (Int64: what is read).
    entries : pandas.DataFrame
        The files the recovery writes (columns as read_entries, deleted files left out),
        narrowed to ``domain``, ``user`` and ``folder`` when given.
    """

    at: Optional[pd.Timestamp]
    set: str
    full: str
    chain: list
    sets: pd.DataFrame
    entries: pd.DataFrame = field(repr=False)

    @property
    def files(self):
        """Number of files the recovery writes."""
        return len(self.entries)

    @property
    def bytes(self):
        """Bytes the recovery writes."""
        return int(self.entries["size"].sum())


def recovery_plan(target, at=None, domain=None, user=None, folder=None, storage_options=None):
    """The full + differential a recovery at time *at* uses, and what it restores.

    The rule (``workbench.sets.choose_set``, shared with ``workbench restore``): the newest set
    started at or before *at* that is complete (or made by Kerio) and whose full is present. An
    incomplete set is never used, nor a differential whose full is gone.

    Parameters
    ----------
    target : str, os.PathLike or Target
        One target (see read_sets).
    at : datetime, pandas.Timestamp or str, optional
        The time to recover to (a time without a zone is in the machine's zone, as for
        ``workbench restore --at``: see workbench.times); default: now.
    domain, user : str, optional
        Narrow the entries to mail of this domain / user (case-insensitive, as ``workbench
        restore``); a scoped recovery restores mail only.
    folder : str, optional
        Narrow to this folder and its subfolders (``INBOX`` takes ``INBOX/Projects`` too).
    storage_options : dict, optional
        Passed to ``open_target``.

    Returns
    -------
    RecoveryPlan

    Raises
    ------
    NoCompleteBackup
        If no restorable set was started at or before *at*.
    """
    t = open_target(target, **(storage_options or {}))
    when = _timestamp(at, "at")
    moment = when.to_pydatetime() if when is not None else None
    with read_lease(t) as lease:
        sets = _held(t, lease, lambda ss: [choose_set(ss, at=moment)])
        info = choose_set(sets, at=moment)
        entries = _entries_frame(t, sets, info)
    full = base_of(sets, info)
    chain = [s for s in sets if s.usable and s.name.time <= info.name.time
             and s.name >= full.name and (s is full or (s.name.kind == "D"
                                                         and base_of(sets, s) is full))]
    entries = entries[entries["change"] != "deleted"]
    if domain or user or folder:
        entries = entries[_scope_mask(entries, domain, user, folder)]
    entries = entries.reset_index(drop=True).copy()
    read = [full] if full is info else [full, info]
    stats = entries.groupby("stored_in", observed=True).agg(
        files=("path", "size"), bytes=("size", "sum"), compressed_bytes=("compressed_size", "sum"))
    rows = []
    for s in read:
        n = str(s.name)
        have = n in stats.index
        rows.append((n, s.name.kind, "full" if s is full else "differential",
                     pd.Timestamp(s.name.time), int(stats.at[n, "files"]) if have else 0,
                     int(stats.at[n, "bytes"]) if have else 0,
                     int(stats.at[n, "compressed_bytes"]) if have else 0))
    cols = list(zip(*rows))
    sets_df = pd.DataFrame({
        "set": pd.Series(cols[0], dtype="str"),
        "kind": pd.Categorical(cols[1], categories=["F", "D", "C"]),
        "role": pd.Categorical(cols[2], categories=["full", "differential"]),
        "started": pd.Series(cols[3], dtype="object").astype(_UTC_NS),
        "files": pd.array(cols[4], dtype="Int64"), "bytes": pd.array(cols[5], dtype="Int64"),
        "compressed_bytes": pd.array(cols[6], dtype="Int64"),
    })
    return RecoveryPlan(at=when, set=str(info.name), full=str(full.name),
                        chain=[str(s.name) for s in chain], sets=sets_df, entries=entries)


def _scope_mask(entries, domain, user, folder):
    """Mail of *domain*, *user* and *folder* (with its subfolders): the rule of
    workbench.selection, as ``workbench restore`` applies it, tested once per distinct value of
    each column."""
    sel = Selection(domain=domain, user=user, folder=folder)
    return (_value_flags(entries["domain"], sel.domain_matches)
            & _value_flags(entries["user"], sel.user_matches)
            & _value_flags(entries["folder"], sel.folder_matches))


def _value_flags(series, test):
    """``test(value)`` for each row of a (categorical) column, asked once per distinct value;
    missing values are None."""
    if not isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype("category")
    flags = np.array([bool(test(str(c))) for c in series.cat.categories] + [bool(test(None))],
                     dtype=bool)
    return flags[series.cat.codes.to_numpy()]  # code -1 (missing) takes the last flag


# ---------------------------------------------------------------------------------------------
# Storage use and forecast


def storage_usage(target, keep=None, capacity=None, storage_options=None):
    """Bytes per set and cumulative over time, against the rotation limit and the target's space.

    Parameters
    ----------
    target : str, os.PathLike, Target or list of them
        See read_sets.
    keep : int, optional
        The rotation limit (complete backups kept; default: the config default, 7).
    capacity : int, optional
        Bytes the backups may use in all (a quota, or the disk meant for them): ``free`` is then
        what of it the sets leave. Default: the target's filesystem or share, with its real free
        space (other files on it count as used).
    storage_options : dict, optional
        Passed to ``open_target``.

    Returns
    -------
    pandas.DataFrame
        One row per set, oldest first: ``set`` (str), ``kind`` (category), ``chain`` (str),
        ``started`` (UTC datetime), ``status`` (category), ``bytes`` (Int64: every file of the set
        on the target: volumes, manifest and index), ``cumulative`` (Int64: bytes of this and all
        older sets), ``rotation`` (category: keep, delete-next under *keep*), ``kept_cumulative``
        (Int64: the same, counting only the sets rotation keeps), ``capacity`` and ``free``
        (Int64: the target's now, the same on every row, for charts).
    """
    keep = Config().keep if keep is None else keep
    return _over_targets(target, storage_options, lambda t: _storage_usage(t, keep, capacity))


def _set_bytes(s, files):
    name = str(s.name)
    extra = sum(files.get(f, 0) for f in (manifest_name(name), index_name(name)))
    return sum(size for _, size in s.volumes.values()) + extra + sum(
        files.get(f, 0) for f in s.leftovers)


def _space(target, capacity, sets_bytes):
    """``(capacity, free, other bytes)``: of the filesystem, or of the *capacity* given."""
    if capacity is not None:
        capacity = int(capacity)
        return capacity, capacity - sets_bytes, 0
    total, free = target.disk_usage()
    return total, free, max(0, total - free - sets_bytes)


def _storage_usage(target, keep, capacity):
    sets, files = _load_sets(target)
    decisions = {d.set: d for d in plan_rotation(sets, keep)}
    sizes = [_set_bytes(s, files) for s in sets]
    capacity, free, _ = _space(target, capacity, sum(sizes))
    kept = [decisions[str(s.name)].action == "keep" for s in sets]
    chains = []
    for s in sets:
        b = base_of(sets, s) if s.usable else None
        chains.append(str(b.name) if b is not None else None)
    n = len(sets)
    return pd.DataFrame({
        "set": pd.Series([str(s.name) for s in sets], dtype="str"),
        "kind": pd.Categorical([s.name.kind for s in sets], categories=["F", "D", "C"]),
        "chain": pd.Series(chains, dtype="str"),
        "started": pd.Series([pd.Timestamp(s.name.time) for s in sets],
                             dtype="object").astype(_UTC_NS),
        "status": pd.Categorical([_status(s, files) for s in sets], categories=list(STATUSES)),
        "bytes": pd.array(sizes, dtype="Int64"),
        "cumulative": pd.array(np.cumsum(sizes, dtype=np.int64), dtype="Int64"),
        "rotation": pd.Categorical(["keep" if k else "delete-next" for k in kept],
                                   categories=["keep", "delete-next"]),
        "kept_cumulative": pd.array(np.cumsum([b if k else 0 for b, k in zip(sizes, kept)],
                                              dtype=np.int64), dtype="Int64"),
        "capacity": pd.array([capacity] * n, dtype="Int64"),
        "free": pd.array([free] * n, dtype="Int64"),
    })


@dataclass
class StorageForecast:
    """How the target fills, fitted from the backups on it.

    Attributes
    ----------
    history : pandas.DataFrame
        One row per complete chain: ``chain`` (str), ``started`` (UTC datetime), ``full_bytes``
        (the full's bytes), ``chain_bytes`` (the full and its differentials) and ``fitted``
        (the full's bytes on the fitted line), all bytes Int64.
    growth_per_day : float
        Growth of a full backup in bytes per day (least-squares line through the fulls' sizes;
        0 with fewer than two fulls).
    chain_bytes : int
        Projected bytes of one complete backup now (the fitted full plus the mean bytes of
        differentials per chain).
    keep : int
        The rotation limit used.
    capacity, free, min_free : int
        The target's bytes (or the capacity given), free bytes now, and the minimum to keep free.
    other_bytes : int
        Bytes on the filesystem that are not backup sets (capacity - free - sets; 0 when a
        capacity is given).
    projected_bytes : int
        Bytes the sets take once rotation holds ``keep`` complete backups of today's size.
    full_date : pandas.Timestamp or None
        When free space falls under ``min_free`` (now if already; None if not within a century,
        as when backups do not grow and ``keep`` of them fit).
    largest_keep : int
        The largest ``keep`` whose backups, at today's size, leave ``min_free`` free.
    """

    history: pd.DataFrame
    growth_per_day: float
    chain_bytes: int
    keep: int
    capacity: int
    free: int
    min_free: int
    other_bytes: int
    projected_bytes: int
    full_date: Optional[pd.Timestamp]
    largest_keep: int


def forecast_storage(target, keep=None, capacity=None, min_free=None, now=None,
                     storage_options=None):
    """Fit the growth of backups on *target* and say when it fills and how many backups fit.

    Model: a complete backup (a full and its differentials) grows linearly with the store; the
    sets come to take ``keep`` complete backups; whatever else is on the filesystem stays.
    The target is full when ``capacity - other - keep * chain(t)`` drops below *min_free*.

    Parameters
    ----------
    target : str, os.PathLike or Target
        One target (see read_sets).
    keep : int, optional
        Rotation limit (default: the config default, 7).
    capacity : int, optional
        Bytes the backups may use in all (default: the filesystem's size, other files on it
        counting as used); see storage_usage.
    min_free : int or str, optional
        Free space a backup requires (default: the config default, 4 GiB); ``"4GiB"`` works.
    now : datetime, optional
        The time the forecast starts from (default: the current time).
    storage_options : dict, optional
        Passed to ``open_target``.

    Returns
    -------
    StorageForecast
    """
    cfg = Config()
    keep = cfg.keep if keep is None else int(keep)
    if keep < 1:
        raise ValueError(f"keep: {keep!r} must be at least 1")
    min_free = cfg.min_free if min_free is None else parse_size("min_free", min_free,
                                                               allow_zero=True)
    when = _timestamp(now, "now") or pd.Timestamp.now(tz="UTC")
    t = open_target(target, **(storage_options or {}))
    usage = _storage_usage(t, keep, 0)  # sizes only: the space is asked for once, below
    capacity, free, other = _space(t, capacity, int(usage["bytes"].sum()))
    ok = usage[(usage["status"] == "complete") & usage["chain"].notna()]
    fulls = ok[ok["set"] == ok["chain"]]
    chain_sizes = ok.groupby("chain", observed=True)["bytes"].sum()
    hist = pd.DataFrame({
        "chain": fulls["set"].to_numpy(), "started": fulls["started"].to_numpy(),
        "full_bytes": fulls["bytes"].to_numpy(dtype=np.int64),
        "chain_bytes": [int(chain_sizes.get(c, 0)) for c in fulls["set"]],
    })
    hist["started"] = pd.Series(hist["started"], dtype=_UTC_NS) if len(hist) else \
        pd.Series([], dtype=_UTC_NS)
    days = ((hist["started"] - when).dt.total_seconds() / 86400.0).to_numpy(dtype=float)
    sizes = hist["full_bytes"].to_numpy(dtype=float)
    if len(hist) >= 2 and np.ptp(days) > 0:
        slope, intercept = np.polyfit(days, sizes, 1)
    else:
        slope, intercept = 0.0, (float(sizes[-1]) if len(sizes) else 0.0)
    hist["fitted"] = pd.array(np.round(intercept + slope * days).astype(np.int64), dtype="Int64")
    for c in ("full_bytes", "chain_bytes"):
        hist[c] = pd.array(hist[c].to_numpy(dtype=np.int64), dtype="Int64")
    diff_mean = float((hist["chain_bytes"] - hist["full_bytes"]).mean()) if len(hist) else 0.0
    chain_now = max(0.0, intercept) + diff_mean
    projected = int(round(keep * chain_now))
    room = capacity - other - min_free  # what the sets may take
    if projected > room:
        full_date = when
    else:
        # keep * (chain_now + slope * d) = room; under a byte a day (rounding of a fit through
        # equal sizes) or beyond a century is "never"
        days_left = (room / keep - chain_now) / slope if slope >= 1.0 else None
        full_date = (when + pd.Timedelta(days=days_left)
                     if days_left is not None and days_left < 36500 else None)
    largest = int(room // chain_now) if chain_now > 0 else 0
    return StorageForecast(history=hist, growth_per_day=float(slope), chain_bytes=round(chain_now),
                           keep=keep, capacity=capacity, free=free, min_free=min_free,
                           other_bytes=other, projected_bytes=projected, full_date=full_date,
                           largest_keep=max(0, largest))


# ---------------------------------------------------------------------------------------------
# Search and diff


_CRITERIA = ("message_id", "sender", "subject", "since", "until", "domain", "user", "folder",
             "sets")


def find_messages(target, storage_options=None, **criteria):
    """Which sets and paths hold messages matching every criterion given.

    Parameters
    ----------
    target : str, os.PathLike, Target or list of them
        See read_sets.
    message_id : str
        Exact Message-ID, with or without angle brackets.
    sender : str
        Case-insensitive substring of the From header (name or address).
    subject : str
        Case-insensitive substring of the decoded Subject.
    since, until : datetime or str
        Date header range, both ends included (a time without a zone is in the machine's zone:
        see workbench.times).
    domain, user, folder : str
        Exact domain, user, folder (folder includes its subfolders).
    sets : str or list of str
        Look only in these sets (default: every complete set).
    storage_options : dict, optional
        Passed to ``open_target``.

    Returns
    -------
    pandas.DataFrame
        The read_messages columns, one row per (set, message) found, oldest set first. A message
        unchanged since the full appears under the full and each differential listing it
        (``stored_in`` says which volume set holds its data).
    """
    bad = [k for k in criteria if k not in _CRITERIA]
    if bad:
        raise TypeError(f"find_messages: unknown criterion {bad[0]}={criteria[bad[0]]!r}; use "
                        + ", ".join(_CRITERIA))
    return _over_targets(target, storage_options, lambda t: _find_messages(t, criteria))


def _find_messages(target, c):
    with read_lease(target) as lease:
        sets = _held(target, lease, lambda ss: _sets_searched(ss, c.get("sets")))
        return _search_messages(target, sets, _sets_searched(sets, c.get("sets")), c)


def _sets_searched(sets, wanted):
    if wanted is not None:
        names = [wanted] if isinstance(wanted, str) else list(wanted)
        return [find_set(sets, n) for n in names]
    return [s for s in sets if s.usable and not s.markers and base_of(sets, s) is not None]


def _search_messages(target, sets, chosen, c):
    since, until = _timestamp(c.get("since"), "since"), _timestamp(c.get("until"), "until")
    frames = []
    for s in chosen:
        df = _messages_frame(target, sets, s)
        mask = np.ones(len(df), dtype=bool)
        if c.get("message_id"):
            mask &= (df["message_id"] == normalize_message_id(c["message_id"])).fillna(
                False).to_numpy(dtype=bool)
        for key, col in (("sender", "from"), ("subject", "subject")):
            if c.get(key):
                mask &= df[col].str.contains(str(c[key]), case=False, regex=False).fillna(
                    False).to_numpy(dtype=bool)
        if since is not None:
            mask &= (df["date"] >= since).fillna(False).to_numpy(dtype=bool)
        if until is not None:
            mask &= (df["date"] <= until).fillna(False).to_numpy(dtype=bool)
        if c.get("domain") or c.get("user") or c.get("folder"):
            mask &= _scope_mask(df, c.get("domain"), c.get("user"), c.get("folder"))
        frames.append(df[mask])
    if not frames:
        return _messages_frame_empty()
    out = pd.concat(frames, ignore_index=True)
    for col in ("set", "domain", "user", "folder", "stored_in"):
        if not isinstance(out[col].dtype, pd.CategoricalDtype):
            out[col] = out[col].astype("category")
    return out


def _messages_frame_empty():
    return pd.DataFrame({
        "set": pd.Categorical([]), "path": pd.Series([], dtype="str"),
        "domain": pd.Categorical([]), "user": pd.Categorical([]), "folder": pd.Categorical([]),
        **{c: pd.Series([], dtype="str") for c in _TEXT_HEADERS},
        "date": pd.Series([], dtype=_UTC_NS), "size": pd.array([], dtype="Int64"),
        "has_attachments": pd.array([], dtype="boolean"), "stored_in": pd.Categorical([]),
    })


def diff_sets(target, a, b, storage_options=None):
    """Files added, changed and deleted between set *a* and set *b* (what the store did).

    Parameters
    ----------
    target : str, os.PathLike or Target
        One target (see read_sets).
    a, b : str
        Set names; *a* is the earlier state, *b* the later one.
    storage_options : dict, optional
        Passed to ``open_target``.

    Returns
    -------
    pandas.DataFrame
        One row per path that differs, sorted by path: ``path`` (str), ``change`` (category:
        added, changed, deleted), ``kind``, ``domain``, ``user``, ``folder`` (category),
        ``size_a``, ``size_b`` (Int64), ``mtime_a``, ``mtime_b`` (UTC datetimes); the side
        where the file is absent is missing. Changed means another size, mtime or CRC-32.
    """
    t = open_target(target, **(storage_options or {}))
    with read_lease(t) as lease:
        sets = _held(t, lease, lambda ss: [_pick(ss, a), _pick(ss, b)])
        fa = _present(_entries_frame(t, sets, _pick(sets, a)))
        fb = _present(_entries_frame(t, sets, _pick(sets, b)))
    keys = ["path", "kind", "domain", "user", "folder", "size", "mtime", "crc32"]
    left = fa[keys].astype({c: "str" for c in ("kind", "domain", "user", "folder")})
    right = fb[keys].astype({c: "str" for c in ("kind", "domain", "user", "folder")})
    m = left.merge(right, on="path", how="outer", suffixes=("_a", "_b"), indicator=True)
    in_a, in_b = (m["_merge"] != "right_only").to_numpy(), (m["_merge"] != "left_only").to_numpy()
    differs = ((m["size_a"] != m["size_b"]) | (m["mtime_a"] != m["mtime_b"])
               | (m["crc32_a"] != m["crc32_b"])).fillna(True).to_numpy(dtype=bool)
    code = np.where(in_a & in_b, np.where(differs, 1, -1), np.where(in_b, 0, 2))
    m = m[code >= 0]
    code = code[code >= 0]

    def side(col):
        return m[f"{col}_b"].where(m[f"{col}_b"].notna(), m[f"{col}_a"])

    out = pd.DataFrame({
        "path": m["path"].astype("str"),
        "change": pd.Categorical.from_codes(code.astype(np.int8),
                                            categories=["added", "changed", "deleted"]),
        **{c: side(c).astype("category") for c in ("kind", "domain", "user", "folder")},
        "size_a": m["size_a"].astype("Int64"), "size_b": m["size_b"].astype("Int64"),
        "mtime_a": m["mtime_a"].astype(_UTC_NS), "mtime_b": m["mtime_b"].astype(_UTC_NS),
    })
    return out.sort_values("path", ignore_index=True)


def _present(df):
    return df[df["change"] != "deleted"]


# ---------------------------------------------------------------------------------------------
# Verification


def read_verify(target, set=None, level="catalog", seed=None, progress=None, **settings):
    """Verification problems (workbench.verify) as a DataFrame, empty when all is well.

    Parameters
    ----------
    target : str, os.PathLike, Target or list of them
        See read_sets.
    set : str, optional
        One set (a differential is checked with what it needs from its full); default: every set.
    level : {"catalog", "data", "sample=P"}, default "catalog"
        ``catalog`` checks manifests, volume names and sizes and chains without reading data;
        ``data`` also inflates every member and checks its CRC-32 and size; ``sample=P`` does so
        for a random P % of the members.
    seed : int, optional
        Seed of the ``sample=P`` choice.
    progress : callable(Progress), optional
    **settings
        Further configuration keys for the target (as for workbench.verify.verify).

    Returns
    -------
    pandas.DataFrame
        ``set``, ``volume``, ``path`` (str, missing where the problem is not about one),
        ``user`` (category: ``user@domain`` of the mailbox affected) and ``problem`` (str: what
        is wrong, in words).
    """
    from .verify import verify

    def build(t):
        problems = verify(set, level=level, seed=seed, progress=progress, target=t.url,
                          **settings)
        rows = [p.as_dict() for p in problems]
        return pd.DataFrame({
            "set": pd.Series([r["set"] for r in rows], dtype="str"),
            "volume": pd.Series([r["volume"] for r in rows], dtype="str"),
            "path": pd.Series([r["path"] for r in rows], dtype="str"),
            "user": pd.Categorical([r["user"] for r in rows]),
            "problem": pd.Series([r["problem"] for r in rows], dtype="str"),
        })

    return _over_targets(target, None, build)
