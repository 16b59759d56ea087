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


COPY_KEPT = "copy {} of {} kept (newest first; copies are kept by keep_copies, not counted by keep)"


def test_keep_n_complete_backups_with_their_differentials(store, tmp_path):
    bk = tmp_path / "bk"
    f1 = backup(store, bk, "full", 0)
    d1 = backup(store, bk, "differential", 1)
    f2 = backup(store, bk, "full", 2)
    d2 = backup(store, bk, "differential", 3)
    c3 = backup(store, bk, "copy", 4)
    plan = {d.set: (d.action, d.reason) for d in
            plan_rotation(list_sets(workbench.open_target(str(bk))), 1)}
    # A copy stands beside the chains: it is not one of the `keep` complete backups.
    assert plan == {
        f1: ("delete", "older than the 1 newest complete backups"),
        d1: ("delete", f"its full {f1} is rotated out"),
        f2: ("keep", "complete backup 1 of 1 kept (newest first)"),
        d2: ("keep", f"differential of kept full {f2}"),
        c3: ("keep", COPY_KEPT.format(1, 3)),
    }
    # Applied after the next commit: the new full makes f2's chain the oldest.
    f4 = backup(store, bk, "full", 5, keep=1)
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


def test_start_now_never_deletes_a_full_or_a_differential(store, tmp_path):
    bk = tmp_path / "bk"
    f1 = backup(store, bk, "full", 0)
    d1 = backup(store, bk, "differential", 1)
    f2 = backup(store, bk, "full", 2)
    # A copy's run rotates only copies, whatever keep says.
    c3 = workbench.backup("copy", store=store, target=str(bk), min_free=0, keep=1,
                          now=T0 + timedelta(days=3))
    assert c3.removed == [] and names(bk) == [f1, d1, f2, c3.set_name]
    # The copy is no differential's base, and is not counted by keep: f2 stays one of keep=2.
    d4 = workbench.backup("differential", store=store, target=str(bk), min_free=0, keep=2,
                          now=T0 + timedelta(days=4))
    assert d4.base == f2 and names(bk) == [f1, d1, f2, c3.set_name, d4.set_name]


def test_copies_are_kept_by_keep_copies(store, tmp_path, capsys):
    bk = tmp_path / "bk"
    f1 = backup(store, bk, "full", 0)
    copies = [workbench.backup("copy", store=store, target=str(bk), min_free=0, keep_copies=2,
                               now=T0 + timedelta(days=1 + i)) for i in range(3)]
    assert [r.removed for r in copies] == [[], [], [{
        "set": copies[0].set_name, "reason": "older than the 2 newest copies (keep_copies)"}]]
    assert names(bk) == [f1, copies[1].set_name, copies[2].set_name]
    # The preview and the catalog say the same, under the config's keep_copies.
    assert main(["rotate", "--dry-run", "--target", str(bk), "--keep-copies", "1"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"{f1}  keep    complete backup 1 of 7 kept (newest first)",
        f"{copies[1].set_name}  delete  older than the 1 newest copies (keep_copies)",
        f"{copies[2].set_name}  keep    {COPY_KEPT.format(1, 1)}"]
    from workbench import catalog
    df = catalog.read_sets(str(bk), keep_copies=1)
    assert df["rotation"].tolist() == ["keep", "delete-next", "keep"]
    assert df["rotation_reason"].tolist()[1] == "older than the 1 newest copies (keep_copies)"
    assert main(["catalog", "sets", "--target", str(bk), "--keep-copies", "1", "--format",
                 "csv"]) == 0
    assert "older than the 1 newest copies (keep_copies)" in capsys.readouterr().out


def test_keep_copies_is_validated(tmp_path):
    with pytest.raises(workbench.ConfigError, match="'keep_copies': bad value 0: expected a whole"):
        workbench.load_config(None, keep_copies=0)
