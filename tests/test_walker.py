"""The store walk in a process of its own: the runs and errors of the walk in this process."""

import os

import pytest

from workbench import walker
from workbench.errors import StoreNotFound
from workbench.store import walk_store_runs

from helpers import make_store


def _store_with_oddities(tmp_path):
    store = make_store(tmp_path / "server", messages=300, seed=4)
    mail = os.path.join(store, "store", "mail")
    os.makedirs(os.path.join(mail, "old-target"))
    open(os.path.join(mail, "old-target", "F20260101T000000Z.zip"), "wb").close()
    os.symlink("/etc/passwd", os.path.join(mail, "link.eml"))
    os.makedirs(os.path.join(mail, "excluded"))
    open(os.path.join(mail, "excluded", "x"), "wb").close()
    open(os.fsdecode(os.path.join(os.fsencode(mail), b"bad-\xff.eml")), "wb").close()
    return store, [os.path.join(mail, "excluded"), "", os.path.join(mail, "absent")]


def _walk(fn, store, exclude):
    events = []
    for run in fn(store, exclude=exclude, on_error=lambda p, m: events.append(("error", p, m))):
        events.append(("run", run.directory, run.kind, run.domain, run.user, run.folder,
                       run.names, run.sizes, run.mtimes, run.modes))
    return events


def test_the_walk_apart_gives_the_runs_and_errors_of_the_walk_here_in_order(tmp_path,
                                                                            monkeypatch):
    store, exclude = _store_with_oddities(tmp_path)
    monkeypatch.setattr(walker, "_BATCH_FILES", 50)  # several batches
    here = _walk(walk_store_runs, store, exclude)
    apart = _walk(walker.walk_store_runs_apart, store, exclude)
    assert apart == here
    errors = [e[1:] for e in here if e[0] == "error"]
    assert ("store/mail/link.eml", "skipped: symbolic link") in errors
    assert ("store/mail/old-target", "skipped: holds backup volumes") in errors
    assert any(p.startswith("store/mail/bad-") for p, _ in errors)
    assert not [e for e in here if e[0] == "run" and "excluded" in e[1]]
    assert sum(len(e[6]) for e in here if e[0] == "run") > 300


def test_a_missing_store_is_refused_before_any_process_starts(tmp_path, monkeypatch):
    monkeypatch.setattr(walker.subprocess, "Popen", None)  # would fail if called
    with pytest.raises(StoreNotFound, match="does not exist"):
        walker.walk_store_runs_apart(str(tmp_path / "nope"))
    with pytest.raises(StoreNotFound, match="neither store/ nor mailserver.cfg"):
        walker.walk_store_runs_apart(str(tmp_path))


def test_a_walk_process_that_dies_is_an_error_not_a_short_walk(tmp_path, monkeypatch):
    store = make_store(tmp_path / "server", messages=5, seed=1)
    monkeypatch.setattr(walker, "_CHILD", "import sys; sys.exit(3)")
    with pytest.raises(RuntimeError, match=r"died \(exit status 3\)"):
        list(walker.walk_store_runs_apart(store))


def test_what_the_walk_raises_is_raised_here(tmp_path, monkeypatch):
    store = make_store(tmp_path / "server", messages=5, seed=1)
    # The child imports this module afresh: make its walk raise there.
    monkeypatch.setattr(walker, "_CHILD", walker._CHILD.replace(
        "from workbench.walker import serve\n",
        "from workbench.walker import serve\nimport workbench.walker as w\n"
        "def bad(*a):\n    yield from ()\n    raise PermissionError(13, 'no way')\n"
        "w._walk_runs = bad\n"))
    with pytest.raises(PermissionError, match="no way"):
        list(walker.walk_store_runs_apart(store))


def test_stopping_early_ends_the_walk_process(tmp_path, monkeypatch):
    store = make_store(tmp_path / "server", messages=300, seed=1)
    started = []
    popen = walker.subprocess.Popen

    def record(*args, **kwargs):
        started.append(popen(*args, **kwargs))
        return started[-1]

    monkeypatch.setattr(walker.subprocess, "Popen", record)
    runs = walker.walk_store_runs_apart(store)
    next(runs)
    runs.close()
    assert started[0].returncode is not None  # waited for: no process left behind


def test_a_walk_process_whose_output_is_garbage_is_stopped_and_an_error(tmp_path, monkeypatch):
    # A child that writes what is no pickle and then waits (here: for ever) must not hang the
    # backup in waiting for its exit.
    import threading
    store = make_store(tmp_path / "server", messages=5, seed=1)
    monkeypatch.setattr(walker, "_CHILD", "import sys, time\nsys.stdout.buffer.write(b'>no')\n"
                                          "sys.stdout.flush()\ntime.sleep(3600)\n")
    outcome = []

    def walk():
        try:
            list(walker.walk_store_runs_apart(store))
        except Exception as e:
            outcome.append(e)

    walking = threading.Thread(target=walk, daemon=True)
    walking.start()
    walking.join(60)
    assert not walking.is_alive(), "the walk never ended"
    [error] = outcome
    assert type(error) is RuntimeError
    assert "could not be read" in str(error) and "invalid load key" in str(error)
