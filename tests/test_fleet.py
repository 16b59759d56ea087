"""Fleets: every catalog reader over several targets (a list, a mapping, a fleet file), each with
its own settings; a target that cannot be read (a closed SMB port, a damaged manifest) is a row
of the problems frame and a warning, and the rest of the fleet is read."""

import re
import shutil
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

import workbench
from workbench import catalog, samples
from workbench.catalog import settings as settings_mod
from workbench.catalog.fleet import NAME_RE
from workbench.errors import FleetFileError, FleetUnreadable, NoCompleteBackup, TargetError

from helpers import copy_sample, make_store
from samba import free_port

T0 = datetime(2026, 11, 1, 1, 0, tzinfo=timezone.utc)
DAY = timedelta(days=1)


def backup(kind, store, target, when):
    return workbench.backup(kind, store=store, target=str(target), min_free=0, keep=20,
                            now=when).set_name


@pytest.fixture(scope="module")
def fleet_dir(tmp_path_factory):
    """``a``: the sample store, three fulls a week apart with differentials; ``b``: a generated
    store, a full and a differential; ``broken``: b's full with its manifest file overwritten
    (the copy in its volume still reads); a fleet file naming the three."""
    root = tmp_path_factory.mktemp("fleet")
    store = copy_sample(root / "a-server")
    names = []
    for i, (kind, day) in enumerate((("full", 0), ("differential", 1), ("full", 7),
                                     ("differential", 8), ("full", 14))):
        if i:
            samples.mutate(store, seed=i)
        names.append(backup(kind, store, root / "a", T0 + day * DAY))
    other = make_store(root / "b-server", messages=60, seed=5)
    b_full = backup("full", other, root / "b", T0)
    samples.mutate(other, seed=9)
    b_diff = backup("differential", other, root / "b", T0 + DAY)
    (root / "broken").mkdir()
    for f in (root / "b").glob(b_full + ".*"):
        shutil.copy(f, root / "broken" / f.name)
    (root / "broken" / f"{b_full}.manifest.json.gz").write_bytes(b"not a manifest")
    (root / "fleet.toml").write_text(
        'keep = 5\nmin_free = "1MiB"\n\n'
        '[[server]]\nname = "mail1"\ntarget = "a"\nkeep = 2\ncapacity = "50MB"\n\n'
        '[[server]]\nname = "mail2"\ntarget = "b"\nkeep_copies = 2\n\n'
        '[[server]]\nname = "mail3.example.com"\ntarget = "broken"\n')
    return {"root": root, "a": str(root / "a"), "b": str(root / "b"),
            "broken": str(root / "broken"), "file": str(root / "fleet.toml"), "a_sets": names,
            "b_sets": [b_full, b_diff]}


def plain(df):
    """*df* with categories as text and a fresh index: frames of a fleet and of one target
    compare by value (a fleet's set columns have the categories of all its sets)."""
    out = df.reset_index(drop=True).copy()
    for c in out.columns:
        if isinstance(out[c].dtype, pd.CategoricalDtype):
            out[c] = out[c].astype(object).where(out[c].notna(), None)
    return out


def rows_of(df, target):
    return plain(df[df["target"] == target].drop(columns="target"))


# ---------------------------------------------------------------------------------------------
# The fleet file


def test_read_fleet_takes_names_targets_and_settings(fleet_dir):
    fleet = catalog.read_fleet(fleet_dir["file"])
    assert fleet.names == ["mail1", "mail2", "mail3.example.com"]
    assert fleet.source == fleet_dir["file"]
    mail1, mail2, mail3 = fleet
    assert mail1.target == fleet_dir["a"]  # relative to the fleet file
    assert (mail1.config.keep, mail2.config.keep, mail3.config.keep) == (2, 5, 5)
    assert mail1.capacity == 50_000_000 and mail2.capacity is None
    assert (mail1.keep_copies, mail2.keep_copies) == (None, 2)
    assert {s.config.min_free for s in fleet} == {1024 * 1024}  # the top-level default
    assert fleet["mail2"] is mail2


@pytest.mark.parametrize("text, words", [
    ('[[server]]\nname = "mail1"\ntarget = "/x"\nkep = 3\n',
     ["server 'mail1'", "key 'kep'", "unknown key"]),
    ('[[server]]\nname = "mail1"\ntarget = "/x"\nkeep = "many"\n',
     ["server 'mail1'", "key 'keep'", "bad value 'many'", "whole number"]),
    ('[[server]]\nname = "mail1"\ntarget = "/x"\nkeep_copies = 0\n',
     ["server 'mail1'", "key 'keep_copies'", "bad value 0"]),
    ('[[server]]\nname = "mail1"\ntarget = "/x"\ncapacity = "lots"\n',
     ["server 'mail1'", "key 'capacity'", "bad value 'lots'"]),
    ('[[server]]\nname = "mail1"\n', ["server 'mail1'", "key 'target'", "needs a target"]),
    ('[[server]]\ntarget = "/x"\n', ["key 'name'", "number 1 needs a name"]),
    ('[[server]]\nname = "mail 1"\ntarget = "/x"\n', ["key 'name'", "'mail 1'", "letters"]),
    ('[[server]]\nname = "Mail1"\ntarget = "/x"\n[[server]]\nname = "mail1"\ntarget = "/y"\n',
     ["key 'name'", "'Mail1' and 'mail1'"]),
    ('keep = 3\n', ["key 'server'", "one [[server]] table per server"]),
    ('target = "/x"\n[[server]]\nname = "a"\ntarget = "/y"\n',
     ["key 'target'", "unknown top-level key"]),
    ('[[server]]\nname = "a"\ntarget = "smb://bob:Secret-1@nas/share"\n',
     ["server 'a'", "key 'target'", "smb://bob:***@nas/share", "password"]),
    ('[[server]\nname = "a"\n', ["not valid TOML"]),
])
def test_fleet_file_errors_name_the_file_the_server_and_the_key(tmp_path, text, words):
    path = tmp_path / "fleet.toml"
    path.write_text(text)
    with pytest.raises(FleetFileError) as e:
        catalog.read_fleet(path)
    message = str(e.value)
    assert message.startswith(f"fleet file {path}"), message
    for w in words:
        assert w in message, message
    assert "Secret-1" not in message
    assert isinstance(e.value, workbench.ConfigError) and e.value.exit_code == 61


def test_a_missing_fleet_file_is_named(tmp_path):
    with pytest.raises(FleetFileError, match="file not found"):
        catalog.read_fleet(tmp_path / "nope.toml")


def test_a_mapping_is_validated_like_a_fleet_file(fleet_dir):
    with pytest.raises(FleetFileError, match="server 'x': key 'keep': bad value -1"):
        catalog.read_sets({"x": {"target": fleet_dir["a"], "keep": -1}})
    with pytest.raises(FleetFileError, match="key 'name': bad value 'a/b'"):
        catalog.read_sets({"a/b": fleet_dir["a"]})
    with pytest.raises(ValueError, match="an empty mapping"):
        catalog.read_sets({})


# ---------------------------------------------------------------------------------------------
# Readers over a fleet


def test_every_reader_gives_one_frame_with_the_targets_rows(fleet_dir):
    fleet = {"mail1": fleet_dir["a"], "mail2": fleet_dir["b"]}
    readers = {
        "read_sets": lambda t: catalog.read_sets(t),
        "read_volumes": lambda t: catalog.read_volumes(t),
        "read_entries": lambda t: catalog.read_entries(t),
        "read_messages": lambda t: catalog.read_messages(t),
        "find_messages": lambda t: catalog.find_messages(t, subject="re"),
        "find_messages distinct": lambda t: catalog.find_messages(t, distinct=True),
        "storage_usage": lambda t: catalog.storage_usage(t, capacity=10**9),
        "read_verify": lambda t: catalog.read_verify(t, level="catalog"),
    }
    for name, read in readers.items():
        df = read(fleet)
        assert df.columns[0] == "target", name
        assert list(df["target"].cat.categories) == ["mail1", "mail2"], name
        assert catalog.problems(df).empty, name
        for target, path in fleet.items():
            single = read(path)
            assert list(df.columns[1:]) == list(single.columns), name
            pd.testing.assert_frame_equal(rows_of(df, target), plain(single), check_dtype=False,
                                          obj=f"{name} of {target}")
    # set names keep one ordered dtype of all the fleet's sets, oldest first
    sets = catalog.read_sets(fleet)
    assert sets["set"].dtype.ordered
    assert sets["set"].max() == max(fleet_dir["a_sets"][-1], fleet_dir["b_sets"][-1])


def test_a_plain_list_keeps_the_targets_urls_in_the_target_column(fleet_dir):
    df = catalog.read_sets([fleet_dir["a"], fleet_dir["b"]])
    assert list(df["target"].cat.categories) == [fleet_dir["a"], fleet_dir["b"]]


def test_each_server_rotates_under_its_own_keep(fleet_dir):
    fleet = catalog.read_fleet(fleet_dir["file"])
    sets = catalog.read_sets(fleet)
    a = rows_of(sets, "mail1")
    assert a["rotation"].tolist() == plain(catalog.read_sets(fleet_dir["a"], keep=2))[
        "rotation"].tolist()
    f1, d1 = fleet_dir["a_sets"][:2]
    assert a.set_index("set").loc[[f1, d1], "rotation"].tolist() == ["delete-next"] * 2
    # an argument wins over every server's setting
    assert set(catalog.read_sets(fleet, keep=20)["rotation"]) == {"keep"}
    usage = catalog.storage_usage(fleet)
    a_usage = usage[usage["target"] == "mail1"]
    assert set(a_usage["capacity_bytes"]) == {50_000_000}  # the fleet file's capacity
    assert (a_usage["free_bytes"] == 50_000_000 - a_usage["set_bytes"].sum()).all()


def test_keep_copies_of_the_fleet_file_reach_the_rotation_decisions(fleet_dir, monkeypatch):
    seen = []
    real = settings_mod.rotation_decisions

    def spy(sets, cfg, keep=None, keep_copies=None):
        seen.append((cfg.keep, keep_copies))
        return real(sets, cfg, keep, keep_copies)

    monkeypatch.setattr("workbench.catalog.sets.rotation_decisions", spy)
    monkeypatch.setattr("workbench.catalog.storage.rotation_decisions", spy)
    fleet = catalog.read_fleet(fleet_dir["file"])
    catalog.read_sets(fleet)
    catalog.storage_usage(fleet)
    assert seen == [(2, None), (5, 2), (5, None)] * 2


def test_an_unreachable_and_a_broken_target_are_problems_and_the_rest_is_read(
        fleet_dir, smb_url, samba):
    store = make_store(fleet_dir["root"] / "smb-server", messages=30, seed=8)
    backup("full", store, smb_url, T0)
    closed = f"smb://{samba.user}@127.0.0.1:{free_port()}/backup/gone"
    fleet = {"mail1": fleet_dir["a"], "nas": smb_url,
             "dead": {"target": closed, "network_timeout": 1},
             "broken": fleet_dir["broken"]}
    with pytest.warns(catalog.TargetSkipped, match=r"dead left out: TargetUnreachable: smb://"):
        sets = catalog.read_sets(fleet)
    assert list(sets["target"].cat.categories) == ["mail1", "nas", "dead", "broken"]
    assert sets.groupby("target", observed=False).size().to_dict() == {
        "mail1": 5, "nas": 1, "dead": 0, "broken": 1}
    assert sets.loc[sets["target"] == "broken", "status"].tolist() == ["damaged"]
    p = catalog.problems(sets)
    assert list(p.columns) == list(catalog.PROBLEM_COLUMNS)
    assert p["target"].tolist() == ["dead"] and p["error"].tolist() == ["TargetUnreachable"]
    assert f"127.0.0.1 port {closed.split(':')[2].split('/')[0]}" in p["message"][0]
    assert "within network_timeout (1 s)" in p["message"][0]  # the server's own setting
    assert samba.password not in p["message"][0]
    # The damaged manifest leaves that target nothing a recovery could use.
    with pytest.warns(catalog.TargetSkipped) as caught:
        messages = catalog.read_messages(fleet)
    assert sorted(str(w.message).split(" ")[0] for w in caught) == ["broken", "dead"]
    p = catalog.problems(messages).set_index("target")
    assert p["error"].to_dict() == {"dead": "TargetUnreachable", "broken": "NoCompleteBackup"}
    assert set(messages["target"]) == {"mail1", "nas"}
    pd.testing.assert_frame_equal(rows_of(messages, "nas"), plain(catalog.read_messages(smb_url)),
                                  check_dtype=False)
    # a warning points at the caller's line, not into the catalog
    assert all(w.filename == __file__ for w in caught)


def test_a_fleet_of_which_nothing_can_be_read_raises_with_every_problem(fleet_dir, tmp_path):
    with pytest.raises(FleetUnreadable) as e:
        with pytest.warns(catalog.TargetSkipped):
            catalog.read_entries({"x": tmp_path / "none", "broken": fleet_dir["broken"]})
    assert "(2)" in str(e.value) and "x: TargetError" in str(e.value)
    assert "broken: NoCompleteBackup" in str(e.value)
    assert isinstance(e.value, TargetError) and e.value.exit_code == 62
    # one target, as before: its own error
    with pytest.raises(TargetError, match="does not exist"):
        catalog.read_sets(str(tmp_path / "none"))


def test_recovery_plan_of_a_fleet(fleet_dir):
    fleet = catalog.read_fleet(fleet_dir["file"])
    with pytest.warns(catalog.TargetSkipped, match="mail3.example.com left out"):
        plan = catalog.recovery_plan(fleet)
    assert isinstance(plan, catalog.FleetRecoveryPlan)
    assert list(plan.plans) == ["mail1", "mail2"]
    assert list(plan.summary.columns) == list(catalog.PLAN_SUMMARY_COLUMNS)
    for name, path in (("mail1", fleet_dir["a"]), ("mail2", fleet_dir["b"])):
        one = catalog.recovery_plan(path)
        row = plan.summary.set_index("target").loc[name]
        assert (row["set"], row["chain"]) == (one.set, one.full)
        assert (row["files"], row["size"]) == (one.files, one.bytes)
        assert row["compressed_size"] == one.sets["compressed_size"].sum()
        assert row["started"] == one.sets["started"].iloc[-1]
        assert plan.plans[name].set == one.set
        pd.testing.assert_frame_equal(rows_of(plan.sets, name), plain(one.sets),
                                      check_dtype=False)
        pd.testing.assert_frame_equal(rows_of(plan.entries, name), plain(one.entries),
                                      check_dtype=False)
    assert plan.files == sum(p.files for p in plan.plans.values())
    assert plan.problems["target"].tolist() == ["mail3.example.com"]
    assert catalog.problems(plan).equals(plan.problems)
    # at a time before b's differential: b's full; a's first full
    at = T0 + timedelta(hours=12)
    with pytest.warns(catalog.TargetSkipped):
        early = catalog.recovery_plan(fleet, at=at)
    assert early.summary["set"].tolist() == [fleet_dir["a_sets"][0], fleet_dir["b_sets"][0]]
    with pytest.raises(NoCompleteBackup):
        catalog.recovery_plan(fleet_dir["a"], at=T0 - DAY)  # one target: raises as before


def test_forecast_of_a_fleet(fleet_dir):
    fleet = catalog.read_fleet(fleet_dir["file"])
    now = T0 + 15 * DAY
    f = catalog.forecast_storage(fleet, now=now)
    assert isinstance(f, catalog.FleetForecast)
    assert list(f.summary.columns) == list(catalog.FORECAST_COLUMNS)
    assert list(f.forecasts) == ["mail1", "mail2", "mail3.example.com"]
    s = f.summary.set_index("target")
    one = catalog.forecast_storage(fleet_dir["a"], keep=2, capacity=50_000_000,
                                   min_free="1MiB", now=now)
    assert one.confident and s.at["mail1", "growth_per_day"] == pytest.approx(one.growth_per_day)
    assert (s.at["mail1", "keep"], s.at["mail1", "capacity_bytes"]) == (2, 50_000_000)
    assert s.at["mail1", "projected_bytes"] == one.projected_bytes
    assert s.at["mail1", "largest_keep"] == one.largest_keep
    assert s.at["mail1", "full_date"] == one.full_date or pd.isna(s.at["mail1", "full_date"])
    assert pd.isna(s.at["mail1", "reason"])
    assert s.at["mail2", "keep"] == 5 and s.at["mail2", "reason"].startswith("too little")
    assert pd.isna(s.at["mail2", "growth_per_day"]) and pd.isna(s.at["mail2", "largest_keep"])
    assert s.at["mail2", "min_free_bytes"] == 1024 * 1024
    pd.testing.assert_frame_equal(rows_of(f.history, "mail1"), plain(one.history),
                                  check_dtype=False)
    assert f.problems.empty


def test_diff_sets_compares_within_each_target(fleet_dir):
    a, b = fleet_dir["a_sets"], fleet_dir["b_sets"]
    fleet = {"mail1": fleet_dir["a"], "mail2": fleet_dir["b"]}
    by_name = catalog.diff_sets(fleet, {"mail1": a[0], "mail2": b[0]},
                                {"mail1": a[1], "mail2": b[1]})
    for name, path, (x, y) in (("mail1", fleet_dir["a"], a[:2]), ("mail2", fleet_dir["b"], b)):
        pd.testing.assert_frame_equal(rows_of(by_name, name), plain(catalog.diff_sets(path, x, y)),
                                      check_dtype=False)
    # times: the set a recovery then uses; None: now
    by_time = catalog.diff_sets(fleet, T0 + timedelta(hours=1), None)
    pd.testing.assert_frame_equal(
        rows_of(by_time, "mail1"), plain(catalog.diff_sets(fleet_dir["a"], a[0], a[-1])),
        check_dtype=False)
    pd.testing.assert_frame_equal(
        rows_of(by_time, "mail2"), plain(catalog.diff_sets(fleet_dir["b"], b[0], b[1])),
        check_dtype=False)
    assert by_time.equals(catalog.diff_sets(fleet, "2026-11-01 02:00Z", None))
    with pytest.warns(catalog.TargetSkipped, match="mail2 left out: SetNotFound"):
        partly = catalog.diff_sets(fleet, {"mail1": a[0]}, None)
    assert set(partly["target"]) == {"mail1"}


# ---------------------------------------------------------------------------------------------
# Names of a list's targets


def test_target_names_are_readable_stable_and_distinct(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    name = catalog.target_name(tmp_path / "srv" / "backup" / "mail1")
    assert re.fullmatch(r"[a-z0-9-]*srv-backup-mail1-[0-9a-f]{8}", name) and NAME_RE.fullmatch(name)
    assert catalog.target_name("srv/backup/mail1") == name                 # relative
    assert catalog.target_name(str(tmp_path / "srv/backup/mail1") + "/") == name
    assert catalog.target_name(f"file://{tmp_path}/srv/backup/mail1") == name
    assert catalog.target_name(workbench.open_target(tmp_path / "srv/backup/mail1")) == name
    other = catalog.target_name(tmp_path / "SRV" / "backup" / "mail1")
    assert other != name and other.rsplit("-", 1)[0] == name.rsplit("-", 1)[0]  # same slug
    smb = catalog.target_name("smb://backup@NAS1.example.com/Kerio/mail1")
    assert smb.startswith("nas1-example-com-kerio-mail1-")
    assert catalog.target_name("smb://other@nas1.example.com:445/kerio/MAIL1") == smb
    assert catalog.target_name(r"\\nas1.example.com\kerio\mail1") == smb
    assert catalog.target_name("smb://nas1.example.com:4445/kerio/mail1") != smb
    long = catalog.target_name("/" + "/".join(["very-long-directory-name"] * 10))
    assert len(long) <= 49 and NAME_RE.fullmatch(long)
