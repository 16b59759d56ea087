"""``read_messages``: one row per message of a set, with the headers the backup stored in its
manifest (nothing is decompressed)."""

import numpy as np
import pandas as pd

from ..lease import read_lease
from ..sets import base_of
from ..store import MESSAGE_KINDS, MESSAGE_SUFFIX
from .entries import cached_frame, entries_frame
from .fleet import over_targets
from .frames import UTC_NS, fixed_category, text, times_s, with_set_dtype
from .manifests import held_sets, load_sets, manifest_of, pick
from .settings import settings


MESSAGE_COLUMNS = ("set", "path", "area", "domain", "user", "folder", "message_id", "from", "to",
                   "cc", "subject", "date", "date_raw", "size", "has_attachments", "stored_in")


#: Where a message lives: a mailbox (``store/mail/<domain>/<user>/``), a public folder
#: (``store/mail/<domain>/#public/``) or the archive (``store/archive/``); by file kind.
AREAS = ("mail", "public", "archive")
_AREA_OF_KIND = dict(zip(MESSAGE_KINDS, AREAS))


def read_messages(target=None, set=None, storage_options=None, config=None):
    """One row per message (``.eml`` of a mailbox, a public folder or the archive) a set lists.

    Headers come from the manifest, where the backup stored them as it read each message, so
    nothing is decompressed. Malformed or missing headers are missing values, never an error.

    Parameters
    ----------
    target : str, os.PathLike, Target or list of them, optional
        See read_sets (default: the config's target).
    set : str, optional
        The set to read (default: the one a recovery now would use).
    storage_options : dict, optional
        Passed to ``open_target``.
    config : Config or str, optional
        See read_sets.

    Returns
    -------
    pandas.DataFrame
        ``set`` (the set read), ``path`` (str), ``area`` (category: ``mail``, ``public`` or
        ``archive``), ``domain``, ``user``, ``folder`` (category; user and folder missing for
        archive mail), ``message_id`` (str, ``<...>``), ``from``, ``to``, ``cc``, ``subject``
        (str, RFC 2047 decoded), ``date`` (UTC datetime of the Date header; NaT if it cannot be
        read or is outside 1677-2262), ``date_raw`` (str: the Date header's text as written,
        which says what a NaT date was; missing in sets of a workbench before it), ``size``
        (Int64: the message file's bytes), ``has_attachments`` (boolean) and ``stored_in`` (the
        set whose volume holds it). Sets made by Kerio, or by a workbench before headers were
        indexed (before archive mail was, for archive messages), give missing header values.
    """
    cfg = settings(config)
    return over_targets(target, storage_options, lambda t, s: _read_messages(t, set), cfg)


def _read_messages(target, name):
    sets, _ = load_sets(target)
    df = cached_frame(target, sets, pick(sets, name), "messages")
    if df is None:
        with read_lease(target) as lease:
            sets = held_sets(target, lease, lambda ss: [pick(ss, name)])
            df = messages_frame(target, sets, pick(sets, name))
    return with_set_dtype(df.copy(), [str(s.name) for s in sets])


def messages_frame(target, sets, info):
    name = str(info.name)
    m = manifest_of(target, name, copy=info.copy) if info.header is not None else None
    if m is not None:
        with m.lock:
            hit = m.frames.get("read_messages")
        if hit is not None:
            return hit
    if m is not None:
        m.expect_messages = True  # inflate the messages line with the entries, once
    entries = entries_frame(target, sets, info)
    # store.is_message, a column at a time
    keep = (entries["file_kind"].isin(MESSAGE_KINDS).to_numpy()
            & entries["path"].str.endswith(MESSAGE_SUFFIX).to_numpy(dtype=bool)
            & (entries["change"] != "deleted").to_numpy())
    sub = entries.loc[keep, ["set", "path", "file_kind", "domain", "user", "folder", "size",
                             "stored_in"]]
    sub = sub.reset_index(drop=True)
    sub.insert(2, "area", _areas(sub.pop("file_kind")))
    cols = m.columns("messages", _message_column, info) if m is not None else None
    base = base_of(sets, info)
    if (m is not None and info.header.get("message_headers") == "stored" and base is not None
            and base is not info and base.header is not None):
        # A differential lists the headers of the messages it stores; the unchanged ones are
        # in its full's manifest. Its own come first, so a rewritten message's headers win.
        cols = _stack(cols, manifest_of(target, str(base.name), copy=base.copy).columns(
            "messages", _message_column, base))
    headers = _headers_frame(cols, sub["path"])
    attach = headers.pop("_attach").rename("has_attachments")
    df = pd.concat([sub[["set", "path", "area", "domain", "user", "folder"]], headers,
                    sub[["size"]], attach, sub[["stored_in"]]], axis=1)
    df = df[list(MESSAGE_COLUMNS)]
    if m is not None:
        with m.lock:
            m.frames["read_messages"] = df
    return df


TEXT_HEADERS = ("message_id", "from", "to", "cc", "subject", "date_raw")


def _areas(file_kinds):
    """The ``area`` column from the (categorical) ``file_kind`` of message rows."""
    kinds = file_kinds.cat.categories
    of_code = np.array([AREAS.index(_AREA_OF_KIND[k]) if k in _AREA_OF_KIND else -1
                        for k in kinds] + [-1], dtype=np.int8)
    codes = of_code[file_kinds.cat.codes.to_numpy()]  # code -1 (missing) takes the last entry
    return pd.Categorical.from_codes(codes, dtype=fixed_category([], AREAS).dtype)


def _message_column(name, values):
    """One manifest ``messages`` column as a Series (converted at once, to free the list)."""
    if name == "date":
        return pd.Series(times_s(values))
    if name == "has_attachments":
        return pd.Series(pd.array(values, dtype="boolean"))
    return text(values)


def _stack(first, second):
    """Message columns of two manifests one after the other (either may be None)."""
    if not first or not second:
        return first or second
    return {k: pd.concat([first[k], second[k]], ignore_index=True) for k in first}


def _headers_frame(cols, paths):
    """Header columns aligned with *paths* (positionally when the block matches, else by path)."""
    n = len(paths)
    if not cols or not len(cols.get("path", ())):
        out = pd.DataFrame({c: text([None] * n) for c in TEXT_HEADERS})
        out["date"] = pd.Series(pd.NaT, index=range(n), dtype=UTC_NS)
        out["_attach"] = pd.array([None] * n, dtype="boolean")
        return out
    frame = pd.DataFrame({**{c: cols[c] for c in TEXT_HEADERS}, "date": cols["date"],
                          "_attach": cols["has_attachments"]})
    block_paths = cols["path"]
    if len(block_paths) != n or not (block_paths.to_numpy() == paths.to_numpy()).all():
        frame.index = block_paths.to_numpy()
        frame = frame[~frame.index.duplicated()].reindex(paths.to_numpy())
    return frame.reset_index(drop=True)


def empty_messages_frame():
    return pd.DataFrame({
        "set": fixed_category([], []), "path": text([]), "area": fixed_category([], AREAS),
        "domain": fixed_category([], []), "user": fixed_category([], []),
        "folder": fixed_category([], []), **{c: text([]) for c in TEXT_HEADERS},
        "date": pd.Series([], dtype=UTC_NS), "size": pd.array([], dtype="Int64"),
        "has_attachments": pd.array([], dtype="boolean"), "stored_in": fixed_category([], []),
    }, columns=list(MESSAGE_COLUMNS))
