"""``connect``: a DuckDB connection over an export (catalog.export), one view per table.

The views read the Parquet files where they lie (nothing is loaded until a query runs, and a
query reads only the columns and partitions it needs), with hive partitioning on: ``target``
and ``set`` come from the paths, as text. Each view's columns are in the vocabulary's order,
``target`` first (and ``set``, ``started`` next where the table is partitioned by set).
Times are TIMESTAMPTZ (the files keep nanoseconds; the views, DuckDB's microseconds) and the
connection's time zone is UTC, as the frames' times are.
"""

import glob
import os

from .entries import ENTRY_COLUMNS
from .exporter import DATA, PARTITIONS, TARGET_COLUMNS, schema_path
from .fleet import PROBLEM_COLUMNS
from .messages import MESSAGE_COLUMNS
from .sets import SET_COLUMNS, VOLUME_COLUMNS

#: Every view of connect() and its columns, in order.
VIEWS = {
    "targets": TARGET_COLUMNS,
    "sets": ("target",) + SET_COLUMNS + ("set_bytes",),
    "volumes": ("target", "set", "started") + VOLUME_COLUMNS[1:],
    "entries": ("target", "set", "started") + ENTRY_COLUMNS[1:],
    "messages": ("target", "set", "started") + MESSAGE_COLUMNS[1:],
    "problems": PROBLEM_COLUMNS,
}


#: The time columns: nanoseconds in the files (pandas and Dask read them so), DuckDB's standard
#: TIMESTAMPTZ (microseconds) in the views, which pandas gets back as UTC datetimes.
TIMES = ("started", "finished", "mtime", "date", "exported")


def _quote(text):
    return "'" + str(text).replace("'", "''") + "'"


def _ident(name):
    return '"' + name.replace('"', '""') + '"'


def connect(out, database=":memory:", read_only=False):
    """A DuckDB connection with the views ``targets``, ``sets``, ``volumes``, ``entries``,
    ``messages`` and ``problems`` over the export directory *out*.

    Parameters
    ----------
    out : str or os.PathLike
        A directory written by catalog.export (or ``workbench catalog export``).
    database : str, default ":memory:"
        DuckDB's database: the views live there (a file keeps them for later sessions).
    read_only : bool, default False
        Open *database* read-only (a file another process writes).

    Returns
    -------
    duckdb.DuckDBPyConnection
        ``con.sql("select ...").df()`` gives a pandas frame. Views see later exports into the
        same directory (the files are listed again by each query).

    Raises
    ------
    FileNotFoundError
        If *out* holds no export.
    """
    import duckdb
    from .exporter import MARKER
    out = os.path.abspath(os.fspath(out))
    if not os.path.exists(os.path.join(out, MARKER)):
        raise FileNotFoundError(f"{out} holds no workbench export ({MARKER} is missing); write "
                                "one with catalog.export or `workbench catalog export`")
    con = duckdb.connect(database, read_only=read_only)
    con.execute("SET TimeZone = 'UTC'")
    for view, columns in VIEWS.items():
        con.execute(f"create or replace view {view} as {_select(out, view, columns)}")
    return con


def _select(out, view, columns):
    """The view's query: its table's files, or while there are none its schema file."""
    cols = ", ".join(f"{_ident(c)}::TIMESTAMPTZ as {_ident(c)}" if c in TIMES else _ident(c)
                     for c in columns)
    partitions = PARTITIONS.get(view, ())
    pattern = os.path.join(out, view, *["*"] * len(partitions), DATA)
    if glob.glob(pattern) or not partitions:
        hive = ", ".join(f"{_quote(p)}: 'VARCHAR'" for p in partitions)
        options = (f", hive_partitioning = true, hive_types = {{{hive}}}, union_by_name = true"
                   if partitions else "")
        return f"select {cols} from read_parquet({_quote(pattern)}{options})"
    nulls = ", ".join(f"NULL::VARCHAR as {_ident(p)}" for p in partitions)
    return (f"select {cols} from (select {nulls}, * from read_parquet("
            f"{_quote(schema_path(out, view))}))")


__all__ = ["connect", "VIEWS"]
