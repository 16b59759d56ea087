"""``recovery_plan``: the full + differential a recovery at a given time uses, and what it
restores; the set is chosen by workbench.sets.choose_set and narrowed by workbench.selection, the
rules ``workbench restore`` follows."""

from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import pandas as pd

from ..lease import read_lease
from ..selection import Selection
from ..sets import base_of, choose_set
from .entries import entries_frame
from .fleet import as_fleet, over_targets, read_each, with_target
from .frames import SET_KINDS, UTC_NS, fixed_category, set_time, timestamp, with_set_dtype
from .manifests import held_sets
from .settings import settings


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
        One row per set read: ``set``, ``kind`` (category F/D/C), ``role`` (category: full,
        differential), ``started`` (UTC datetime, to the second), ``files`` (Int64: files
        restored from it), ``size`` (Int64: their bytes in the store) and ``compressed_size``
        (Int64: their bytes in its volumes, what is read): the sums of read_entries' columns of
        those names.
    entries : pandas.DataFrame
        The files of the state recovered (columns as read_entries, deleted files left out),
        narrowed to ``domain``, ``user`` and ``folder`` when given; files skipped at backup are
        among them with their reason in ``skipped`` (see the ``skipped`` property): the
        recovery cannot write those.
    passed_over : list of (str, str)
        Newer sets the recovery does not use, newest first, and why (damaged, incomplete,
        unsupported, a differential whose full is gone or damaged): it falls back past them.
    """

    at: Optional[pd.Timestamp]
    set: str
    full: str
    chain: list
    sets: pd.DataFrame
    entries: pd.DataFrame = field(repr=False)
    passed_over: list = field(default_factory=list)

    @property
    def skipped(self):
        """The files of ``entries`` the backup recorded but did not store (too large for a
        volume, say): a recovery cannot write them."""
        return self.entries[self.entries["skipped"].notna()]

    @property
    def files(self):
        """Number of files the recovery writes (those skipped at backup left out)."""
        return int(self.entries["skipped"].isna().sum())

    @property
    def bytes(self):
        """Bytes the recovery writes."""
        return int(self.entries["size"][self.entries["skipped"].isna()].sum())


#: The columns of a fleet's ``recovery_plan(...).summary``: one row per target.
PLAN_SUMMARY_COLUMNS = ("target", "set", "chain", "started", "files", "size", "compressed_size")


@dataclass
class FleetRecoveryPlan:
    """What a recovery at a given time reads on each target of a fleet.

    Attributes
    ----------
    at : pandas.Timestamp or None
        The time asked for (UTC); None means "now".
    plans : dict
        ``{target: RecoveryPlan}`` of every target planned, in the fleet's order.
    summary : pandas.DataFrame
        One row per target planned: ``target``, ``set`` (the set the recovery uses), ``chain``
        (its full), ``started`` (the set's time), ``files``, ``size`` (Int64: files and store
        bytes the recovery writes) and ``compressed_size`` (Int64: bytes it reads).
    sets : pandas.DataFrame
        The plans' ``sets`` frames with a ``target`` column in front.
    entries : pandas.DataFrame
        The plans' ``entries`` frames with a ``target`` column in front.
    problems : pandas.DataFrame
        The targets left out (``target``, ``error``, ``message``; see catalog.problems): no
        restorable set at ``at``, unreachable, ...
    """

    at: Optional[pd.Timestamp]
    plans: dict
    summary: pd.DataFrame
    sets: pd.DataFrame
    entries: pd.DataFrame = field(repr=False)
    problems: pd.DataFrame = field(repr=False)

    @property
    def files(self):
        """Number of files the recoveries write."""
        return len(self.entries)

    @property
    def bytes(self):
        """Bytes the recoveries write."""
        return int(self.entries["size"].sum())


def recovery_plan(target=None, at=None, domain=None, user=None, folder=None,
                  storage_options=None, config=None):
    """The full + differential a recovery at time *at* uses, and what it restores.

    The rule (``workbench.sets.choose_set``, shared with ``workbench restore``): the newest set
    started at or before *at* that is complete (or made by Kerio and whole) and whose full is
    present and whole; a copy counts as a full. An incomplete, damaged or unsupported set is
    never used, nor a differential whose full is gone or damaged: the plan falls back past them
    and names them in ``passed_over``.

    Parameters
    ----------
    target : str, os.PathLike, Target, or a fleet, optional
        A target (see read_sets; default: the config's target), or a fleet (a list, a mapping
        ``{name: target}`` or a Fleet): one plan per target, see Returns.
    at : datetime, pandas.Timestamp or str, optional
        The time to recover to (a time without a zone is in the config's ``timezone``, else the
        machine's zone, as for ``workbench restore --at``: see workbench.times); default: now.
    domain, user : str, optional
        Narrow the entries to mail of this domain / user (case-insensitive, as ``workbench
        restore``); a scoped recovery restores mail only.
    folder : str, optional
        Narrow to this folder and its subfolders (``INBOX`` takes ``INBOX/Projects`` too).
    storage_options : dict, optional
        Passed to ``open_target``.
    config : Config or str, optional
        See read_sets (its ``timezone`` reads *at*).

    Returns
    -------
    RecoveryPlan, or FleetRecoveryPlan for a fleet
        For a fleet: the plan of each target (``plans``), a row per target (``summary``), the
        sets and entries of all (``sets``, ``entries``, with a ``target`` column), and the
        targets left out (``problems``: one without a restorable set at *at*, say).

    Raises
    ------
    NoCompleteBackup
        If no restorable set was started at or before *at* (for a fleet: on no target).
    """
    cfg = settings(config)
    when = timestamp(at, "at", cfg.timezone)

    def build(t, server):
        return _plan(t, when, domain, user, folder)

    fleet = as_fleet(target, cfg)
    if fleet is None:
        return over_targets(target, storage_options, build, cfg)
    reading = read_each(fleet, storage_options, build)
    plans = {name: plan for name, _, plan in reading.results}
    return FleetRecoveryPlan(
        at=when, plans=plans,
        summary=with_target(reading, [_summary(p) for p in plans.values()]),
        sets=with_target(reading, [p.sets for p in plans.values()]),
        entries=with_target(reading, [p.entries for p in plans.values()]),
        problems=reading.problems_frame())


def _summary(plan):
    """A plan as one row of a fleet's summary (without its ``target``)."""
    dtype = plan.sets["set"].dtype
    return pd.DataFrame({
        "set": pd.Categorical([plan.set], dtype=dtype),
        "chain": pd.Categorical([plan.full], dtype=dtype),
        "started": plan.sets["started"].iloc[-1:].reset_index(drop=True),  # the set's row: last
        "files": pd.array([plan.files], dtype="Int64"),
        "size": pd.array([plan.bytes], dtype="Int64"),
        "compressed_size": pd.array([int(plan.sets["compressed_size"].sum())], dtype="Int64"),
    })


def _plan(t, when, domain, user, folder):
    moment = when.to_pydatetime() if when is not None else None
    with read_lease(t) as lease:
        sets = held_sets(t, lease, lambda ss: [choose_set(ss, at=moment)])
        passed_over = []
        info = choose_set(sets, at=moment, passed_over=passed_over)
        entries = entries_frame(t, sets, info)
    full = base_of(sets, info)
    chain = [s for s in sets if s.usable and s.name.time <= info.name.time
             and s.name >= full.name and (s is full or (s.name.kind == "D"
                                                         and base_of(sets, s) is full))]
    entries = entries[entries["change"] != "deleted"]
    if domain or user or folder:
        entries = entries[_scope_mask(entries, domain, user, folder)]
    names = [str(s.name) for s in sets]
    entries = with_set_dtype(entries.reset_index(drop=True).copy(), names)
    read = [full] if full is info else [full, info]
    stats = entries.groupby("stored_in", observed=True).agg(
        files=("path", "size"), size=("size", "sum"), compressed_size=("compressed_size", "sum"))
    rows = []
    for s in read:
        n = str(s.name)
        have = n in stats.index
        rows.append((n, s.name.kind, "full" if s is full else "differential",
                     set_time(s.name.time),
                     *(int(stats.at[n, c]) if have else 0
                       for c in ("files", "size", "compressed_size"))))
    cols = list(zip(*rows))
    sets_df = with_set_dtype(pd.DataFrame({
        "set": list(cols[0]),
        "kind": fixed_category(cols[1], SET_KINDS),
        "role": fixed_category(cols[2], ("full", "differential")),
        "started": pd.Series(cols[3], dtype="object").astype(UTC_NS),
        **{c: pd.array(cols[i], dtype="Int64")
           for i, c in enumerate(("files", "size", "compressed_size"), start=4)},
    }), names)
    return RecoveryPlan(at=when, set=str(info.name), full=str(full.name),
                        chain=[str(s.name) for s in chain], sets=sets_df, entries=entries,
                        passed_over=passed_over)


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
