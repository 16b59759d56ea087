"""The scheduler as a real service process, tasks and their validation, Start now, the debug log.

Time-based tests stay fast by giving tasks a time a few seconds ahead (``HH:MM:SS`` in a non-UTC
time zone); a missed run is made by stopping the service before the due time and starting it again
after it. The job store keeps next run times across the restart, as it does in production.
"""

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller

import workbench
from workbench.config import load_config
from workbench.errors import ConfigError
from workbench.sets import list_sets
from workbench.targets import open_target

TZ = "Asia/Kolkata"   # +05:30: a zone that is neither UTC nor a whole number of hours away
PY = sys.executable


def due_in(seconds):
    """A task time ``HH:MM:SS``, *seconds* from now in TZ."""
    return (datetime.now(ZoneInfo(TZ)) + timedelta(seconds=seconds)).strftime("%H:%M:%S")


def weekday_now():
    return ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[datetime.now(ZoneInfo(TZ)).weekday()]


def wait_for(pred, timeout, step=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(step)
    return pred()


def cli(*args, check=True):
    p = subprocess.run([PY, "-m", "workbench", *args], capture_output=True, text=True,
                       env={**os.environ, "WORKBENCH_CONFIG": ""})
    if check:
        assert p.returncode == 0, p.stderr
    return p


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    d = tmp_path_factory.mktemp("sched") / "server"
    subprocess.run([PY, "-m", "workbench.samples", "generate", str(d), "--messages", "200",
                    "--seed", "5"], check=True, capture_output=True)
    return str(d)


class Env:
    """A config file, its target and state directory under one test directory."""

    def __init__(self, root, store, tasks=(), **keys):
        self.root = root
        self.target = str(root / "bk")
        self.state = root / "state"
        self.config = str(root / "workbench.toml")
        self.log = self.state / "workbench.log"
        lines = ["# written by the test", f"store = {json.dumps(store)}",
                 f"target = {json.dumps(self.target)}", "min_free = 0",
                 f'timezone = "{TZ}"', 'schedule_db = "state/schedule.db"']
        for k, v in keys.items():
            lines.append(f"{k} = {json.dumps(v)}")
        for t in tasks:
            lines.append("\n[[schedule]]")
            lines += [f"{k} = {json.dumps(v)}" for k, v in t.items()]
        (root / "workbench.toml").write_text("\n".join(lines) + "\n")

    def sets(self):
        if not os.path.isdir(self.target):
            return []
        return [str(s.name) for s in list_sets(open_target(self.target))]

    def jobs(self):
        db = self.state / "schedule.db"
        if not db.exists():
            return {}
        con = sqlite3.connect(str(db))
        try:
            return dict(con.execute("SELECT id, next_run_time FROM apscheduler_jobs"))
        finally:
            con.close()

    def log_text(self):
        return self.log.read_text() if self.log.exists() else ""


class Service:
    """``python -m workbench scheduler run`` as a real subprocess."""

    def __init__(self, env):
        self.env = env
        self.err = open(env.root / f"service-{time.monotonic_ns()}.err", "w+")
        self.proc = subprocess.Popen([PY, "-m", "workbench", "scheduler", "run", "--config",
                                      env.config], stdout=self.err, stderr=subprocess.STDOUT,
                                     env={**os.environ, "WORKBENCH_CONFIG": ""})
        assert wait_for(lambda: "scheduler started" in env.log_text().split("scheduler stopped")[-1]
                        or self.proc.poll() is not None, 15), self.output()
        assert self.proc.poll() is None, self.output()

    def output(self):
        self.err.flush()
        self.err.seek(0)
        return self.err.read()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(30)
        self.err.close()
        return rc


@pytest.fixture
def services():
    started = []
    yield lambda env: started.append(Service(env)) or started[-1]
    for s in started:
        if s.proc.poll() is None:
            s.proc.kill()
            s.proc.wait()


# --- tasks ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("fields, key", [
    (dict(days=["mon", "funday"], time="01:00", kind="full"), "days"),
    (dict(days=[], time="01:00", kind="full"), "days"),
    (dict(days="daily", time="24:00", kind="full"), "time"),
    (dict(days="daily", time="1.30", kind="full"), "time"),
    (dict(days="daily", time="01:00", kind="incremental"), "kind"),
])
def test_invalid_task_fields_are_named(tmp_path, fields, key):
    path = tmp_path / "c.toml"
    path.write_text("# keep me\nkeep = 3\n")
    with pytest.raises(ConfigError) as e:
        workbench.add_task(**fields, config_path=str(path))
    assert e.value.key == key
    assert path.read_text() == "# keep me\nkeep = 3\n"    # nothing written
    # the same task in the config file: the error names the table and the field
    row = "\n".join(f"{k} = {json.dumps(v)}" for k, v in fields.items())
    path.write_text(f"[[schedule]]\ndays = 'daily'\ntime = '02:00'\nkind = 'full'\n\n"
                    f"[[schedule]]\n{row}\n")
    with pytest.raises(ConfigError) as e:
        load_config(str(path))
    assert e.value.key == f"schedule[2].{key}"


def test_add_edit_remove_keep_the_rest_of_the_file(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('# my settings\nkeep = 3  # three weeks\n\n[notify]\nto = ["a@example.com"]\n')
    p = str(path)
    workbench.add_task("mon,wed", "01:30", "differential", "weekdays", config_path=p)
    workbench.add_task("daily", "02:00", "full", config_path=p)
    assert workbench.edit_task(2, days=["sun"], config_path=p) == \
        workbench.Task(("sun",), "02:00", "full", "")
    workbench.set_enabled(False, config_path=p)
    assert [(t.days, t.time, t.kind) for t in workbench.list_tasks(p)] == \
        [(("mon", "wed"), "01:30", "differential"), (("sun",), "02:00", "full")]
    assert workbench.remove_task(1, config_path=p).description == "weekdays"
    with pytest.raises(ConfigError) as e:
        workbench.remove_task(5, config_path=p)
    assert e.value.key == "task"
    text = path.read_text()
    assert text.startswith("# my settings\nkeep = 3  # three weeks\nenabled = false\n")
    assert '[notify]\nto = ["a@example.com"]\n' in text
    cfg = load_config(p)
    assert cfg.keep == 3 and not cfg.enabled and cfg.notify.to == ("a@example.com",)
    assert cfg.schedule == (workbench.Task(("sun",), "02:00", "full", ""),)


# --- the service ---------------------------------------------------------------------------------

@pytest.mark.slow
def test_service_runs_due_tasks_survives_restart_and_picks_up_cli_edits(tmp_path, store,
                                                                          services):
    hook = tmp_path / "hook.txt"
    env = Env(tmp_path, store, [{"description": "soon", "days": "daily", "time": due_in(4),
                                 "kind": "full"}],
              after_backup=f'echo "$WORKBENCH_SET $WORKBENCH_KIND $WORKBENCH_VOLUMES" >> {hook};'
                           f' nice >> {hook}; ionice >> {hook}')
    svc = services(env)
    sets = wait_for(env.sets, 20)
    assert len(sets) == 1 and sets[0].startswith("F"), svc.output()
    # after_backup got the set in its environment and ran at the lowered priority
    lines = wait_for(lambda: hook.exists() and len(hook.read_text().splitlines()) >= 3 and
                     hook.read_text().splitlines(), 10)
    assert lines[0] == f"{sets[0]} F {os.path.join(env.target, sets[0] + '.zip')}"
    assert lines[1] == "10" and lines[2].startswith("idle")
    jobs = env.jobs()
    assert len(jobs) == 1
    (jid, next_run), = jobs.items()
    assert next_run > time.time() + 23 * 3600    # tomorrow's run

    assert svc.stop() == 0
    assert "scheduler stopped" in env.log_text()
    svc = services(env)
    assert "job store" in env.log_text() and env.jobs() == {jid: next_run}
    assert "(1 jobs)" in env.log_text().split("scheduler started")[-1]

    # edits through the CLI while it runs: a full and a differential due together (the full runs,
    # the differential is skipped) and another full due at the same moment (they run one after
    # the other, not together)
    t = due_in(5)
    cli("schedule", "add", "--time", t, "--kind", "full", "--description", "extra full",
        "--config", env.config)
    cli("schedule", "add", "--time", t, "--kind", "differential", "--config", env.config)
    cli("schedule", "add", "--time", t, "--days", weekday_now(), "--kind", "full",
        "--config", env.config)
    assert wait_for(lambda: len(env.jobs()) == 4, 8), env.log_text()
    rows = [json.loads(x) for x in cli("schedule", "list", "--json", "--config",
                                       env.config).stdout.splitlines()]
    assert [r["source"] for r in rows] == ["job store"] * 4
    assert rows[1]["next_run"].endswith("+05:30") and rows[1]["time"] == t
    assert wait_for(lambda: len(env.sets()) == 3, 25), env.log_text()
    time.sleep(1)
    new = env.sets()[1:]
    assert len(new) == 3 - 1 and all(s.startswith("F") for s in new), env.sets()
    log = env.log_text()
    assert "scheduled differential backup (differential daily " in log
    assert "skipped: a full backup falls due at the same time" in log
    assert "LockHeld" not in log and "another backup is running" not in log
    assert svc.stop() == 0


@pytest.mark.slow
def test_missed_runs_within_and_beyond_grace_time(tmp_path, store, services):
    inbox = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            inbox.append(envelope.content.decode())
            return "250 OK"

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    smtp = Controller(Handler(), hostname="127.0.0.1", port=port)
    smtp.start()
    try:
        late, on_time = due_in(4), due_in(12)
        env = Env(tmp_path, store, [
            {"description": "too late", "days": "daily", "time": late, "kind": "full"},
            {"description": "late but ok", "days": "daily", "time": on_time, "kind": "full"}],
            grace_time=6)
        with open(env.config, "a") as f:
            f.write(f'\n[notify]\nto = ["admin@example.com"]\nsmtp_host = "127.0.0.1"\n'
                    f'smtp_port = {port}\non = "failure"\n')
        svc = services(env)
        assert len(env.jobs()) == 2
        assert svc.stop() == 0
        time.sleep(max(0.0, 14 - 2.5))   # both due times pass while the service is down
        svc = services(env)
        sets = wait_for(env.sets, 15)
        assert len(sets) == 1, env.log_text()
        assert wait_for(lambda: inbox, 10), env.log_text()
        log = env.log_text()
        assert "missed: the full backup due at" in log and "(task 'too late')" in log
        assert "(late but ok) due at" in log and "s late (within grace_time 6 s)" in log
        assert len(inbox) == 1 and "Subject: [workbench] MISSED: full backup" in inbox[0]
        time.sleep(1)
        assert len(env.sets()) == 1
        assert svc.stop() == 0
    finally:
        smtp.stop()


@pytest.mark.slow
def test_disabled_runs_nothing(tmp_path, store, services):
    env = Env(tmp_path, store, [{"days": "daily", "time": due_in(3), "kind": "full"}],
              enabled=False)
    svc = services(env)
    assert wait_for(lambda: "backups are disabled" in env.log_text(), 5)
    assert env.jobs() == {}
    time.sleep(4.5)
    assert env.sets() == []
    out = cli("schedule", "list", "--config", env.config).stdout
    assert out.startswith("backups: disabled; time zone Asia/Kolkata; scheduler: running (pid ")
    assert svc.stop() == 0


@pytest.mark.slow
def test_default_schedule_for_enabled_empty_schedule(tmp_path, store, services):
    env = Env(tmp_path, store, [], default_time="03:30")
    svc = services(env)
    # The service logs that it started before it installs the schedule: wait for both steps.
    assert wait_for(lambda: "installed the default schedule" in env.log_text(), 10)
    assert wait_for(lambda: len(env.jobs()) == 2, 10)
    rows = [json.loads(x) for x in cli("schedule", "list", "--json", "--config",
                                       env.config).stdout.splitlines()]
    assert [(r["kind"], r["days"], r["time"], r["source"]) for r in rows] == [
        ("full", "sun", "03:30", "job store"),
        ("differential", "mon,tue,wed,thu,fri,sat", "03:30", "job store")]
    assert datetime.fromisoformat(rows[0]["next_run"]).weekday() == 6
    assert len(env.jobs()) == 2
    assert svc.stop() == 0


# --- Start now -----------------------------------------------------------------------------------

def test_start_now_status_idle_running_finished_and_failed(tmp_path, store):
    env = Env(tmp_path, store)
    assert workbench.copy_status(env.config).state == "idle"
    release, seen = threading.Event(), []

    def progress(p):   # holds the copy at its first progress event until the test has looked
        if not seen:
            seen.append(p)
            release.wait(20)

    job = workbench.start_copy(env.config, progress=progress)
    assert wait_for(lambda: seen, 10)
    st = workbench.copy_status(env.config)
    assert st.state == "running" and st.kind == "C" and st.trigger == "start-now"
    assert st.files_total > 0 and st.bytes_total > 0
    # another process sees it too
    other = json.loads(cli("status", "--json", "--config", env.config).stdout)
    assert other["state"] == "running" and other["pid"] == os.getpid()
    release.set()
    result = job.wait(30)
    st = workbench.copy_status(env.config)
    assert st.state == "finished" and st.result["set"] == result.set_name
    assert result.set_name.startswith("C") and env.sets() == [result.set_name]
    assert st.files_done == st.files_total and st.bytes_done == st.bytes_total
    assert cli("status", "--config", env.config).stdout.startswith(
        f"finished: {result.set_name} (copy)")

    # a target that cannot be used: failed, with the error
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    job = workbench.start_copy(env.config, target=str(blocker / "bk"))
    with pytest.raises(workbench.TargetError) as e:
        job.wait(30)
    st = workbench.copy_status(env.config)
    assert st.state == "failed" and st.error == str(e.value)
    assert st.error_class == type(e.value).__name__
    out = cli("status", "--config", env.config).stdout
    assert out.startswith("failed: copy backup at ") and str(e.value) in out


# --- debug log -----------------------------------------------------------------------------------

def test_debug_switch_turns_backup_debug_lines_on_and_off(tmp_path, store):
    env = Env(tmp_path, store)
    assert "debug messages: off" in cli("log", "debug", "--config", env.config).stdout
    cli("backup", "full", "--config", env.config)
    assert " DEBUG " not in env.log_text() and " workbench.backup INFO backup F" in env.log_text()

    assert "debug messages: on" in cli("log", "debug", "on", "--config", env.config).stdout
    p = cli("backup", "differential", "--config", env.config)
    assert "DEBUG" not in p.stderr   # the console stays as quiet as before
    debug = [x for x in env.log_text().splitlines() if " workbench.backup DEBUG " in x]
    assert any("run requested: kind D" in x for x in debug)
    assert any("progress: " in x for x in debug)

    cli("log", "debug", "off", "--config", env.config)
    before = env.log_text()
    cli("backup", "full", "--config", env.config)
    after = env.log_text()
    added = after[len(before):]
    assert " workbench.backup INFO backup F" in added and " DEBUG " not in added


def test_log_rotates_by_size(tmp_path, store):
    env = Env(tmp_path, store, log_max_size=4096)
    workbench.set_enabled(True, config_path=env.config)
    cli("log", "debug", "on", "--config", env.config)
    from workbench.service.runner import run_backup
    for _ in range(5):
        run_backup("full", config=env.config)
    names = sorted(os.listdir(env.state))
    assert "workbench.log" in names and "workbench.log.1" in names
    assert os.path.getsize(env.log) <= 4096 + 1024
