"""Backup engine: full, differential and copy sets, round trips, kinds and names."""

import importlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from datetime import datetime, timedelta, timezone

import pytest

import workbench
from workbench import samples
from workbench.archive import manifest as mf
from workbench.archive.index import lookup
from workbench.naming import index_name, manifest_name, parse_set_name
from workbench.sets import COMPLETE, list_sets

from helpers import make_store, snapshot, store_snapshot

T0 = datetime(2026, 11, 1, 1, 0, 0, tzinfo=timezone.utc)


@pytest.fixture
def store(tmp_path):
    return make_store(tmp_path / "server", messages=300, seed=11)


def run(kind, store, target, **kw):
    kw.setdefault("min_free", 0)
    return workbench.backup(kind, store=store, target=str(target), **kw)


def test_full_then_differential_restores_store_as_it_was(store, tmp_path):
    target = tmp_path / "bk"
    full = run("full", store, target, now=T0)
    assert full.kind == "F" and full.set_name == "F20261101T010000Z"
    changes = samples.mutate(store, seed=3)
    assert changes["deleted"] and changes["added"] and changes["rewritten"]
    at_diff = store_snapshot(store)
    diff = run("differential", store, target, now=T0 + timedelta(days=1))
    assert diff.kind == "D" and diff.base == full.set_name
    # A differential stores only what is new or changed, but lists the whole store.
    assert diff.files == len(at_diff)
    changed = set(changes["rewritten"]) | set(changes["added"])
    with zipfile.ZipFile(target / f"{diff.set_name}.zip") as z:
        stored = {n for n in z.namelist() if not n.startswith(".workbench/")}
    assert changed <= stored
    assert not stored & (set(at_diff) - changed - _touched(changes, at_diff, store, full))

    out = tmp_path / "restored"
    result = workbench.restore(str(out), target=str(target))
    assert result.set_name == diff.set_name
    assert sorted(result.sets_used) == sorted([full.set_name, diff.set_name])
    # Byte for byte, mtimes kept, and deleted messages stay deleted.
    assert snapshot(out) == at_diff
    assert not any((out / p).exists() for p in changes["deleted"])


def _touched(changes, at_diff, store, full):
    """Folder files the mutate rewrote besides messages (they belong in the differential too)."""
    return {p for p in at_diff if p.endswith(".fld")}


def test_differentials_all_keeps_every_time_restorable(store, tmp_path):
    target = tmp_path / "bk"
    run("full", store, target, now=T0, differentials="all")
    samples.mutate(store, seed=1)
    day1 = store_snapshot(store)
    d1 = run("differential", store, target, now=T0 + timedelta(days=1), differentials="all")
    samples.mutate(store, seed=2)
    day2 = store_snapshot(store)
    d2 = run("differential", store, target, now=T0 + timedelta(days=2), differentials="all")
    names = [str(s.name) for s in list_sets(target_obj(target))]
    assert d1.set_name in names and d2.set_name in names
    workbench.restore(str(tmp_path / "r1"), d1.set_name, target=str(target))
    workbench.restore(str(tmp_path / "r2"), d2.set_name, target=str(target))
    assert snapshot(tmp_path / "r1") == day1
    assert snapshot(tmp_path / "r2") == day2


def test_differentials_latest_replaces_previous_after_commit(store, tmp_path):
    target = tmp_path / "bk"
    run("full", store, target, now=T0)
    samples.mutate(store, seed=1)
    d1 = run("differential", store, target, now=T0 + timedelta(days=1))
    samples.mutate(store, seed=2)
    day2 = store_snapshot(store)
    d2 = run("differential", store, target, now=T0 + timedelta(days=2))
    assert {"set": d1.set_name, "reason": f"replaced by {d2.set_name}"} in d2.removed
    assert not any(n.startswith(d1.set_name) for n in os.listdir(target))
    workbench.restore(str(tmp_path / "r"), target=str(target))
    assert snapshot(tmp_path / "r") == day2


def test_differential_without_full_runs_as_full_and_says_so(store, tmp_path):
    r = run("differential", store, tmp_path / "bk", now=T0)
    assert r.kind == "F" and r.requested == "D" and r.set_name.startswith("F")
    assert "ran as a full" in r.note


def test_a_copy_is_a_full_for_recovery_but_never_a_differentials_base(store, tmp_path):
    from workbench import catalog
    target = tmp_path / "bk"
    f = run("full", store, target, now=T0)
    c = run("copy", store, target, now=T0 + timedelta(hours=5))
    assert c.kind == "C" and c.set_name == "C20261101T060000Z" and c.stored == c.files
    # The newest of a copy or a full with its newest differential is what a recovery uses.
    assert str(workbench.plan_restore(target=str(target)).set.name) == c.set_name
    assert catalog.recovery_plan(str(target)).set == c.set_name
    samples.mutate(store, seed=5)
    d = run("differential", store, target, now=T0 + timedelta(days=1))
    assert d.base == f.set_name  # the copy stands beside the chain
    rp = catalog.recovery_plan(str(target))
    assert (rp.set, rp.full, rp.chain) == (d.set_name, f.set_name, [f.set_name, d.set_name])
    c2 = run("copy", store, target, now=T0 + timedelta(days=2))
    assert str(workbench.plan_restore(target=str(target)).set.name) == c2.set_name
    at = (T0 + timedelta(days=1, hours=1)).isoformat()
    assert str(workbench.plan_restore(target=str(target), at=at).set.name) == d.set_name


def test_names_are_utc_and_never_collide(store, tmp_path):
    target = tmp_path / "bk"
    local = datetime(2026, 11, 26, 2, 0, 0, tzinfo=timezone(timedelta(hours=1)))
    a = run("full", store, target, now=local)
    b = run("copy", store, target, now=local)
    assert a.set_name == "F20261126T010000Z"
    assert b.set_name == "C20261126T010001Z"
    assert parse_set_name(b.set_name).time == datetime(2026, 11, 26, 1, 0, 1, tzinfo=timezone.utc)


def test_manifest_and_index_describe_every_entry(store, tmp_path):
    target = tmp_path / "bk"
    r = run("full", store, target, now=T0, volume_size="256KiB")
    doc = mf.decode((target / manifest_name(r.set_name)).read_bytes())
    entries = {e.path: e for e in mf.from_columns(doc["entries"])}
    assert set(entries) == set(store_snapshot(store))
    msg = next(e for e in entries.values() if e.kind == "message")
    assert msg.domain and msg.user and msg.folder and msg.stored_in == r.set_name
    assert doc["volumes"] == [{"name": v, "bytes": os.path.getsize(target / v),
                               "members": doc["volumes"][i]["members"]}
                              for i, v in enumerate(r.volumes)]
    # The offset in the manifest is the member's local header in that volume.
    vol = target / r.volumes[msg.volume]
    with zipfile.ZipFile(vol) as z:
        info = z.getinfo(msg.path)
        assert info.header_offset == msg.offset and info.CRC == msg.crc32
    # The index finds one entry by path without any zip directory.
    [hit] = lookup(str(target / index_name(r.set_name)), [msg.path])
    assert (hit.volume, hit.offset, hit.crc32) == (msg.volume, msg.offset, msg.crc32)
    # The last volume carries the manifest too, so the catalog can be rebuilt from volumes alone.
    with zipfile.ZipFile(target / r.volumes[-1]) as z:
        inner = mf.decode(z.read(mf.member_name(r.set_name)))
    assert mf.decode_column(inner["entries"]["path"]) == list(entries)


def test_walk_never_includes_the_target_or_earlier_backups(store, tmp_path):
    # The manual's default target is store/backup inside the server directory.
    r1 = workbench.backup("full", store=store, min_free=0, now=T0)
    default = os.path.join(store, "store", "backup")
    assert os.path.exists(os.path.join(default, f"{r1.set_name}.zip"))
    old = os.path.join(store, "store", "old-backups")
    os.makedirs(old)
    with open(os.path.join(old, "F20250101T000000Z.zip"), "wb") as f:
        f.write(b"PK\5\6" + bytes(18))
    r2 = workbench.backup("full", store=store, min_free=0, now=T0 + timedelta(days=1))
    doc = mf.decode(open(os.path.join(default, manifest_name(r2.set_name)), "rb").read())
    paths = mf.decode_column(doc["entries"]["path"])
    assert len(paths) == r2.files and not [p for p in paths if "backup" in p]
    assert r2.files == r1.files


def test_unreadable_file_is_reported_not_fatal(tmp_path):
    # One message is mode 000 and the backup runs without the power to override file modes (as
    # root, setpriv drops that capability): the run succeeds, names that file, and skips it.
    store = make_store(tmp_path / "server", messages=60, seed=4)
    victim = sorted(p for p in store_snapshot(store) if p.endswith(".eml"))[3]
    os.chmod(os.path.join(store, victim), 0)
    target = str(tmp_path / "bk")
    code = ("import json, workbench; r = workbench.backup('full', store=%r, target=%r, min_free=0);"
            "print(json.dumps([r.files, r.unreadable]))" % (store, target))
    cmd = [sys.executable, "-c", code]
    if os.geteuid() == 0:
        cmd = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"] + cmd
    out = subprocess.run(cmd, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    files, unreadable = json.loads(out.stdout)
    assert [u["path"] for u in unreadable] == [victim]
    assert files == len(store_snapshot(store)) - 1
    assert victim in out.stderr  # logged as a warning too


def test_progress_callback_reaches_the_end(store, tmp_path):
    events = []
    r = run("full", store, tmp_path / "bk", progress=events.append)
    assert events and events[-1].files_done == events[-1].files_total == r.stored
    assert events[-1].bytes_done == r.bytes_in


def target_obj(path):
    return workbench.open_target(str(path))


def test_sets_are_complete_after_backup(store, tmp_path):
    target = tmp_path / "bk"
    run("full", store, target, now=T0)
    [s] = list_sets(target_obj(target))
    assert s.status == COMPLETE


@pytest.mark.parametrize("full_index", ["present", "missing"])
def test_differential_index_equals_one_built_from_its_manifest(store, tmp_path, full_index):
    # A differential's index is its full's index with the day's changes applied (or, without
    # one, built anew): it must hold exactly what an index built from all of the differential's
    # entries would.
    import sqlite3
    from workbench.archive.index import build_index

    target = tmp_path / "bk"
    f = run("full", store, target, now=T0)
    if full_index == "missing":
        (target / index_name(f.set_name)).unlink()
    samples.mutate(store, seed=4)
    d = run("differential", store, target, now=T0 + timedelta(days=1))
    assert not [n for n in os.listdir(target) if n.endswith(".partial")]
    doc = mf.decode((target / manifest_name(d.set_name)).read_bytes())
    full = mf.decode((target / manifest_name(d.base)).read_bytes())
    entries = mf.from_columns(doc["entries"])
    # The differential's manifest holds the headers of the messages it stores; the others are
    # its full's.
    own = mf.messages_from_columns(doc["messages"])
    inherited = mf.messages_from_columns(full["messages"])
    messages = {e.path: own.get(e.path) or inherited[e.path] for e in entries
                if e.path in own or e.path in inherited}
    assert set(own) == {e.path for e in entries if e.stored_in == d.set_name} & set(messages)
    fresh = tmp_path / "fresh.sqlite"
    build_index(str(fresh), d.set_name, entries, messages)

    def rows(path):
        db = sqlite3.connect(path)
        try:
            return [db.execute(f"SELECT * FROM {t} ORDER BY path").fetchall()
                    for t in ("entries", "messages")] + [db.execute("SELECT * FROM meta").fetchall()]
        finally:
            db.close()

    got = rows(str(target / index_name(d.set_name)))
    assert got == rows(str(fresh))
    assert len(got[0]) == d.files


@pytest.mark.parametrize("order", ["walk", "shuffled"])
def test_a_differential_matches_its_full_by_one_pass_in_walk_order(order):
    # The full's paths are matched against the walk in one pass (both list the store depth
    # first by name). A manifest in another order (none of ours) is looked up from where that
    # shows: never a wrong row, at worst a file stored again, and every other row reported gone.
    import io
    import random
    from workbench.archive import manifest as mf
    from workbench.model import Entry
    backup_module = importlib.import_module("workbench.backup")
    paths = sorted(["a/b", "a b/c", "a/#msgs/1.eml", "a/#msgs/2.eml", "a-b", "z", "a/c/d"],
                   key=lambda p: p.split("/"))
    full = [Entry(p, "other", None, None, None, i, i, i, "F1", 0, i, i, 8) for i, p in
            enumerate(paths)]
    if order == "shuffled":
        random.Random(3).shuffle(full)
    body = io.BytesIO()
    mf.write_body(body, full)
    body.seek(0)
    columns = dict(mf.read_blocks(body, spool=("path",)))["entries"]
    base = backup_module._Base(columns)
    row_of = {e.path: i for i, e in enumerate(full)}
    walk = [p for p in paths if p not in ("a/b", "z")] + ["zz"]  # two deleted, one new
    found = [base.find(p) for p in walk]
    gone = base.finish()
    _check_matches(order, found, gone, walk, row_of)

    # find_run: the same, a directory's files at a time (as the walk gives them)
    body.seek(0)
    base = backup_module._Base(dict(mf.read_blocks(body, spool=("path",)))["entries"])
    found = []
    for directory, names in _runs(walk):
        found.extend(base.find_run(directory, names))
    _check_matches(order, found, base.finish(), walk, row_of)


def _runs(paths):
    """``(directory, names)`` of each stretch of *paths* in one directory, in order."""
    runs = []
    for p in paths:
        directory, _, name = p.rpartition("/")
        if runs and runs[-1][0] == directory:
            runs[-1][1].append(name)
        else:
            runs.append((directory, [name]))
    return runs


def _check_matches(order, found, gone, walk, row_of):
    if order == "walk":
        assert found == [row_of.get(p) for p in walk] and sorted(gone) == ["a/b", "z"]
    else:
        assert all(f is None or f == row_of[p] for f, p in zip(found, walk))
        assert sorted(gone) == sorted(set(row_of) - {p for f, p in zip(found, walk) if f is not None})


@pytest.mark.parametrize("order", ["walk", "shuffled"])
def test_a_differential_reads_its_fulls_columns_in_step_with_the_walk(order):
    # The full's columns are read from temporary files a window at a time: across many
    # windows, runs that match the full, runs with files added, deleted and changed, and whole
    # directories new or gone, every file gets the full's row, its data and its change as a
    # dictionary of the full's paths gives them. A manifest in another order (none of ours)
    # falls back to the columns whole, and gives no wrong row.
    import io
    import random
    from workbench.archive import manifest as mf
    from workbench.archive.table import EntryTable
    from workbench.model import Entry
    backup_module = importlib.import_module("workbench.backup")
    rnd = random.Random(5)
    dirs = [f"store/mail/d/u{i:03d}/#msgs" for i in range(60)]
    full_paths = [f"{d}/{j:08x}.eml" for d in dirs for j in range(rnd.randrange(0, 400))]
    full = [Entry(p, "message", "d", None, None, i, 10 * i, i + 1, "F1" if i % 97 else "F0",
                  i % 3, 2 * i, i % 50, 8, 0o600) for i, p in enumerate(full_paths)]
    assert len(full) > 2 * 4096
    if order == "shuffled":
        rnd.shuffle(full)
    by_path = {e.path: (i, e) for i, e in enumerate(full)}
    walk = []  # (path, size, mtime)
    for d in dirs[5:] + ["store/mail/d/v/#msgs"]:  # five directories gone, one new
        names = sorted({p.rsplit("/", 1)[1] for p in by_path if p.startswith(d + "/")})
        if rnd.random() < 0.5:  # some deleted, some added, some changed
            names = [n for n in names if rnd.random() > 0.05]
            names = sorted(set(names) | {f"{rnd.randrange(500):08x}.eml" for _ in range(5)})
        for n in names:
            e = by_path.get(f"{d}/{n}", (None, None))[1]
            changed = e is None or rnd.random() < 0.02
            walk.append((f"{d}/{n}", e.size if e else 1, (e.mtime_ns + changed) if e else 1))
    body = io.BytesIO()
    mf.write_body(body, full)
    body.seek(0)
    columns = dict(mf.read_blocks(body, spool=backup_module._SPOOLED,
                                  skip=backup_module._UNUSED))["entries"]
    base = backup_module._Base(columns)
    table = EntryTable()
    for directory, names in _runs([p for p, _, _ in walk]):
        first = len(table)
        part = walk[first:first + len(names)]
        sizes, mtimes = [s for _, s, _ in part], [m for _, _, m in part]
        found = base.find_run(directory, names)
        changed = base.changed(found, sizes, mtimes)
        table.append_run(directory, "message", "d", None, None, names, sizes, mtimes,
                         [0] * len(names))
        if len(changed) < len(names):
            base.copy_rows(table, first, found, changed)
        if order == "walk":  # bounded: a window of the full's columns, never all of them
            assert max(map(len, base._cols.values())) <= 4096 + 2 * 400
        for i, (path, size, mtime) in enumerate(part):
            row, e = by_path.get(path, (None, None))
            if order == "walk":
                assert found[i] == row
            assert found[i] is None or found[i] == row
            expect_changed = found[i] is None or e.size != size or e.mtime_ns != mtime
            assert (i in changed) == expect_changed
            if not expect_changed:
                assert (table.get(first + i, "crc32"), table.get(first + i, "stored_in"),
                        table.get(first + i, "offset"), table.get(first + i, "csize")) == \
                    (e.crc32, e.stored_in, e.offset, e.csize)
            else:
                assert table.get(first + i, "stored_in") == ""
    gone = base.finish()
    walked = {p for p, _, _ in walk}
    if order == "walk":
        assert gone == [e.path for e in full if e.path not in walked]
    else:
        assert set(gone) >= {e.path for e in full if e.path not in walked}


def test_a_differential_walking_in_a_process_of_its_own_writes_the_same_set(store, tmp_path,
                                                                             monkeypatch):
    # A differential of a big full walks the store in a child process (walker.py): its set is
    # the one the walk in the backup's own process gives, byte for byte, walk errors included.
    from workbench import walker
    backup_module = importlib.import_module("workbench.backup")
    os.symlink("/etc/passwd", os.path.join(store, "store", "mail", "link.eml"))
    target = tmp_path / "bk"
    run("full", store, target, now=T0)
    samples.mutate(store, seed=5)
    shutil.copytree(target, tmp_path / "bk2")
    apart = []
    real = walker.walk_store_runs_apart
    monkeypatch.setattr(walker, "walk_store_runs_apart",
                        lambda *a, **k: apart.append(1) or real(*a, **k))
    when = T0 + timedelta(days=1)
    monkeypatch.setattr(backup_module, "_WALK_APART_MIN_FILES", 10**9)
    here = run("differential", store, target, now=when)
    assert apart == []
    monkeypatch.setattr(backup_module, "_WALK_APART_MIN_FILES", 0)
    there = run("differential", store, tmp_path / "bk2", now=when)
    assert apart == [1]
    assert (there.set_name, there.files, there.stored, there.unreadable) == \
        (here.set_name, here.files, here.stored, here.unreadable)

    def body(target, name):
        data = mf.plain((target / manifest_name(name)).read_bytes())
        return data[data.index(b"\n") + 1:]  # the header line holds the times of the run

    assert body(tmp_path / "bk2", there.set_name) == body(target, here.set_name)
    assert (tmp_path / "bk2" / index_name(there.set_name)).read_bytes() == \
        (target / index_name(here.set_name)).read_bytes()
