"""A backup killed with SIGKILL at any point leaves earlier sets intact and restorable; its own
leftovers show as incomplete and the next run removes them (once its last volume, which holds the
manifest copy, is published, the set is damaged instead: kept, and restorable by name). A failing
run cleans up after itself."""

import os
import signal
import subprocess
import sys
import textwrap
import zipfile
from datetime import datetime, timedelta, timezone

import pytest

import workbench
from workbench import samples
from workbench.sets import COMPLETE, DAMAGED, INCOMPLETE, list_sets

from helpers import make_store, snapshot, store_snapshot

T0 = datetime(2026, 11, 1, 1, 0, 0, tzinfo=timezone.utc)

# The child runs a real backup and SIGKILLs itself at the chosen point: when publishing a file
# whose name matches, or after N files have been stored.
CHILD = textwrap.dedent("""
    import os, signal, sys
    from datetime import datetime, timezone
    import workbench
    from workbench.targets.local import LocalTarget
    store, target, kind, when, point, mode = sys.argv[1:7]
    die = lambda: os.kill(os.getpid(), signal.SIGKILL)
    if mode == "workers":  # worker processes write volumes of their own, even for this store
        import workbench.archive.pack as pack
        pack._PROCESS_MIN_FILES = 0
    if point.startswith("publish:"):
        suffix = point.split(":", 1)[1]
        real = LocalTarget.publish
        def publish(self, src, dst):
            if dst.endswith(suffix):
                die()
            return real(self, src, dst)
        LocalTarget.publish = publish
    if point.startswith("remove:"):
        suffix = point.split(":", 1)[1]
        real_remove = LocalTarget.remove
        def remove(self, name):
            real_remove(self, name)
            if name.endswith(suffix):
                die()
        LocalTarget.remove = remove
    def progress(p):
        if point.startswith("files:") and p.files_done >= int(point.split(":")[1]):
            die()
    workbench.backup(kind, store=store, target=target, min_free=0, volume_size="128KiB",
                     now=datetime.fromisoformat(when), progress=progress)
""")


def run_child(store, target, kind, when, point, mode="main"):
    p = subprocess.run([sys.executable, "-c", CHILD, store, str(target), kind, when.isoformat(),
                        point, mode], capture_output=True, text=True)
    return p.returncode


@pytest.fixture
def history(tmp_path):
    """A store with a committed full and differential, and snapshots of both times."""
    store = make_store(tmp_path / "server", messages=200, seed=21)
    bk = tmp_path / "bk"
    full_snap = store_snapshot(store)
    f = workbench.backup("full", store=store, target=str(bk), min_free=0, volume_size="128KiB",
                         now=T0)
    samples.mutate(store, seed=1)
    diff_snap = store_snapshot(store)
    d = workbench.backup("differential", store=store, target=str(bk), min_free=0,
                         volume_size="128KiB", now=T0 + timedelta(days=1))
    samples.mutate(store, seed=2)
    return store, bk, {f.set_name: full_snap, d.set_name: diff_snap}, sorted(os.listdir(bk))


POINTS = [
    ("full", "files:5"),          # while compressing, first volume still partial
    ("full", ".1.zip"),           # after the first volume was published
    ("full", ".index.sqlite"),    # all volumes published, before the index
    ("full", ".manifest.json.gz"),  # everything but the manifest
    ("differential", "files:3"),
    ("differential", ".manifest.json.gz"),
    ("differential", "remove:.manifest.json.gz"),  # after commit, while removing the old D
]


def _has_manifest_copy(bk, info):
    """True if the set's last volume (as zipfile reads it) ends with the manifest copy."""
    last = info.volumes[max(info.volumes)][0] if info.volumes else None
    if last is None:
        return False
    with zipfile.ZipFile(bk / last) as z:
        return z.namelist()[-1] == f".workbench/{info.name}.manifest.json"


@pytest.mark.parametrize("mode", ["main", "workers"])
@pytest.mark.parametrize("kind,point", POINTS)
def test_sigkill_leaves_earlier_sets_restorable(history, tmp_path, kind, point, mode):
    store, bk, snaps, before = history
    if not point.startswith(("files:", "remove:")):
        point = "publish:" + point
    code = run_child(store, bk, kind, T0 + timedelta(days=2), point, mode)
    assert code == -signal.SIGKILL
    sets = list_sets(workbench.open_target(str(bk)))
    by_name = {str(s.name): s for s in sets}
    killed = [s for s in sets if str(s.name) not in snaps]
    if point.startswith("remove:"):
        # Killed after the commit: the new D is complete, the old one's removal was decided
        # (its removal marker says so) and is finished by the next run.
        [new] = killed
        assert new.status == COMPLETE
        old_d = [n for n in snaps if n.startswith("D")][0]
        assert by_name[old_d].markers
        del snaps[old_d]
        late = False
    else:
        # Never reported complete. Killed before its last volume, the set is incomplete (the
        # proof of an interrupted run); after it, the manifest copy in that volume makes it
        # damaged: kept, and restorable by name.
        # (The index is written beside the last volume: either may come first.)
        [k] = killed
        late = _has_manifest_copy(bk, k)
        assert late == (point == "publish:.manifest.json.gz") or point == "publish:.index.sqlite"
        assert k.status == (DAMAGED if late else INCOMPLETE)
    # Every earlier set that should still be there restores exactly.
    for name, snap in snaps.items():
        out = tmp_path / f"r-{name}"
        workbench.restore(str(out), name, target=str(bk))
        assert snapshot(out) == snap
    if late:
        out = tmp_path / "r-killed"
        workbench.restore(str(out), str(killed[0].name), target=str(bk))
        assert snapshot(out) == store_snapshot(store)
    # The next run cleans up and succeeds.
    r = workbench.backup(kind, store=store, target=str(bk), min_free=0, volume_size="128KiB",
                         now=T0 + timedelta(days=3))
    sets = list_sets(workbench.open_target(str(bk)))
    assert [(str(s.name), s.status) for s in sets if s.status != COMPLETE] == (
        [(str(killed[0].name), DAMAGED)] if late else [])
    assert not [f for f in os.listdir(bk) if f.endswith(".partial") or ".wb-" in f]
    assert r.set_name in {str(s.name) for s in sets}


def test_failed_run_removes_its_own_files(history, monkeypatch):
    store, bk, snaps, before = history
    from workbench.targets.local import LocalTarget

    real = LocalTarget.publish

    def publish(self, src, dst):  # the disk fills up just before the commit
        if dst.endswith(".manifest.json.gz"):
            raise OSError(28, "No space left on device")
        return real(self, src, dst)

    monkeypatch.setattr(LocalTarget, "publish", publish)
    with pytest.raises(OSError):
        workbench.backup("full", store=store, target=str(bk), min_free=0, volume_size="128KiB",
                         now=T0 + timedelta(days=2))
    assert sorted(os.listdir(bk)) == before


def test_failed_run_never_removes_files_it_did_not_write(history, monkeypatch):
    # Another writer puts a file under the very name this run is about to publish: the run fails
    # on it, and its cleanup must take only its own files, not every file of that set name.
    store, bk, snaps, before = history
    from workbench.targets.local import LocalTarget

    real = LocalTarget.publish
    theirs = {}

    def publish(self, src, dst):
        if dst.endswith(".1.zip") and not theirs:
            theirs[dst] = b"another writer's volume"
            (bk / dst).write_bytes(theirs[dst])
        return real(self, src, dst)

    monkeypatch.setattr(LocalTarget, "publish", publish)
    with pytest.raises(FileExistsError):
        workbench.backup("full", store=store, target=str(bk), min_free=0, volume_size="128KiB",
                         now=T0 + timedelta(days=2))
    [(name, data)] = theirs.items()
    assert sorted(os.listdir(bk)) == sorted(before + [name])
    assert (bk / name).read_bytes() == data



def test_a_new_set_name_is_free_against_every_file(history):
    # A file of any kind that starts with a set name keeps that name taken.
    store, bk, snaps, before = history
    when = T0 + timedelta(days=2)
    (bk / "F20261103T010000Z.zip.partial").write_bytes(b"not ours")
    r = workbench.backup("full", store=store, target=str(bk), min_free=0, volume_size="128KiB",
                         now=when)
    assert r.set_name == "F20261103T010001Z"
    assert (bk / "F20261103T010000Z.zip.partial").read_bytes() == b"not ours"
