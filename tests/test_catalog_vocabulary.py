"""docs/catalog.md against the real frames: every frame's columns, their order and dtypes, and
the rules the frames share (one set column, set names ordered by time, one base rule, one
precision of time, text as pandas' string dtype), so that the page and the code cannot drift.

Runs on every supported pandas (the text dtype is the point on pandas 2.3).
"""

import json
import re
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest

import workbench
from workbench import catalog, samples
from workbench.catalog import frames as frames_mod
from workbench.cli import main
from workbench.naming import parse_set_name
from workbench.sets import list_sets
from workbench.targets import LocalTarget

from helpers import copy_sample

DOC = Path(__file__).resolve().parents[1] / "docs" / "catalog.md"
T0 = datetime(2026, 11, 1, 1, 0, 0, 123456, tzinfo=timezone.utc)  # microseconds, as a run has
F, D, C = "F20261101T010000Z", "D20261102T010000Z", "C20261102T020000Z"
ORDER = [F, D, C]  # by time; by name they sort C < D < F


def doc_tables():
    """``{frame heading: [(column, dtype, meaning)]}`` from the tables of docs/catalog.md's
    ``### `frame``` sections."""
    tables, heading = {}, None
    for line in DOC.read_text(encoding="utf-8").splitlines():
        m = re.match(r"#{2,3} `([^`]+)`\s*$", line)
        if m:
            heading = m.group(1)
            continue
        if line.startswith("#"):
            heading = None
            continue
        m = re.match(r"\| `([^`]+)` \| ([^|]+?) \| (.+) \|$", line)
        if heading and m:
            tables.setdefault(heading, []).append((m.group(1), m.group(2), m.group(3)))
    return tables


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    """A full, a day of mail, a differential, and a copy an hour later (names sort C < D < F,
    times F < D < C); archive mail in the store."""
    root = tmp_path_factory.mktemp("vocabulary")
    store = copy_sample(root / "server")
    bk = root / "backup"
    common = dict(store=store, target=str(bk), min_free=0, keep=20)
    workbench.backup("full", now=T0, **common)
    samples.mutate(store, seed=3)
    workbench.backup("differential", now=T0 + timedelta(days=1), **common)
    workbench.backup("copy", now=T0 + timedelta(days=1, hours=1), **common)
    assert [str(s.name) for s in list_sets(LocalTarget(str(bk)))] == ORDER
    return str(bk)


@pytest.fixture(scope="module")
def damaged(target, tmp_path_factory):
    """The same sets, the differential's volume cut short: verify has something to say."""
    bk = tmp_path_factory.mktemp("damaged") / "backup"
    shutil.copytree(target, bk)
    volume = bk / f"{D}.zip"
    volume.write_bytes(volume.read_bytes()[:-100])
    return str(bk)


def frames(target, damaged):
    return {
        "read_sets": lambda: catalog.read_sets(target),
        "read_volumes": lambda: catalog.read_volumes(target),
        "read_entries": lambda: catalog.read_entries(target, set=D),
        "read_messages": lambda: catalog.read_messages(target, set=D),
        "find_messages(distinct=True)": lambda: catalog.find_messages(target, distinct=True),
        "diff_sets": lambda: catalog.diff_sets(target, F, D),
        "recovery_plan(...).sets": lambda: catalog.recovery_plan(target).sets,
        "storage_usage": lambda: catalog.storage_usage(target),
        "forecast_storage(...).history": lambda: catalog.forecast_storage(
            target, capacity=10**9, min_free=0).history,
        "read_verify": lambda: catalog.read_verify(damaged),
        "problems": lambda: catalog.problems(_with_problem(target)),
        "recovery_plan(...).summary": lambda: catalog.recovery_plan([target, damaged]).summary,
        "forecast_storage(...).summary": lambda: catalog.forecast_storage(
            {"a": target, "b": damaged}, capacity=10**9, min_free=0).summary,
    }


def _with_problem(target):
    """read_sets of a fleet with one target missing: a frame with a problem."""
    with pytest.warns(catalog.TargetSkipped):
        return catalog.read_sets({"here": target, "gone": target + ".missing"})


CONSTANTS = {"read_sets": "SET_COLUMNS", "read_volumes": "VOLUME_COLUMNS",
             "read_entries": "ENTRY_COLUMNS", "read_messages": "MESSAGE_COLUMNS",
             "find_messages(distinct=True)": "DISTINCT_COLUMNS", "diff_sets": "DIFF_COLUMNS",
             "storage_usage": "USAGE_COLUMNS", "forecast_storage(...).history": "HISTORY_COLUMNS",
             "read_verify": "VERIFY_COLUMNS", "problems": "PROBLEM_COLUMNS",
             "recovery_plan(...).summary": "PLAN_SUMMARY_COLUMNS",
             "forecast_storage(...).summary": "FORECAST_COLUMNS"}


def check_dtype(df, column, documented, set_names):
    dtype = df[column].dtype
    where = f"{column}: documented {documented}, is {dtype}"
    if documented == "set":
        assert isinstance(dtype, pd.CategoricalDtype) and dtype.ordered, where
        assert list(dtype.categories) == set_names, where  # the target's sets, oldest first
    else:
        assert str(dtype) == documented, where
    if isinstance(dtype, pd.CategoricalDtype):
        assert dtype.categories.dtype == catalog.TEXT, f"{column}: {dtype.categories.dtype}"


def test_every_frame_is_as_documented(target, damaged):
    tables = doc_tables()
    build = frames(target, damaged)
    assert set(tables) == set(build), "a frame documented but not checked, or the reverse"
    names = ORDER
    for frame, rows in tables.items():
        df = build[frame]()
        assert len(df), f"{frame}: no rows, nothing checked"
        assert list(df.columns) == [c for c, _, _ in rows], frame
        for column, documented, meaning in rows:
            assert meaning.strip(), f"{frame}.{column}: say what it means"
            check_dtype(df, column, documented, names)
        if frame in CONSTANTS:
            assert list(getattr(catalog, CONSTANTS[frame])) == list(df.columns), frame
    # find_messages without distinct: the read_messages columns
    found = catalog.find_messages(target)
    assert list(found.columns) == [c for c, _, _ in tables["read_messages"]]
    for column, documented, _ in tables["read_messages"]:
        check_dtype(found, column, documented, names)


def test_documented_dtypes_are_the_known_ones():
    known = {"set", "category", "str", "Int64", "bool", "boolean", "float64",
             "datetime64[ns, UTC]"}
    for frame, rows in doc_tables().items():
        for column, dtype, _ in rows:
            assert dtype in known, f"{frame}.{column}: {dtype}"


def test_renamed_columns_are_gone(target, damaged):
    # The table of renamed columns in the page: no frame has a name it lists as "before".
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("## Renamed columns"):]
    renamed = re.findall(r"^\| (`[^|]+`) \| `([^`]+)` \| `([^`]+)` \|$", section, re.M)
    assert len(renamed) >= 15
    build = frames(target, damaged)
    for frames_cell, old, new in renamed:
        for frame in re.findall(r"`([^`]+)`", frames_cell):
            cols = list(build[frame]().columns)
            assert old not in cols and new in cols, (frame, old, new)


def test_sets_sort_by_time_not_by_name(target):
    sets = catalog.read_sets(target)
    assert sets["set"].tolist() == ORDER
    assert sorted(ORDER) == [C, D, F]  # what the unordered names did
    assert sets["set"].max() == C and sets["set"].min() == F
    assert sets.sort_values("set", ascending=False)["set"].tolist() == [C, D, F]
    newest = catalog.read_entries(target, set=C)["set"].cat.categories
    assert list(newest) == ORDER  # one dtype per target, whatever frame
    e = catalog.read_entries(target, set=D)
    assert (e["stored_in"] <= e["set"]).all()  # data lives in this set or an older one


def test_base_has_one_rule_in_the_frame_and_in_sets_json(target, capsys):
    sets = catalog.read_sets(target).set_index("set")
    assert sets["base"].isna().tolist() == [True, False, True]
    assert sets.at[D, "base"] == F
    assert sets["chain"].tolist() == [F, F, C]  # a full and a copy head their own chains
    assert main(["sets", "--target", target, "--json"]) == 0
    records = {r["name"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert {n: r["base"] for n, r in records.items()} == {F: None, C: None, D: F}


def test_set_times_have_one_precision_and_join(target):
    sets = catalog.read_sets(target)
    usage = catalog.storage_usage(target)
    plan = catalog.recovery_plan(target).sets
    assert sets["started"].tolist() == [pd.Timestamp(parse_set_name(n).time) for n in ORDER]
    assert (sets["started"].dt.microsecond == 0).all()
    assert (sets["finished"].dt.microsecond == 0).all() and (sets["finished"].dt.nanosecond
                                                              == 0).all()
    joined = sets.merge(usage, on=["set", "started"])
    assert len(joined) == 3
    assert len(plan.merge(sets, on=["set", "started"])) == len(plan) == 1  # the copy
    # Frames join on the set column without a conversion.
    e = catalog.read_entries(target, set=D)
    merged = e.merge(sets[["set", "kind"]], on="set")
    assert len(merged) == len(e) and set(merged["kind"]) == {"D"}


def test_several_targets_keep_one_vocabulary(target, damaged):
    both = catalog.read_sets([target, damaged])
    assert list(both.columns) == ["target"] + list(catalog.SET_COLUMNS)
    assert str(both["target"].dtype) == "category"
    assert list(both["target"].cat.categories) == [target, damaged]
    assert both["set"].dtype.ordered and list(both["set"].cat.categories) == ORDER
    assert both["rotation_reason"].dtype == catalog.TEXT
    e = catalog.read_entries([target, damaged], set=F)
    assert e["stored_in"].dtype == e["set"].dtype and e["file_kind"].dtype.categories.dtype \
        == catalog.TEXT


def test_frames_of_unequal_categories_concatenate_to_one_vocabulary():
    # pandas turns categories that differ into object: per-set and per-target frames differ so
    a = pd.DataFrame({"set": pd.Categorical([D], dtype=frames_mod.set_dtype([D])),
                      "user": frames_mod.fixed_category(["jane"], ["jane"]),
                      "path": frames_mod.text(["x"])})
    b = pd.DataFrame({"set": pd.Categorical([C, F], dtype=frames_mod.set_dtype([C, F])),
                      "user": frames_mod.fixed_category(["bob", None], ["bob"]),
                      "path": frames_mod.text(["y", None])})
    out = frames_mod.concat([a, b])
    assert out["set"].tolist() == [D, C, F]
    assert out["set"].dtype.ordered and list(out["set"].cat.categories) == ORDER
    assert list(out["user"].cat.categories) == ["bob", "jane"]
    assert out["user"].cat.categories.dtype == catalog.TEXT
    assert out["path"].dtype == catalog.TEXT and out["path"].isna().tolist() == [False] * 2 + [True]
