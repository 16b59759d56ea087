"""Rotation keeps at most N complete backups and never a differential without its full."""

from datetime import datetime, timedelta, timezone

import pytest

import workbench
from workbench.cli import main
from workbench.rotation import plan_rotation
from workbench.sets import list_sets

from helpers import make_store

T0 = datetime(2026, 11, 1, 1, 0, 0, tzinfo=timezone.utc)


@pytest.fixture
def store(tmp_path):
    return make_store(tmp_path / "server", messages=40, seed=3)


def backup(store, bk, kind, day, **kw):
    return workbench.backup(kind, store=store, target=str(bk), min_free=0, keep=kw.pop("keep", 100),
                            differentials="all", now=T0 + timedelta(days=day), **kw).set_name


def names(bk):
    return [str(s.name) for s in list_sets(workbench.open_target(str(bk)))]


def test_keep_n_complete_backups_with_their_differentials(store, tmp_path):
    bk = tmp_path / "bk"
    f1 = backup(store, bk, "full", 0)
    d1 = backup(store, bk, "differential", 1)
    f2 = backup(store, bk, "full", 2)
    d2 = backup(store, bk, "differential", 3)
    c3 = backup(store, bk, "copy", 4)
    plan = {d.set: (d.action, d.reason) for d in
            plan_rotation(list_sets(workbench.open_target(str(bk))), 2)}
    assert plan == {
        f1: ("delete", "older than the 2 newest complete backups"),
        d1: ("delete", f"its full {f1} is rotated out"),
        f2: ("keep", "complete backup 2 of 2 kept (newest first)"),
        d2: ("keep", f"differential of kept full {f2}"),
        c3: ("keep", "complete backup 1 of 2 kept (newest first)"),
    }
    # Applied after the next commit: the new full makes f2's chain the oldest.
    f4 = backup(store, bk, "full", 5, keep=2)
    assert names(bk) == [c3, f4]


def test_a_kept_differential_keeps_its_full(store, tmp_path):
    bk = tmp_path / "bk"
    f1 = backup(store, bk, "full", 0)
    d1 = backup(store, bk, "differential", 1, keep=1)
    d2 = backup(store, bk, "differential", 2, keep=1)
    assert names(bk) == [f1, d1, d2]  # keep=1 counts chains, not sets


def test_orphan_differential_is_deleted_with_reason(store, tmp_path):
    bk = tmp_path / "bk"
    f1 = backup(store, bk, "full", 0)
    d1 = backup(store, bk, "differential", 1)
    for p in bk.iterdir():
        if p.name.startswith(f1):
            p.unlink()
    [d] = plan_rotation(list_sets(workbench.open_target(str(bk))), 3)
    assert (d.set, d.action) == (d1, "delete") and "full backup is gone" in d.reason


def test_rotate_dry_run_lists_every_set_and_deletes_nothing(store, tmp_path, capsys):
    bk = tmp_path / "bk"
    f1 = backup(store, bk, "full", 0)
    f2 = backup(store, bk, "full", 1)
    before = sorted(p.name for p in bk.iterdir())
    assert main(["rotate", "--dry-run", "--target", str(bk), "--keep", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [f"{f1}  delete  older than the 1 newest complete backups",
                   f"{f2}  keep    complete backup 1 of 1 kept (newest first)"]
    assert sorted(p.name for p in bk.iterdir()) == before
    assert main(["rotate", "--target", str(bk), "--keep", "1"]) == 0
    assert names(bk) == [f2]
