"""Honest outcomes: a backup that could not read everything says so (exit 3, ``finished with
warnings``, the e-mail), and every failure a user can cause ends in a named error with its path
or key and its exit code, never a traceback."""

import json
import os
import shutil
import subprocess
import sys
import time

import pytest

import workbench
from workbench import cli, errors, samples
from workbench.archive import manifest as mf
from workbench.config import load_config
from workbench.naming import index_name, manifest_name

from helpers import make_store, snapshot, store_snapshot

ROOT = os.geteuid() == 0
# Root reads and writes whatever the modes say; without these capabilities it obeys them.
DROP = (["setpriv", "--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search", "--"]
        if ROOT else [])


def wb(*args, drop=False):
    """``python -m workbench ARGS`` as its own process (without root's powers if *drop*)."""
    return subprocess.run((DROP if drop else []) + [sys.executable, "-m", "workbench", *args],
                          capture_output=True, text=True,
                          env={**os.environ, "WORKBENCH_CONFIG": ""})


def no_traceback(p):
    assert "Traceback" not in p.stderr, p.stderr
    return p


def write_config(root, store, target, **extra):
    lines = [f"store = {json.dumps(str(store))}", f"target = {json.dumps(str(target))}",
             "min_free = 0", f"schedule_db = {json.dumps(str(root / 'state' / 'schedule.db'))}"]
    for key, value in extra.items():
        if isinstance(value, dict):
            lines.append(f"[{key}]")
            lines += [f"{k} = {json.dumps(v)}" for k, v in value.items()]
        else:
            lines.insert(0, f"{key} = {json.dumps(value)}")
    path = root / "workbench.toml"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


# --- a backup that could not read everything ------------------------------------------------------

def test_exit_code_of_warnings_is_its_own():
    assert errors.FinishedWithWarnings.exit_code == 3


def test_unreadable_files_and_folders_finish_with_warnings(tmp_path, smtp):
    inbox, port = smtp
    store = make_store(tmp_path / "server", messages=60, seed=4)
    emls = sorted(p for p in store_snapshot(store) if p.endswith(".eml"))
    victim = emls[3]
    folder = os.path.dirname(emls[-1])  # a whole #msgs folder
    os.chmod(os.path.join(store, victim), 0)
    os.chmod(os.path.join(store, folder), 0)
    config = write_config(tmp_path, store, tmp_path / "bk",
                          notify={"to": ["admin@example.com"], "smtp_host": "127.0.0.1",
                                  "smtp_port": port})
    try:
        p = no_traceback(wb("backup", "full", "--config", config, "-q", drop=True))
    finally:
        os.chmod(os.path.join(store, folder), 0o755)
    assert p.returncode == errors.FinishedWithWarnings.exit_code, p.stderr
    assert "finished with warnings" in p.stderr and victim in p.stderr and folder in p.stderr
    [info] = workbench.list_sets(workbench.open_target(str(tmp_path / "bk")))
    assert info.status == "complete"

    text = no_traceback(wb("status", "--config", config)).stdout
    assert text.startswith(f"finished with warnings: {info.name} (full)")
    assert victim in text and folder in text
    st = json.loads(wb("status", "--config", config, "--json").stdout)
    assert st["state"] == "finished with warnings"
    assert sorted(w.split(":")[0] for w in st["warnings"]) == sorted([victim, folder])
    assert st["result"]["set"] == str(info.name)

    deadline = time.monotonic() + 10
    while not inbox.messages and time.monotonic() < deadline:
        time.sleep(0.05)
    [(_, msg, _, _)] = inbox.messages
    assert msg["Subject"].startswith(f"[workbench] WARNING: full backup {info.name}")
    assert "finished with warnings" in msg["Subject"]
    body = msg.get_body().get_content()
    assert "finished with warnings" in body and victim in body and folder in body


def test_a_clean_backup_still_finishes_plainly(tmp_path):
    store = make_store(tmp_path / "server", messages=20, seed=4)
    config = write_config(tmp_path, store, tmp_path / "bk")
    p = no_traceback(wb("backup", "full", "--config", config, "-q"))
    assert p.returncode == 0, p.stderr
    assert json.loads(wb("status", "--config", config, "--json").stdout)["state"] == "finished"


# --- a full target --------------------------------------------------------------------------------

@pytest.fixture
def small_fs(tmp_path):
    """A 20 MB ext4 filesystem mounted from a file (root only); always unmounted."""
    if not ROOT:
        pytest.skip("mounting a filesystem needs root")
    img, mnt = tmp_path / "fs.img", tmp_path / "mnt"
    mnt.mkdir()
    subprocess.run(["truncate", "-s", "20M", str(img)], check=True)
    subprocess.run(["mkfs.ext4", "-q", "-F", str(img)], check=True, capture_output=True)
    p = subprocess.run(["mount", "-o", "loop", str(img), str(mnt)], capture_output=True, text=True)
    if p.returncode != 0:
        pytest.skip(f"cannot mount a loop device here: {p.stderr.strip()}")
    try:
        yield mnt
    finally:
        if subprocess.run(["umount", str(mnt)]).returncode != 0:
            subprocess.run(["umount", "-l", str(mnt)])


@pytest.mark.parametrize("layout", ["many small files", "one large file"])
def test_a_full_target_is_a_named_error_and_keeps_earlier_sets(tmp_path, small_fs, layout):
    store = make_store(tmp_path / "server", messages=40, seed=2)
    target = small_fs / "bk"
    first = workbench.backup("full", store=store, target=str(target), min_free=0)
    before = sorted(os.listdir(target))
    folder = os.path.join(store, "store/mail/example.com/filler/INBOX/#msgs")
    os.makedirs(folder)
    if layout == "many small files":
        for i in range(300):
            with open(os.path.join(folder, f"{i:08x}.eml"), "wb") as f:
                f.write(os.urandom(100 * 1024))
    else:
        with open(os.path.join(folder, "00000001.eml"), "wb") as f:
            f.write(os.urandom(30 * 1024 * 1024))
    p = no_traceback(wb("backup", "full", "--store", store, "--target", str(target),
                        "--min-free", "0", "-q"))
    assert p.returncode == errors.TargetFull.exit_code, p.stderr
    assert f"the backup directory {target} is full" in p.stderr
    assert sorted(os.listdir(target)) == before  # nothing of the failed run is left
    out = tmp_path / "out"
    workbench.restore(str(out), first.set_name, target=str(target))
    assert len(snapshot(out)) == first.files


# --- directories that cannot be written ----------------------------------------------------------

@pytest.mark.skipif(not ROOT, reason="setpriv needs root")
def test_an_unwritable_target_directory_is_a_named_error(tmp_path):
    store = make_store(tmp_path / "server", messages=20, seed=2)
    target = tmp_path / "bk"
    target.mkdir()
    target.chmod(0o555)
    config = write_config(tmp_path, store, target)
    p = no_traceback(wb("backup", "full", "--config", config, "-q", drop=True))
    assert p.returncode == errors.TargetError.exit_code, p.stderr
    assert f"cannot write to the backup directory {target}" in p.stderr
    assert os.listdir(target) == []


@pytest.mark.skipif(not ROOT, reason="setpriv needs root")
def test_an_unwritable_state_directory_is_a_named_error(tmp_path):
    store = make_store(tmp_path / "server", messages=20, seed=2)
    config = write_config(tmp_path, store, tmp_path / "bk")
    (tmp_path / "state").mkdir()
    (tmp_path / "state").chmod(0o555)
    for args in (["backup", "full"], ["log", "debug", "on"]):
        p = no_traceback(wb(*args, "--config", config, drop=True))
        assert p.returncode == errors.StateNotWritable.exit_code, p.stderr
        assert str(tmp_path / "state") in p.stderr and "schedule_db" in p.stderr
    assert not (tmp_path / "bk").exists()  # no backup ran without its log and status


# --- restore --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    root = tmp_path_factory.mktemp("chain")
    store = make_store(root / "server", messages=120, seed=8)
    target = root / "bk"
    full = workbench.backup("full", store=store, target=str(target), min_free=0)
    changes = samples.mutate(store, seed=3)
    diff = workbench.backup("differential", store=store, target=str(target), min_free=0)
    messages = {}
    for name in (full.set_name, diff.set_name):
        doc = mf.decode((target / manifest_name(name)).read_bytes())
        block = doc["messages"]
        messages.update(zip(mf.decode_column(block["path"]),
                            mf.decode_column(block["message_id"])))
    return {"store": store, "target": target, "full": full.set_name, "diff": diff.set_name,
            "changes": changes, "messages": messages, "after": store_snapshot(store)}


def test_restore_to_an_existing_file_is_a_named_error(chain, tmp_path):
    dest = tmp_path / "file"
    dest.write_text("keep me")
    p = no_traceback(wb("restore", "--target", str(chain["target"]), "--to", str(dest)))
    assert p.returncode == errors.BadDestination.exit_code, p.stderr
    assert f"restore destination {dest} (--to) exists and is not a directory" in p.stderr
    assert dest.read_text() == "keep me"
    p = no_traceback(wb("restore", "--target", str(chain["target"]), "-s", str(dest)))
    assert p.returncode == errors.BadDestination.exit_code, p.stderr


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty"])
def test_a_corrupt_index_falls_back_to_the_manifest(chain, tmp_path, damage):
    target = tmp_path / "bk"
    shutil.copytree(chain["target"], target)
    index = target / index_name(chain["diff"])
    data = index.read_bytes()
    index.write_bytes({"garbage": b"not an index at all" * 100, "truncated": data[:len(data) // 3],
                       "empty": b""}[damage])
    changed = set(chain["changes"]["rewritten"]) | set(chain["changes"]["added"])
    unchanged = sorted(p for p in chain["messages"] if p not in changed and p in chain["after"])
    new = sorted(p for p in chain["changes"]["added"] if p in chain["messages"])
    paths = [unchanged[0], new[0]]
    p = no_traceback(wb("restore", chain["diff"], "--target", str(target), "--to",
                        str(tmp_path / "by-path"), *sum((["--path", x] for x in paths), [])))
    assert p.returncode == 0, p.stderr
    assert f"index {index_name(chain['diff'])}" in p.stderr and "manifest" in p.stderr
    got = snapshot(tmp_path / "by-path")
    assert {x: got[x] for x in paths} == {x: chain["after"][x] for x in paths} and len(got) == 2
    ids = [chain["messages"][x] for x in (unchanged[1], new[-1])]
    p = no_traceback(wb("restore", chain["diff"], "--target", str(target), "--to",
                        str(tmp_path / "by-id"), *sum((["--message-id", i] for i in ids), [])))
    assert p.returncode == 0, p.stderr
    got = snapshot(tmp_path / "by-id")
    want = {x for x, i in chain["messages"].items() if i in ids and x in chain["after"]}
    assert set(got) == want and {unchanged[1], new[-1]} <= want
    assert all(got[x] == chain["after"][x] for x in want)


# --- configuration --------------------------------------------------------------------------------

def test_a_config_file_that_is_not_utf8_names_the_file(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes('store = "/srv/caf\u00e9"\n'.encode("latin-1"))
    with pytest.raises(errors.ConfigError) as e:
        load_config(str(path))
    assert e.value.value == str(path) and "UTF-8" in str(e.value)
    p = no_traceback(wb("sets", "--config", str(path)))
    assert p.returncode == errors.ConfigError.exit_code and str(path) in p.stderr


def test_a_missing_ca_file_is_refused_when_the_config_is_loaded(tmp_path):
    config = write_config(tmp_path, tmp_path, tmp_path / "bk",
                          notify={"to": ["admin@example.com"], "security": "starttls",
                                  "ca_file": str(tmp_path / "missing.pem")})
    with pytest.raises(errors.ConfigError) as e:
        load_config(config)
    assert e.value.key == "notify.ca_file" and e.value.value == str(tmp_path / "missing.pem")
    p = no_traceback(wb("sets", "--config", config))
    assert p.returncode == errors.ConfigError.exit_code and "notify.ca_file" in p.stderr


# --- anything else --------------------------------------------------------------------------------

def test_an_unexpected_error_is_one_line_unless_verbose(tmp_path, monkeypatch, capsys):
    def broken(args):
        raise RuntimeError("something nobody foresaw")

    monkeypatch.setattr(cli.backup, "cmd_sets", broken)  # the module of the sets command
    assert cli.main(["sets", "--target", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err == ("workbench: unexpected error: RuntimeError: something nobody foresaw; "
                   "run with -v for the details\n")
    assert cli.main(["-v", "sets", "--target", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "in broken" in err
    assert err.rstrip().endswith("workbench: unexpected error: RuntimeError: something nobody "
                                 "foresaw")


# --- every removal is reported ------------------------------------------------------------------------

def test_every_set_a_run_removes_is_named_with_its_reason_everywhere(tmp_path, smtp):
    from datetime import datetime, timedelta, timezone
    inbox, port = smtp
    t0 = datetime(2026, 11, 1, 1, tzinfo=timezone.utc)
    store = make_store(tmp_path / "server", messages=60, seed=4)
    bk = tmp_path / "bk"
    kw = dict(store=store, target=str(bk), min_free=0, volume_size="128KiB")
    f1 = workbench.backup("full", now=t0, **kw).set_name
    d1 = workbench.backup("differential", now=t0 + timedelta(days=1), **kw).set_name
    samples.mutate(store, seed=1)
    d2 = workbench.backup("differential", now=t0 + timedelta(days=2), **kw)
    assert d2.removed == [{"set": d1, "reason": f"replaced by {d2.set_name}"}]
    # A run interrupted after its first volumes: no manifest, no index, the last volume lost.
    f2 = workbench.backup("full", now=t0 + timedelta(days=3), **kw)
    for name in (manifest_name(f2.set_name), index_name(f2.set_name), f2.volumes[-1]):
        os.remove(bk / name)
    config = write_config(tmp_path, store, bk, keep=1,
                          notify={"to": ["admin@example.com"], "smtp_host": "127.0.0.1",
                                  "smtp_port": port})
    p = no_traceback(wb("backup", "full", "--config", config, "--json"))
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    removed = [(d["set"], d["reason"]) for d in out["removed"]]
    assert removed == [(f2.set_name, "left by an interrupted run (incomplete)"),
                       (d2.set_name, f"its full {f1} is rotated out"),
                       (f1, "older than the 1 newest complete backups")]
    assert sorted(out["removed"][0]["files"]) == sorted(f2.volumes[:-1])
    st = json.loads(wb("status", "--config", config, "--json").stdout)
    assert [(d["set"], d["reason"]) for d in st["result"]["removed"]] == removed
    text = wb("status", "--config", config).stdout
    assert all(f"removed {n} ({why})" in text for n, why in removed)
    deadline = time.monotonic() + 10
    while not inbox.messages and time.monotonic() < deadline:
        time.sleep(0.05)
    body = inbox.messages[0][1].get_body().get_content()
    assert "Removed: 3 (" in body and all(f"  {n}: {why}" in body for n, why in removed)
