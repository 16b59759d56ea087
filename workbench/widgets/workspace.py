"""Where a notebook works: a real target (and config) given by its parameters cell, or a demo;
for the fleet notebook, a fleet file or targets, or a demo fleet (:func:`demo_fleet`).

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


#: The demo fleet's "now": eight hours after mail1's newest backup, when mail2's is three days
#: old (past the dashboard's 26 hours) and mail3's share is gone.
FLEET_NOW = DEMO_START + timedelta(days=21, hours=8)

_DEMO_FLEET = """\
# Demo fleet written by workbench.widgets.demo_fleet(); paths are relative to this file.
min_free = "1MiB"

[[server]]
name = "mail1"
target = "mail1/backups"
keep = 3
capacity = "12MiB"

[[server]]
name = "mail2"
target = "mail2/backups"
keep = 3
capacity = "8MiB"

# A server whose backup share is not mounted: the dashboard lists it among the problems.
[[server]]
name = "mail3"
target = "mail3/backups"
"""


@dataclass(frozen=True)
class FleetWorkspace:
    """What the fleet notebook works on.

    Attributes
    ----------
    fleet : Fleet, list or str
        What the catalog's readers take: a Fleet read from a fleet file, or targets.
    source : str or None
        The fleet file.
    demo : bool
        True for a demo made by :func:`demo_fleet`.
    root : str or None
        The demo's temporary directory.
    now : datetime or None
        The time ages are measured from (the demo's own; None: the current time).
    export_dir : str
        Where the notebook exports the catalog for DuckDB.
    """

    fleet: object
    source: str = None
    demo: bool = False
    root: str = None
    now: datetime = None
    export_dir: str = None

    def describe(self):
        """One line for people: what the notebook works on."""
        if self.demo:
            return (f"demo: a fleet of three servers in {self.root} (two with three weeks of "
                    "sample backups, one whose share is gone; nothing outside this temporary "
                    "directory is touched)")
        what = f"fleet file {self.source}" if self.source else f"targets {self.fleet}"
        return f"{what}; the catalog is exported to {self.export_dir}"


def demo_fleet(root=None, *, progress=None):
    """Make a demo fleet: two sample servers with nightly backups and a fleet file naming them
    and a third server whose backup directory is missing.

    ``mail1`` is the committed sample store with three weeks of nightly backups (as
    :func:`demo_target`); ``mail2`` a generated store whose backups stopped three days before
    :data:`FLEET_NOW`; ``mail3`` has no backup directory.

    Parameters
    ----------
    root : str, optional
        Directory to build in (must not exist or be empty); default: a new temporary directory.
    progress : callable(str), optional
        Called with one line per backup made.

    Returns
    -------
    FleetWorkspace
    """
    from .. import samples
    from ..backup import backup
    from ..catalog import read_fleet
    root = Path(root or tempfile.mkdtemp(prefix="workbench-fleet-"))
    root.mkdir(parents=True, exist_ok=True)
    if any(root.iterdir()):
        raise FileExistsError(f"demo directory {root} is not empty")
    mail1, mail2 = root / "mail1" / "server", root / "mail2" / "server"
    source = sample_dir()
    if source:
        shutil.copytree(source, mail1)
    else:
        samples.build_sample(mail1)
    samples.generate(str(mail2), messages=80, seed=2)
    for server, days, keep in ((mail1, range(22), 3), (mail2, range(2, 19), 3)):
        for day in days:
            when = DEMO_START + timedelta(days=day)
            if day != days[0]:
                samples.mutate(server, seed=day)
            kind = "full" if when.weekday() == 6 or day == days[0] else "differential"
            r = backup(kind, store=str(server), target=str(server.parent / "backups"),
                       keep=keep, differentials="all", min_free=0, now=when)
            if progress:
                progress(f"{server.parent.name} {r.set_name}: {r.files} files")
    fleet_file = root / "fleet.toml"
    fleet_file.write_text(_DEMO_FLEET)
    return FleetWorkspace(fleet=read_fleet(fleet_file), source=str(fleet_file), demo=True,
                          root=str(root), now=FLEET_NOW, export_dir=str(root / "catalog"))


def fleet_workspace(fleet=None, target=None, config=None, out=None, **demo_options):
    """The FleetWorkspace of the fleet notebook's parameters; a demo (:func:`demo_fleet`) when
    none is given.

    Parameters
    ----------
    fleet : str, optional
        A fleet file (catalog.read_fleet).
    target : str or list of str, optional
        Targets instead of a fleet file.
    config : str, optional
        Config file (default ``$WORKBENCH_CONFIG``): the defaults under the fleet file, or
        alone its target.
    out : str, optional
        Export directory (default: a new temporary directory).
    **demo_options
        Passed to :func:`demo_fleet`.
    """
    from ..catalog import read_fleet
    from ..config import load_config
    config = config or os.environ.get("WORKBENCH_CONFIG") or None
    if fleet is None and target is None and config is None:
        return demo_fleet(**demo_options)
    out = out or tempfile.mkdtemp(prefix="workbench-catalog-")
    if fleet is not None:
        return FleetWorkspace(fleet=read_fleet(fleet, config=config), source=os.fspath(fleet),
                              export_dir=str(out))
    if target is None:
        target = load_config(config).target_or_default
    targets = [target] if isinstance(target, (str, os.PathLike)) else list(target)
    return FleetWorkspace(fleet=targets, export_dir=str(out))


__all__ = ["Workspace", "workspace", "demo_target", "sample_dir", "DEMO_START", "FleetWorkspace",
           "demo_fleet", "fleet_workspace", "FLEET_NOW"]
