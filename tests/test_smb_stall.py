"""A stalled SMB server (every smbd process stopped with SIGSTOP), against a real Samba server.

The kernel keeps the connections open and even accepts new ones, but nothing answers: each run
must fail within the network timeout with TargetStalled, end its process (no thread left waiting),
and the next run must succeed once the server is continued. The server is always continued in a
``finally``, so a failing test never leaves a stopped smbd behind.
"""

import os
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from workbench import samples
from workbench.backup import backup
from workbench.errors import TargetStalled
from workbench.naming import LOCK_NAME
from workbench.sets import COMPLETE, list_sets
from workbench.targets import open_target
from workbench.targets import smb

from helpers import snapshot
from samba import PASSWORD, SambaServer

# Real-clock tests (servers stopped for seconds, a browser): skipped by -m "not slow".
pytestmark = pytest.mark.slow

TIMEOUT = 3  # the network_timeout of these runs, seconds
# What a stalled server may cost a run: the operation under way (network_timeout), one more try
# by the cleanup (PROBE_TIMEOUT at most), plus the process's start and exit on a busy machine.
BOUND = TIMEOUT + min(TIMEOUT, smb.PROBE_TIMEOUT) + 15
WORKTREE = str(Path(__file__).resolve().parent.parent)


@pytest.fixture(scope="module")
def store_template(tmp_path_factory):
    """A store whose backup takes a few seconds: mail plus 64 MiB that does not compress."""
    root = tmp_path_factory.mktemp("stall") / "server"
    samples.generate(root, 200, seed=11)
    for i in range(16):
        Path(root, "license", f"blob{i:02d}.bin").write_bytes(os.urandom(4 << 20))
    return root


@pytest.fixture
def server(tmp_path, monkeypatch):
    s = SambaServer(tmp_path / "samba")
    s.start()
    monkeypatch.setenv("WORKBENCH_SMB_PASSWORD", PASSWORD)
    try:
        yield s
    finally:
        s.stop()  # continues a stopped server first


@contextmanager
def stalled(server):
    server.pause()
    try:
        yield
    finally:
        server.resume()


def write_config(tmp_path, store, url):
    path = tmp_path / "wb.toml"
    path.write_text(f"store = {str(store)!r}\ntarget = {url!r}\nmin_free = 0\n"
                    f"volume_size = '8MiB'\ncompression_level = 1\nnetwork_timeout = {TIMEOUT}\n"
                    f"schedule_db = {str(tmp_path / 'state' / 'schedule.db')!r}\n")
    return str(path)


def workbench(*args):
    env = dict(os.environ, PYTHONPATH=WORKTREE + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.Popen([sys.executable, "-m", "workbench", *args], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def wait_until(condition, proc, what):
    while not condition():
        if proc.poll() is not None:
            pytest.fail(f"the run ended before {what}: {proc.communicate()}")
        time.sleep(0.005)


def ends_within(proc, seconds):
    """(exit code, stdout, stderr) of *proc*, which must end within *seconds*."""
    try:
        out, err = proc.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"still running {seconds} s after the server stalled:\n{err[-3000:]}")
    return proc.returncode, out, err


def test_backup_to_a_stalled_server_fails_in_bounded_time_and_the_next_run_succeeds(
        store_template, server, tmp_path):
    url = server.url("backup", "kerio")
    share = Path(server.share_path("backup"), "kerio")
    first = backup("full", store=str(store_template), target=url, min_free=0,
                   volume_size="8MiB", compression_level=1)
    committed = snapshot(share)
    config = write_config(tmp_path, store_template, url)

    proc = workbench("backup", "full", "--config", config, "-q")
    try:
        def writing():  # the second volume of the new set is being written
            return any(".1.zip.wb-" in n and n.endswith(".partial") and not n.startswith(first.set_name)
                       for n in os.listdir(share))
        wait_until(writing, proc, "writing a volume")
        with stalled(server):
            code, out, err = ends_within(proc, BOUND)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()

    assert code == TargetStalled.exit_code == 35, err
    assert err.count("workbench: error: ") == 1 and "Traceback" not in err
    error = err.split("workbench: error: ", 1)[1]
    assert error.startswith(f"{url}: writing ")
    assert (f"failed: the server 127.0.0.1 port {server.port} stopped answering (no reply within "
            f"{TIMEOUT} s, network_timeout {TIMEOUT} s); check the server, then run again; the "
            f"backup set ") in error
    assert error.rstrip().endswith("being written stays incomplete; the next run removes it")
    assert PASSWORD not in err + out

    # The server is back: the next run takes the dead run's lock over, removes its leftovers and
    # commits; the first set is untouched, byte for byte.
    assert LOCK_NAME in os.listdir(share)
    proc = workbench("backup", "full", "--config", config, "-q")
    code, out, err = ends_within(proc, 120)
    assert code == 0, err
    assert "taking over stale lock" in err and "left by an interrupted run" in err
    sets = list_sets(open_target(url))
    assert [s.status for s in sets] == [COMPLETE, COMPLETE]
    assert str(sets[0].name) == first.set_name
    after = snapshot(share)
    assert {k: v for k, v in after.items() if k in committed} == committed
    assert not [n for n in after if n.endswith(".partial") or n == LOCK_NAME]


def test_restore_from_a_stalled_server_fails_in_bounded_time(store_template, server, tmp_path):
    url = server.url("backup", "kerio")
    backup("full", store=str(store_template), target=url, min_free=0, volume_size="8MiB",
           compression_level=1)
    config = write_config(tmp_path, store_template, url)
    dest = tmp_path / "restored"

    proc = workbench("restore", "--config", config, "--to", str(dest), "-q")
    try:
        def restoring():  # the first of the big files has arrived
            return dest.is_dir() and any(p.suffix == ".bin" for p in dest.rglob("*"))
        wait_until(restoring, proc, "restoring files")
        with stalled(server):
            code, out, err = ends_within(proc, BOUND)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert code == TargetStalled.exit_code, err
    assert "Traceback" not in err
    assert (f"stopped answering (no reply within {TIMEOUT} s, network_timeout {TIMEOUT} s)"
            in err)

    # Once the server is back, the same restore runs to the end.
    proc = workbench("restore", "--config", config, "--to", str(tmp_path / "again"), "-q")
    code, out, err = ends_within(proc, 120)
    assert code == 0, err


def test_listing_a_stalled_server_fails_in_bounded_time(server, tmp_path):
    # Stalled before the run starts: the connection is accepted by the kernel, the NEGOTIATE and
    # everything after it gets no answer.
    url = server.url("backup", "kerio")
    open_target(url).ensure()
    config = write_config(tmp_path, tmp_path, url)
    with stalled(server):
        proc = workbench("sets", "--config", config)
        code, out, err = ends_within(proc, BOUND)
    assert code == TargetStalled.exit_code, err
    assert f"{url}: listing failed: the server 127.0.0.1 port {server.port} stopped answering" \
        in err
    assert "reconnecting" not in err  # a silent server is not retried: its time is spent
    proc = workbench("sets", "--config", config)
    assert ends_within(proc, 60)[0] == 0


def test_reads_of_an_open_file_end_and_leave_no_thread_behind(server):
    # In this process: a big read with its read-ahead thread, cut off by the stall.
    t = open_target(server.url("backup", "kerio"), network_timeout=TIMEOUT)
    t.ensure()
    data = os.urandom(24 << 20)
    with t.open_write("big.partial") as f:
        f.write(data)
    t.publish("big.partial", "big")
    before = set(threading.enumerate())
    f = t.open_read("big")
    assert f.read(2 << 20) == data[:2 << 20]
    with stalled(server):
        started = time.monotonic()
        with pytest.raises(TargetStalled) as e:
            while f.read(2 << 20):
                pass
        f.close()
        assert time.monotonic() - started < TIMEOUT + smb.PROBE_TIMEOUT + 5
        # The cleanup that follows does not wait again: the target fails at once for a while.
        started = time.monotonic()
        with pytest.raises(TargetStalled):
            t.remove("big")
        with pytest.raises(TargetStalled):
            t.list()
        assert time.monotonic() - started < smb.PROBE_TIMEOUT + 2
    assert "reading big failed" in str(e.value)
    left = [th for th in set(threading.enumerate()) - before
            if th.is_alive() and not th.daemon]
    assert left == []
    t2 = open_target(server.url("backup", "kerio"))
    assert t2.read_bytes("big") == data
