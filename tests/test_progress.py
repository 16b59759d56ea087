"""Progress that does not lie: a total and an ETA only when the total is known, never less than the
work left on a store that does not change, and one ETA for the terminal, `status` and the
notebook."""

import io
import os
import sys
from datetime import datetime, timedelta, timezone

import pytest

import workbench
from workbench import progress as progress_module, samples
from workbench.progress import Meter, Progress
from workbench.service.status import BackupStatus, progress_line

from helpers import make_store

T0 = datetime(2026, 11, 1, 1, 0, 0, tzinfo=timezone.utc)


@pytest.fixture
def every_event(monkeypatch):
    """Let every progress event through (no throttle), so the recorder sees all of them."""
    monkeypatch.setattr(progress_module.Throttle, "ready", lambda self, force=False: True)


def _record(kind, store, target, **kw):
    events = []
    r = workbench.backup(kind, store=store, target=str(target), min_free=0,
                         progress=events.append, **kw)
    return r, events


def _claims_hold(r, events):
    """No event claims less work left than there is: its total is at least the true total (what
    was done by the end), and it has an ETA only with a known total."""
    assert events and events[-1].total_known
    assert (events[-1].files_done, events[-1].bytes_done) == (r.stored, r.bytes_in)
    for e in events:
        assert e.files_done <= r.stored and e.bytes_done <= r.bytes_in
        if e.total_known:
            assert e.files_total - e.files_done >= r.stored - e.files_done, e
            assert e.bytes_total - e.bytes_done >= r.bytes_in - e.bytes_done, e
            assert e.files_estimate is None and e.bytes_estimate is None
        else:
            assert e.eta_seconds is None, e
    return events


def test_no_report_claims_less_than_the_work_left(tmp_path, every_event):
    # Above 16 MiB: the walk that feeds the compressors runs only that far ahead of them.
    store = make_store(tmp_path / "server", messages=2000, seed=8)
    bk = tmp_path / "bk"
    r, events = _record("full", store, bk, now=T0)
    _claims_hold(r, events)
    # The store grows: the previous full's size is only a guess, labelled as one.
    samples.mutate(store, seed=3)
    samples.mutate(store, seed=4)
    r2, events2 = _record("full", store, bk, now=T0 + timedelta(days=1))
    _claims_hold(r2, events2)
    guessed = [e for e in events2 if not e.total_known]
    assert all(e.files_estimate in (None, r.stored) for e in guessed)
    r3, events3 = _record("differential", store, bk, now=T0 + timedelta(days=2))
    _claims_hold(r3, events3)


@pytest.fixture
def walks(monkeypatch):
    """The server directory of every store walk started, in order."""
    from workbench import store as store_module
    started = []
    real = store_module._walk_runs

    def counted(*args):
        started.append(args[0])
        yield from real(*args)

    monkeypatch.setattr(store_module, "_walk_runs", counted)
    return started


def _stores_as_unfollowed(r, store, tmp_path):
    """The followed run *r* stored what a run nobody follows stores."""
    plain = workbench.backup("full", store=store, target=str(tmp_path / "plain"), min_free=0,
                             now=T0)
    assert (r.files, r.stored, r.bytes_in) == (plain.files, plain.stored, plain.bytes_in)


def test_a_followed_full_walks_the_store_once_and_knows_its_total_early(tmp_path, walks,
                                                                       every_event):
    # The total used to come from a second walk of the whole store beside the run's own.
    store = make_store(tmp_path / "server", messages=2000, seed=8)
    os.symlink("/etc/passwd", os.path.join(store, "store", "link.eml"))
    r, events = _record("full", store, tmp_path / "bk", now=T0)
    assert walks == [store]
    _claims_hold(r, events)
    known = [i for i, e in enumerate(events) if e.total_known]
    assert known and known[0] < len(events) - 1  # before the last file is stored
    assert events[known[0]].files_total == r.stored
    _stores_as_unfollowed(r, store, tmp_path)


def test_a_walk_too_far_ahead_waits_and_a_second_walk_counts(tmp_path, monkeypatch, walks,
                                                            every_event):
    # What the walk is ahead by is held in memory: a store too big to hold is counted apart.
    backup_module = sys.modules["workbench.backup"]  # workbench.backup is also a function
    store = make_store(tmp_path / "server", messages=2000, seed=8)
    monkeypatch.setattr(backup_module, "_AHEAD_FILES", 50)
    r, events = _record("full", store, tmp_path / "bk", now=T0)
    assert walks == [store, store]
    _claims_hold(r, events)
    known = [e for e in events if e.total_known]
    assert known[0].files_total == r.stored and known[0].files_done < r.stored
    _stores_as_unfollowed(r, store, tmp_path)


def test_what_the_walk_ahead_raises_fails_the_run(tmp_path, monkeypatch):
    from workbench import store as store_module
    store = make_store(tmp_path / "server", messages=50, seed=8)

    def broken(*args):
        yield from ()
        raise PermissionError(13, "no way")

    monkeypatch.setattr(store_module, "_walk_runs", broken)
    with pytest.raises(PermissionError, match="no way"):
        _record("full", store, tmp_path / "bk", now=T0)
    assert not list((tmp_path / "bk").glob("*.zip"))


def test_a_meter_gives_an_eta_only_with_a_known_total(monkeypatch, every_event):
    clock = iter(range(0, 1000, 5))
    monkeypatch.setattr(progress_module.time, "monotonic", lambda: next(clock))
    got = []
    m = Meter(got.append, "backup", 10, 1000, total_known=False)
    m.files_estimate, m.bytes_estimate = 10, 1000
    m.add(1, 100)
    m.total_known = True
    m.add(1, 100)
    unknown, known = got
    assert unknown.eta_seconds is None and unknown.bytes_estimate == 1000
    assert known.eta_seconds is not None and known.bytes_estimate is None
    # 200 of 1000 bytes in the 5 s since the meter began: 800 more take 20 s
    assert known.eta_seconds == 20.0


def test_status_shows_a_total_and_an_eta_only_when_known():
    running = BackupStatus("running", "F", "manual", started="2026-11-01T01:00:00+00:00",
                           files_done=300, files_total=300, bytes_done=3 * 1024**2,
                           bytes_total=3 * 1024**2, total_known=False, files_estimate=1000,
                           bytes_estimate=10 * 1024**2)
    text = str(running)
    assert "300 files, 3.0 MiB so far (total not known yet: the store is being listed; the " \
           "last such backup stored 1000 files, 10.0 MiB (an estimate))" in text
    assert "/" not in text.split("since")[1].split(",")[0] and "left" not in text
    running.total_known, running.files_total, running.bytes_total = True, 1000, 10 * 1024**2
    running.eta_seconds = 42.0
    assert str(running).endswith("300/1000 files, 3.0 MiB of 10.0 MiB, about 42 s left")


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_terminal_status_and_notebook_say_the_same():
    p = Progress("backup", 250, 1000, 25 * 1024**2, 100 * 1024**2, "x", True, 30.0)
    line = progress_line(p)
    assert line == "250/1000 files, 25.0 MiB of 100.0 MiB, about 30 s left"
    # the terminal bar
    from argparse import Namespace
    from workbench.cli.common import progress_bar
    term = _Terminal()
    update, close = progress_bar(Namespace(quiet=False), "full", stream=term)
    update(p)
    close()
    assert line in term.getvalue() and "25%" in term.getvalue()
    # `workbench status`
    st = BackupStatus("running", "F", "manual", started="t", files_done=250, files_total=1000,
                      bytes_done=25 * 1024**2, bytes_total=100 * 1024**2, eta_seconds=30.0)
    assert str(st).endswith(line)
    # the notebook's Start now
    pytest.importorskip("ipywidgets")
    from workbench.widgets import StartNowButton
    button = StartNowButton.__new__(StartNowButton)
    import ipywidgets as w
    button.status, button.bar = w.HTML(), w.FloatProgress(min=0, max=100)
    button._progress(p)
    assert line in button.status.value and button.bar.value == 25.0
    # without a known total: no percentage, no bar, no ETA anywhere
    q = Progress("backup", 250, 250, 25 * 1024**2, 25 * 1024**2, "x", False, None, None, None)
    term = _Terminal()
    update, close = progress_bar(Namespace(quiet=False), "full", stream=term)
    update(q)
    close()
    assert "%" not in term.getvalue() and "left" not in term.getvalue()
    assert "so far" in term.getvalue()
    button.bar.value = 0.0
    button._progress(q)
    assert button.bar.value == 0.0 and "so far" in button.status.value
