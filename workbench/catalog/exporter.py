"""``export``: the catalog of a fleet as hive-partitioned Parquet, for DuckDB, Dask or pandas.

The layout under the export directory (docs/catalog.md, "The fleet as data")::

    sets/target=<name>/data.parquet                 read_sets' rows (and set_bytes)
    volumes/target=<name>/data.parquet              read_volumes' rows
    entries/target=<name>/set=<set>/data.parquet    read_entries' rows of one set
    messages/target=<name>/set=<set>/data.parquet   read_messages' rows of one set
    targets/data.parquet                            one row per target: settings, space, when read
    problems/data.parquet                           what the last export could not read
    _schemas/<table>.parquet                        each table's columns, no rows
    _workbench_export.json                          marks the directory as ours: targets by name

Partition columns (``target``, ``set``) live in the paths, not in the files; entries, messages
and volumes carry the set's ``started`` time, by which sets sort (their names sort by kind
letter first). Text with few values (kind, user, folder, ...) is a Parquet dictionary column,
a category again in pandas.

Each file appears whole or not at all: it is written under a temporary name
(``.data.<token>.partial``, which no reader looks at: pyarrow and Dask skip names starting with a
dot, DuckDB's globs want ``.parquet``), flushed to disk and renamed. A second export writes only
the entries and messages of sets it has not written yet, rewrites the small per-target tables,
and removes the partitions of sets that are gone and of targets no longer in the fleet; a target
it cannot read keeps its partitions as they were, and becomes a row of ``problems``. An export
killed at any moment leaves the previous one readable; the next one removes its temporary files
and completes it. One export at a time per directory (a lock file, ``.workbench.lock``).

One set at a time is in memory, and its rows are converted and written in slices of
:data:`ROWS_PER_GROUP`: a fleet is never held whole, and a set of a million entries costs its
frame plus one slice.
"""

import json
import os
import secrets
import time
from contextlib import ExitStack
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import ConfigError, ExportBusy, FleetUnreadable, LockDamaged, LockHeld
from ..lease import read_lease
from ..lock import target_lock
from ..naming import parse_set_name
from ..progress import Meter
from ..secrets import mask_url
from ..sets import READABLE
from ..targets import LocalTarget, Target, open_target
from .entries import empty_entries_frame, entries_frame
from .fleet import READ_ERRORS, Problem, as_fleet, problems_frame
from .frames import TEXT, UTC_NS, set_time, times_ns
from .manifests import forget, held_sets, load_sets
from .messages import empty_messages_frame, messages_frame
from .sets import _read_sets, _read_volumes, sets_frame, volumes_frame
from .settings import settings
from .storage import space_of, usage_frame

#: The export's tables and the partition columns of each.
PARTITIONS = {"sets": ("target",), "volumes": ("target",), "entries": ("target", "set"),
              "messages": ("target", "set")}

#: One row per target exported (``targets/data.parquet``).
TARGET_COLUMNS = ("target", "url", "keep", "keep_copies", "capacity_bytes", "free_bytes",
                  "min_free_bytes", "exported")

#: Rows converted and written at a time (one Parquet row group each).
ROWS_PER_GROUP = 131072

DATA = "data.parquet"
SCHEMAS = "_schemas"  # not inside a table's directory: Dask would take a file there for data
MARKER = "_workbench_export.json"
FORMAT = 1


@dataclass
class ExportResult:
    """What an export did.

    Attributes
    ----------
    out : str
        The export directory.
    targets : list of str
        The names of the targets read.
    written : int
        Sets whose entries and messages were written now.
    unchanged : int
        Sets already in the export (not read again).
    removed : int
        Sets whose partitions were removed (gone from their target, or their target gone from
        the fleet).
    problems : pandas.DataFrame
        What could not be read (``target``, ``error``, ``message``): targets, whose partitions
        stay as the last export wrote them, and sets.
    seconds : float
    """

    out: str
    targets: list
    written: int = 0
    unchanged: int = 0
    removed: int = 0
    problems: pd.DataFrame = field(default=None, repr=False)
    seconds: float = 0.0


def export(targets=None, out=None, storage_options=None, config=None, progress=None):
    """Write the catalog of every set of *targets* to *out* as hive-partitioned Parquet.

    Parameters
    ----------
    targets : str, os.PathLike, Target or a fleet, optional
        A target, or a fleet: a list (named by catalog.target_name), a mapping ``{name:
        target}`` or a Fleet (catalog.read_fleet). Default: the config's target.
    out : str or os.PathLike
        The export directory: new, empty, or an earlier export (updated in place). The export
        mirrors the fleet given: the partitions of targets not in it are removed.
    storage_options : dict, optional
        Passed to ``open_target``.
    config : Config or str, optional
        See read_sets; a fleet's servers have their own settings on top.
    progress : callable(Progress), optional
        Called with ``phase="export"``: sets written of the sets to write, and the set's path.

    Returns
    -------
    ExportResult

    Raises
    ------
    ConfigError
        If *out* is a directory that holds other things and is no export.
    ExportBusy
        If another export is writing to *out*.
    FleetUnreadable
        If no target could be read: the partitions are left as they were, the problems table
        names every target's problem.
    """
    started = time.monotonic()
    cfg = settings(config)
    if out is None:
        raise ConfigError("out", None, "name the export directory")
    fleet = as_fleet(targets, cfg) or as_fleet([cfg.target_or_default if targets is None
                                                else targets], cfg)
    servers = list({s.name: s for s in fleet.servers}.values())  # a list naming one twice
    out = os.path.abspath(os.fspath(out))
    marker = _claim(out)
    with ExitStack() as stack:
        try:
            stack.enter_context(target_lock(LocalTarget(out), stale_after=cfg.lock_stale_after))
        except LockDamaged:
            raise
        except LockHeld as e:
            raise ExportBusy(out, e.owner) from None
        known = dict(marker.get("targets", {}))
        _write_marker(out, {**known, **{s.name: _url(s) for s in servers}})
        _write_schemas(out)
        result = ExportResult(out=out, targets=[])
        meter = Meter(progress, phase="export")
        found, rows = [], []
        previous = _previous_targets(out)
        for s in servers:
            t = None
            try:
                t = open_target(s.target, **s.options(storage_options))
                rows.append(_export_target(out, t, s, result, meter, found))
            except READ_ERRORS as e:
                found.append(Problem(s.name, type(e).__name__, mask_url(str(e))))
                # its partitions stay, and so does its row; one never read gets one too, so
                # that a query over targets misses no server
                rows.append(previous.get(s.name) or _settings_row(s))
            else:
                result.targets.append(s.name)
            finally:
                if t is not None:
                    forget(t)  # the fleet is never held: one target's manifests at a time
        if result.targets:  # a fleet of which nothing could be read removes nothing
            for name in set(known) - {s.name for s in servers}:
                result.removed += _remove_target(out, name)
        _write_frame(_targets_frame(rows), os.path.join(out, "targets", DATA))
        result.problems = problems_frame(found, [s.name for s in servers])
        _write_frame(result.problems.astype({"target": TEXT, "error": TEXT}),
                     os.path.join(out, "problems", DATA))
        if not result.targets:
            raise FleetUnreadable(found)  # the problems table says so too
        _write_marker(out, {s.name: _url(s) for s in servers})
    meter.report(force=True)
    result.seconds = time.monotonic() - started
    return result


def _url(server):
    """The target of *server* as the targets table shows it before it is opened."""
    t = server.target
    if isinstance(t, Target):
        return mask_url(t.url)
    text = os.fspath(t)
    if "://" in text or text.startswith(("\\\\", "//")):
        return mask_url(text)
    return os.path.abspath(os.path.expanduser(text))


def _claim(out):
    """The marker of the export at *out* ({} for a new one); refuses a directory that holds
    other things (an export removes what it wrote before, and must never take other files for
    that)."""
    path = os.path.join(out, MARKER)
    try:
        with open(path, encoding="utf-8") as f:
            marker = json.load(f)
    except FileNotFoundError:
        marker = None
    except (OSError, ValueError) as e:
        raise ConfigError("out", out, f"{MARKER} there cannot be read ({e}); it marks the "
                          "directory as a workbench export: remove the directory, or name "
                          "another") from None
    if marker is None:
        if os.path.isdir(out) and [n for n in os.listdir(out) if n != ".workbench.lock"]:
            raise ConfigError("out", out, "the directory holds other files and is no workbench "
                              f"export (no {MARKER}); name a new or empty directory")
        os.makedirs(out, exist_ok=True)
        return {}
    if not isinstance(marker, dict) or marker.get("format") != FORMAT:
        raise ConfigError("out", out, f"{MARKER} there is not of format {FORMAT}; export to a "
                          "new directory")
    return marker


def _write_marker(out, targets):
    _publish_bytes(os.path.join(out, MARKER), json.dumps(
        {"format": FORMAT, "targets": dict(sorted(targets.items()))}, indent=1).encode())


def _previous_targets(out):
    """``{name: row}`` of the targets table the last export wrote (the rows of targets that
    cannot be read now are kept)."""
    path = os.path.join(out, "targets", DATA)
    if not os.path.exists(path):
        return {}
    df = pd.read_parquet(path)
    return {str(r["target"]): {c: (None if pd.isna(r[c]) else r[c]) for c in TARGET_COLUMNS}
            for _, r in df.iterrows()}


def _exportable(info):
    """True for a set whose entries may be there to read: complete, made by Kerio, or damaged
    (read from the manifest copy in its last volume; without one, reading it names the damage
    in the problems). An incomplete set (an interrupted run) has none."""
    return info.status in READABLE


def _export_target(out, t, server, result, meter, found):
    """Export one target: new sets' entries and messages, then its sets and volumes tables,
    then remove the partitions of sets gone. Returns its row of the targets table."""
    name = server.name
    done = {table: _partitions(out, table, name) for table in ("entries", "messages")}
    for table in done:
        _sweep(os.path.join(out, table, f"target={name}"))

    def todo(sets):
        return [s for s in sets if _exportable(s)
                and not all(str(s.name) in done[table] for table in done)]

    with read_lease(t, stale_after=server.config.lock_stale_after) as lease:
        sets = held_sets(t, lease, todo)
        pending = todo(sets)
        meter.files_total += len(pending)
        for info in pending:
            set_name = str(info.name)
            try:
                # messages first: it reads the manifest's entries and messages in one inflate
                messages = messages_frame(t, sets, info)
                entries = entries_frame(t, sets, info)
            except READ_ERRORS as e:
                found.append(Problem(name, type(e).__name__, mask_url(str(e))))
                continue
            when = set_time(info.name.time)
            for table, df in (("messages", messages), ("entries", entries)):
                if set_name not in done[table]:
                    path = os.path.join(out, table, f"target={name}", f"set={set_name}", DATA)
                    _write_frame(df, path, drop=PARTITIONS[table], started=when)
            del messages, entries
            result.written += 1
            meter.add(path=f"{name}/{set_name}")
    result.unchanged += sum(1 for s in sets if _exportable(s)) - len(pending)
    listing = load_sets(t)
    sets_df = _read_sets(t, server, None, listing=listing)
    usage = usage_frame(t, server, None, 0, listing)  # set_bytes; the space is asked below
    sets_df["set_bytes"] = sets_df["set"].astype(str).map(
        dict(zip(usage["set"].astype(str), usage["set_bytes"]))).astype("Int64")
    volumes = _read_volumes(t, None, listing)
    _write_frame(sets_df, os.path.join(out, "sets", f"target={name}", DATA), drop=("target",))
    _write_frame(volumes, os.path.join(out, "volumes", f"target={name}", DATA), drop=("target",),
                 started=_started_of(volumes["set"]))
    present = {str(s.name) for s in listing[0]}
    for table in done:
        for gone in sorted(_partitions(out, table, name) - present):
            _remove_partition(os.path.join(out, table, f"target={name}", f"set={gone}"))
            if table == "entries":
                result.removed += 1
    capacity, free, _ = space_of(t, server.capacity, int(usage["set_bytes"].sum()))
    return {**_settings_row(server, t), "capacity_bytes": capacity, "free_bytes": free,
            "exported": pd.Timestamp.now(tz="UTC")}


def _settings_row(server, t=None):
    """A target's row of the targets table as far as the fleet says it (no space, never read)."""
    return {"target": server.name, "url": mask_url(t.url) if t is not None else _url(server),
            "keep": server.config.keep,
            "keep_copies": server.keep_copies if server.keep_copies is not None
            else getattr(server.config, "keep_copies", None),
            "capacity_bytes": server.capacity, "min_free_bytes": server.config.min_free}


def _started_of(names):
    """The ``started`` column for a column of set names (each set's time, as its name says)."""
    times = {n: set_time(parse_set_name(n).time) for n in set(names.astype(str))
             if parse_set_name(n) is not None}
    return pd.DatetimeIndex(pd.Series(names.astype(str).map(times), dtype="object")
                            .astype(UTC_NS))


def _targets_frame(rows):
    cols = {c: [r.get(c) for r in rows] for c in TARGET_COLUMNS}
    return pd.DataFrame({
        "target": pd.Series(cols["target"], dtype=TEXT),
        "url": pd.Series(cols["url"], dtype=TEXT),
        **{c: pd.array(cols[c], dtype="Int64") for c in ("keep", "keep_copies", "capacity_bytes",
                                                         "free_bytes", "min_free_bytes")},
        "exported": pd.Series(cols["exported"], dtype="object").astype(UTC_NS),
    }, columns=list(TARGET_COLUMNS))


# --- files ----------------------------------------------------------------------------------


def _partitions(out, table, name):
    """The sets whose *table* partition of target *name* holds its file."""
    base = os.path.join(out, table, f"target={name}")
    try:
        entries = os.listdir(base)
    except FileNotFoundError:
        return set()
    return {e[len("set="):] for e in entries
            if e.startswith("set=") and os.path.exists(os.path.join(base, e, DATA))}


def _is_partial(name):
    return name.startswith(".data.") and name.endswith(".partial")


def _sweep(base):
    """Remove the temporary files an interrupted export left under *base* (ours by name), and
    the set directories they leave empty."""
    for dirpath, dirs, files in os.walk(base, topdown=False):
        for f in files:
            if _is_partial(f):
                os.remove(os.path.join(dirpath, f))
        if dirpath != base and not os.listdir(dirpath):
            os.rmdir(dirpath)


def _remove_partition(path):
    """Remove what an export wrote in the partition directory *path* (its file and temporary
    files), then the directory if nothing else is in it. Returns True if its file was there."""
    had = False
    try:
        names = os.listdir(path)
    except FileNotFoundError:
        return False
    for n in names:
        if n == DATA or _is_partial(n):
            os.remove(os.path.join(path, n))
            had = had or n == DATA
    if not os.listdir(path):
        os.rmdir(path)
    return had


def _remove_target(out, name):
    """Remove every partition of target *name* (gone from the fleet); returns the sets removed."""
    removed = 0
    for table, cols in PARTITIONS.items():
        base = os.path.join(out, table, f"target={name}")
        if not os.path.isdir(base):
            continue
        if len(cols) == 2:
            for e in os.listdir(base):
                if e.startswith("set="):
                    had = _remove_partition(os.path.join(base, e))
                    removed += had and table == "entries"
        _remove_partition(base)
    return removed


def _export_columns(df, drop=(), started=None):
    """*df* as the export stores it: partition columns *drop* left out, a ``started`` column
    after ``set`` (*started*: one time for every row, or one per row), categories unordered
    (their order is the file's own: sets sort by ``started``). No column data is copied but
    codes and ``started``."""
    cols = {}
    for c in df.columns:
        if c not in drop:
            s = df[c]
            cols[c] = s.cat.as_unordered() if isinstance(s.dtype, pd.CategoricalDtype) \
                and s.dtype.ordered else s
        if c == "set" and started is not None:
            if isinstance(started, pd.Timestamp):
                started = times_ns(np.full(len(df), started.value, dtype=np.int64))
            cols["started"] = pd.Series(pd.DatetimeIndex(started, tz="UTC").as_unit("ns"),
                                        index=df.index)
    return pd.DataFrame(cols, index=df.index)


def _arrow_table(df):
    """*df* as an Arrow table of the export's types: dictionaries of int32 codes (the same type
    in every file, whatever the number of categories) over utf8, text as utf8."""
    import pyarrow as pa
    table = pa.Table.from_pandas(df, preserve_index=False)
    fields = []
    for f in table.schema:
        if pa.types.is_dictionary(f.type):
            f = f.with_type(pa.dictionary(pa.int32(), pa.string()))
        elif pa.types.is_large_string(f.type) or pa.types.is_null(f.type):
            f = f.with_type(pa.string())
        fields.append(f)
    return table.cast(pa.schema(fields, metadata=table.schema.metadata))


def _write_frame(df, path, drop=(), started=None):
    """Write *df* (as _export_columns makes it) to the Parquet file *path* whole or not at all:
    a temporary file in the same directory, slices of ROWS_PER_GROUP rows, flushed to disk,
    then renamed to *path*."""
    import pyarrow.parquet as pq
    df = _export_columns(df, drop, started)
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    tmp = os.path.join(directory, f".data.{secrets.token_hex(6)}.partial")
    try:
        with open(tmp, "wb") as f:
            writer = None
            for start in range(0, max(len(df), 1), ROWS_PER_GROUP):
                table = _arrow_table(df.iloc[start:start + ROWS_PER_GROUP])
                if writer is None:
                    writer = pq.ParquetWriter(f, table.schema, compression="zstd")
                writer.write_table(table, row_group_size=ROWS_PER_GROUP)
            writer.close()
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.remove(tmp)
        except FileNotFoundError:
            pass
        raise
    _sync_dir(directory)


def _publish_bytes(path, data):
    directory = os.path.dirname(path)
    tmp = os.path.join(directory, f".data.{secrets.token_hex(6)}.partial")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _sync_dir(directory)


def _sync_dir(directory):
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def schema_path(out, table):
    return os.path.join(out, SCHEMAS, f"{table}.parquet")


def _write_schemas(out):
    """Each table's columns without rows (``_schemas/<table>.parquet``): what connect's views
    are made of while a table has no partition yet."""
    sets = sets_frame([])
    sets["set_bytes"] = pd.array([], dtype="Int64")
    for table, df, drop, started in (
            ("sets", sets, (), None),
            ("volumes", volumes_frame([]), (), times_ns([])),
            ("entries", empty_entries_frame(), ("set",), times_ns([])),
            ("messages", empty_messages_frame(), ("set",), times_ns([]))):
        path = schema_path(out, table)
        if not os.path.exists(path):
            _write_frame(df, path, drop=drop, started=started)


__all__ = ["export", "ExportResult", "PARTITIONS", "TARGET_COLUMNS"]
