"""Private by default: what workbench writes is 0600 in 0700 directories unless ``file_mode`` says
otherwise, other local users cannot read it, and restores give files the modes the store had."""

import base64
import json
import os
import random
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time

import pytest

from workbench.lock import publish_record

import workbench
from workbench.archive import manifest as mf
from workbench.config import load_config
from workbench.errors import ConfigError
from workbench.service.logs import attach_log_file, set_debug
from workbench.naming import LOCK_NAME, manifest_name
from workbench.service.runner import run_backup
from workbench.targets import open_target

from helpers import make_store, store_snapshot

AS_NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
BIG = 20 * 1024 * 1024


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def modes_under(root):
    """``{relative path: mode}`` of every file and directory under *root* (itself as ".")."""
    out = {".": mode(root)}
    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            full = os.path.join(dirpath, name)
            out[os.path.relpath(full, root)] = mode(full)
    return out


def write_config(root, store, **keys):
    lines = [f"store = {json.dumps(store)}", f"target = {json.dumps(str(root / 'new' / 'bk'))}",
             "min_free = 0", 'schedule_db = "state/schedule.db"']
    lines += [f"{k} = {json.dumps(v)}" for k, v in keys.items()]
    path = root / "workbench.toml"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return make_store(tmp_path_factory.mktemp("modes") / "server", messages=60, seed=9)


@pytest.mark.parametrize("file_mode, files, dirs", [(None, 0o600, 0o700),
                                                    ("0640", 0o640, 0o750),
                                                    ("0o644", 0o644, 0o755)])
def test_backup_target_and_state_files_follow_file_mode(tmp_path, store, file_mode, files, dirs):
    old = os.umask(0o022)
    try:
        keys = {"file_mode": file_mode} if file_mode else {}
        config = write_config(tmp_path, store, **keys)
        cfg = load_config(config)
        target = tmp_path / "new" / "bk"
        seen = {}

        def progress(p):  # the lock exists while the run works
            if LOCK_NAME not in seen and (target / LOCK_NAME).exists():
                seen[LOCK_NAME] = mode(target / LOCK_NAME)

        r = run_backup("full", config=cfg, progress=progress)
        run_backup("differential", config=cfg)  # the index starts as a copy of the full's
        set_debug(cfg, True)
    finally:
        os.umask(old)
    assert seen == {LOCK_NAME: files}
    # the directories the backup created, and every file it left on the target
    assert mode(tmp_path / "new") == mode(target) == dirs
    on_target = modes_under(target)
    assert {n for n in on_target if n.endswith(".index.sqlite")} and r.volumes
    assert on_target == {".": dirs, **{n: files for n in on_target if n != "."}}
    state = modes_under(tmp_path / "state")
    assert set(state) == {".", "status.json", "workbench.log", "logging.json"}
    assert state == {".": dirs, "status.json": files, "workbench.log": files,
                     "logging.json": files}


def test_rotated_log_files_are_private(tmp_path, store):
    cfg = load_config(write_config(tmp_path, store, log_max_size=4096))
    attach_log_file(cfg)
    log = __import__("logging").getLogger("workbench.backup")
    for i in range(200):
        log.info("line %d of a log that rotates: store/mail/example.com/jane/INBOX", i)
    names = sorted(os.listdir(tmp_path / "state"))
    assert "workbench.log.1" in names
    assert {n: mode(tmp_path / "state" / n) for n in names} == {n: 0o600 for n in names}


def test_scheduler_files_are_private(tmp_path, store):
    config = write_config(tmp_path, store, enabled=False, timezone="UTC")
    state = tmp_path / "state"
    proc = subprocess.Popen([sys.executable, "-m", "workbench", "scheduler", "run", "--config",
                             config], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "WORKBENCH_CONFIG": ""})
    try:
        deadline = time.monotonic() + 30
        while not (state / "scheduler.json").exists() and time.monotonic() < deadline:
            assert proc.poll() is None
            time.sleep(0.1)
        found = modes_under(state)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    assert {"schedule.db", "scheduler.json", "workbench.log"} <= set(found)
    assert found == {".": 0o700, **{n: 0o600 for n in found if n != "."}}


@pytest.mark.parametrize("value", ["0755", "rw-r-----", "0400", "01600", 640, True, "0o6600"])
def test_bad_file_mode_is_refused_naming_the_key(tmp_path, store, value):
    with pytest.raises(ConfigError) as e:
        load_config(write_config(tmp_path, store, file_mode=value))
    assert e.value.key == "file_mode" and e.value.value == value


def test_target_operations_create_files_with_the_target_mode(tmp_path):
    old = os.umask(0)
    try:
        for file_mode in (0o600, 0o640):
            t = open_target(str(tmp_path / f"t{file_mode:o}"), file_mode=file_mode)
            t.ensure()
            with t.open_write("a"):
                pass
            t.write_new("b", b"data")
            assert publish_record(t, "c", b"lock", "0" * 16)  # as the lock is written
            assert modes_under(t.root) == {".": file_mode | 0o100 | (file_mode & 0o040) >> 2,
                                           "a": file_mode, "b": file_mode, "c": file_mode}
    finally:
        os.umask(old)


@pytest.fixture
def shared_dir():
    """A directory under /tmp that every user may enter (pytest's tmp_path is root's own)."""
    root = tempfile.mkdtemp(prefix="workbench-modes-", dir="/tmp")
    os.chmod(root, 0o755)
    yield root
    shutil.rmtree(root)


def _as_nobody(*cmd):
    return subprocess.run(AS_NOBODY + list(cmd), capture_output=True, text=True,
                          errors="replace")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another user")
@pytest.mark.parametrize("file_mode, readable", [(None, False), ("0644", True)])
def test_another_local_user_cannot_read_the_backups(shared_dir, store, file_mode, readable):
    # The backup directory was made by an administrator, open to all (0755): the files in it
    # must keep the mail private anyway (with file_mode 0644 they are readable, as asked).
    target = os.path.join(shared_dir, "bk")
    os.mkdir(target)
    os.chmod(target, 0o755)
    settings = {"file_mode": file_mode} if file_mode else {}
    r = workbench.backup("full", store=store, target=target, min_free=0, **settings)
    first = os.path.join(target, r.volumes[0])
    for name in (r.volumes[0], manifest_name(r.set_name)):
        path = os.path.join(target, name)
        got = _as_nobody("cat", path)
        assert (got.returncode == 0) is readable, got.stderr
        if not readable:
            assert "Permission denied" in got.stderr
    got = _as_nobody("unzip", "-p", first)
    assert (got.returncode == 0 and "Subject:" in got.stdout) is readable


def _store_with_modes(root):
    store = make_store(root / "server", messages=20, seed=5)
    emls = sorted(p for p in store_snapshot(store) if p.endswith(".eml"))
    wanted = {emls[0]: 0o640, emls[1]: 0o600, emls[2]: 0o755, "mailserver.cfg": 0o640}
    big = "store/mail/big.example/giant/INBOX/#msgs/00000001.eml"
    os.makedirs(os.path.join(store, os.path.dirname(big)))
    with open(os.path.join(store, big), "wb") as f:
        # base64 of random bytes, as an attachment is (a repeated pattern would compress past
        # max_ratio and be refused as a zip bomb)
        f.write(b"Subject: big\r\n\r\n" + base64.encodebytes(random.Random(5).randbytes(BIG * 3 // 4)))
    wanted[big] = 0o640  # streamed, not packed
    for path, m in wanted.items():
        os.chmod(os.path.join(store, path), m)
    return store, wanted


def _file_modes(root):
    return {p: m for p, m in modes_under(root).items() if os.path.isfile(os.path.join(root, p))}


def test_restore_and_unzip_give_files_the_store_modes(tmp_path):
    store, wanted = _store_with_modes(tmp_path)
    expected = _file_modes(store)
    assert {p: expected[p] for p in wanted} == wanted
    target = str(tmp_path / "bk")
    r = workbench.backup("full", store=store, target=target, min_free=0)
    old = os.umask(0o077)  # a strict umask narrows nothing: the recorded modes are applied
    try:
        workbench.restore(str(tmp_path / "out"), target=target)
    finally:
        os.umask(old)
    assert _file_modes(tmp_path / "out") == expected
    # the manifest records the modes, and the volumes' directories carry them for other tools
    doc = mf.decode((tmp_path / "bk" / manifest_name(r.set_name)).read_bytes())
    recorded = dict(zip(mf.decode_column(doc["entries"]["path"]),
                        mf.decode_column(doc["entries"]["mode"])))
    assert recorded == expected
    unzipped = tmp_path / "unzipped"
    for v in r.volumes:
        subprocess.run(["unzip", "-q", os.path.join(target, v), "-x", ".workbench/*", "-d",
                        str(unzipped)], check=True)
    assert _file_modes(unzipped) == expected


def test_a_differential_records_a_changed_mode(tmp_path):
    store, wanted = _store_with_modes(tmp_path)
    target = str(tmp_path / "bk")
    workbench.backup("full", store=store, target=target, min_free=0)
    changed = next(p for p, m in wanted.items() if m == 0o755)
    os.chmod(os.path.join(store, changed), 0o600)  # size and mtime stay: the data is the full's
    r = workbench.backup("differential", store=store, target=target, min_free=0)
    assert r.stored == 0
    workbench.restore(str(tmp_path / "out"), target=target)
    assert _file_modes(tmp_path / "out") == _file_modes(store)
    assert mode(tmp_path / "out" / changed) == 0o600


def test_foreign_zips_give_their_unix_modes(tmp_path):
    store, wanted = _store_with_modes(tmp_path)
    target = tmp_path / "bk"
    target.mkdir()
    paths = sorted(store_snapshot(store))
    subprocess.run(["zip", "-q", str(target / "F20261101T010000Z.zip"), "-@"], cwd=store,
                   input="\n".join(paths).encode(), check=True)
    workbench.restore(str(tmp_path / "out"), target=str(target))
    assert _file_modes(tmp_path / "out") == _file_modes(store)


def test_sets_without_recorded_modes_restore_private(tmp_path):
    # A manifest written before modes were recorded has no mode column: it reads as unknown,
    # and the files are restored 0600, never wider.
    store, wanted = _store_with_modes(tmp_path)
    target = tmp_path / "bk"
    r = workbench.backup("full", store=store, target=str(target), min_free=0)
    path = target / manifest_name(r.set_name)
    doc = mf.decode(path.read_bytes())
    del doc["entries"]["mode"]
    path.write_bytes(mf.encode(doc))
    assert all(e.mode == 0 for e in mf.from_columns(mf.decode(path.read_bytes())["entries"]))
    workbench.restore(str(tmp_path / "out"), target=str(target))
    restored = _file_modes(tmp_path / "out")
    assert set(restored) == set(_file_modes(store))
    assert set(restored.values()) == {0o600}
    from workbench import catalog
    catalog.clear_cache()
    assert set(catalog.read_entries(str(target))["path"]) == set(restored)


def test_a_differential_updates_an_index_from_before_modes(tmp_path):
    import sqlite3
    from workbench.naming import index_name
    store, wanted = _store_with_modes(tmp_path)
    target = tmp_path / "bk"
    full = workbench.backup("full", store=store, target=str(target), min_free=0)
    db = sqlite3.connect(target / index_name(full.set_name))
    db.execute("ALTER TABLE entries DROP COLUMN mode")  # the index as it was written before
    db.commit()
    db.close()
    added = "store/mail/example.com/added.eml"
    (tmp_path / "server" / added).write_bytes(b"Subject: new\r\n\r\nnew\r\n")
    os.chmod(tmp_path / "server" / added, 0o640)
    r = workbench.backup("differential", store=store, target=str(target), min_free=0)
    db = sqlite3.connect(target / index_name(r.set_name))
    rows = dict(db.execute("SELECT path, mode FROM entries"))
    db.close()
    # the full's rows came with the copy (unknown modes); the differential's own carry theirs
    assert rows[added] == 0o640
    assert {m for p, m in rows.items() if p != added} == {0}
    from workbench.archive.index import lookup
    [old] = lookup(str(target / index_name(full.set_name)), [wanted and next(iter(wanted))])
    assert old.mode == 0  # an index without the column still reads
