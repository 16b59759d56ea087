"""Exit codes and errors a script can trust: the README's table lists every code and each is
reached by a test; a refusal or failure with --json is one JSON object; each error is printed
once; a closed pipe and a killed run end quietly; sizes in messages are for people, bytes in
--json."""

import json
import os
import re
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

import workbench
from workbench import cli, errors
from workbench.cli import main

from helpers import make_store

ROOT = Path(__file__).resolve().parent.parent
# The exit codes no error class carries, by the names the README's table gives them.
OWN_CODES = {0: "", 1: "UnexpectedError", 130: "Interrupted", 141: "", 143: "Terminated"}
# Codes no command exits with: reserved in the table (a damaged sealed manifest or index makes its
# set damaged, or is replaced by the manifest, as a plain one is).
RESERVED = {"SealedFileDamaged"}


def error_classes():
    return [c for c in vars(errors).values()
            if isinstance(c, type) and issubclass(c, errors.WorkbenchError)]


def readme_table():
    """``{code text: (error names, when)}`` of the README's exit status table."""
    text = (ROOT / "README.md").read_text()
    table = text[text.index("### Exit status"):]
    rows = {}
    for line in table.splitlines()[1:]:
        if line.startswith("#"):
            break
        m = re.match(r"\| (\d+(?:–\d+)?) \|([^|]*)\| (.*) \|$", line)
        if m:
            rows[m.group(1)] = (m.group(2).strip(), m.group(3))
    return rows


def test_the_readme_table_lists_every_exit_code():
    rows = readme_table()
    want = {str(c.exit_code): c.__name__ for c in error_classes() if c.__name__ not in RESERVED}
    want.update({str(k): v for k, v in OWN_CODES.items()})
    reserved = {c.exit_code: c.__name__ for c in error_classes() if c.__name__ in RESERVED}
    row = (str(min(reserved)) if len(reserved) == 1 else f"{min(reserved)}–{max(reserved)}")
    assert {k: v for k, (v, _) in rows.items() if k != row} == want
    names, _ = rows[row]
    assert names.split(", ") == [reserved[k] for k in sorted(reserved)]
    assert sorted(reserved) == list(range(min(reserved), max(reserved) + 1))
    assert (cli.EXIT_UNEXPECTED, cli.EXIT_INTERRUPTED, cli.EXIT_PIPE, cli.EXIT_TERMINATED) == (
        1, 130, 141, 143)


def test_every_exit_code_is_reached_by_a_test():
    """Each class's code is asserted somewhere as ``<Class>.exit_code`` (this file reaches
    those no other test does); the reserved ones are not reachable from any command."""
    sources = "\n".join(p.read_text() for p in (ROOT / "tests").glob("test_*.py")
                        if p.name != Path(__file__).name)
    mine = Path(__file__).read_text().split("def test_every_exit_code_is_reached_by_a_test")[-1]
    missing = [c.__name__ for c in error_classes() if c.__name__ not in RESERVED
               and f"{c.__name__}.exit_code" not in sources + mine]
    assert missing == []


# --- codes no other test reaches -----------------------------------------------------------------

@pytest.fixture
def backed_up(tmp_path):
    store = make_store(tmp_path / "server", messages=60, seed=2)
    bk = tmp_path / "bk"
    r = workbench.backup("full", store=store, target=str(bk), min_free=0, volume_size="128KiB")
    return store, bk, r


def test_1_an_unexpected_error_is_one_line(monkeypatch, capsys, tmp_path):
    from workbench.cli import backup as cli_backup

    def broken(args):
        raise RuntimeError("a bug")
    monkeypatch.setattr(cli_backup, "cmd_sets", broken)
    assert main(["sets", "--target", str(tmp_path)]) == errors.WorkbenchError.exit_code - 1
    err = capsys.readouterr().err
    assert err == "workbench: unexpected error: RuntimeError: a bug; run with -v for the details\n"
    assert main(["sets", "--target", str(tmp_path), "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert (out["error"], out["code"]) == ("UnexpectedError", 1)


def test_2_a_bad_argument(tmp_path, capsys):
    assert main(["verify", "--target", str(tmp_path), "--level", "most"]) == \
        errors.WorkbenchError.exit_code == 2
    with pytest.raises(SystemExit) as e:  # argparse's usage errors are 2 as well
        main(["backup", "full", "--no-such-flag"])
    assert e.value.code == 2
    assert main(["backup", "copy", "--scheduled", "--target", str(tmp_path)]) == 2


def test_11_no_store(tmp_path):
    assert main(["backup", "full", "--store", str(tmp_path / "none"), "--target",
                 str(tmp_path / "bk"), "--min-free", "0", "-q"]) == \
        errors.StoreNotFound.exit_code == 11


def test_17_an_incomplete_set(backed_up, tmp_path, capsys):
    store, bk, r = backed_up
    for name in (f"{r.set_name}.manifest.json.gz", f"{r.set_name}.index.sqlite", r.volumes[-1]):
        os.remove(bk / name)
    assert main(["restore", r.set_name, "--target", str(bk), "--to", str(tmp_path / "o")]) == \
        errors.IncompleteSet.exit_code == 17
    assert "incomplete" in capsys.readouterr().err


def test_18_a_volume_that_cannot_be_read(backed_up, tmp_path, capsys):
    store, bk, r = backed_up
    kerio = tmp_path / "kerio"
    kerio.mkdir()
    name = "F20261101T010000Z"
    with zipfile.ZipFile(kerio / f"{name}.zip", "w") as z:
        z.writestr("store/mail/example.com/jane/INBOX/#msgs/00000001.eml", b"x")
    (kerio / f"{name}.1.zip").write_bytes(b"PK\x03\x04 truncated")
    assert main(["ls", name, "--target", str(kerio)]) == errors.CorruptVolume.exit_code == 18
    assert f"{name}.1.zip" in capsys.readouterr().err
    # One file asked for, in a volume that is gone: its own error, not "some entries failed".
    doc = workbench.list_sets(workbench.open_target(str(bk)))[0].manifest
    from workbench.archive import manifest as mf
    victim = next(e for e in mf.from_columns(doc["entries"]) if e.volume == 1)
    os.remove(bk / r.volumes[1])
    assert main(["restore", r.set_name, "--target", str(bk), "--path", victim.path, "--to",
                 str(tmp_path / "one")]) == 18
    assert f"volume 1 of set {r.set_name} is missing" in capsys.readouterr().err


def test_19_a_name_that_leaves_the_destination(backed_up, tmp_path, capsys):
    store, bk, r = backed_up
    live = tmp_path / "live"
    import shutil
    shutil.copytree(store, live)
    before = sorted(p for p in tmp_path.rglob("*") if "evil" in p.name)
    for flags in (["--to-folder", "../../../evil"], ["--to-user", "../evil"]):
        assert main(["restore", "--target", str(bk), "--into-live", "--to", str(live), "-d",
                     "example.com", *flags]) == errors.UnsafePath.exit_code == 19
        assert "would put messages outside the mailbox" in capsys.readouterr().err
    assert sorted(p for p in tmp_path.rglob("*") if "evil" in p.name) == before


def test_24_an_unsupported_set_is_refused_by_name():
    # reached in test_kerio_sets (a spanned Info-ZIP archive): here only its code
    assert errors.UnsupportedSet.exit_code == 24


def test_41_a_scheduled_run_while_backups_are_off(backed_up, tmp_path, capsys):
    store, bk, r = backed_up
    config = tmp_path / "wb.toml"
    config.write_text(f"store = {str(store)!r}\ntarget = {str(bk)!r}\nmin_free = 0\n"
                      f"enabled = false\nlow_priority = false\n"
                      f"schedule_db = {str(tmp_path / 'state' / 'schedule.db')!r}\n")
    assert main(["backup", "full", "--config", str(config), "--scheduled", "-q"]) == \
        errors.BackupsDisabled.exit_code == 41
    assert "backups are turned off" in capsys.readouterr().err
    assert [str(s.name) for s in workbench.list_sets(workbench.open_target(str(bk)))] == [
        r.set_name]
    # a manual run is not a scheduled one
    assert main(["backup", "full", "--config", str(config), "-q"]) == 0


def test_42_the_test_mail_cannot_be_sent(tmp_path, capsys):
    from smtp import free_port
    config = tmp_path / "wb.toml"
    config.write_text(f"[notify]\nto = [\"admin@example.com\"]\nsmtp_host = \"127.0.0.1\"\n"
                      f"smtp_port = {free_port()}\ntimeout = 2\n")
    assert main(["notify", "test", "--config", str(config)]) == errors.NotifyFailed.exit_code == 42


def test_50_a_wrong_selection(backed_up, tmp_path):
    store, bk, r = backed_up
    assert main(["restore", "--target", str(bk), "--to", str(tmp_path / "o"), "--to-user",
                 "jane"]) == errors.SelectionError.exit_code == 50


# --- JSON errors, each error once, sizes for people ------------------------------------------------

def test_a_refusal_with_json_is_one_json_object_with_the_bytes(tmp_path, capsys):
    store = make_store(tmp_path / "server", messages=5)
    state = tmp_path / "state" / "schedule.db"
    config = tmp_path / "wb.toml"
    config.write_text(f"schedule_db = {str(state)!r}\n")
    args = ["backup", "full", "--config", str(config), "--store", store, "--target",
            str(tmp_path / "bk"), "--min-free", "1000TiB", "-q"]
    assert main(args + ["--json"]) == errors.NotEnoughSpace.exit_code
    out, err = capsys.readouterr()
    error = json.loads(out)  # one object, nothing else on stdout
    assert set(error) == {"error", "code", "message", "details"}
    assert (error["error"], error["code"]) == ("NotEnoughSpace", 14)
    assert error["details"]["required"] == 1000 * 1024**4 and error["details"]["free"] > 0
    assert "1000.0 TiB required" in error["message"] and " bytes" not in error["message"]
    assert err == ""  # told once: in the JSON
    # Without --json: one line on stderr, the sizes for people.
    assert main(args) == 14
    out, err = capsys.readouterr()
    assert out == "" and err.count("not enough free space") == 1, err
    assert err.startswith("workbench: error: not enough free space on ")
    for argv in (["sets", "--target", str(tmp_path / "missing"), "--json"],
                 ["ls", "F20260101T000000Z", "--target", str(tmp_path / "bk2"), "--json"]):
        code = main(argv)
        error = json.loads(capsys.readouterr().out)
        assert code == error["code"] != 0 and error["message"]


def test_a_failed_backup_is_told_once(tmp_path):
    # A subprocess: the console log handler is the one a user sees.
    store = make_store(tmp_path / "server", messages=5)
    state = tmp_path / "state" / "schedule.db"
    config = tmp_path / "wb.toml"
    config.write_text(f"schedule_db = {str(state)!r}\n")
    p = subprocess.run([sys.executable, "-m", "workbench", "backup", "full", "--config",
                        str(config), "--store", store, "--target", str(tmp_path / "bk"),
                        "--min-free", "1000TiB", "-q"], capture_output=True, text=True,
                       env={**os.environ, "WORKBENCH_CONFIG": ""})
    assert p.returncode == 14
    assert p.stderr.count("not enough free space") == 1, p.stderr


# --- a closed pipe, a killed run -------------------------------------------------------------------

def _python(*code_lines):
    return [sys.executable, "-c", "\n".join(code_lines)]


def test_a_closed_pipe_ends_quietly(tmp_path):
    # More listing than a pipe holds (64 KiB): the writer meets the closed pipe for certain.
    store = make_store(tmp_path / "server", messages=1500, seed=2)
    bk = tmp_path / "bk"
    r = workbench.backup("full", store=store, target=str(bk), min_free=0)
    for args in (["ls", r.set_name, "--target", str(bk)],
                 ["restore", "-l", "--target", str(bk)]):
        p = subprocess.Popen([sys.executable, "-m", "workbench", *args], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env={**os.environ, "WORKBENCH_CONFIG": ""})
        assert p.stdout.readline()  # `| head -1`
        p.stdout.close()
        err = p.stderr.read().decode()
        assert p.wait() == cli.EXIT_PIPE == 141, err
        assert "Traceback" not in err and "BrokenPipe" not in err, err


def _children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return f.read().split()
    except OSError:
        return []


@pytest.mark.parametrize("how", ["SIGINT to the group", "SIGTERM"])
def test_a_killed_run_and_its_workers_end_without_tracebacks(tmp_path, how):
    store = make_store(tmp_path / "server", messages=1500, seed=3)
    bk = tmp_path / "bk"
    earlier = workbench.backup("full", store=store, target=str(bk), min_free=0)
    before = {p.name: p.read_bytes() for p in bk.iterdir()}
    # A large file that does not compress keeps the run going for seconds while the worker
    # processes (as a large store gets them) are alive: the signal comes mid-run.
    with open(os.path.join(store, "store", "big.bin"), "wb") as f:
        for _ in range(96):
            f.write(os.urandom(1 << 20))
    run = _python(
        "import sys",
        "import workbench.archive.pack as pack",
        "pack._PROCESS_MIN_FILES = 0",
        "from workbench.cli import main",
        f"sys.exit(main(['backup', 'full', '--store', {store!r}, '--target', {str(bk)!r},"
        " '--min-free', '0', '-q']))")
    p = subprocess.Popen(run, stderr=subprocess.PIPE, text=True, start_new_session=True,
                         env={**os.environ, "WORKBENCH_CONFIG": "",
                              "XDG_STATE_HOME": str(tmp_path / "state")})
    deadline = time.monotonic() + 60
    while len(_children(p.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(_children(p.pid)) >= 2, "no workers started"
    time.sleep(0.3)
    if how == "SIGTERM":
        p.send_signal(signal.SIGTERM)
    else:  # Ctrl-C: the terminal signals the whole process group
        os.killpg(p.pid, signal.SIGINT)
    err = p.stderr.read()
    code = p.wait(60)
    assert code == (143 if how == "SIGTERM" else 130), err
    assert "Traceback" not in err and "Error" not in err, err
    assert err.count("workbench: ") == 1
    after = {p.name: p.read_bytes() for p in bk.iterdir()}
    assert after == before  # the earlier set untouched, nothing of the stopped run left
    assert workbench.list_sets(workbench.open_target(str(bk)))[0].status == "complete"
    assert str(workbench.list_sets(workbench.open_target(str(bk)))[0].name) == earlier.set_name
