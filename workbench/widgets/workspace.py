"""Where a notebook works: a real target (and config) given by its parameters cell, or a demo.

A notebook's tagged ``parameters`` cell sets ``target``, ``store`` and ``config``; left at None
(and no ``$WORKBENCH_CONFIG``), :func:`workspace` makes a demo instead: a copy of the committed
sample server directory in a temporary directory, three weeks of nightly backups of it (a full
every Sunday, a differential on the other days, the store changed by
:func:`workbench.samples.mutate` between runs; rotation keeps three complete backups, so the
storage forecast has the three fulls a week apart it needs), and a config file for the schedule
and notification forms.

This module needs no ipywidgets.
"""

import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

#: The first demo backup runs at this time (a Sunday, the day after the sample's newest mail).
DEMO_START = datetime(2026, 11, 1, 1, 0, tzinfo=timezone.utc)

_DEMO_CONFIG = """\
# Demo configuration written by workbench.widgets.demo_target(); paths are relative to this file.
store = "server"
target = "backups"
keep = {keep}
differentials = "all"
min_free = "0"
timezone = "UTC"
schedule_db = "state/schedule.db"
low_priority = false

[notify]
to = ["admin@example.com"]
smtp_host = "127.0.0.1"
smtp_port = {smtp_port}
timeout = 5

[[schedule]]
description = "weekly full backup"
days = ["sun"]
time = "01:00"
kind = "full"

[[schedule]]
description = "nightly differential"
days = ["mon", "tue", "wed", "thu", "fri", "sat"]
time = "01:00"
kind = "differential"
"""


@dataclass(frozen=True)
class Workspace:
    """What a notebook works on.

    Attributes
    ----------
    target : str
        Backup directory or ``smb://`` URL.
    store : str or None
        The server directory (the live store a restore may write into).
    config : str or None
        Config file (the schedule and the ``[notify]`` settings live there).
    demo : bool
        True when this is a demo made by :func:`demo_target`.
    root : str or None
        The demo's temporary directory.
    keep, min_free : int
        The config's rotation limit and minimum free space.
    capacity : int or None
        Bytes the storage charts assume the backups may use (None: the target's size; the demo
        uses a small disk so that the limits show on the chart).
    """

    target: str
    store: str = None
    config: str = None
    demo: bool = False
    root: str = None
    keep: int = 7
    min_free: int = 4 * 1024**3
    capacity: int = None

    @property
    def restore_dir(self):
        """Where the restore walkthrough writes by default (the demo's ``restored``; else None)."""
        return os.path.join(self.root, "restored") if self.demo else None

    def describe(self):
        """One line for people: what the notebook works on."""
        if self.demo:
            return (f"demo: sample backups in {self.target} (made from a copy of the bundled "
                    "sample store; nothing outside this temporary directory is touched)")
        return f"target {self.target}" + (f", store {self.store}" if self.store else "") + (
            f", config {self.config}" if self.config else "")


def sample_dir():
    """The committed sample server directory ``data/samples/kerio`` of a source checkout, or None
    (an installed package rebuilds it with :func:`workbench.samples.build_sample`)."""
    here = Path(__file__).resolve().parents[2] / "data" / "samples" / "kerio"
    return str(here) if (here / "store").is_dir() else None


def demo_target(root=None, *, days=22, keep=3, capacity=12 * 1024**2, smtp_port=2525,
                progress=None):
    """Make a demo workspace: sample store, *days* nightly backups of it, and a config file.

    Parameters
    ----------
    root : str, optional
        Directory to build in (must not exist or be empty); default: a new temporary directory.
    days : int
        Nightly runs from :data:`DEMO_START`: a full on Sundays, a differential on other days.
    keep : int
        The rotation limit written to the config (the oldest chains are rotated away).
    capacity : int
        The disk size the storage charts assume.
    smtp_port : int
        Port of the SMTP server on 127.0.0.1 the demo's ``[notify]`` table points at.
    progress : callable(str), optional
        Called with one line per backup made.

    Returns
    -------
    Workspace
    """
    from .. import samples
    from ..backup import backup
    from ..config import load_config
    root = Path(root or tempfile.mkdtemp(prefix="workbench-demo-"))
    root.mkdir(parents=True, exist_ok=True)
    if any(root.iterdir()):
        raise FileExistsError(f"demo directory {root} is not empty")
    server = root / "server"
    source = sample_dir()
    if source:
        shutil.copytree(source, server)
    else:
        samples.build_sample(server)
    config = root / "workbench.toml"
    config.write_text(_DEMO_CONFIG.format(keep=int(keep), smtp_port=int(smtp_port)))
    cfg = load_config(str(config))
    for day in range(days):
        when = DEMO_START + timedelta(days=day)
        if day:
            samples.mutate(server, seed=day)
        kind = "full" if when.weekday() == 6 else "differential"
        r = backup(kind, config=cfg, now=when)
        if progress:
            progress(f"{r.set_name}: {r.files} files, {r.bytes_out} bytes")
    return Workspace(target=cfg.target, store=cfg.store, config=str(config), demo=True,
                     root=str(root), keep=cfg.keep, min_free=cfg.min_free, capacity=capacity)


def workspace(target=None, store=None, config=None, **demo_options):
    """The Workspace of a notebook's parameters; a demo (:func:`demo_target`) when none is given.

    Parameters
    ----------
    target, store : str, optional
        Override the config's ``target`` and ``store``.
    config : str, optional
        Config file; default ``$WORKBENCH_CONFIG``.
    **demo_options
        Passed to :func:`demo_target`.
    """
    from ..config import load_config
    config = config or os.environ.get("WORKBENCH_CONFIG") or None
    if target is None and store is None and config is None:
        return demo_target(**demo_options)
    cfg = load_config(config, target=target, store=store)
    return Workspace(target=str(cfg.target_or_default), store=cfg.store,
                     config=os.fspath(config) if config else None, keep=cfg.keep,
                     min_free=cfg.min_free)


__all__ = ["Workspace", "workspace", "demo_target", "sample_dir", "DEMO_START"]
