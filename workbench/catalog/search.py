"""``find_messages`` (which sets and paths hold matching messages) and ``diff_sets`` (what the
store did between two sets)."""

import numpy as np
import pandas as pd

from ..headers import normalize_message_id
from ..lease import read_lease
from ..sets import base_of, find_set
from ..targets import open_target
from .entries import entries_frame
from .frames import UTC_NS, over_targets, timestamp
from .manifests import held_sets, pick
from .messages import empty_messages_frame, messages_frame
from .recovery import _scope_mask


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
    return over_targets(target, storage_options, lambda t: _find_messages(t, criteria))


def _find_messages(target, c):
    with read_lease(target) as lease:
        sets = held_sets(target, lease, lambda ss: _sets_searched(ss, c.get("sets")))
        return _search_messages(target, sets, _sets_searched(sets, c.get("sets")), c)


def _sets_searched(sets, wanted):
    if wanted is not None:
        names = [wanted] if isinstance(wanted, str) else list(wanted)
        return [find_set(sets, n) for n in names]
    return [s for s in sets if s.usable and not s.markers and base_of(sets, s) is not None]


def _search_messages(target, sets, chosen, c):
    since, until = timestamp(c.get("since"), "since"), timestamp(c.get("until"), "until")
    frames = []
    for s in chosen:
        df = messages_frame(target, sets, s)
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
        return empty_messages_frame()
    out = pd.concat(frames, ignore_index=True)
    for col in ("set", "domain", "user", "folder", "stored_in"):
        if not isinstance(out[col].dtype, pd.CategoricalDtype):
            out[col] = out[col].astype("category")
    return out


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
        sets = held_sets(t, lease, lambda ss: [pick(ss, a), pick(ss, b)])
        fa = _present(entries_frame(t, sets, pick(sets, a)))
        fb = _present(entries_frame(t, sets, pick(sets, b)))
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
        "mtime_a": m["mtime_a"].astype(UTC_NS), "mtime_b": m["mtime_b"].astype(UTC_NS),
    })
    return out.sort_values("path", ignore_index=True)


def _present(df):
    return df[df["change"] != "deleted"]
