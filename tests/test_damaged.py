"""A set of ours whose manifest file is damaged or gone is `damaged`: kept, reported, never removed
by cleanup or rotation, and restorable by name from the manifest copy in its last volume. A
differential whose full is damaged stays restorable (it needs the full's volumes only)."""

import json
import os
from datetime import datetime, timedelta, timezone

import pytest

import workbench
from workbench import samples
from workbench.cli import main
from workbench.naming import manifest_name
from workbench.rotation import plan_rotation
from workbench.sets import COMPLETE, DAMAGED, INCOMPLETE, SetInfo, list_sets
from workbench.naming import parse_set_name

from helpers import make_store, snapshot, store_snapshot

T0 = datetime(2026, 11, 1, 1, 0, 0, tzinfo=timezone.utc)
SETTINGS = dict(min_free=0, volume_size="128KiB")


@pytest.fixture
def chain(tmp_path):
    """A full in several volumes and a differential, with snapshots of the store at both."""
    store = make_store(tmp_path / "server", messages=200, seed=21)
    bk = tmp_path / "bk"
    snaps = {}
    f = workbench.backup("full", store=store, target=str(bk), now=T0, **SETTINGS)
    snaps[f.set_name] = store_snapshot(store)
    samples.mutate(store, seed=1)
    d = workbench.backup("differential", store=store, target=str(bk), now=T0 + timedelta(days=1),
                         **SETTINGS)
    snaps[d.set_name] = store_snapshot(store)
    assert len(f.volumes) > 3
    return store, bk, f.set_name, d.set_name, snaps


def files_of(bk, *names):
    return {p.name: p.read_bytes() for p in bk.iterdir() if p.name.startswith(names)}


def test_truncated_full_manifest_loses_nothing(chain, tmp_path, capsys):
    store, bk, full, diff, snaps = chain
    os.truncate(bk / manifest_name(full), 20)
    before = files_of(bk, full, diff)
    r = workbench.backup("differential", store=store, target=str(bk), now=T0 + timedelta(days=2),
                         **SETTINGS)
    assert files_of(bk, full, diff) == before  # not one file of either removed
    assert r.removed == [] and r.kind == "F"   # no complete full left to be a base
    # `workbench sets` shows the full damaged, and why.
    assert main(["sets", "--target", str(bk), "--json"]) == 0
    records = {x["name"]: x for x in map(json.loads, capsys.readouterr().out.splitlines())}
    assert records[full]["status"] == DAMAGED and records[diff]["status"] == COMPLETE
    assert records[full]["problem"].startswith("manifest file unreadable (")
    assert f"restorable by name from the manifest copy in {full}." in records[full]["problem"]
    assert main(["sets", "--target", str(bk)]) == 0
    [line] = [x for x in capsys.readouterr().out.splitlines() if x.startswith(full)]
    assert " damaged " in line and "manifest file unreadable" in line
    # The differential restores (it needs the full's volumes, not its manifest)...
    workbench.restore(str(tmp_path / "d"), diff, target=str(bk))
    assert snapshot(tmp_path / "d") == snaps[diff]
    # ... and so does the full, named, from the manifest copy in its last volume.
    workbench.restore(str(tmp_path / "f"), full, target=str(bk))
    assert snapshot(tmp_path / "f") == snaps[full]
    assert main(["ls", full, "--target", str(bk)]) == 0
    assert len(capsys.readouterr().out.splitlines()) == len(snaps[full])
    problems = workbench.verify(full, target=str(bk), level="data")
    assert [(p.set, p.path) for p in problems] == [(full, None)]  # the damage, and no other
    assert problems[0].problem.startswith("damaged set: manifest file unreadable")


def test_a_set_without_its_manifest_file_is_kept_and_restorable(chain, tmp_path):
    # A run killed between its last volume and its manifest, or a manifest removed by hand.
    store, bk, full, diff, snaps = chain
    (bk / manifest_name(diff)).unlink()
    before = files_of(bk, full, diff)
    [f, d] = list_sets(workbench.open_target(str(bk)))
    assert (f.status, d.status) == (COMPLETE, DAMAGED)
    assert d.problem.startswith("its manifest file is missing; restorable by name")
    r = workbench.backup("full", store=store, target=str(bk), now=T0 + timedelta(days=2),
                         keep=1, **SETTINGS)
    # Neither cleanup nor rotation (keep=1) removes the damaged differential or its full.
    assert files_of(bk, full, diff) == before and r.removed == []
    workbench.restore(str(tmp_path / "d"), diff, target=str(bk))
    assert snapshot(tmp_path / "d") == snaps[diff]


def test_a_damaged_full_is_not_counted_among_the_kept_backups(chain):
    store, bk, full, diff, snaps = chain
    f2 = workbench.backup("full", store=store, target=str(bk), now=T0 + timedelta(days=2),
                          differentials="all", **SETTINGS).set_name
    os.truncate(bk / manifest_name(f2), 20)
    f3 = workbench.backup("full", store=store, target=str(bk), now=T0 + timedelta(days=3),
                          keep=2, **SETTINGS).set_name
    sets = {str(s.name): s.status for s in list_sets(workbench.open_target(str(bk)))}
    # keep=2 complete backups: f3 and the first chain; f2 is damaged, kept, not counted.
    assert sets == {full: COMPLETE, diff: COMPLETE, f2: DAMAGED, f3: COMPLETE}


def _info(name, status, base=None, problem=""):
    info = SetInfo(parse_set_name(name), {0: (f"{name}.zip", 100)}, status, problem=problem)
    if status in (COMPLETE, DAMAGED):
        info.header = {"base": base}
    return info


def test_rotation_deletes_an_orphan_differential_only_when_nothing_of_its_full_is_left():
    full, diff, newer = "F20261101T010000Z", "D20261102T010000Z", "F20261103T010000Z"
    for status in (INCOMPLETE, DAMAGED):
        sets = [_info(full, status, problem="x"), _info(diff, COMPLETE, full),
                _info(newer, COMPLETE)]
        plan = {d.set: (d.action, d.reason) for d in plan_rotation(sets, 1)}
        assert plan[diff][0] == plan[full][0] == "keep"
    plan = {d.set: d.action for d in plan_rotation([_info(diff, COMPLETE, full),
                                                    _info(newer, COMPLETE)], 1)}
    assert plan == {diff: "delete", newer: "keep"}


# --- a status from facts: every volume the manifest names, at its recorded size -------------------

def _one_volume_gone(bk, name, index=1):
    victim = bk / f"{name}.{index}.zip"
    victim.unlink()
    return victim.name


def test_a_set_missing_a_volume_is_damaged_and_names_it(chain, capsys):
    store, bk, full, diff, snaps = chain
    gone = _one_volume_gone(bk, full, 2)
    [f, d] = list_sets(workbench.open_target(str(bk)))
    assert (f.status, f.problem) == (DAMAGED, f"volume {gone} is missing")
    assert main(["sets", "--target", str(bk), "--json"]) == 0
    records = {x["name"]: x for x in map(json.loads, capsys.readouterr().out.splitlines())}
    assert (records[full]["status"], records[full]["problem"]) == (DAMAGED,
                                                                   f"volume {gone} is missing")
    assert main(["sets", "--target", str(bk)]) == 0
    [line] = [x for x in capsys.readouterr().out.splitlines() if x.startswith(full)]
    assert line.split()[1] == DAMAGED and line.endswith(f"volume {gone} is missing")
    from workbench import catalog
    row = catalog.read_sets(str(bk)).set_index("set").loc[full]
    assert (row["status"], row["problem"]) == (DAMAGED, f"volume {gone} is missing")


def test_a_volume_of_another_size_makes_the_set_damaged(chain):
    store, bk, full, diff, snaps = chain
    vol = bk / f"{full}.1.zip"
    size = vol.stat().st_size
    with open(vol, "ab") as f:
        f.write(b"x")
    f = list_sets(workbench.open_target(str(bk)))[0]
    assert (f.status, f.problem) == (
        DAMAGED, f"volume {vol.name} is {size + 1} bytes, the manifest says {size}")


def test_restore_and_recovery_plan_fall_back_past_a_damaged_set_and_say_so(chain, tmp_path,
                                                                            capsys):
    store, bk, full, diff, snaps = chain
    f2 = workbench.backup("full", store=store, target=str(bk), now=T0 + timedelta(days=2),
                          **SETTINGS).set_name
    gone = _one_volume_gone(bk, f2)
    why = f"damaged (volume {gone} is missing)"
    # The default choice, --at and the catalog's recovery plan all use the differential.
    plan = workbench.plan_restore(target=str(bk))
    assert (str(plan.set.name), plan.passed_over) == (diff, [(f2, why)])
    assert f"not used: {f2}, {why}; the newest usable backup is restored instead" in plan.render()
    at = (T0 + timedelta(days=3)).isoformat()
    assert str(workbench.plan_restore(target=str(bk), at=at).set.name) == diff
    r = workbench.restore(str(tmp_path / "out"), target=str(bk))
    assert (r.set_name, r.passed_over) == (diff, [(f2, why)])
    assert snapshot(tmp_path / "out") == snaps[diff]
    from workbench import catalog
    rp = catalog.recovery_plan(str(bk), at=at)
    assert (rp.set, rp.full, rp.passed_over) == (diff, full, [(f2, why)])
    # The command line says so too.
    assert main(["restore", "--target", str(bk), "--to", str(tmp_path / "cli")]) == 0
    err = capsys.readouterr().err
    assert f"note: {f2} not used: {why}; {diff}, the newest usable backup, is used instead" in err
    # Named, the damaged set restores what its volumes still hold.
    with pytest.raises(workbench.errors.RestoreIncomplete) as info:
        workbench.restore(str(tmp_path / "named"), f2, target=str(bk))
    assert info.value.failures and all(f"volume 1 of set {f2} is missing" == reason
                                       for _, reason in info.value.failures)


def test_a_differential_of_a_damaged_full_is_not_chosen_by_itself(chain, tmp_path):
    store, bk, full, diff, snaps = chain
    _one_volume_gone(bk, full)
    with pytest.raises(workbench.errors.NoCompleteBackup) as info:
        workbench.plan_restore(target=str(bk))
    assert f"{diff} is a differential of {full}, which is damaged (volume" in str(info.value)


def test_rotation_keeps_a_damaged_set_and_does_not_count_it(chain):
    store, bk, full, diff, snaps = chain
    f2 = workbench.backup("full", store=store, target=str(bk), now=T0 + timedelta(days=2),
                          **SETTINGS).set_name
    _one_volume_gone(bk, f2)
    f3 = workbench.backup("full", store=store, target=str(bk), now=T0 + timedelta(days=3),
                          keep=2, **SETTINGS)
    assert f3.removed == []  # f2 is not one of the 2 complete backups, and is not deleted
    sets = {str(s.name): s.status for s in list_sets(workbench.open_target(str(bk)))}
    assert sets == {full: COMPLETE, diff: COMPLETE, f2: DAMAGED, f3.set_name: COMPLETE}
