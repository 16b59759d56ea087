"""Manifests as the catalog reads them: decoded once per process, column blocks on demand.

Sets of ours are read from their manifests alone (never from a zip central directory); a decoded
manifest is kept in a small per-process cache keyed by target, set and the manifest file's size
and mtime (manifests are written once and never changed, so a hit is always current). The
column bytes are decoded by archive.manifest (column_buffer); here they become numpy and Arrow
arrays. A manifest file damaged past its header is read from the copy in the set's last volume.
"""

import io
import json
import os
import threading
import zipfile
from collections import OrderedDict
from contextlib import contextmanager

import numpy as np

from ..archive import manifest as mf
from ..archive.crypt import check_password, plain_bytes, seal_of, unsealed
from ..errors import PasswordMissing, WrongPassword
from ..naming import manifest_name
from ..sets import (COMPLETE, DAMAGED, MANIFEST_ERRORS, base_of, check_volumes, choose_set,
                    find_set, list_sets, mark_locked, open_copy, protect_bases, set_damaged,
                    unreadable_manifest)


class Manifest:
    """One manifest: its header, and frames built from its column blocks when first asked for.

    Only the header is parsed up front; it comes first in the file, so reading the sets
    decompresses a few kilobytes of each manifest. A column block is read and parsed when a frame
    needs it, and only the frames are kept (the parsed lists take several times their memory).
    """

    def __init__(self, target, set_name, stamp, header, copy=None):
        self.target, self.set_name, self.stamp, self.header = target, set_name, stamp, header
        self.copy = copy  # the volume whose manifest copy is read instead of the file
        self.seal = None  # the sealed file's header (an encrypted set), to check passwords
        self.frames = {}
        self.lock = threading.Lock()
        # The text of the block not asked for, kept from the last inflate until it is read (a
        # read_messages reads the entries block first, then the messages block).
        self.spare = {}
        self.expect_messages = False

    def columns(self, block, convert=None, info=None):
        """The ``entries`` or ``messages`` columns as ``{name: convert(name, values)}``.

        *values* is a list, or for version 2's encoded entry columns a numpy array (integers) or
        a ``Coded`` (repetitive text); each column is converted on its own and its raw value
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
        out = {n: convert(n, column_values(cols.pop(n))) for n in names if n in cols}
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


def forget(target):
    """Forget the manifests of *target* (a reader done with it for good, as an export is)."""
    with _CACHE_LOCK:
        for key in [k for k in _CACHE if k[0] == target.url]:
            del _CACHE[key]


class Coded:
    """A text column stored as distinct values and one code per row."""

    def __init__(self, values, codes):
        self.values, self.codes = values, codes

    def __len__(self):
        return len(self.codes)


def column_values(value):
    """A manifest column's values as the frames take them: a list, a numpy int64 array, an Arrow
    string array, or a Coded, from the buffers archive.manifest gives (column_buffer)."""
    buf = mf.column_buffer(value)
    if isinstance(buf, list):
        return buf
    if isinstance(buf, mf.IntBuffer):
        return np.frombuffer(buf.data, buf.dtype).astype(np.int64)
    if isinstance(buf, mf.CodedBuffer):
        return Coded(buf.values, np.frombuffer(buf.codes, "<u4"))
    try:
        import pyarrow as pa
    except ImportError:
        return mf.decode_column(value)
    # An Arrow string array straight from the column's bytes and lengths (no object per row).
    lengths = np.frombuffer(buf.lengths, buf.lengths_dtype)
    offsets = np.zeros(len(lengths) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    valid = pa.py_buffer(buf.valid) if buf.valid is not None else None
    return pa.StringArray.from_buffers(len(lengths), pa.py_buffer(offsets),
                                       pa.py_buffer(buf.data), valid)


# What reading a manifest or its copy in a volume raises when it is damaged.
_READ_ERRORS = MANIFEST_ERRORS + (zipfile.BadZipFile, KeyError)


@contextmanager
def _open_manifest(target, set_name, copy=None):
    """The manifest of *set_name*: its file, or the copy in the volume *copy*."""
    if copy is None:
        # An encrypted set's manifest is sealed: read with the target's password.
        with target.open_read(manifest_name(set_name)) as f:
            yield unsealed(f, target, f"the manifest of {set_name}")
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
        data = plain_bytes(target.read_bytes(manifest_name(set_name)), target,
                           f"the manifest of {set_name}")
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
        seal = seal_of(f)
    for block in ("entries", "messages"):  # a one-line manifest: its header line is all of it
        header.pop(block, None)
    return header, seal


def _stamp(target, fname, size):
    local = target.local_path(fname)
    if local is not None:
        st = os.stat(local)  # FileNotFoundError if the set went away since it was listed
        return fname, st.st_size, st.st_mtime_ns
    return fname, size, None


def manifest_of(target, set_name, size=None, copy=None):
    """The manifest of *set_name* on *target* (or its *copy* in a volume), from the cache when
    the file is unchanged."""
    fname = copy or manifest_name(set_name)
    stamp = _stamp(target, fname, size)
    key = (target.url, set_name)
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
        if hit is not None and hit.stamp == stamp:
            _CACHE.move_to_end(key)
    if hit is not None and hit.stamp == stamp:
        if hit.seal is not None:  # decrypted once: this reader must have the password too
            check_password(target, hit.seal, f"the manifest of {set_name}")
        return hit
    header, seal = _read_header(target, set_name, copy)
    loaded = Manifest(target, set_name, stamp, header, copy)
    loaded.seal = seal
    with _CACHE_LOCK:
        _CACHE[key] = loaded
        _CACHE.move_to_end(key)
        total = sum(m.rows for m in _CACHE.values())
        while len(_CACHE) > 1 and total > _CACHE_ROWS:
            _, old = _CACHE.popitem(last=False)
            total -= old.rows
    return loaded


def load_sets(target, files=None):
    """``(sets, files)``: list_sets without its manifest decoding, manifests from the cache.

    Each complete set of ours gets its manifest header (no column blocks) as ``SetInfo.header``,
    which is all that base_of, rotation and the set table need, and is damaged unless its volumes
    are there at their sizes (sets.check_volumes); a damaged one gets the header of the manifest
    copy in its last volume, where that is readable. A set whose manifest vanished
    since the listing (removed meanwhile) is left out.
    """
    files = target.list() if files is None else files
    sets = list_sets(target, load=False, files=files)
    for s in list(sets):
        try:
            if s.status == COMPLETE:
                try:
                    s.header = manifest_of(target, str(s.name),
                                         files.get(manifest_name(str(s.name)))).header
                    check_volumes(s)  # complete only with every volume at its size
                    continue
                except FileNotFoundError:
                    raise
                except (PasswordMissing, WrongPassword) as e:
                    # listed from its files; its frames raise this when they are read
                    mark_locked(s, e)
                    continue
                except _READ_ERRORS as e:
                    set_damaged(target, s, f"manifest file unreadable ({e})")
            if s.status == DAMAGED and s.copy is not None:
                try:
                    s.header = manifest_of(target, str(s.name), files.get(s.copy), s.copy).header
                    check_volumes(s)
                except FileNotFoundError:
                    raise
                except _READ_ERRORS as e:
                    s.problem += f" (that copy is unreadable too: {e})"
                    s.copy = None
        except FileNotFoundError:
            sets.remove(s)
    protect_bases(sets)
    return sets, files


def held_sets(target, lease, pick):
    """The sets (as load_sets gives them) listed once *lease* holds those ``pick(sets)`` names,
    with their fulls: readers of manifests and volumes keep rotation away from what they read.

    ``pick(sets)`` returns the SetInfos to read; it is asked again on the new listing, and what
    it picks then is held too.
    """
    sets, _ = load_sets(target)
    files = lease.settle(with_bases(sets, pick(sets)))
    sets, _ = load_sets(target, files)
    again = with_bases(sets, pick(sets))
    if not again <= lease.names:
        lease.settle(again)
    return sets


def with_bases(sets, chosen):
    names = set()
    for s in chosen:
        names.add(str(s.name))
        base = base_of(sets, s)
        if base is not None:
            names.add(str(base.name))
    return names


def pick(sets, name):
    """The SetInfo for *name* (str, SetName or SetInfo); the recovery's choice for None."""
    if name is None:
        return choose_set(sets)
    return find_set(sets, getattr(name, "name", name))
