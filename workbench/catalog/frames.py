"""What every frame of the catalog is made of: column builders for 100k-row columns (categories,
nullable integers, UTC times, text, set names) and the concatenation of frames (a fleet's, say:
catalog.fleet). docs/catalog.md is the vocabulary they build: every frame's columns, dtypes and meaning.

Dtypes: times are ``datetime64[ns, UTC]`` (a set's times to the second, as its name says; a
file's mtime to the nanosecond); text is :data:`TEXT`, pandas' ``str`` dtype, on pandas 2.3 as
on 3; set names (``set``, ``stored_in``, ``base``, ``chain``, ...) are :func:`set_dtype`, a
category ordered by the sets' start time; other small vocabularies (``kind``, ``file_kind``,
``domain``, ``user``, ``folder``, ``change``, ...) are ``category``; counts and sizes are the
nullable ``Int64``; flags are ``bool`` or the nullable ``boolean``.
"""

import sys

import numpy as np
import pandas as pd

from ..naming import KINDS, parse_set_name
from ..times import parse_time


STATUSES = ("complete", "incomplete", "damaged", "unsupported")


#: What rotation does with a set (under the ``keep`` given, or the config's).
ROTATIONS = ("keep", "delete-next")


#: The ``kind`` of a set: F (full), D (differential), C (copy), as naming has them.
SET_KINDS = tuple(KINDS)


UTC_NS = "datetime64[ns, UTC]"


#: Text columns: pandas' string dtype with NaN for missing values, the default ``str`` of
#: pandas 3 and the same dtype on pandas 2.3 (where plain ``"str"`` would still mean object).
TEXT = pd.StringDtype(na_value=np.nan)


#: Columns whose values are set names: one ordered dtype per target (see set_dtype).
SET_VALUED = ("set", "stored_in", "base", "chain", "first_set", "last_set")


def text(values, index=None):
    """A text Series (:data:`TEXT`) of *values*, None missing."""
    return pd.Series(values, dtype=TEXT, index=index)


def text_index(values):
    return pd.Index(list(values), dtype=TEXT)


def fixed_category(values, categories, ordered=False):
    """A Categorical of *values* over the fixed *categories* (F/D/C, statuses, ...)."""
    return pd.Categorical(values, dtype=pd.CategoricalDtype(text_index(categories),
                                                            ordered=ordered))


def _set_order(name):
    """Sort key of a set name: SetName's order (time, then kind letter); a text that is no set
    name (never written by workbench or Kerio) goes last."""
    parsed = parse_set_name(name)
    return (0, parsed.time.timestamp(), parsed.kind) if parsed is not None else (1, 0.0, name)


def set_dtype(names):
    """The dtype of set-name columns: categories *names* (and no others), oldest set first.

    Ordered, so that ``df["set"].max()`` is the newest set and sorting by ``set`` sorts by time
    (the names alone would sort C < D < F by their letter).
    """
    unique = {str(n) for n in names if not pd.isna(n)}
    return pd.CategoricalDtype(text_index(sorted(unique, key=_set_order)), ordered=True)


def _categories(series):
    if isinstance(series.dtype, pd.CategoricalDtype):
        return list(series.cat.categories)
    return list(pd.unique(series.dropna()))


def with_set_dtype(df, names=()):
    """*df* with every set-name column (:data:`SET_VALUED`) of one dtype: the set names *names*
    (the target's sets) and any others the columns hold, oldest first. Changes *df* in place."""
    cols = [c for c in SET_VALUED if c in df.columns]
    everything = list(names)
    for c in cols:
        everything += _categories(df[c])
    dtype = set_dtype(everything)
    for c in cols:
        if df[c].dtype != dtype:
            df[c] = df[c].astype(dtype)
    return df


def concat(frames):
    """The rows of *frames* (of the same columns) in one frame, category columns kept: a set-name
    column gets the set dtype of all their sets, another the union of their categories (pandas
    makes unequal categories object)."""
    frames = list(frames)
    for col, dtype in frames[0].dtypes.items():
        if col in SET_VALUED:
            unified = set_dtype([c for f in frames for c in _categories(f[col])])
        elif isinstance(dtype, pd.CategoricalDtype) and any(f[col].dtype != dtype
                                                           for f in frames):
            unified = pd.CategoricalDtype(text_index(sorted(
                {c for f in frames for c in _categories(f[col])})))
        else:
            continue
        frames = [f if f[col].dtype == unified else f.assign(**{col: f[col].astype(unified)})
                  for f in frames]
    return pd.concat([f for f in frames if len(f)] or frames[:1], ignore_index=True)


def text_isin(values, among):
    """``values.isin(among)`` for two text Series as a bool array, by Arrow's hash set (pandas
    3.1 turns an Arrow string array into a Python list first: 0.85 s for 100k paths, not 0.03)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    return pc.is_in(pa.array(values), value_set=pa.array(among)).to_numpy(zero_copy_only=False)


def categorical(values):
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
    return pd.Categorical.from_codes(remap[codes], categories=text_index(cats[i] for i in order))


def categorical_from_codes(coded):
    """A Categorical (categories sorted, None missing) from a manifest's coded column."""
    cats = coded.values
    order = sorted((i for i, v in enumerate(cats) if v is not None), key=cats.__getitem__)
    remap = np.full(len(cats), -1, dtype=np.int32)
    remap[np.array(order, dtype=np.int64)] = np.arange(len(order), dtype=np.int32)
    codes = remap[coded.codes] if len(cats) else np.empty(0, dtype=np.int32)
    return pd.Categorical.from_codes(codes, categories=text_index(cats[i] for i in order))


def constant_category(value, n):
    return pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), categories=text_index([value]))


def ints(values):
    return pd.array(np.asarray(values, dtype=np.int64), dtype="Int64")


def times_ns(values):
    return pd.to_datetime(np.asarray(values, dtype=np.int64), unit="ns", utc=True)


# Epoch seconds datetime64[ns] holds (1677-09-21T00:12:44Z to 2262-04-11T23:47:16Z).
_MIN_S, _MAX_S = -9223372036, 9223372036


def times_s(values):
    """UTC datetimes from epoch seconds; None, and whatever no datetime64[ns] holds (a far
    year in a manifest of an older workbench, a damaged value), is NaT."""
    try:
        arr = np.array(values, dtype="float64") if len(values) else np.empty(0)
    except (TypeError, ValueError):
        arr = np.array([v if isinstance(v, (int, float)) and not isinstance(v, bool) else None
                        for v in values], dtype="float64")
    arr[~((arr >= _MIN_S) & (arr <= _MAX_S))] = np.nan
    return pd.to_datetime(arr, unit="s", utc=True).as_unit("ns")


def set_time(value):
    """A set's time as the frames hold it: a UTC Timestamp to the second (the precision of set
    names, so that frames join on it), from a datetime or a manifest's ISO text; NaT if absent."""
    if not value:
        return pd.NaT
    return pd.Timestamp(parse_time(value, "time")).as_unit("ns").floor("s")


def timestamp(value, key, zone=None):
    """A UTC pandas Timestamp from a datetime, Timestamp, date or ISO text, None for None; a time
    without a zone is read by the one rule of workbench.times: in *zone* (the config's
    ``timezone``), else in the machine's zone."""
    if value is None:
        return None
    return pd.Timestamp(parse_time(value, key, zone))


def write_frame(df, fmt, out=None):
    """Write *df* as *fmt* (``table``, ``csv``, ``json``: one object per line, or ``parquet``) to
    the file *out*, or to standard output (``workbench catalog``)."""
    if fmt == "parquet":
        df.to_parquet(out, index=False)
        return
    if fmt == "csv":
        written = df.to_csv(index=False, date_format="%Y-%m-%dT%H:%M:%SZ")
    elif fmt == "json":
        written = df.to_json(orient="records", lines=True, date_format="iso", force_ascii=False)
    else:
        with pd.option_context("display.max_rows", None, "display.max_columns", None,
                               "display.width", 250, "display.max_colwidth", 80):
            written = df.to_string(index=False) + "\n" if len(df) else "(no rows)\n"
    if out:
        with open(out, "w", encoding="utf-8") as f:
            f.write(written)
    else:
        sys.stdout.write(written)
