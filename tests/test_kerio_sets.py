"""Sets written by Kerio Connect itself (no manifest of ours), built here with Info-ZIP: each volume
a standalone zip of a disjoint part of the store (X.zip, X.1.zip), a differential chained by name and
time. They list, verify and restore correctly, UTF-8 folder names included."""

import os
import shutil
import subprocess
from datetime import datetime, timedelta, timezone

import pytest

import workbench
from workbench import samples
from workbench.cli import main
from workbench.errors import RestoreIncomplete
from workbench.sets import FOREIGN, list_sets
from workbench.targets import open_target

from helpers import make_store, snapshot, store_snapshot

pytestmark = pytest.mark.skipif(shutil.which("zip") is None, reason="Info-ZIP zip is not installed")
FULL, DIFF = "F20261101T010000Z", "D20261102T010000Z"


def _zip(store, archive, paths):
    subprocess.run(["zip", "-q", "-r", os.path.abspath(archive), "-@"], cwd=store, check=True,
                   input="\n".join(paths).encode())


@pytest.fixture(scope="module")
def kerio(tmp_path_factory):
    root = tmp_path_factory.mktemp("kerio")
    store = make_store(root / "server", messages=300, seed=31)
    target = root / "bk"
    target.mkdir()
    s0 = store_snapshot(store)
    # The full in two standalone volumes, each holding a disjoint part of the store.
    first = sorted(p for p in s0 if not p.startswith("store/mail/example.org/"))
    second = sorted(p for p in s0 if p.startswith("store/mail/example.org/"))
    _zip(store, target / f"{FULL}.zip", first)
    _zip(store, target / f"{FULL}.1.zip", second)
    changes = samples.mutate(store, seed=4)
    s1 = store_snapshot(store)
    changed = sorted(set(changes["rewritten"]) | set(changes["added"]))
    _zip(store, target / f"{DIFF}.zip", changed)
    return {"store": store, "target": str(target), "s0": s0, "s1": s1, "changes": changes}


def test_foreign_sets_are_recognised_and_chained(kerio):
    sets = list_sets(open_target(kerio["target"]))
    assert [(str(s.name), s.status, sorted(s.volumes)) for s in sets] == [
        (FULL, FOREIGN, [0, 1]), (DIFF, FOREIGN, [0])]
    assert any(not p.isascii() for p in kerio["s0"])  # UTF-8 names, stored without the flag


def test_list_and_restore_full_from_its_first_volume(kerio, tmp_path, capsys):
    assert main(["restore", "-l", os.path.join(kerio["target"], f"{FULL}.zip")]) == 0
    listed = [line.split(None, 3)[3] for line in capsys.readouterr().out.splitlines()]
    assert listed == sorted(kerio["s0"])
    assert main(["restore", os.path.join(kerio["target"], f"{FULL}.zip"), "--to",
                 str(tmp_path / "full")]) == 0
    assert snapshot(tmp_path / "full") == kerio["s0"]


def test_restore_directory_takes_full_plus_differential(kerio, tmp_path):
    assert main(["restore", kerio["target"], "--to", str(tmp_path / "out")]) == 0
    # Kerio's differential holds no list of the store, so deleted files come back from the full.
    expected = dict(kerio["s0"], **kerio["s1"])
    assert snapshot(tmp_path / "out") == expected
    r = workbench.restore(str(tmp_path / "one"), kerio["target"], paths=[kerio["changes"]["added"][0]])
    assert r.sets_used == [DIFF] and r.files == 1


def test_selection_and_verify_on_foreign_sets(kerio, tmp_path):
    czech = sorted(p for p in kerio["s1"] if "Přijaté faktury/#msgs/" in p)[0]
    _, _, domain, user, _ = czech.split("/", 4)
    workbench.restore(str(tmp_path / "f"), kerio["target"], domain=domain, user=user,
                      folder="Přijaté faktury")
    prefix = f"store/mail/{domain}/{user}/Přijaté faktury/"
    expected = {p: v for p, v in dict(kerio["s0"], **kerio["s1"]).items() if p.startswith(prefix)}
    assert snapshot(tmp_path / "f") == expected
    assert workbench.verify(target=kerio["target"], level="data") == []


def test_lost_foreign_volume_fails_only_its_entries(kerio, tmp_path):
    target = tmp_path / "bk"
    shutil.copytree(kerio["target"], target)
    with open(target / f"{FULL}.1.zip", "r+b") as f:  # a volume whose directory is unreadable
        f.truncate(100)
    problems = workbench.verify(target=str(target), level="catalog")
    assert {(p.set, p.volume) for p in problems} == {(FULL, f"{FULL}.1.zip")}
    with pytest.raises(RestoreIncomplete) as info:
        workbench.restore(str(tmp_path / "out"), FULL, target=str(target))
    assert [p for p, _ in info.value.failures] == [f"{FULL}.1.zip (every member of it)"]
    assert snapshot(tmp_path / "out") == {p: v for p, v in kerio["s0"].items()
                                          if not p.startswith("store/mail/example.org/")}


def _three_volume_set(kerio, target):
    """A Kerio full in three standalone volumes, written with Info-ZIP, in *target*."""
    paths = sorted(kerio["s1"])
    thirds = [paths[i::3] for i in range(3)]
    target.mkdir()
    for i, part in enumerate(thirds):
        _zip(kerio["store"], target / (f"{FULL}.zip" if i == 0 else f"{FULL}.{i}.zip"), part)
    return {p.name: p.read_bytes() for p in target.iterdir()}


def _files(target):
    return {p.name: p.read_bytes() for p in target.iterdir()}


def test_a_kerio_set_missing_its_first_volume_is_never_deleted(kerio, tmp_path):
    target = tmp_path / "bk"
    kept = _three_volume_set(kerio, target)
    (target / f"{FULL}.zip").unlink()
    del kept[f"{FULL}.zip"]
    r = workbench.backup("full", store=kerio["store"], target=str(target), min_free=0, keep=1)
    after = _files(target)
    assert {k: v for k, v in after.items() if k in kept} == kept
    s = list_sets(open_target(str(target)))[0]
    assert (str(s.name), s.status, s.problem) == (FULL, FOREIGN, "volume 0 is missing")
    assert not r.removed  # not whole: rotation keeps it too, even with keep=1
    assert [str(s.name) for s in list_sets(open_target(str(target)))] == [FULL, r.set_name]


@pytest.mark.parametrize("stray", [f"{FULL}.zip.partial", f"{FULL}.1.zip.partial"])
def test_a_stray_partial_file_beside_a_kerio_set_deletes_nothing(kerio, tmp_path, stray):
    target = tmp_path / "bk"
    kept = _three_volume_set(kerio, target)
    (target / stray).write_bytes(b"left by another tool")
    kept[stray] = b"left by another tool"
    r = workbench.backup("differential", store=kerio["store"], target=str(target), min_free=0)
    assert {k: v for k, v in _files(target).items() if k in kept} == kept
    s = list_sets(open_target(str(target)))[0]
    assert (str(s.name), s.status, s.problem, s.strays) == (FULL, FOREIGN, "", [stray])
    assert r.set_name in [str(x.name) for x in list_sets(open_target(str(target)))]
    workbench.restore(str(tmp_path / "out"), FULL, target=str(target))
    assert snapshot(tmp_path / "out") == kerio["s1"]


def test_rotation_deletes_whole_kerio_sets_under_the_same_keep_rule(kerio, tmp_path):
    target = tmp_path / "bk"
    shutil.copytree(kerio["target"], target)
    kerio_files = _files(target)
    first = workbench.backup("full", store=kerio["store"], target=str(target), min_free=0, keep=2)
    # Two complete backups: the Kerio chain and ours. Both stay.
    assert first.removed == [] and {k: v for k, v in _files(target).items()
                                    if k in kerio_files} == kerio_files
    later = datetime.now(timezone.utc) + timedelta(minutes=1)
    second = workbench.backup("full", store=kerio["store"], target=str(target), min_free=0,
                              keep=2, now=later)
    # Now the Kerio chain is older than every kept backup: it is rotated out, whole.
    assert [(d["set"], d["reason"]) for d in second.removed] == [
        (DIFF, f"its full {FULL} is rotated out"),
        (FULL, "older than the 2 newest complete backups")]
    assert sorted(str(s.name) for s in list_sets(open_target(str(target)))) == sorted(
        [first.set_name, second.set_name])


# --- spanned archives (Info-ZIP `zip -s`): never taken for a set of standalone volumes -----------

def _spanned(kerio, target):
    """The store zipped by Info-ZIP into a spanned archive of 300 KB parts: X.z01, X.z02 ...,
    and X.zip, the last part, which holds the central directory."""
    target.mkdir()
    subprocess.run(["zip", "-q", "-r", "-s", "300k", str(target / f"{FULL}.zip"), "store"],
                   cwd=kerio["store"], check=True)
    parts = sorted(p.name for p in target.iterdir())
    assert len(parts) > 2 and f"{FULL}.z01" in parts
    return {p.name: p.read_bytes() for p in target.iterdir()}


def test_a_spanned_archive_is_unsupported_with_the_reason(kerio, tmp_path, capsys):
    from workbench.errors import NoCompleteBackup, UnsupportedSet
    from workbench.sets import UNSUPPORTED
    target = tmp_path / "bk"
    kept = _spanned(kerio, target)
    [s] = list_sets(open_target(str(target)))
    assert s.status == UNSUPPORTED and s.shown_status == UNSUPPORTED
    assert f"{FULL}.z01" in s.problem and "cannot read" in s.problem and "zip -s 0" in s.problem
    assert main(["sets", "--target", str(target), "--json"]) == 0
    [record] = [__import__("json").loads(x) for x in capsys.readouterr().out.splitlines()]
    assert (record["status"], record["problem"]) == (UNSUPPORTED, s.problem)
    from workbench import catalog
    assert catalog.read_sets(str(target))["status"].tolist() == [UNSUPPORTED]
    # Never restored: by default it is not a backup to choose, by name it is refused, clearly.
    with pytest.raises(NoCompleteBackup, match=f"{FULL} is unsupported"):
        workbench.restore(str(tmp_path / "out"), target=str(target))
    with pytest.raises(UnsupportedSet, match="spanned"):
        workbench.restore(str(tmp_path / "out"), FULL, target=str(target))
    assert main(["restore", FULL, "--target", str(target), "--to", str(tmp_path / "o")]) == \
        UnsupportedSet.exit_code == 24
    assert "spanned" in capsys.readouterr().err
    assert not (tmp_path / "out").exists() and not (tmp_path / "o").exists()
    # verify says so; rotation and cleanup leave every part alone, even with keep=1.
    [p] = workbench.verify(target=str(target), level="catalog")
    assert p.set == FULL and p.problem.startswith("unsupported set: a spanned")
    r = workbench.backup("full", store=kerio["store"], target=str(target), min_free=0, keep=1)
    assert r.removed == [] and {k: v for k, v in _files(target).items() if k in kept} == kept


def test_the_last_part_of_a_spanned_archive_alone_is_unsupported_too(kerio, tmp_path):
    from workbench.sets import UNSUPPORTED
    target = tmp_path / "bk"
    _spanned(kerio, target)
    for p in target.iterdir():
        if p.suffix != ".zip":
            p.unlink()  # the parts are lost: X.zip still says it is the last disk of several
    [s] = list_sets(open_target(str(target)), load=False)
    assert s.status == UNSUPPORTED and "is disk" in s.problem
