"""One backup at a time (the lock), the free-space guard, and config validation."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

import workbench
from workbench.cli import main
from workbench.config import load_config, parse_size, validate
from workbench.errors import ConfigError, LockHeld, NotEnoughSpace
from workbench.naming import LOCK_NAME
from workbench.sizes import human_size

from helpers import make_store


@pytest.fixture
def store(tmp_path):
    return make_store(tmp_path / "server", messages=120, seed=2)


def write_lock(bk, **owner):
    os.makedirs(bk, exist_ok=True)
    with open(os.path.join(bk, LOCK_NAME), "w") as f:
        json.dump(owner, f)


def test_second_concurrent_backup_fails_with_lock_error(store, tmp_path):
    bk = tmp_path / "bk"
    # A real first backup, stopped (SIGSTOP) half-way while it holds the lock.
    code = ("import os, signal, workbench\n"
            "def p(e):\n"
            "    if e.files_done >= 20: os.kill(os.getpid(), signal.SIGSTOP)\n"
            f"workbench.backup('full', store={store!r}, target={str(bk)!r}, min_free=0, progress=p)\n")
    first = subprocess.Popen([sys.executable, "-c", code])
    try:
        for _ in range(200):
            if _stopped(first.pid):
                break
            time.sleep(0.05)
        assert _stopped(first.pid)
        with pytest.raises(LockHeld) as e:
            workbench.backup("full", store=store, target=str(bk), min_free=0)
        assert str(first.pid) in str(e.value) and socket.gethostname() in str(e.value)
        assert main(["backup", "full", "--store", store, "--target", str(bk), "--min-free", "0",
                     "-q"]) == LockHeld.exit_code
    finally:
        os.kill(first.pid, signal.SIGCONT)
        assert first.wait(60) == 0
    assert not os.path.exists(bk / LOCK_NAME)


def _stopped(pid):
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0] == "T"


def test_lock_of_a_dead_process_is_taken_over(store, tmp_path, caplog):
    dead = subprocess.Popen(["true"])
    dead.wait()
    write_lock(tmp_path / "bk", host=socket.gethostname(), pid=dead.pid, started="x", time=time.time())
    r = workbench.backup("full", store=store, target=str(tmp_path / "bk"), min_free=0)
    assert r.files > 0
    assert f"taking over stale lock of host {socket.gethostname()} pid {dead.pid}" in caplog.text


def test_lock_of_another_host_is_held_until_stale(store, tmp_path):
    bk = tmp_path / "bk"
    write_lock(bk, host="other-host", pid=1, started="x", time=time.time() - 60)
    with pytest.raises(LockHeld):
        workbench.backup("full", store=store, target=str(bk), min_free=0)
    write_lock(bk, host="other-host", pid=1, started="x", time=time.time() - 2 * 86400)
    assert workbench.backup("full", store=store, target=str(bk), min_free=0).files > 0


def test_free_space_guard_refuses_before_writing(store, tmp_path):
    bk = tmp_path / "bk"
    with pytest.raises(NotEnoughSpace) as e:
        workbench.backup("full", store=store, target=str(bk), min_free="1000TiB")
    assert e.value.required == 1000 * 1024**4 and 0 < e.value.free < e.value.required
    # people read sizes; --json has the bytes (test_exit_codes)
    assert f"{human_size(e.value.free)} free, 1000.0 TiB required" in str(e.value)
    assert not bk.exists()
    assert main(["backup", "full", "--store", store, "--target", str(bk), "--min-free",
                 "1000TiB", "-q"]) == NotEnoughSpace.exit_code


@pytest.mark.parametrize("key,value", [
    ("volume_size", "2 lightyears"), ("volume_size", 0), ("volume_size", "1KB"),
    ("keep", 0), ("keep", "seven"), ("keep", True), ("min_free", "-5GB"),
    ("differentials", "some"), ("oversize", "truncate"), ("enabled", "yes"),
    ("compression_level", 11), ("store", ""), ("colour", "blue"),
    ("max_member_size", "huge"), ("max_member_size", 0), ("max_ratio", 0.5), ("max_ratio", "200"),
    ("max_ratio", True),
])
def test_bad_config_values_name_key_and_value(key, value):
    with pytest.raises(ConfigError) as e:
        validate({key: value})
    assert e.value.key == key and e.value.value == value
    assert repr(key) in str(e.value) and repr(value) in str(e.value)


def test_sizes_and_config_file(tmp_path):
    assert parse_size("k", "2GiB") == 2 * 1024**3
    assert parse_size("k", "500MB") == 500 * 1000**2
    assert parse_size("k", "1.5 GB") == 1_500_000_000
    assert parse_size("k", 12345) == 12345
    cfg = tmp_path / "wb.toml"
    cfg.write_text('store = "srv"\nvolume_size = "500MB"\nkeep = 3\ndifferentials = "all"\n')
    c = load_config(str(cfg), keep=5)  # flags override the file
    assert c.keep == 5 and c.volume_size == 500 * 1000**2 and c.differentials == "all"
    assert c.store == str(tmp_path / "srv")  # relative to the file
    assert c.target_or_default == os.path.join(str(tmp_path / "srv"), "store", "backup")
    assert (c.max_member_size, c.max_ratio) == (64 * 1024**3, 200)
    cfg.write_text('max_member_size = "100GiB"\nmax_ratio = 1500\n')
    c = load_config(str(cfg))
    assert (c.max_member_size, c.max_ratio) == (100 * 1024**3, 1500)


def test_cli_reports_bad_config_with_its_exit_code(tmp_path, capsys):
    cfg = tmp_path / "wb.toml"
    cfg.write_text('keep = "many"\n')
    assert main(["sets", "--config", str(cfg), "--target", str(tmp_path)]) == ConfigError.exit_code
    assert "config key 'keep': bad value 'many'" in capsys.readouterr().err
