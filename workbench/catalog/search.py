"""``find_messages`` (which sets and paths hold matching messages) and ``diff_sets`` (what the
store did between two sets).

Text criteria match the way people search mail: case and accents ignored ("kucera" finds
"Kučera", "STRASSE" finds "Straße"), by folding both sides to the same form (Unicode NFKD,
combining marks dropped, case folded). Each set's header columns are folded once and kept with
its cached messages frame, so later searches compare folded text only.
"""

import re
import unicodedata
from collections.abc import Mapping
from datetime import date, datetime

import numpy as np
import pandas as pd

from ..errors import SelectionError, SetNotFound
from ..headers import normalize_message_id
from ..lease import read_lease
from ..naming import parse_set_name
from ..sets import base_of, choose_set, find_set
from .entries import entries_frame
from .fleet import over_targets
from .frames import (TEXT, UTC_NS, concat, fixed_category, text, timestamp, with_set_dtype)
from .manifests import held_sets, manifest_of, pick
from .messages import AREAS, MESSAGE_COLUMNS, empty_messages_frame, messages_frame
from .recovery import _scope_mask
from .settings import settings


_CRITERIA = ("message_id", "sender", "recipient", "subject", "since", "until", "domain", "user",
             "folder", "area", "sets")


# The header columns each text criterion looks in.
_TEXT_CRITERIA = {"sender": ("from",), "recipient": ("to", "cc"), "subject": ("subject",)}


DISTINCT_COLUMNS = ("first_set", "last_set", "set_count") + tuple(
    c for c in MESSAGE_COLUMNS if c != "set")


def find_messages(target=None, storage_options=None, config=None, distinct=False, regex=False,
                  **criteria):
    """Which sets and paths hold messages matching every criterion given.

    Parameters
    ----------
    target : str, os.PathLike, Target or list of them, optional
        See read_sets (default: the config's target).
    message_id : str
        Exact Message-ID, with or without angle brackets.
    sender : str
        Text in the From header (name or address).
    recipient : str
        Text in the To or Cc header (name or address).
    subject : str
        Text in the decoded Subject.
    since, until : datetime or str
        Date header range, both ends included (a time without a zone is in the config's
        ``timezone``, else the machine's zone: see workbench.times).
    domain, user, folder : str
        Domain, user, folder (folder includes its subfolders), as ``workbench restore`` selects.
    area : str or list of str
        ``mail``, ``public``, ``archive``, or a list of them (default: all three).
    sets : str or list of str
        Look only in these sets (default: every complete set).
    distinct : bool, default False
        One row per message instead of one per (set, message): see Returns.
    regex : bool, default False
        Take *sender*, *recipient* and *subject* as regular expressions (Python's ``re``,
        searched anywhere in the text) instead of plain text. Either way case and accents do
        not count: "kucera" finds "Kučera", ``r"^re:\\s*fakt"`` finds "RE: Faktura".
    storage_options : dict, optional
        Passed to ``open_target``.
    config : Config or str, optional
        See read_sets (its ``timezone`` reads *since* and *until*).

    Returns
    -------
    pandas.DataFrame
        The read_messages columns, one row per (set, message) found, oldest set first. A message
        unchanged since the full appears under the full and each differential listing it
        (``stored_in`` says which volume set holds its data). With ``distinct=True``, one row per
        message (the same Message-ID; without one, the same path, size and date) with its columns
        as the newest set holding it has them, in place of ``set``: ``first_set`` and
        ``last_set`` (the oldest and newest set holding it) and ``set_count`` (Int64: how many
        sets do), ordered by ``first_set``.

    Raises
    ------
    TypeError
        For an unknown criterion.
    re.error
        For a *regex* that is no regular expression.
    """
    bad = [k for k in criteria if k not in _CRITERIA]
    if bad:
        raise TypeError(f"find_messages: unknown criterion {bad[0]}={criteria[bad[0]]!r}; use "
                        + ", ".join(_CRITERIA))
    cfg = settings(config)
    c = dict(criteria)
    c["since"] = timestamp(c.get("since"), "since", cfg.timezone)
    c["until"] = timestamp(c.get("until"), "until", cfg.timezone)
    c["area"] = _areas(c.get("area"))
    tests = {key: _matcher(c[key], regex) for key in _TEXT_CRITERIA if c.get(key)}
    return over_targets(target, storage_options,
                        lambda t, s: _find_messages(t, c, tests, distinct), cfg)


def _areas(value):
    if value is None:
        return None
    wanted = [value] if isinstance(value, str) else list(value)
    bad = [a for a in wanted if a not in AREAS]
    if bad:
        raise ValueError(f"area: {bad[0]!r} is none of " + ", ".join(AREAS))
    return wanted


def _find_messages(target, c, tests, distinct):
    with read_lease(target) as lease:
        sets = held_sets(target, lease, lambda ss: _sets_searched(ss, c.get("sets")))
        found = _search_messages(target, sets, _sets_searched(sets, c.get("sets")), c, tests)
    names = [str(s.name) for s in sets]
    with_set_dtype(found, names)
    return _distinct(found) if distinct else found


def _sets_searched(sets, wanted):
    if wanted is not None:
        names = [wanted] if isinstance(wanted, str) else list(wanted)
        return [find_set(sets, n) for n in names]
    return [s for s in sets if s.usable and not s.markers and base_of(sets, s) is not None]


def _search_messages(target, sets, chosen, c, tests):
    since, until = c.get("since"), c.get("until")
    frames = []
    for s in chosen:
        df = messages_frame(target, sets, s)
        mask = np.ones(len(df), dtype=bool)
        if c.get("message_id"):
            mask &= (df["message_id"] == normalize_message_id(c["message_id"])).fillna(
                False).to_numpy(dtype=bool)
        if tests:
            folded = _folded(target, s, df)
            for key, test in tests.items():
                hit = np.zeros(len(df), dtype=bool)
                for col in _TEXT_CRITERIA[key]:
                    hit |= test(folded[col])
                mask &= hit
        if since is not None:
            mask &= (df["date"] >= since).fillna(False).to_numpy(dtype=bool)
        if until is not None:
            mask &= (df["date"] <= until).fillna(False).to_numpy(dtype=bool)
        if c.get("area") is not None:
            mask &= df["area"].isin(c["area"]).to_numpy(dtype=bool)
        if c.get("domain") or c.get("user") or c.get("folder"):
            mask &= _scope_mask(df, c.get("domain"), c.get("user"), c.get("folder"))
        if mask.any():
            frames.append(df[mask])
    if not frames:
        return empty_messages_frame()
    return concat(frames)


# --- case- and accent-blind text -----------------------------------------------------------


def fold(value):
    """*value* as searches compare it: NFKD, combining marks dropped, case folded (``"Kučera"``
    and ``"KUCERA"`` both give ``"kucera"``, ``"Straße"`` gives ``"strasse"``)."""
    out = unicodedata.normalize("NFKD", value).casefold()
    # casefold may make new decomposable letters (İ gives i + a combining dot above)
    out = unicodedata.normalize("NFKD", out)
    return "".join(ch for ch in out if not unicodedata.combining(ch))


def _fold_column(series):
    """A text column folded (missing stays missing): each distinct value once, and ASCII ones
    by lowercasing only (all that folding does to them), in Arrow when it is there."""
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
    except ImportError:
        return text([None if v is None or v != v else fold(v) for v in series.tolist()],
                    index=series.index)
    arr = pa.array(series.array)  # the column's own Arrow data (no copy) when it has one
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    enc = arr.dictionary_encode()
    values = pc.ascii_lower(enc.dictionary)
    plain = pc.string_is_ascii(enc.dictionary).to_numpy(zero_copy_only=False)
    if not plain.all():
        folded = values.to_pylist()
        for i in np.flatnonzero(~plain):
            folded[i] = fold(folded[i])
        values = pa.array(folded, type=values.type)
    return pd.Series(pd.array(values.take(enc.indices), dtype=TEXT), index=series.index)


def _folded(target, info, df):
    """The folded ``from``, ``to``, ``cc`` and ``subject`` of messages frame *df* of set *info*,
    made once and kept with *df* in the manifest cache (made anew for a set without one)."""
    m = manifest_of(target, str(info.name), copy=info.copy) if info.header is not None else None
    if m is not None:
        with m.lock:
            hit = m.frames.get("folded")
        if hit is not None and hit[0] is df:
            return hit[1]
    folded = {col: _fold_column(df[col]) for col in ("from", "to", "cc", "subject")}
    if m is not None:
        with m.lock:
            m.frames["folded"] = (df, folded)
    return folded


def _matcher(query, regex):
    """``test(folded column) -> bool array`` for one text criterion."""
    query = str(query)
    if not regex:
        needle = fold(query)
        return lambda col: col.str.contains(needle, regex=False).fillna(False).to_numpy(
            dtype=bool)
    # The pattern's ASCII (its syntax) is kept, IGNORECASE does its case; any other letter is
    # folded as the text is, so that "č" in a pattern matches the "c" the text became.
    pattern = re.compile("".join(ch if ch.isascii() else fold(ch) for ch in query),
                         re.IGNORECASE)

    def test(col):
        codes, uniques = pd.factorize(col)  # each distinct value once (missing: code -1)
        hits = np.array([pattern.search(v) is not None for v in uniques] + [False], dtype=bool)
        return hits[codes]

    return test


# --- one row per message -------------------------------------------------------------------


def _distinct(found):
    """One row per message of *found* (rows oldest set first): the newest set's row, with the
    first and last set that hold it and how many do."""
    n = len(found)
    key = found["message_id"].astype(object).to_numpy()
    no_id = pd.isna(key)
    if no_id.any():
        sub = found[no_id]
        key = key.copy()
        key[no_id] = ("\0" + sub["path"].astype(str) + "\0" + sub["size"].astype(str) + "\0"
                      + sub["date"].astype(str)).to_numpy()
    codes, _ = pd.factorize(key)
    sets = found["set"].cat.codes.to_numpy()
    order = np.lexsort((sets, codes))  # by message, then oldest set first
    codes_sorted = codes[order]
    starts = np.flatnonzero(np.r_[True, codes_sorted[1:] != codes_sorted[:-1]]) if n else \
        np.empty(0, dtype=np.int64)
    ends = np.r_[starts[1:], n] - 1 if n else np.empty(0, dtype=np.int64)
    first, last = order[starts], order[ends]
    pairs = codes_sorted.astype(np.int64) * (len(found["set"].cat.categories) + 1) + sets[order]
    new_pair = np.r_[True, pairs[1:] != pairs[:-1]] if n else np.empty(0, dtype=bool)
    counts = np.add.reduceat(new_pair.astype(np.int64), starts) if n else np.empty(0, np.int64)
    keep = np.argsort(sets[first], kind="stable")  # ordered by first set, then as found
    rows = found.iloc[last[keep]].reset_index(drop=True)
    out = rows.drop(columns=["set"])
    out.insert(0, "set_count", pd.array(counts[keep], dtype="Int64"))
    out.insert(0, "last_set", rows["set"].to_numpy())
    out.insert(0, "first_set", found["set"].iloc[first[keep]].to_numpy())
    dtype = found["set"].dtype
    for c in ("first_set", "last_set"):
        out[c] = pd.Categorical(out[c], dtype=dtype)
    return out[list(DISTINCT_COLUMNS)]


DIFF_COLUMNS = ("path", "change", "file_kind", "domain", "user", "folder", "size_a", "size_b",
                "mtime_a", "mtime_b")


def diff_sets(target, a, b, storage_options=None, config=None):
    """Files added, changed and deleted between set *a* and set *b* (what the store did).

    Parameters
    ----------
    target : str, os.PathLike, Target, or a fleet
        A target (see read_sets; None: the config's target), or a fleet (a list, a mapping
        ``{name: target}`` or a Fleet): each target's sets are compared with each other, and
        the frames come out as one with a ``target`` column.
    a, b : str, datetime, None, or a mapping
        The sets: a set name; a time (a datetime, or a text that is no set name, such as
        ``"2026-11-20 08:00"``: the set a recovery at that time uses, as recovery_plan says);
        None for the set a recovery now uses; or for a fleet a mapping ``{target: set or
        time}`` naming one for each target. *a* is the earlier state, *b* the later one.
    storage_options : dict, optional
        Passed to ``open_target``.
    config : Config or str, optional
        See read_sets (its ``timezone`` reads times without a zone).

    Returns
    -------
    pandas.DataFrame
        One row per path that differs, sorted by path: ``path`` (str), ``change`` (category:
        added, changed, deleted), ``file_kind``, ``domain``, ``user``, ``folder`` (category),
        ``size_a``, ``size_b`` (Int64: the file's bytes in each), ``mtime_a``, ``mtime_b`` (UTC
        datetimes); the side where the file is absent is missing. Changed means another size,
        mtime or CRC-32. For a fleet a ``target`` column comes first, and a target where a set
        is missing is left out with a warning (catalog.problems).
    """
    cfg = settings(config)
    a, b = _which(a, "a", cfg), _which(b, "b", cfg)

    def build(t, server):
        name = server.name if server.named else None
        return _diff(t, _for(a, name, t), _for(b, name, t))

    return over_targets(target, storage_options, build, cfg)


def _which(value, key, cfg):
    """*value* of diff_sets' a or b as set names (str), times (Timestamp) or None; a mapping's
    values likewise."""
    if isinstance(value, Mapping):
        return {k: _which(v, key, cfg) for k, v in value.items()}
    if value is None or isinstance(value, str) and parse_set_name(value) is not None:
        return value
    if isinstance(value, str):
        try:
            return timestamp(value, key, cfg.timezone)
        except SelectionError:
            return value  # neither a set name nor a time: SetNotFound names it
    if not isinstance(value, (datetime, date)):  # a SetName or SetInfo
        return str(getattr(value, "name", value))
    return timestamp(value, key, cfg.timezone)


def _for(value, name, t):
    """The choice for the target *t* (named *name*) from a mapping, or *value* itself."""
    if not isinstance(value, Mapping):
        return value
    for key in (name, t.url):
        if key is not None and key in value:
            return value[key]
    raise SetNotFound(f"diff_sets names no set for target {name or t.url}: the mapping has "
                      + ", ".join(map(str, value)))


_LABELS = ("file_kind", "domain", "user", "folder")


def _pick(sets, value):
    """The SetInfo of a set name, the set a recovery at a time (Timestamp) uses, or now (None)."""
    if isinstance(value, pd.Timestamp):
        return choose_set(sets, at=value.to_pydatetime())
    return pick(sets, value)


def _diff(t, a, b):
    with read_lease(t) as lease:
        sets = held_sets(t, lease, lambda ss: [_pick(ss, a), _pick(ss, b)])
        fa = _present(entries_frame(t, sets, _pick(sets, a)))
        fb = _present(entries_frame(t, sets, _pick(sets, b)))
    keys = ["path", *_LABELS, "size", "mtime", "crc32"]
    left, right = fa[keys].copy(), fb[keys].copy()
    for c in _LABELS:  # one dtype on both sides: the merged columns stay categories
        both = pd.api.types.union_categoricals([left[c].array, right[c].array],
                                               sort_categories=True).categories
        left[c] = left[c].cat.set_categories(both)
        right[c] = right[c].cat.set_categories(both)
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
        "path": m["path"].astype(TEXT),
        "change": pd.Categorical.from_codes(code.astype(np.int8), dtype=fixed_category(
            [], ("added", "changed", "deleted")).dtype),
        **{c: side(c).cat.remove_unused_categories() for c in _LABELS},
        "size_a": m["size_a"].astype("Int64"), "size_b": m["size_b"].astype("Int64"),
        "mtime_a": m["mtime_a"].astype(UTC_NS), "mtime_b": m["mtime_b"].astype(UTC_NS),
    }, columns=list(DIFF_COLUMNS))
    return out.sort_values("path", ignore_index=True)


def _present(df):
    return df[df["change"] != "deleted"]
