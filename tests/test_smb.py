"""The engine on an SMB share, against a real Samba server: round trips, outages, credentials, space.

The shared server comes from conftest.py; tests that stop the server start their own.
"""

import hashlib
import logging
import os
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from workbench import samples
from workbench.backup import backup
from workbench.cli import main
from workbench.config import validate
from workbench.errors import (AuthenticationFailed, ConfigError, CredentialsMissing, NotEnoughSpace,
                              ShareNotFound, TargetError, TargetStalled, TargetUnreachable)
from workbench.naming import LOCK_NAME, index_name, manifest_name
from workbench.restorer import restore
from workbench.sets import COMPLETE, INCOMPLETE, list_sets
from workbench.store import walk_store
from workbench.targets import open_target
from workbench.targets import smb

from samba import PASSWORD, SMALL_FREE, USER, SambaServer, free_port

SETTINGS = {"min_free": 0, "volume_size": 64 * 1024, "compression_level": 1, "oversize": "own-volume"}


@pytest.fixture(scope="module")
def store_template(tmp_path_factory):
    root = tmp_path_factory.mktemp("template") / "server"
    samples.generate(root, 200, seed=5)
    return root


@pytest.fixture
def store(store_template, tmp_path):
    root = tmp_path / "server"
    shutil.copytree(store_template, root)
    return root


@pytest.fixture
def fast_retries(monkeypatch):
    monkeypatch.setattr(smb.connection, "RETRY_DELAYS", (0.05, 0.1, 0.2))


def content(root):
    """{path: sha256} of every file a backup of *root* takes."""
    return {f.path: hashlib.sha256(Path(root, f.path).read_bytes()).hexdigest()
            for f in walk_store(str(root))}


def tree(root):
    out = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            p = Path(dirpath, name)
            out[p.relative_to(root).as_posix()] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def share_files(server, share_dir):
    return tree(Path(server.share_path("backup"), share_dir))


def assert_no_password(*texts):
    for t in texts:
        assert PASSWORD not in str(t)


# -- URLs and credentials ---------------------------------------------------------------------

def test_parse_urls():
    p = smb.parse_smb_url
    assert p("smb://bob@files.example:4445/backups/kerio/daily") == {
        "host": "files.example", "port": 4445, "share": "backups", "path": "kerio/daily",
        "user": "bob"}
    assert p(r"\\nas\share\dir\sub") == {"host": "nas", "port": 445, "share": "share",
                                         "path": "dir/sub", "user": None}
    assert p("//nas/share") == {"host": "nas", "port": 445, "share": "share", "path": "",
                                "user": None}
    for bad in ("smb://host", r"\\host", "smb:///share"):
        with pytest.raises(TargetError):
            p(bad)


def test_password_in_url_is_refused_without_echoing_it():
    with pytest.raises(TargetError) as e:
        smb.parse_smb_url(f"smb://bob:{PASSWORD}@nas/share")
    assert_no_password(e.value)
    assert "WORKBENCH_SMB_PASSWORD" in str(e.value)


def test_credentials_missing(monkeypatch, samba):
    monkeypatch.delenv("WORKBENCH_SMB_PASSWORD", raising=False)
    monkeypatch.delenv("WORKBENCH_SMB_USER", raising=False)
    with pytest.raises(CredentialsMissing) as e:
        open_target(samba.url("backup", user=False), interactive=False)
    assert "WORKBENCH_SMB_USER" in str(e.value)
    with pytest.raises(CredentialsMissing) as e:
        open_target(samba.url("backup"), interactive=False)
    assert "WORKBENCH_SMB_PASSWORD" in str(e.value)


def test_credentials_from_named_env_vars_and_prompt_hook(monkeypatch, samba):
    monkeypatch.delenv("WORKBENCH_SMB_PASSWORD", raising=False)
    monkeypatch.setenv("KERIO_BK_USER", USER)
    monkeypatch.setenv("KERIO_BK_PASS", PASSWORD)
    cfg = validate({"target": samba.url("backup", user=False), "smb_user_env": "KERIO_BK_USER",
                    "smb_password_env": "KERIO_BK_PASS"})
    t = open_target(cfg.target, **cfg.target_options)
    assert t.url == samba.url("backup") and t.exists()
    with pytest.raises(ConfigError) as e:
        validate({"smb_password_env": "not a name"})
    assert e.value.key == "smb_password_env"

    asked = []
    monkeypatch.setattr(smb.url, "_password_prompt", None)
    smb.set_password_prompt(lambda user, host, share: asked.append((user, host, share)) or PASSWORD)
    with pytest.raises(CredentialsMissing):
        open_target(samba.url("backup"), interactive=False)
    assert asked == []  # interactive=False never asks
    t = open_target(samba.url("backup"), smb_password_env="NO_SUCH_VAR")
    assert asked == [(USER, "127.0.0.1", "backup")] and t.exists()
    assert PASSWORD not in repr(t) and PASSWORD not in t.url and PASSWORD not in str(vars(t))


def test_wrong_password_and_unknown_share(samba, monkeypatch, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("WORKBENCH_SMB_PASSWORD", "not-" + PASSWORD[::-1])
    with pytest.raises(AuthenticationFailed) as e:
        open_target(samba.url("backup")).list()
    assert USER in str(e.value)
    assert main(["sets", "--target", samba.url("backup")]) == AuthenticationFailed.exit_code == 32
    monkeypatch.setenv("WORKBENCH_SMB_PASSWORD", PASSWORD)
    with pytest.raises(ShareNotFound) as e2:
        open_target(samba.url("nosuchshare", "dir")).list()
    assert "nosuchshare" in str(e2.value)
    assert main(["sets", "--target", samba.url("nosuchshare")]) == ShareNotFound.exit_code == 33
    err = capsys.readouterr().err
    assert "refused the user name or password" in err and "no share named" in err
    assert_no_password(e.value, e2.value, err, caplog.text)


def test_cli_without_password_exits_with_its_code(samba):
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKBENCH_SMB_")}
    r = subprocess.run([sys.executable, "-m", "workbench", "sets", "--target", samba.url("backup")],
                       env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    assert r.returncode == CredentialsMissing.exit_code == 31, r.stderr
    assert "WORKBENCH_SMB_PASSWORD" in r.stderr


# -- the engine over SMB ----------------------------------------------------------------------

def test_full_differential_restore_round_trip(store, smb_url, samba, tmp_path, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    first = content(store)
    f = backup("full", store=str(store), target=smb_url, **SETTINGS)
    assert f.kind == "F" and len(f.volumes) > 1 and f.target == smb_url
    samples.mutate(store, seed=2)
    second = content(store)
    assert second != first
    d = backup("differential", store=str(store), target=smb_url, **SETTINGS)
    assert d.kind == "D" and d.base == f.set_name and 0 < d.stored < d.files

    on_share = share_files(samba, smb_url.rsplit("/", 1)[1])
    assert sorted(on_share) == sorted(f.volumes + d.volumes + [
        fn(n) for n in (f.set_name, d.set_name) for fn in (manifest_name, index_name)])

    # Standard tools read the volumes as the share stores them.
    share_dir = Path(samba.share_path("backup"), smb_url.rsplit("/", 1)[1])
    for vol in f.volumes + d.volumes:
        r = subprocess.run(["unzip", "-tq", str(share_dir / vol)], capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr

    sets = list_sets(open_target(smb_url))
    assert [(str(s.name), s.status) for s in sets] == [(f.set_name, COMPLETE),
                                                        (d.set_name, COMPLETE)]

    latest = tmp_path / "latest"
    r = restore(str(latest), target=smb_url)
    assert sorted(r.sets_used) == sorted([f.set_name, d.set_name])
    assert tree(latest) == second
    older = tmp_path / "older"
    restore(str(older), f.set_name, target=smb_url)
    assert tree(older) == first

    assert main(["sets", "--target", smb_url, "--json"]) == 0
    out = capsys.readouterr().out
    assert f.set_name in out and d.set_name in out and '"status": "complete"' in out
    assert_no_password(caplog.text, out)


def test_lock_on_share_blocks_a_second_run(store, smb_url):
    from workbench.errors import LockHeld
    from workbench.lock import target_lock
    t = open_target(smb_url)
    t.ensure()
    with target_lock(t):
        assert LOCK_NAME in t.list()
        with pytest.raises(LockHeld):
            backup("full", store=str(store), target=smb_url, **SETTINGS)
    assert LOCK_NAME not in t.list()


def test_share_with_too_little_space_refuses_the_backup(store, samba, monkeypatch):
    monkeypatch.setenv("WORKBENCH_SMB_PASSWORD", PASSWORD)
    url = samba.url("small", "kerio")
    assert open_target(url).disk_usage()[1] == SMALL_FREE
    with pytest.raises(NotEnoughSpace) as e:
        backup("full", store=str(store), target=url, min_free="4GiB")
    assert e.value.free == SMALL_FREE and e.value.required == 4 * 1024**3
    assert not tree(samba.share_path("small"))  # nothing written
    assert main(["backup", "full", "--store", str(store), "--target", url, "-q"]) == 14


# -- outages ----------------------------------------------------------------------------------

@pytest.fixture
def own_samba(tmp_path, monkeypatch):
    """A server of this test's own, which it may stop and start."""
    server = SambaServer(tmp_path / "samba")
    server.start()
    monkeypatch.setenv("WORKBENCH_SMB_PASSWORD", PASSWORD)
    yield server
    server.stop()


def test_short_outage_is_ridden_out(own_samba, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setattr(smb.connection, "RETRY_DELAYS", (0.2, 0.4, 0.8, 1.6, 3.2))
    t = open_target(own_samba.url("backup", "x"))
    t.ensure()
    data = os.urandom(6 * 1024 * 1024)
    with t.open_write("big.partial") as f:
        f.write(data[:5 * 1024 * 1024])
        f.flush()
        own_samba.stop()   # the open handle dies with the server
        restart = threading.Timer(0.3, own_samba.start)
        restart.start()
        f.write(data[5 * 1024 * 1024:])
    restart.join()
    t.publish("big.partial", "big")
    assert t.read_bytes("big") == data
    assert "retry 1 of 5" in caplog.text
    assert_no_password(caplog.text)


def test_server_stopped_mid_backup(store, own_samba, fast_retries, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    url = own_samba.url("backup", "kerio")
    f = backup("full", store=str(store), target=url, **SETTINGS)
    committed = share_files(own_samba, "kerio")
    samples.mutate(store, seed=3)
    for eml in sorted(store.rglob("*.eml"))[:80]:  # enough changes for several volumes
        os.utime(eml, ns=(eml.stat().st_atime_ns, eml.stat().st_mtime_ns + 10**9))

    def stop_at_end(p):
        # Called once all data is compressed and written, before the last volume and the
        # manifest are published: the worst moment.
        if p.files_total and p.files_done == p.files_total:
            own_samba.stop()

    with pytest.raises(TargetUnreachable) as e:
        backup("differential", store=str(store), target=url, progress=stop_at_end, **SETTINGS)
    assert "127.0.0.1" in str(e.value)
    assert_no_password(e.value, caplog.text)
    own_samba.start()

    # The full is untouched, byte for byte; the interrupted differential is not committed.
    left = share_files(own_samba, "kerio")
    assert {k: v for k, v in left.items() if k in committed} == committed
    sets = list_sets(open_target(url))
    assert [(str(s.name), s.status) for s in sets] == [(f.set_name, COMPLETE),
                                                        (str(sets[1].name), INCOMPLETE)]
    assert sets[1].name.kind == "D" and sets[1].volumes  # published volumes, no manifest
    assert LOCK_NAME in left  # the lost connection kept the run from removing its lock
    caplog.clear()
    assert main(["backup", "differential", "--store", str(store), "--target", url, "-q",
                 "--min-free", "0", "--volume-size", "64KiB", "--oversize", "own-volume"]) == 0
    sets = list_sets(open_target(url))
    assert [s.status for s in sets] == [COMPLETE, COMPLETE] and sets[1].name.kind == "D"
    after = share_files(own_samba, "kerio")
    assert {k: v for k, v in after.items() if k in committed} == committed
    assert not [n for n in after if n.endswith(".partial") or n == LOCK_NAME]
    assert "taking over stale lock" in caplog.text and "left by an interrupted run" in caplog.text
    assert set(after) - set(committed) == {fn for fn, _ in sets[1].volumes.values()} | {
        manifest_name(str(sets[1].name)), index_name(str(sets[1].name))}
    out = tmp_path / "restored"
    restore(str(out), target=url)
    assert tree(out) == content(store)


def test_server_gone_for_good(own_samba, fast_retries):
    t = open_target(own_samba.url("backup"))
    assert t.list() == {}
    own_samba.stop()
    with pytest.raises(TargetUnreachable) as e:
        t.list()
    assert "did not come back after 3 retries" in str(e.value)
    assert main(["sets", "--target", own_samba.url("backup")]) == TargetUnreachable.exit_code


def _retries_logged(caplog):
    return sum("reconnecting, retry" in r.getMessage() for r in caplog.records)


def test_unreachable_target_fails_after_one_cycle_saying_nothing_was_written(
        store, fast_retries, monkeypatch, tmp_path, caplog, capsys):
    # Nothing listens on the port: every connection attempt is refused at once.
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("WORKBENCH_SMB_PASSWORD", PASSWORD)
    port = free_port()
    url = f"smb://{USER}@127.0.0.1:{port}/backup/kerio"
    config = tmp_path / "wb.toml"
    config.write_text(f"schedule_db = {str(tmp_path / 'state' / 'schedule.db')!r}\n")
    code = main(["backup", "full", "--config", str(config), "--store", str(store), "--target", url,
                 "-q", "--min-free", "0"])
    err = capsys.readouterr().err
    assert code == TargetUnreachable.exit_code == 34
    assert _retries_logged(caplog) == len(smb.connection.RETRY_DELAYS)  # one cycle, not one per caller
    assert f"{url}: querying free space failed: cannot connect to 127.0.0.1 port {port} (" in err
    assert "Connection refused) after 3 retries; nothing was written\n" in err
    assert "incomplete" not in err
    assert err.count("workbench: error:") == 1


def test_silent_server_fails_after_one_timeout_saying_nothing_was_written(
        store, monkeypatch, tmp_path, caplog):
    # A server that accepts connections and never answers (a stalled or dead SMB service).
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("WORKBENCH_SMB_PASSWORD", PASSWORD)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    try:
        url = f"smb://{USER}@127.0.0.1:{port}/backup/kerio"
        with pytest.raises(TargetStalled) as e:
            backup("full", store=str(store), target=url, network_timeout=1, **SETTINGS)
    finally:
        listener.close()
    assert str(e.value) == (
        f"{url}: querying free space failed: the server 127.0.0.1 port {port} stopped answering "
        f"(no reply within 1 s, network_timeout 1 s); check the server, then run again; nothing "
        f"was written")
    assert e.value.exit_code == 35
    assert _retries_logged(caplog) == 0


# -- round trips ------------------------------------------------------------------------------

@pytest.fixture
def share_dir(samba, smb_url):
    """The server-side folder behind smb_url (to change files behind the client's back)."""
    path = Path(samba.share_path("backup"), smb.parse_smb_url(smb_url)["path"])
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def requests_sent(monkeypatch):
    """A list that gets one item per request or compound sent (each waits for its reply)."""
    from smbprotocol.connection import Connection
    sent = []
    send, compound = Connection.send, Connection.send_compound
    monkeypatch.setattr(Connection, "send", lambda self, m, *a, **k: (
        sent.append([type(m).__name__]), send(self, m, *a, **k))[1])
    monkeypatch.setattr(Connection, "send_compound", lambda self, ms, *a, **k: (
        sent.append([type(m).__name__ for m in ms]), compound(self, ms, *a, **k))[1])
    return sent


def test_listing_and_header_reads_take_one_round_trip_each(smb_url, share_dir, requests_sent):
    small, big = b'{"header": 1}\n' + b"x" * 1000, os.urandom(300_000)
    (share_dir / "F1.manifest.json.gz").write_bytes(small)
    (share_dir / "F1.zip").write_bytes(big)
    t = open_target(smb_url)
    t.ensure()
    requests_sent.clear()
    assert t.list() == {"F1.manifest.json.gz": len(small), "F1.zip": len(big)}
    assert requests_sent == [["SMB2CreateRequest", "SMB2QueryDirectoryRequest",
                              "SMB2QueryDirectoryRequest", "SMB2CloseRequest"]]
    requests_sent.clear()
    with t.open_read("F1.manifest.json.gz") as f:
        assert f.readline() == b'{"header": 1}\n'
    assert requests_sent == [["SMB2CreateRequest", "SMB2ReadRequest", "SMB2CloseRequest"]]
    requests_sent.clear()
    # Unchanged since the listing: its first bytes are not asked for again.
    assert t.read_bytes("F1.manifest.json.gz") == small
    assert requests_sent == []
    assert t.read_bytes("F1.zip") == big  # past the first bytes: a handle of its own
    assert requests_sent[0] == ["SMB2CreateRequest", "SMB2ReadRequest", "SMB2CloseRequest"]


def test_reads_see_files_changed_behind_the_listing(smb_url, share_dir):
    path = share_dir / "F1.manifest.json.gz"
    old, new = os.urandom(200_000), os.urandom(200_000)
    path.write_bytes(old)
    t = open_target(smb_url)
    assert t.list() == {path.name: len(old)}
    assert t.read_bytes(path.name) == old
    f = t.open_read(path.name)
    assert f.read(10) == old[:10]
    # The same size, another content (and a later time, as any rewrite gets).
    path.write_bytes(new)
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    with pytest.raises(OSError) as e:  # never bytes of two versions
        f.seek(100_000)
        f.read(10)
    assert "changed" in str(e.value)
    f.close()
    assert t.list() == {path.name: len(new)}
    assert t.read_bytes(path.name) == new
    with t.open_read(path.name) as f:
        assert f.read(10) == new[:10]


def test_directory_bigger_than_one_query(smb_url, share_dir, monkeypatch, requests_sent):
    monkeypatch.setattr(smb.wire, "_LIST_BUFFER", 4096)  # a few dozen entries per query
    expected = {f"{i:03d}-{'n' * 60}.zip": i for i in range(150)}
    for name, size in expected.items():
        (share_dir / name).write_bytes(b"z" * size)
    (share_dir / "subdir").mkdir()
    t = open_target(smb_url)
    requests_sent.clear()
    assert t.list() == expected
    assert len(requests_sent) > 2  # the compound, then scandir batch by batch


def test_sequential_reads_fetch_ahead_and_seeks_stay_exact(smb_url, share_dir, requests_sent):
    data = os.urandom(5 * 1024 * 1024 + 12345)
    (share_dir / "F1.zip").write_bytes(data)
    t = open_target(smb_url)
    t.list()
    with t.open_read("F1.zip") as f:
        assert f.read() == data
    reads = sum(r.count("SMB2ReadRequest") for r in requests_sent)
    assert reads <= 8  # the head, then 1 MiB chunks: no chunk asked for twice
    with t.open_read("F1.zip") as f:
        got = [f.read(1 << 20), f.read(300_000)]
        f.seek(100)  # backwards, past what was fetched ahead
        got.append(f.read(2 << 20))
        f.seek(4 << 20)
        got.append(f.read())
    assert got == [data[:1 << 20], data[1 << 20:(1 << 20) + 300_000], data[100:100 + (2 << 20)],
                   data[4 << 20:]]
