"""What every frame of the catalog is made of: column builders for 100k-row columns (categories,
nullable integers, UTC times) and the concatenation of frames over several targets.

Dtypes: times are ``datetime64[ns, UTC]``; ``kind``, ``domain``, ``user``, ``folder``,
``stored_in``, ``change`` and other small vocabularies are ``category``; counts and sizes are the
nullable ``Int64``; text is ``str`` (pandas' string dtype from pandas 3 on, ``object`` before);
flags are ``bool`` or the nullable ``boolean``.
"""

import sys

import numpy as np
import pandas as pd

from ..targets import open_target
from ..times import parse_time


STATUSES = ("complete", "incomplete", "damaged", "unsupported")


UTC_NS = "datetime64[ns, UTC]"


def over_targets(target, storage_options, build):
    """``build(Target)`` for one target, or the concatenation with a ``target`` column for a list."""
    options = storage_options or {}
    if not isinstance(target, (list, tuple)):
        return build(open_target(target, **options))
    frames = []
    for t in target:
        t = open_target(t, **options)
        df = build(t)
        df.insert(0, "target", t.url)
        frames.append(df)
    if not frames:
        raise ValueError("target: an empty list; give at least one target")
    out = pd.concat(frames, ignore_index=True)
    for col, dtype in frames[0].dtypes.items():
        if isinstance(dtype, pd.CategoricalDtype) or col == "target":
            out[col] = out[col].astype("category")  # concat of unequal categories gives object
    return out


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
    return pd.Categorical.from_codes(remap[codes], categories=pd.Index([cats[i] for i in order],
                                                                       dtype="str"))


def categorical_from_codes(coded):
    """A Categorical (categories sorted, None missing) from a manifest's coded column."""
    cats = coded.values
    order = sorted((i for i, v in enumerate(cats) if v is not None), key=cats.__getitem__)
    remap = np.full(len(cats), -1, dtype=np.int32)
    remap[np.array(order, dtype=np.int64)] = np.arange(len(order), dtype=np.int32)
    codes = remap[coded.codes] if len(cats) else np.empty(0, dtype=np.int32)
    return pd.Categorical.from_codes(codes, categories=pd.Index([cats[i] for i in order],
                                                                dtype="str"))


def constant_category(value, n):
    return pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), categories=pd.Index([value],
                                                                                  dtype="str"))


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


def iso_time(text):
    """A UTC Timestamp from a manifest's ISO time (NaT if absent)."""
    return timestamp(text, "time") if text else pd.NaT


def timestamp(value, key):
    """A UTC pandas Timestamp from a datetime, Timestamp, date or ISO text, None for None; a time
    without a zone is read by the one rule of workbench.times (the machine's zone)."""
    if value is None:
        return None
    return pd.Timestamp(parse_time(value, key))


def write_frame(df, fmt, out=None):
    """Write *df* as *fmt* (``table``, ``csv``, ``json``: one object per line, or ``parquet``) to
    the file *out*, or to standard output (``workbench catalog``)."""
    if fmt == "parquet":
        df.to_parquet(out, index=False)
        return
    if fmt == "csv":
        text = df.to_csv(index=False, date_format="%Y-%m-%dT%H:%M:%SZ")
    elif fmt == "json":
        text = df.to_json(orient="records", lines=True, date_format="iso", force_ascii=False)
    else:
        with pd.option_context("display.max_rows", None, "display.max_columns", None,
                               "display.width", 250, "display.max_colwidth", 80):
            text = df.to_string(index=False) + "\n" if len(df) else "(no rows)\n"
    if out:
        with open(out, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
