"""The lock cannot be stolen while its owner lives: it is published whole, taken over only when the
owner is provably gone, and a damaged lock file is a clear error, never a traceback."""

import json
import os
import socket
import subprocess
import sys
import textwrap
import time

import pytest

import workbench
from workbench.cli import main
from workbench.errors import LockDamaged, LockHeld
from workbench.lock import process_start, target_lock
from workbench.naming import LOCK_NAME
from workbench.sets import COMPLETE, list_sets
from workbench.targets import LocalTarget

from helpers import make_store

# A child that takes the lock with its writer paused between creating the lock's file and writing
# the record into it (whichever way the lock is written), then holds it until told to let go.
SLOW_LOCKER = textwrap.dedent("""
    import os, sys, time
    from workbench.errors import LockHeld
    from workbench.lock import target_lock
    from workbench.targets.local import LocalTarget
    target, gate = sys.argv[1:3]
    paused = []

    def pause():
        if paused:
            return
        paused.append(1)
        open(gate + ".created", "w").close()
        while not os.path.exists(gate + ".go"):
            time.sleep(0.01)

    real_open_write = LocalTarget.open_write

    def open_write(self, name):
        f = real_open_write(self, name)
        if name.startswith(".workbench.lock"):
            pause()
        return f

    LocalTarget.open_write = open_write
    try:
        with target_lock(LocalTarget(target)):
            print("held", flush=True)
            while not os.path.exists(gate + ".release"):
                time.sleep(0.01)
    except LockHeld:
        sys.exit(13)
""")


def _wait_for(path, proc, seconds=60):
    deadline = time.monotonic() + seconds
    while not os.path.exists(path):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_a_lock_being_written_is_never_taken_for_stale(tmp_path):
    bk = tmp_path / "bk"
    bk.mkdir()
    gate = str(tmp_path / "gate")
    slow = subprocess.Popen([sys.executable, "-c", SLOW_LOCKER, str(bk), gate],
                            stdout=subprocess.PIPE, text=True)
    try:
        _wait_for(gate + ".created", slow)
        # The slow run has created its file but written nothing into it yet.
        with target_lock(LocalTarget(bk)):
            open(gate + ".go", "w").close()
            out, _ = slow.communicate(timeout=60)
            # The slow run must find the lock held, never believe it holds it too.
            assert (slow.returncode, out) == (LockHeld.exit_code, "")
            assert json.loads((bk / LOCK_NAME).read_text())["pid"] == os.getpid()
    finally:
        open(gate + ".go", "w").close()
        open(gate + ".release", "w").close()
        slow.wait(60)
    assert os.listdir(bk) == []  # nothing left: no lock, no temporary file


@pytest.fixture
def store(tmp_path):
    return make_store(tmp_path / "server", messages=40, seed=5)


def write_lock(bk, data):
    os.makedirs(bk, exist_ok=True)
    with open(os.path.join(bk, LOCK_NAME), "wb") as f:
        f.write(data)


@pytest.mark.parametrize("data", [b"", b"\x00\xff garbage", b'{"host": "other-host", "time": "x"}',
                                  b"[1, 2]", b'{"host": "' + socket.gethostname().encode()
                                  + b'", "pid": "12"}'])
def test_damaged_lock_file_is_held_with_a_clear_error_until_old(store, tmp_path, capsys, caplog,
                                                                data):
    bk = tmp_path / "bk"
    write_lock(bk, data)
    args = ["backup", "full", "--store", store, "--target", str(bk), "--min-free", "0", "-q"]
    assert main(args) == LockDamaged.exit_code
    err = capsys.readouterr().err
    assert f"the lock file {bk}/{LOCK_NAME} cannot be used" in err
    assert "remove that file" in err and "lock_stale_after (86400 s" in err
    assert "Traceback" not in err
    assert sorted(os.listdir(bk)) == [LOCK_NAME]  # nothing written, the lock left alone
    old = time.time() - 2 * 86400
    os.utime(bk / LOCK_NAME, (old, old))
    assert main(args) == 0
    assert "taking over stale lock" in caplog.text
    assert not (bk / LOCK_NAME).exists()


def test_a_reused_pid_does_not_hold_the_lock(store, tmp_path, caplog):
    bk = tmp_path / "bk"
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        record = {"host": socket.gethostname(), "pid": sleeper.pid, "started": "x",
                  "time": time.time(), "token": "t1", "proc_start": process_start(sleeper.pid)}
        write_lock(bk, json.dumps(record).encode())
        with pytest.raises(LockHeld):  # the very process that wrote it: held
            workbench.backup("full", store=store, target=str(bk), min_free=0)
        # The same pid, but another process start: the owner is gone, its pid reused.
        boot = record["proc_start"].split(":")[0]
        record["proc_start"] = f"{boot}:1"
        write_lock(bk, json.dumps(record).encode())
        assert workbench.backup("full", store=store, target=str(bk), min_free=0).files > 0
        assert "now belongs to another process" in caplog.text
    finally:
        sleeper.kill()
        sleeper.wait()


def test_lock_stale_after_is_a_config_key(store, tmp_path):
    bk = tmp_path / "bk"
    record = {"host": "other-host", "pid": 1, "started": "x", "time": time.time() - 3600}
    write_lock(bk, json.dumps(record).encode())
    with pytest.raises(LockHeld):
        workbench.backup("full", store=store, target=str(bk), min_free=0)
    r = workbench.backup("full", store=store, target=str(bk), min_free=0, lock_stale_after="30m")
    assert r.files > 0


def test_a_taken_over_lock_is_kept_aside_while_the_new_one_holds(tmp_path):
    # Two runs judge the same dead owner's lock stale at once: only one may take it over.
    bk = tmp_path / "bk"
    dead = subprocess.Popen(["true"])
    dead.wait()
    write_lock(bk, json.dumps({"host": socket.gethostname(), "pid": dead.pid, "started": "x",
                               "time": time.time()}).encode())
    t = LocalTarget(bk)
    with target_lock(t) as first:
        with pytest.raises(LockHeld):  # the second finds the first's lock, alive
            with target_lock(t):
                pass
        assert json.loads((bk / LOCK_NAME).read_text())["token"] == first["token"]
        # The moved-aside stale record stays for a while, so that a run that read it long ago
        # cannot rename the new lock aside in its place.
        assert [n for n in os.listdir(bk) if n.startswith(LOCK_NAME + ".stale-")]
    assert os.listdir(bk) == []  # and both go with the lock


STRESS_ROUNDS, STRESS_RUNS = 3, 8


@pytest.mark.slow
def test_simultaneous_differentials_never_lose_a_reported_set(tmp_path):
    store = make_store(tmp_path / "server", messages=40, seed=9)
    bk = tmp_path / "bk"
    base = ["--store", store, "--target", str(bk), "--min-free", "0", "--keep", "100",
            "--differentials", "all", "-q", "--json"]
    env = dict(os.environ, WORKBENCH_CONFIG="", XDG_STATE_HOME=str(tmp_path / "state"))
    assert subprocess.run([sys.executable, "-m", "workbench", "backup", "full", *base],
                          env=env, capture_output=True).returncode == 0
    reported = []
    for _ in range(STRESS_ROUNDS):
        runs = [subprocess.Popen([sys.executable, "-m", "workbench", "backup", "differential",
                                  *base], env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
                for _ in range(STRESS_RUNS)]
        for p in runs:
            out, err = p.communicate(timeout=300)
            assert p.returncode in (0, LockHeld.exit_code), err
            if p.returncode == 0:
                reported.append(json.loads(out)["set"])
            else:  # refused with --json: one JSON object on stdout, nothing on stderr
                refusal = json.loads(out)
                assert (refusal["error"], refusal["code"]) == ("LockHeld", LockHeld.exit_code)
                assert "another backup is running" in refusal["message"], out
                assert "Traceback" not in err
        sets = {str(s.name): s for s in list_sets(LocalTarget(bk))}
        assert [n for n in reported if n not in sets or sets[n].status != COMPLETE] == []
        assert not os.path.exists(bk / LOCK_NAME)
    assert len(reported) >= STRESS_ROUNDS  # at least one run got through each round


def test_another_hosts_lock_without_a_time_ages_by_its_file(store, tmp_path):
    bk = tmp_path / "bk"
    write_lock(bk, json.dumps({"host": "other-host", "pid": 1}).encode())
    with pytest.raises(LockHeld) as e:
        workbench.backup("full", store=store, target=str(bk), min_free=0)
    assert type(e.value) is LockHeld and "host other-host, pid 1" in str(e.value)
    old = time.time() - 2 * 86400
    os.utime(bk / LOCK_NAME, (old, old))
    assert workbench.backup("full", store=store, target=str(bk), min_free=0).files > 0
