"""Readers hold their sets: a restore, verify or catalog read in progress keeps rotation and the
replacement of a differential away from the sets it reads; the removal is postponed to a later
run and said so. On local and SMB targets alike."""

import json
import os
import threading
from datetime import datetime, timedelta, timezone

import pytest

import workbench
from workbench import catalog, removal
from workbench.cli import main
from workbench.errors import SetBeingRemoved
from workbench.lock import owner_record
from workbench.naming import DELETING, REMOVING, is_lease_name, removal_marker
from workbench.samples import mutate
from workbench.sets import list_sets
from workbench.targets import open_target

from helpers import make_store, snapshot, store_snapshot
from samba import PASSWORD

T0 = datetime(2026, 11, 1, 1, 0, 0, tzinfo=timezone.utc)
SETTINGS = dict(min_free=0, volume_size="128KiB", keep=100)


@pytest.fixture(params=["local", "smb"])
def where(request, tmp_path):
    if request.param == "local":
        return str(tmp_path / "bk")
    return request.getfixturevalue("smb_url")


@pytest.fixture
def two_fulls(tmp_path, where):
    """Two fulls on the target, and the store as each saw it."""
    store = make_store(tmp_path / "server", messages=120, seed=4)
    snaps = {}
    for day in (0, 1):
        mutate(store, seed=day)
        r = workbench.backup("full", store=store, target=where, now=T0 + timedelta(days=day),
                             **SETTINGS)
        snaps[r.set_name] = store_snapshot(store)
    return store, where, snaps


def names(url):
    return [str(s.name) for s in list_sets(open_target(url, password=PASSWORD))]


class Paused:
    """A progress callback that stops its reader at the first event until ``go`` is set."""

    def __init__(self):
        self.reading, self.go = threading.Event(), threading.Event()

    def __call__(self, p):
        self.reading.set()
        assert self.go.wait(120)


def test_rotation_postpones_the_removal_of_a_set_being_restored(two_fulls, tmp_path,
                                                                monkeypatch, capsys):
    store, url, snaps = two_fulls
    oldest, newer = sorted(snaps)
    paused, out, failed = Paused(), tmp_path / "out", []

    def read():
        try:
            workbench.restore(str(out), oldest, target=url, progress=paused)
        except BaseException as e:  # noqa: BLE001 (reported by the main thread)
            failed.append(e)
            paused.reading.set()

    reader = threading.Thread(target=read)
    reader.start()
    try:
        assert paused.reading.wait(120) and not failed
        monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
        code = main(["backup", "full", "--store", store, "--target", url, "--min-free", "0",
                     "--volume-size", "128KiB", "--keep", "1", "--json", "-q"])
        assert code == 0
        result = json.loads(capsys.readouterr().out)
    finally:
        paused.go.set()
        reader.join(120)
    assert not failed
    assert snapshot(out) == snaps[oldest]  # every file written
    assert [d["set"] for d in result["removed"]] == [newer]
    [p] = result["postponed"]
    assert p["set"] == oldest and "it is being read" in p["reason"]
    assert "the next backup removes it" in p["reason"]
    assert names(url) == [oldest, result["set"]]
    # The next run, with no reader left, removes it.
    r = workbench.backup("full", store=store, target=url, now=datetime.now(timezone.utc)
                         + timedelta(minutes=1), **dict(SETTINGS, keep=1))
    assert oldest in [d["set"] for d in r.removed] and r.postponed == []
    assert names(url) == [r.set_name]


def test_a_differential_being_read_is_replaced_later(tmp_path):
    store = make_store(tmp_path / "server", messages=60, seed=8)
    bk = str(tmp_path / "bk")
    workbench.backup("full", store=store, target=bk, now=T0, **SETTINGS)
    mutate(store, seed=1)
    d1 = workbench.backup("differential", store=store, target=bk, now=T0 + timedelta(days=1),
                          **SETTINGS).set_name
    paused = Paused()
    problems = []
    reader = threading.Thread(target=lambda: problems.extend(
        workbench.verify(d1, target=bk, level="data", progress=paused)))
    reader.start()
    try:
        assert paused.reading.wait(120)
        mutate(store, seed=2)
        r = workbench.backup("differential", store=store, target=bk, now=T0 + timedelta(days=2),
                             **SETTINGS)
    finally:
        paused.go.set()
        reader.join(120)
    assert problems == []
    assert r.removed == [] and [d["set"] for d in r.postponed] == [d1]
    assert r.postponed[0]["reason"].startswith(f"replaced by {r.set_name}, but it is being read")
    assert d1 in names(bk)
    mutate(store, seed=3)
    r3 = workbench.backup("differential", store=store, target=bk, now=T0 + timedelta(days=3),
                          **SETTINGS)
    assert sorted(d["set"] for d in r3.removed) == sorted([d1, r.set_name])


def test_a_reader_that_comes_while_the_remover_asks_is_waited_for(two_fulls, tmp_path,
                                                                  monkeypatch):
    # The remover has marked the set and not yet read the leases when a restore begins: the
    # restore publishes its lease and waits; the remover sees it and calls the removal off.
    store, url, snaps = two_fulls
    oldest, newer = sorted(snaps)
    marked, go = threading.Event(), threading.Event()
    real = removal.readers_of

    def slow_readers_of(target, set_name, stale_after):
        if set_name == oldest:
            marked.set()
            assert go.wait(120)
        return real(target, set_name, stale_after)

    monkeypatch.setattr(removal, "readers_of", slow_readers_of)
    results, restored = [], []

    def run(into, call):
        try:
            into.append(call())
        except BaseException as e:  # noqa: BLE001 (shown by the assertions below)
            into.append(e)
            marked.set()

    backup = threading.Thread(target=run, args=(results, lambda: workbench.backup(
        "full", store=store, target=url, now=T0 + timedelta(days=2), **dict(SETTINGS, keep=1))))
    backup.start()
    try:
        assert marked.wait(120) and not results, results
        t = open_target(url, password=PASSWORD)
        reader = threading.Thread(target=run, args=(restored, lambda: workbench.restore(
            str(tmp_path / "out"), oldest, target=url)))
        reader.start()
        for _ in range(1200):  # the restore's lease is published, then the remover goes on
            assert not restored, restored  # (the restore cannot end before the remover decides)
            if any(is_lease_name(n) for n in t.list()):
                break
            threading.Event().wait(0.05)
        else:
            pytest.fail("the restore published no lease")
        go.set()
        reader.join(120)
    finally:
        go.set()
        backup.join(120)
    [r], [done] = results, restored
    assert not isinstance(r, BaseException) and not isinstance(done, BaseException), (r, done)
    assert [d["set"] for d in r.postponed] == [oldest]
    assert snapshot(tmp_path / "out") == snaps[oldest]


def test_catalog_reads_hold_their_sets(two_fulls, monkeypatch):
    store, url, snaps = two_fulls
    oldest = sorted(snaps)[0]
    seen = []
    from workbench.catalog import entries as catalog_entries
    real = catalog_entries.entries_frame

    def entries_frame(target, sets, info):
        leases = [json.loads(target.read_bytes(n)) for n in target.list() if is_lease_name(n)]
        seen.append(sorted(x for lease in leases for x in lease["sets"]))
        return real(target, sets, info)

    monkeypatch.setattr(catalog_entries, "entries_frame", entries_frame)
    catalog.read_entries(url, set=oldest, storage_options={"password": PASSWORD})
    assert seen == [[oldest]]
    t = open_target(url, password=PASSWORD)
    assert not [n for n in t.list() if is_lease_name(n)]  # given back when done


def test_a_decided_removal_is_finished_and_an_undecided_one_called_off(tmp_path):
    store = make_store(tmp_path / "server", messages=40, seed=6)
    bk = tmp_path / "bk"
    f1 = workbench.backup("full", store=store, target=str(bk), now=T0, **SETTINGS).set_name
    f2 = workbench.backup("full", store=store, target=str(bk), now=T0 + timedelta(days=1),
                          **SETTINGS).set_name
    gone = owner_record()
    gone["pid"] = 2 ** 22 + 1  # no such process: a remover that stopped
    (bk / removal_marker(f1, "a" * 16, DELETING)).write_text(json.dumps(gone))
    (bk / removal_marker(f2, "b" * 16, REMOVING)).write_text(json.dumps(gone))
    # A set whose deletion has begun cannot be read; one whose removal was only being asked
    # about, by a remover that is gone, can.
    with pytest.raises(SetBeingRemoved, match=f"set {f1} is being removed"):
        workbench.restore(str(tmp_path / "a"), f1, target=str(bk))
    assert main(["restore", f1, "--target", str(bk), "--to", str(tmp_path / "b")]) == \
        SetBeingRemoved.exit_code
    workbench.restore(str(tmp_path / "c"), f2, target=str(bk))
    r = workbench.backup("full", store=store, target=str(bk), now=T0 + timedelta(days=2),
                         **SETTINGS)
    assert names(str(bk)) == [f2, r.set_name]
    assert not [n for n in os.listdir(bk) if ".wb-" in n]


def test_read_sets_does_not_fail_when_a_set_vanishes_under_it(two_fulls, monkeypatch):
    store, url, snaps = two_fulls
    oldest, newer = sorted(snaps)
    t = open_target(url, password=PASSWORD)
    listing = t.list()
    for name in listing:  # removed after the listing was taken, before its manifest is read
        if name.startswith(newer):
            t.remove(name)
    with monkeypatch.context() as m:
        m.setattr(type(t), "list", lambda self: dict(listing))
        catalog.clear_cache()
        df = catalog.read_sets(t)
    assert df["set"].tolist() == [oldest] and df["status"].tolist() == ["complete"]
    # Verify of every set leaves out one being removed (a rotation under way).
    gone = owner_record()
    gone["pid"] = 2 ** 22 + 1
    t.write_new(removal_marker(oldest, "c" * 16, DELETING), json.dumps(gone).encode())
    assert workbench.verify(target=url, level="catalog") == []
