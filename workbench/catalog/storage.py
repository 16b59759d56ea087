"""``storage_usage`` and ``forecast_storage``: bytes per set and over time against the rotation
limit and the target's space, and when the target fills; a forecast says when the history is too
short to fit a growth to, and then forecasts nothing."""

from dataclasses import dataclass
from typing import Optional

import numpy as np
import pandas as pd

from ..naming import index_name, manifest_name
from ..sets import base_of
from ..sizes import parse_size
from .fleet import as_fleet, over_targets, read_each, with_target
from .frames import (ROTATIONS, SET_KINDS, STATUSES, TEXT, UTC_NS, fixed_category, set_dtype,
                     set_time, timestamp)
from .manifests import load_sets
from .sets import set_status
from .settings import rotation_decisions, settings


USAGE_COLUMNS = ("set", "kind", "chain", "started", "status", "set_bytes", "cumulative_bytes",
                 "rotation", "kept_cumulative_bytes", "capacity_bytes", "free_bytes")


HISTORY_COLUMNS = ("chain", "started", "full_bytes", "chain_bytes", "fitted_bytes")


#: A growth is fitted only to at least this many fulls spanning at least this long: two points
#: always make a line, and fulls minutes apart make any growth per day.
MIN_FULLS = 3
MIN_SPAN = pd.Timedelta(days=7)


def storage_usage(target=None, keep=None, capacity=None, storage_options=None, config=None):
    """Bytes per set and cumulative over time, against the rotation limit and the target's space.

    Parameters
    ----------
    target : str, os.PathLike, Target or a fleet, optional
        See read_sets (default: the config's target).
    keep : int, optional
        The rotation limit (complete backups kept; default: the config's ``keep``, or for a
        fleet each server's).
    capacity : int, optional
        Bytes the backups may use in all (a quota, or the disk meant for them): ``free`` is then
        what of it the sets leave. Default: a fleet server's ``capacity``, else the target's
        filesystem or share, with its real free space (other files on it count as used).
    storage_options : dict, optional
        Passed to ``open_target``.
    config : Config or str, optional
        See read_sets.

    Returns
    -------
    pandas.DataFrame
        One row per set, oldest first: ``set``, ``kind`` (category F/D/C), ``chain`` (the full
        heading its chain), ``started`` (UTC datetime, to the second), ``status`` (category),
        ``set_bytes`` (Int64: every file of the set on the target: volumes, manifest and index),
        ``cumulative_bytes`` (Int64: set_bytes of this and all older sets), ``rotation``
        (category: keep, delete-next under *keep*), ``kept_cumulative_bytes`` (Int64: the same,
        counting only the sets rotation keeps), ``capacity_bytes`` and ``free_bytes`` (Int64: the
        target's now, the same on every row, for charts).
    """
    cfg = settings(config)
    return over_targets(target, storage_options,
                        lambda t, s: usage_frame(t, s, keep, _capacity(capacity, s)), cfg)


def _capacity(capacity, server):
    """The capacity given, else the server's (a fleet file's), else None (the target's)."""
    return capacity if capacity is not None else server.capacity


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


def usage_frame(target, server, keep, capacity, listing=None):
    """The storage_usage frame of *target* under *server*'s settings (a fleet.Server), from
    *listing* (a load_sets result) when the caller has one."""
    sets, files = listing or load_sets(target)
    decisions = rotation_decisions(sets, server.config, keep, server.keep_copies)
    sizes = [_set_bytes(s, files) for s in sets]
    capacity, free, _ = space_of(target, capacity, sum(sizes))
    kept = [decisions[str(s.name)].action == "keep" for s in sets]
    chains = []
    for s in sets:
        b = base_of(sets, s) if s.usable else None
        chains.append(str(b.name) if b is not None else None)
    n = len(sets)
    names = [str(s.name) for s in sets]
    dtype = set_dtype(names + [c for c in chains if c is not None])
    return pd.DataFrame({
        "set": pd.Categorical(names, dtype=dtype),
        "kind": fixed_category([s.name.kind for s in sets], SET_KINDS),
        "chain": pd.Categorical(chains, dtype=dtype),
        "started": pd.Series([set_time(s.name.time) for s in sets],
                             dtype="object").astype(UTC_NS),
        "status": fixed_category([set_status(s, files) for s in sets], STATUSES),
        "set_bytes": pd.array(sizes, dtype="Int64"),
        "cumulative_bytes": pd.array(np.cumsum(sizes, dtype=np.int64), dtype="Int64"),
        "rotation": fixed_category(["keep" if k else "delete-next" for k in kept], ROTATIONS),
        "kept_cumulative_bytes": pd.array(np.cumsum([b if k else 0 for b, k in zip(sizes, kept)],
                                                    dtype=np.int64), dtype="Int64"),
        "capacity_bytes": pd.array([capacity] * n, dtype="Int64"),
        "free_bytes": pd.array([free] * n, dtype="Int64"),
    }, columns=list(USAGE_COLUMNS))


@dataclass
class StorageForecast:
    """How the target fills, fitted from the backups on it.

    A growth is fitted only to enough history: at least three complete fulls (or copies),
    the first and last a week or more apart. With less, ``reason`` says so and the forecast
    gives no growth, no date and no largest ``keep`` (None): what is measured (the sizes of
    today's backups, ``projected_bytes``) is still given.

    Attributes
    ----------
    history : pandas.DataFrame
        One row per complete chain: ``chain`` (its full), ``started`` (UTC datetime),
        ``full_bytes`` (the full's bytes on the target), ``chain_bytes`` (the full's and its
        differentials') and ``fitted_bytes`` (the full's bytes on the fitted line; missing
        without a fit), all bytes Int64.
    reason : str or None
        None when the growth was fitted; else why there is no forecast (too little history).
    growth_per_day : float or None
        Growth of a full backup in bytes per day (least-squares line through the fulls' sizes).
    chain_bytes : int
        Bytes of one complete backup now: the fitted full (without a fit, the newest full)
        plus the mean bytes of differentials per chain.
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
        as when backups do not grow and ``keep`` of them fit, or without a fit).
    largest_keep : int or None
        The largest ``keep`` whose backups, at today's size, leave ``min_free`` free (None
        without a fit).
    """

    history: pd.DataFrame
    reason: Optional[str]
    growth_per_day: Optional[float]
    chain_bytes: int
    keep: int
    capacity: int
    free: int
    min_free: int
    other_bytes: int
    projected_bytes: int
    full_date: Optional[pd.Timestamp]
    largest_keep: Optional[int]

    @property
    def confident(self):
        """True when the forecast was fitted from enough history (``reason`` is None)."""
        return self.reason is None


#: The columns of a fleet's ``forecast_storage(...).summary``: one row per target.
FORECAST_COLUMNS = ("target", "keep", "chain_bytes", "growth_per_day", "projected_bytes",
                    "capacity_bytes", "free_bytes", "other_bytes", "min_free_bytes", "full_date",
                    "largest_keep", "reason")


@dataclass
class FleetForecast:
    """The storage forecast of each target of a fleet.

    Attributes
    ----------
    forecasts : dict
        ``{target: StorageForecast}`` of every target forecast, in the fleet's order.
    summary : pandas.DataFrame
        One row per target: ``target``, ``keep`` (Int64), ``chain_bytes``, ``projected_bytes``,
        ``capacity_bytes``, ``free_bytes``, ``other_bytes``, ``min_free_bytes`` (Int64: the
        StorageForecast attributes of those names without ``_bytes``, or with it),
        ``growth_per_day`` (float64, NaN without a fit), ``full_date`` (UTC datetime, NaT when
        not within a century or without a fit), ``largest_keep`` (Int64, missing without a fit)
        and ``reason`` (str: why there is no forecast; missing when there is one).
    history : pandas.DataFrame
        The forecasts' ``history`` frames with a ``target`` column in front.
    problems : pandas.DataFrame
        The targets left out (``target``, ``error``, ``message``; see catalog.problems).
    """

    forecasts: dict
    summary: pd.DataFrame
    history: pd.DataFrame
    problems: pd.DataFrame


def forecast_storage(target=None, keep=None, capacity=None, min_free=None, now=None,
                     storage_options=None, config=None):
    """Fit the growth of backups on *target* and say when it fills and how many backups fit.

    Model: a complete backup (a full and its differentials) grows linearly with the store; the
    sets come to take ``keep`` complete backups; whatever else is on the filesystem stays.
    The target is full when ``capacity - other - keep * chain(t)`` drops below *min_free*.
    Fewer than three complete fulls, or fulls less than a week apart, are too little history
    to fit a growth to: the forecast then says so in ``reason`` and gives no date.

    Parameters
    ----------
    target : str, os.PathLike, Target, or a fleet, optional
        A target (see read_sets; default: the config's target), or a fleet (a list, a mapping
        ``{name: target}`` or a Fleet): one forecast per target, see Returns.
    keep : int, optional
        Rotation limit (default: the config's ``keep``; for a fleet, each server's).
    capacity : int, optional
        Bytes the backups may use in all (default: a fleet server's ``capacity``, else the
        filesystem's size, other files on it counting as used); see storage_usage.
    min_free : int or str, optional
        Free space a backup requires (default: the config's ``min_free``, for a fleet each
        server's); ``"4GiB"`` works.
    now : datetime, optional
        The time the forecast starts from (default: the current time; a time without a zone is
        in the config's ``timezone``).
    storage_options : dict, optional
        Passed to ``open_target``.
    config : Config or str, optional
        See read_sets.

    Returns
    -------
    StorageForecast, or FleetForecast for a fleet
        For a fleet: the forecast of each target (``forecasts``), a row per target
        (``summary``), the histories of all (``history``, with a ``target`` column) and the
        targets left out (``problems``).
    """
    cfg = settings(config)
    if keep is not None and int(keep) < 1:
        raise ValueError(f"keep: {keep!r} must be at least 1")
    if min_free is not None:
        min_free = parse_size("min_free", min_free, allow_zero=True)
    when = timestamp(now, "now", cfg.timezone) or pd.Timestamp.now(tz="UTC")

    def build(t, server):
        return _forecast(t, server, server.config.keep if keep is None else int(keep),
                         _capacity(capacity, server),
                         server.config.min_free if min_free is None else min_free, when)

    fleet = as_fleet(target, cfg)
    if fleet is None:
        return over_targets(target, storage_options, build, cfg)
    reading = read_each(fleet, storage_options, build)
    forecasts = {name: f for name, _, f in reading.results}
    return FleetForecast(
        forecasts=forecasts,
        summary=with_target(reading, [_summary(f) for f in forecasts.values()]),
        history=with_target(reading, [f.history for f in forecasts.values()]),
        problems=reading.problems_frame())


def _summary(f):
    """A forecast as one row of a fleet's summary (without its ``target``)."""
    ints = {"keep": f.keep, "chain_bytes": f.chain_bytes, "projected_bytes": f.projected_bytes,
            "capacity_bytes": f.capacity, "free_bytes": f.free, "other_bytes": f.other_bytes,
            "min_free_bytes": f.min_free, "largest_keep": f.largest_keep}
    row = pd.DataFrame({c: pd.array([v], dtype="Int64") for c, v in ints.items()})
    row.insert(2, "growth_per_day", pd.Series([f.growth_per_day], dtype="float64"))
    row.insert(8, "full_date", pd.Series([f.full_date], dtype="object").astype(UTC_NS))
    row["reason"] = pd.Series([f.reason], dtype=TEXT)
    return row[list(FORECAST_COLUMNS[1:])]


def _forecast(t, server, keep, capacity, min_free, when):
    usage = usage_frame(t, server, keep, 0)  # sizes only: the space is asked for once, below
    capacity, free, other = space_of(t, capacity, int(usage["set_bytes"].sum()))
    ok = usage[(usage["status"] == "complete") & usage["chain"].notna()]
    fulls = ok[(ok["set"] == ok["chain"]).to_numpy(dtype=bool)]
    chain_sizes = ok.groupby("chain", observed=True)["set_bytes"].sum()
    hist = pd.DataFrame({
        "chain": pd.Categorical(fulls["chain"].to_numpy(), dtype=usage["chain"].dtype),
        "started": pd.Series(fulls["started"].to_numpy(), dtype=UTC_NS),
        "full_bytes": fulls["set_bytes"].to_numpy(dtype=np.int64),
        "chain_bytes": [int(chain_sizes.get(c, 0)) for c in fulls["chain"]],
    })
    reason = _too_little_history(hist["started"])
    days = ((hist["started"] - when).dt.total_seconds() / 86400.0).to_numpy(dtype=float)
    sizes = hist["full_bytes"].to_numpy(dtype=float)
    for c in ("full_bytes", "chain_bytes"):
        hist[c] = pd.array(hist[c].to_numpy(dtype=np.int64), dtype="Int64")
    diff_mean = float((hist["chain_bytes"] - hist["full_bytes"]).mean()) if len(hist) else 0.0
    if reason is not None:
        hist["fitted_bytes"] = pd.array([None] * len(hist), dtype="Int64")
        chain_now = (float(sizes[-1]) if len(sizes) else 0.0) + diff_mean
        return StorageForecast(history=hist, reason=reason, growth_per_day=None,
                               chain_bytes=round(chain_now), keep=keep, capacity=capacity,
                               free=free, min_free=min_free, other_bytes=other,
                               projected_bytes=int(round(keep * chain_now)), full_date=None,
                               largest_keep=None)
    slope, intercept = np.polyfit(days, sizes, 1)
    hist["fitted_bytes"] = pd.array(np.round(intercept + slope * days).astype(np.int64),
                                    dtype="Int64")
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
    return StorageForecast(history=hist, reason=None, growth_per_day=float(slope),
                           chain_bytes=round(chain_now), keep=keep, capacity=capacity, free=free,
                           min_free=min_free, other_bytes=other, projected_bytes=projected,
                           full_date=full_date, largest_keep=max(0, largest))


def _too_little_history(started):
    """Why the complete fulls started at *started* are too few to fit a growth to, or None."""
    n = len(started)
    span = started.max() - started.min() if n else pd.Timedelta(0)
    if n >= MIN_FULLS and span >= MIN_SPAN:
        return None
    have = f"{n} complete full backup{'' if n == 1 else 's'}"
    if n > 1:
        have += f" over {_duration(span)}"
    return (f"too little history: {have}; a growth is fitted to at least {MIN_FULLS} fulls "
            f"spanning at least {MIN_SPAN.days} days")


def _duration(delta):
    seconds = delta.total_seconds()
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = seconds / size
            text = f"{n:.0f}" if n >= 10 or n == int(n) else f"{n:.1f}"
            return f"{text} {unit}{'' if text == '1' else 's'}"
    return f"{seconds:.0f} seconds"
