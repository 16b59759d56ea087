"""The fleet as data: catalog.export's partitioned Parquet (whole partitions, incremental, mended
after a crash), catalog.connect's DuckDB views, the fleet questions of docs/catalog.md run as
written against a real export, and Dask reading the same files unchanged."""

import json
import os
import re
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import workbench
from workbench import catalog, samples
from workbench.catalog import exporter as export_mod
from workbench.cli import main
from workbench.errors import ConfigError, ExportBusy, FleetFileError, FleetUnreadable

from helpers import copy_sample, make_store

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "catalog.md"
NOW = pd.Timestamp.now(tz="UTC").floor("h")
HOUR, DAY = timedelta(hours=1), timedelta(days=1)


def backup(kind, store, target, when, keep=20):
    return workbench.backup(kind, store=store, target=str(target), min_free=0, keep=keep,
                            now=when.to_pydatetime()).set_name


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    """Backups made at times around now: ``mail1`` (the sample store, three fulls a week apart,
    the newest differential two hours old), ``mail2`` (a generated store, its newest backup 30
    hours old) and ``mail3`` (one set whose manifest file is damaged; the copy in its volume
    reads)."""
    root = tmp_path_factory.mktemp("export-fleet")
    store = copy_sample(root / "s1")
    plan = [("full", 15 * DAY), ("differential", 14 * DAY), ("full", 8 * DAY),
            ("differential", 7 * DAY), ("full", DAY), ("differential", 2 * HOUR)]
    names = []
    for i, (kind, ago) in enumerate(plan):
        if i:
            samples.mutate(store, seed=i)
        names.append(backup(kind, store, root / "mail1", NOW - ago))
    other = make_store(root / "s2", messages=60, seed=5)
    m2 = [backup("full", other, root / "mail2", NOW - 3 * DAY)]
    samples.mutate(other, seed=11)
    m2.append(backup("differential", other, root / "mail2", NOW - 30 * HOUR))
    broken = make_store(root / "s3", messages=20, seed=6)
    m3 = backup("full", broken, root / "mail3", NOW - 5 * DAY)
    (root / "mail3" / f"{m3}.manifest.json.gz").write_bytes(b"damaged")
    (root / "fleet.toml").write_text(
        '[[server]]\nname = "mail1"\ntarget = "mail1"\nkeep = 2\ncapacity = "40MB"\n\n'
        '[[server]]\nname = "mail2"\ntarget = "mail2"\nkeep_copies = 2\n\n'
        '[[server]]\nname = "mail3"\ntarget = "mail3"\n')
    return {"root": root, "file": str(root / "fleet.toml"), "sets": {
        "mail1": names, "mail2": m2, "mail3": [m3]}, "stores": {"mail1": store,
                                                                "mail2": other}}


@pytest.fixture(scope="module")
def exported(fleet, tmp_path_factory):
    out = tmp_path_factory.mktemp("exported") / "export"
    result = catalog.export(catalog.read_fleet(fleet["file"]), out)
    return {"out": str(out), "result": result}


def files_under(out):
    return sorted(str(p.relative_to(out)) for p in Path(out).rglob("*") if p.is_file())


def plain(df):
    """Categories and text as objects (missing: None), a fresh index: frames of the catalog, of
    DuckDB and of Parquet files compare by value."""
    out = df.reset_index(drop=True).copy()
    for c in out.columns:
        if isinstance(out[c].dtype, pd.CategoricalDtype) or out[c].dtype.kind in "OUT":
            out[c] = out[c].astype(object).where(out[c].notna(), None)
    return out


def copy_fleet(fleet, dest):
    """A copy of the fleet's targets and fleet file (to change them)."""
    for name in ("mail1", "mail2", "mail3"):
        shutil.copytree(fleet["root"] / name, dest / name)
    shutil.copy(fleet["file"], dest / "fleet.toml")
    return str(dest / "fleet.toml")


# ---------------------------------------------------------------------------------------------
# The layout


def test_the_export_holds_every_set_in_its_partition(fleet, exported):
    out, result = exported["out"], exported["result"]
    sets = fleet["sets"]
    want = {"_workbench_export.json", ".workbench.lock"} - {".workbench.lock"}
    for table in ("sets", "volumes", "entries", "messages"):
        want.add(f"_schemas/{table}.parquet")
    for t in ("mail1", "mail2", "mail3"):
        want |= {f"sets/target={t}/data.parquet", f"volumes/target={t}/data.parquet"}
        for s in sets[t]:
            want |= {f"entries/target={t}/set={s}/data.parquet",
                     f"messages/target={t}/set={s}/data.parquet"}
    want |= {"targets/data.parquet", "problems/data.parquet"}
    assert files_under(out) == sorted(want)  # no temporary file, no lock left behind
    assert (result.targets, result.written, result.unchanged, result.removed) == (
        ["mail1", "mail2", "mail3"], 9, 0, 0)
    assert result.problems.empty
    marker = json.loads((Path(out) / "_workbench_export.json").read_text())
    assert marker == {"format": 1, "targets": {t: str(fleet["root"] / t)
                                               for t in ("mail1", "mail2", "mail3")}}
    # each partition holds one set's read_entries rows, without the partition columns, with
    # the set's time; the damaged set's entries come from the manifest copy in its volume
    for t in ("mail1", "mail2", "mail3"):
        for s in sets[t]:
            table = pq.read_table(Path(out) / "entries" / f"target={t}" / f"set={s}" /
                                  "data.parquet")
            assert "target" not in table.schema.names and "set" not in table.schema.names
            assert table.schema.field("file_kind").type == pa.dictionary(pa.int32(), pa.string())
            assert table.schema.field("started").type == pa.timestamp("ns", tz="UTC")
            got = table.to_pandas()
            want_df = catalog.read_entries(str(fleet["root"] / t), set=s)
            assert (got.pop("started") == pd.Timestamp(workbench.naming.parse_set_name(s).time)
                    ).all()
            pd.testing.assert_frame_equal(plain(got), plain(want_df.drop(columns="set")),
                                          check_dtype=False)


def test_the_sets_table_sorts_by_started_not_by_name(exported, fleet):
    con = catalog.connect(exported["out"])
    by_time = [r[0] for r in con.execute("select set from sets where target = 'mail1' "
                                         "order by started").fetchall()]
    assert by_time == fleet["sets"]["mail1"]
    by_name = [r[0] for r in con.execute("select set from sets where target = 'mail1' "
                                         "order by set").fetchall()]
    assert by_name != by_time  # D... sorts before F...: why started is there


def test_views_have_the_vocabularys_columns_and_the_frames_rows(exported, fleet):
    con = catalog.connect(exported["out"])
    for view, columns in catalog.VIEWS.items():
        described = [r[0] for r in con.execute(f"describe {view}").fetchall()]
        assert described == list(columns), view
    sets = con.execute("select * from sets where target = 'mail1' order by started").df()
    want = catalog.read_sets(str(fleet["root"] / "mail1"), keep=2)
    pd.testing.assert_frame_equal(plain(sets.drop(columns=["target", "set_bytes"])), plain(want),
                                  check_dtype=False)
    usage = catalog.storage_usage(str(fleet["root"] / "mail1"))
    assert sets["set_bytes"].tolist() == usage["set_bytes"].tolist()
    n = con.execute("select target, count(*) from messages group by target order by 1").fetchall()
    assert n == [(t, sum(len(catalog.read_messages(str(fleet["root"] / t), set=s))
                         for s in fleet["sets"][t])) for t in ("mail1", "mail2", "mail3")]
    targets = con.execute("select * from targets order by target").df()
    assert targets["target"].tolist() == ["mail1", "mail2", "mail3"]
    assert targets["keep"].tolist() == [2, 7, 7]
    assert targets["keep_copies"].tolist() == [3, 2, 3]  # the fleet file's, else the config's
    assert targets["capacity_bytes"][0] == 40_000_000
    assert targets["free_bytes"][0] == 40_000_000 - usage["set_bytes"].sum()
    assert str(targets["exported"].dtype) == "datetime64[us, UTC]"
    assert con.execute("select count(*) from problems").fetchone() == (0,)


def test_dask_reads_the_export_unchanged(exported):
    out = exported["out"]
    con = catalog.connect(out)
    query = ("select target, set, path, size, mtime from entries where file_kind = 'message' "
             "and change <> 'deleted' order by target, set, path")
    want = con.execute(query).df()
    ddf = dd.read_parquet(os.path.join(out, "entries"))
    assert {"target", "set", "started", "path", "size"} <= set(ddf.columns)
    got = ddf[(ddf["file_kind"] == "message") & (ddf["change"] != "deleted")][
        ["target", "set", "path", "size", "mtime"]].compute()
    got = got.astype({"target": str, "set": str}).sort_values(["target", "set", "path"])
    assert len(got) == len(want) > 100
    assert got["path"].tolist() == want["path"].tolist()
    assert got["size"].tolist() == want["size"].tolist()
    assert got["target"].tolist() == want["target"].tolist()
    # nanoseconds in the files (Dask keeps them), DuckDB's microseconds in the views
    assert (abs(got["mtime"].to_numpy() - want["mtime"].to_numpy()) <= pd.Timedelta("500ns")).all()
    # the groupby of the fleet questions: the same numbers
    per_set = ddf.groupby(["target", "set"], observed=True)["size"].sum().compute()
    sql = con.execute("select target, set, sum(size) from entries group by all").fetchall()
    assert {(str(t), str(s)): int(v) for (t, s), v in per_set.items()} == {
        (t, s): int(v) for t, s, v in sql}
    messages = dd.read_parquet(os.path.join(out, "messages"))
    assert len(messages) == con.execute("select count(*) from messages").fetchone()[0]


# ---------------------------------------------------------------------------------------------
# The fleet questions, as docs/catalog.md writes them


def doc_sql(name):
    """The SQL of the block marked ```sql <name> in docs/catalog.md."""
    m = re.search(rf"```sql {re.escape(name)}\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert m, f"docs/catalog.md has no ```sql {name} block"
    return m.group(1)


def test_docs_no_good_backup_for_26_hours(exported):
    con = catalog.connect(exported["out"])
    rows = con.execute(doc_sql("no-good-backup")).df()
    assert rows["target"].tolist() == ["mail2", "mail3"]  # 30 hours ago; never
    assert rows.set_index("target").loc["mail2", "last_good"] == NOW - 30 * HOUR
    assert pd.isna(rows.set_index("target").loc["mail3", "last_good"])


def test_docs_whose_store_grows_fastest(exported, fleet):
    con = catalog.connect(exported["out"])
    rows = con.execute(doc_sql("fastest-growth")).df()
    for t in ("mail1", "mail2"):
        points = []
        for s in fleet["sets"][t]:
            e = catalog.read_entries(str(fleet["root"] / t), set=s)
            e = e[e["change"] != "deleted"]
            when = pd.Timestamp(workbench.naming.parse_set_name(s).time)
            points.append(((when - NOW).total_seconds() / 86400, int(e["size"].sum())))
        slope = np.polyfit(*zip(*points), 1)[0]
        row = rows.set_index("target").loc[t]
        assert row["bytes_per_day"] == pytest.approx(slope)
        assert row["store_bytes_now"] == points[-1][1]
    assert rows["bytes_per_day"].is_monotonic_decreasing
    assert "mail3" not in set(rows["target"])  # one set: no growth to fit


def test_docs_where_is_the_message_with_this_message_id(exported, fleet):
    con = catalog.connect(exported["out"])
    m = catalog.read_messages(str(fleet["root"] / "mail1"))
    mid = m["message_id"].dropna().iloc[0]
    rows = con.execute(doc_sql("message-id"), {"message_id": mid}).df()
    found = catalog.find_messages({t: str(fleet["root"] / t) for t in ("mail1", "mail2")},
                                  message_id=mid)
    assert rows["target"].tolist() == sorted(set(found["target"]))
    for row in rows.itertuples():
        sets = found.loc[found["target"] == row.target, "set"]
        assert (row.first_set, row.last_set, row.sets) == (sets.min(), sets.max(), len(sets))
    assert rows["first_set"][0] != rows["last_set"][0]


def test_docs_disk_rotation_needs_next_quarter(exported, fleet):
    con = catalog.connect(exported["out"])
    rows = con.execute(doc_sql("disk-next-quarter")).df().set_index("target")
    u = catalog.storage_usage(str(fleet["root"] / "mail1"), keep=2)
    kept = int(u.loc[u["rotation"] == "keep", "set_bytes"].sum())
    fulls = u[(u["kind"] == "F") & (u["status"] == "complete")]
    slope = np.polyfit((fulls["started"] - NOW).dt.total_seconds() / 86400,
                       fulls["set_bytes"].astype(float), 1)[0]
    assert rows.at["mail1", "kept_bytes"] == kept
    assert rows.at["mail1", "full_growth_per_day"] == pytest.approx(slope)
    assert rows.at["mail1", "needed_bytes"] == round(kept + 2 * slope * 91)
    assert rows.at["mail1", "room_bytes"] == 40_000_000 - 4 * 1024**3
    assert rows.at["mail2", "full_growth_per_day"] == 0  # one full: no growth known
    assert set(rows.index) == {"mail1", "mail2", "mail3"}


# ---------------------------------------------------------------------------------------------
# A second export, a crash, other directories


def test_a_second_export_writes_only_new_sets_and_removes_gone_ones(fleet, tmp_path):
    path = copy_fleet(fleet, tmp_path)
    out = tmp_path / "export"
    catalog.export(catalog.read_fleet(path), out)
    before = {f: os.stat(out / f) for f in files_under(out)}
    again = catalog.export(catalog.read_fleet(path), out)
    assert (again.written, again.unchanged, again.removed) == (0, 9, 0)
    for f, st in before.items():
        if "/set=" in f:  # set partitions are not written again
            assert (os.stat(out / f).st_ino, os.stat(out / f).st_mtime_ns) == (
                st.st_ino, st.st_mtime_ns), f
    # mail2: a new full with keep = 1 rotates its first chain away
    new = backup("full", fleet["stores"]["mail2"], tmp_path / "mail2", NOW - HOUR, keep=1)
    third = catalog.export(catalog.read_fleet(path), out)
    assert (third.written, third.unchanged, third.removed) == (1, 7, 2)
    parts = {f for f in files_under(out) if f.startswith("entries/target=mail2/")}
    assert parts == {f"entries/target=mail2/set={new}/data.parquet"}
    assert not (out / "messages" / "target=mail2" / f"set={fleet['sets']['mail2'][0]}").exists()
    con = catalog.connect(out)
    assert con.execute("select set from sets where target = 'mail2'").fetchall() == [(new,)]
    for f, st in before.items():
        if f.startswith("entries/target=mail1/"):
            assert os.stat(out / f).st_ino == st.st_ino


def test_an_unreadable_target_keeps_its_partitions_and_becomes_a_problem(fleet, tmp_path):
    path = copy_fleet(fleet, tmp_path)
    out = tmp_path / "export"
    catalog.export(catalog.read_fleet(path), out)
    kept = {f: (out / f).read_bytes() for f in files_under(out) if "target=mail2" in f}
    os.rename(tmp_path / "mail2", tmp_path / "mail2.away")  # the share is gone for a while
    r = catalog.export(catalog.read_fleet(path), out)
    assert r.targets == ["mail1", "mail3"]
    assert r.problems[["target", "error"]].values.tolist() == [["mail2", "TargetError"]]
    assert {f: (out / f).read_bytes() for f in files_under(out) if "target=mail2" in f} == kept
    con = catalog.connect(out)
    assert con.execute("select target, error from problems").fetchall() == [
        ("mail2", "TargetError")]
    assert con.execute("select count(*) from sets where target = 'mail2'").fetchone() == (2,)
    # its targets row is the last one read
    exported_at = dict(con.execute("select target, exported from targets").fetchall())
    assert exported_at["mail2"] < exported_at["mail1"]
    assert [r[0] for r in con.execute(doc_sql("no-good-backup")).fetchall()] == ["mail2",
                                                                                 "mail3"]
    os.rename(tmp_path / "mail2.away", tmp_path / "mail2")
    r = catalog.export(catalog.read_fleet(path), out)
    assert r.problems.empty and con.execute("select count(*) from problems").fetchone() == (0,)


def test_an_export_that_reads_nothing_says_so_and_removes_nothing(fleet, tmp_path):
    path = copy_fleet(fleet, tmp_path)
    out = tmp_path / "export"
    catalog.export(catalog.read_fleet(path), out)
    before = {f: (out / f).read_bytes() for f in files_under(out) if "target=" in f}
    with pytest.raises(FleetUnreadable, match=r"\(1\): gone: TargetError"):
        catalog.export({"gone": str(tmp_path / "nowhere")}, out)
    assert {f: (out / f).read_bytes() for f in files_under(out) if "target=" in f} == before
    con = catalog.connect(out)
    assert con.execute("select target, error from problems").fetchall() == [
        ("gone", "TargetError")]  # not the "no problems" of the last export


def test_targets_gone_from_the_fleet_are_removed_and_nothing_else(fleet, tmp_path):
    path = copy_fleet(fleet, tmp_path)
    out = tmp_path / "export"
    catalog.export(catalog.read_fleet(path), out)
    stray = out / "entries" / "target=mail2" / "notes.txt"
    stray.write_text("mine")
    r = catalog.export({"mail1": str(tmp_path / "mail1")}, out)
    assert r.removed == 3  # mail2's two sets, mail3's one
    left = files_under(out)
    assert not [f for f in left if "target=mail3" in f]
    assert [f for f in left if "target=mail2" in f] == ["entries/target=mail2/notes.txt"]
    assert stray.read_text() == "mine"
    con = catalog.connect(out)
    assert con.execute("select distinct target from sets").fetchall() == [("mail1",)]
    assert json.loads((out / "_workbench_export.json").read_text())["targets"] == {
        "mail1": str(tmp_path / "mail1")}


CRASH = r"""
import os, sys
from workbench import catalog
from workbench.catalog import exporter as ex
real, count = os.replace, [0]
def replace(src, dst):
    if dst.endswith("data.parquet") and "/set=" in dst:
        count[0] += 1
        if count[0] == int(sys.argv[3]):
            os._exit(9)  # killed with the temporary file written, before its rename
    return real(src, dst)
ex.os.replace = replace
catalog.export(catalog.read_fleet(sys.argv[1]), sys.argv[2])
"""


def test_a_crash_mid_export_leaves_the_last_export_readable_and_the_next_mends_it(
        fleet, tmp_path):
    path = copy_fleet(fleet, tmp_path)
    out = tmp_path / "export"
    catalog.export(catalog.read_fleet(path), out)
    old = fleet["sets"]["mail2"]
    new = {name: backup("differential", fleet["stores"][name], tmp_path / name, NOW - HOUR / 2)
           for name in ("mail1", "mail2")}  # each replaces its newest differential
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT)] + sys.path))
    # killed at the third file of a set: mail1's new set is whole, mail2's half written
    r = subprocess.run([sys.executable, "-c", CRASH, path, str(out), "3"], env=env,
                       capture_output=True, text=True)
    assert r.returncode == 9, r.stderr
    partial = [f for f in files_under(out) if f.endswith(".partial")]
    assert len(partial) == 1 and partial[0].startswith(f"messages/target=mail2/set={new['mail2']}/")
    # readable as before: DuckDB and Dask see whole partitions only
    con = catalog.connect(out)

    def sets_of(table, target):
        return [r[0] for r in con.execute(f"select distinct set from {table} where target = "
                                          f"'{target}' order by all").fetchall()]

    mail1 = sorted(fleet["sets"]["mail1"][:-1] + [new["mail1"]])
    assert sets_of("sets", "mail1") == sets_of("entries", "mail1") == mail1
    assert sets_of("sets", "mail2") == sets_of("entries", "mail2") == sets_of(
        "messages", "mail2") == sorted(old)  # as the last export left it
    assert len(dd.read_parquet(out / "messages")) == con.execute(
        "select count(*) from messages").fetchone()[0]
    mended = catalog.export(catalog.read_fleet(path), out)
    assert (mended.written, mended.unchanged, mended.removed) == (1, 8, 1)
    assert not [f for f in files_under(out) if f.endswith(".partial")]
    assert sets_of("messages", "mail2") == sets_of("sets", "mail2") == sorted(
        [old[0], new["mail2"]])
    fresh = tmp_path / "fresh"
    catalog.export(catalog.read_fleet(path), fresh)
    q = "select target, set, path, size, crc32 from entries order by all"
    assert con.execute(q).fetchall() == catalog.connect(fresh).execute(q).fetchall()


def test_large_sets_are_written_in_row_groups(fleet, tmp_path, monkeypatch):
    monkeypatch.setattr(export_mod, "ROWS_PER_GROUP", 100)
    out = tmp_path / "export"
    catalog.export({"mail1": str(fleet["root"] / "mail1")}, out)
    s = fleet["sets"]["mail1"][0]
    f = pq.ParquetFile(out / "entries" / "target=mail1" / f"set={s}" / "data.parquet")
    want = catalog.read_entries(str(fleet["root"] / "mail1"), set=s)
    assert f.metadata.num_row_groups == -(-len(want) // 100) > 2
    got = f.read().to_pandas()
    assert (got.pop("started") == pd.Timestamp(workbench.naming.parse_set_name(s).time)).all()
    pd.testing.assert_frame_equal(plain(got), plain(want.drop(columns="set")), check_dtype=False)


def test_an_export_refuses_a_directory_that_is_not_one(fleet, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "report.pdf").write_bytes(b"%PDF")
    with pytest.raises(ConfigError, match="holds other files and is no workbench export"):
        catalog.export({"mail1": str(fleet["root"] / "mail1")}, out)
    assert os.listdir(out) == ["report.pdf"]
    with pytest.raises(FileNotFoundError, match="holds no workbench export"):
        catalog.connect(out)


def test_one_export_at_a_time(fleet, tmp_path):
    out = tmp_path / "export"
    catalog.export({"mail1": str(fleet["root"] / "mail1")}, out)
    from workbench.lock import target_lock
    from workbench.targets import LocalTarget
    with target_lock(LocalTarget(str(out))):  # as another export holds it
        with pytest.raises(ExportBusy, match=f"another export is writing to {out}"):
            catalog.export({"mail1": str(fleet["root"] / "mail1")}, out)
    assert ExportBusy.exit_code == 63


def test_a_plain_list_is_exported_under_stable_names(fleet, tmp_path):
    out = tmp_path / "export"
    targets = [str(fleet["root"] / "mail1"), str(fleet["root"] / "mail2")]
    r = catalog.export(targets, out)
    names = [catalog.target_name(t) for t in targets]
    assert r.targets == names and re.fullmatch(r"[a-z0-9-]*-mail1-[0-9a-f]{8}", names[0])
    assert sorted(os.listdir(out / "sets")) == sorted(f"target={n}" for n in names)
    con = catalog.connect(out)
    assert con.execute("select target, url from targets order by target").fetchall() == sorted(
        zip(names, targets))


def test_an_empty_fleet_exports_empty_tables_that_query(tmp_path):
    (tmp_path / "new").mkdir()
    out = tmp_path / "export"
    r = catalog.export({"new": str(tmp_path / "new")}, out)
    assert r.written == 0
    con = catalog.connect(out)
    assert con.execute("select count(*) from entries").fetchone() == (0,)
    assert con.execute("select count(*) from messages where started < now()").fetchone() == (0,)
    assert [r[0] for r in con.execute("describe entries").fetchall()] == list(
        catalog.VIEWS["entries"])


def test_cli_export(fleet, tmp_path, capsys):
    out = tmp_path / "export"
    path = copy_fleet(fleet, tmp_path)
    assert main(["catalog", "export", "--fleet", path, "--out", str(out)]) == 0
    assert re.fullmatch(r"exported 3 targets to \S+: 9 sets written, 0 unchanged, 0 removed "
                        r"\(\d+\.\d s\)\n", capsys.readouterr().out)
    shutil.rmtree(tmp_path / "mail3")
    assert main(["catalog", "export", "--fleet", path, "--out", str(out)]) == 3
    captured = capsys.readouterr()
    assert "0 sets written, 8 unchanged" in captured.out
    assert re.search(r"^workbench: warning: mail3: TargetError: backup directory \S+ does not "
                     r"exist$", captured.err, re.M)
    two = tmp_path / "two"
    assert main(["catalog", "export", "--target", str(tmp_path / "mail1"), "--target",
                 str(tmp_path / "mail2"), "--out", str(two), "-q"]) == 0
    assert sorted(os.listdir(two / "sets")) == sorted(
        f"target={catalog.target_name(tmp_path / t)}" for t in ("mail1", "mail2"))
    assert main(["catalog", "export", "--fleet", path, "--target", "x", "--out", str(two)]) == 10
    assert "either --fleet or --target" in capsys.readouterr().err


def test_the_command_exits_with_the_fleets_own_codes(tmp_path, capsys):
    bad = tmp_path / "fleet.toml"
    bad.write_text('[[server]]\nname = "x"\ntarget = "x"\nkeep = -1\n')
    out = tmp_path / "export"
    assert main(["catalog", "export", "--fleet", str(bad), "--out", str(out), "-q"]) \
        == FleetFileError.exit_code == 61
    assert "server 'x': key 'keep': bad value -1" in capsys.readouterr().err
    assert main(["catalog", "export", "--target", str(tmp_path / "nowhere"), "--out", str(out),
                 "-q"]) == FleetUnreadable.exit_code == 62
    err = capsys.readouterr().err
    assert "TargetError" in err and "Traceback" not in err
