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
