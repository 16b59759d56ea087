"""``storage_usage`` and ``forecast_storage``: bytes per set and over time against the rotation
limit and the target's space, and when the target fills."""

from dataclasses import dataclass
from typing import Optional

import numpy as np
import pandas as pd

from ..config import Config
from ..naming import index_name, manifest_name
from ..rotation import plan_rotation
from ..sets import base_of
from ..sizes import parse_size
from ..targets import open_target
from .frames import STATUSES, UTC_NS, over_targets, timestamp
from .manifests import load_sets
from .sets import set_status


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
    return over_targets(target, storage_options, lambda t: usage_frame(t, keep, capacity))


def _set_bytes(s, files):
    name = str(s.name)
    extra = sum(files.get(f, 0) for f in (manifest_name(name), index_name(name)))
    return sum(size for _, size in s.volumes.values()) + extra + sum(
        files.get(f, 0) for f in s.leftovers)


def space_of(target, capacity, sets_bytes):
    """``(capacity, free, other bytes)``: of the filesystem, or of the *capacity* given."""
    if capacity is not None:
        capacity = int(capacity)
        return capacity, capacity - sets_bytes, 0
    total, free = target.disk_usage()
    return total, free, max(0, total - free - sets_bytes)


def usage_frame(target, keep, capacity):
    sets, files = load_sets(target)
    decisions = {d.set: d for d in plan_rotation(sets, keep)}
    sizes = [_set_bytes(s, files) for s in sets]
    capacity, free, _ = space_of(target, capacity, sum(sizes))
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
                             dtype="object").astype(UTC_NS),
        "status": pd.Categorical([set_status(s, files) for s in sets], categories=list(STATUSES)),
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
    when = timestamp(now, "now") or pd.Timestamp.now(tz="UTC")
    t = open_target(target, **(storage_options or {}))
    usage = usage_frame(t, keep, 0)  # sizes only: the space is asked for once, below
    capacity, free, other = space_of(t, capacity, int(usage["bytes"].sum()))
    ok = usage[(usage["status"] == "complete") & usage["chain"].notna()]
    fulls = ok[ok["set"] == ok["chain"]]
    chain_sizes = ok.groupby("chain", observed=True)["bytes"].sum()
    hist = pd.DataFrame({
        "chain": fulls["set"].to_numpy(), "started": fulls["started"].to_numpy(),
        "full_bytes": fulls["bytes"].to_numpy(dtype=np.int64),
        "chain_bytes": [int(chain_sizes.get(c, 0)) for c in fulls["set"]],
    })
    hist["started"] = pd.Series(hist["started"], dtype=UTC_NS) if len(hist) else \
        pd.Series([], dtype=UTC_NS)
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
