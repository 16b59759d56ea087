"""Editing the backup schedule (and the switches beside it) in the config file.

A task (workbench.config.Task) is one line of the manual's backup schedule: a full or
differential backup on every day or on some weekdays, at a time of day in the configured
``timezone``. The tasks live in the TOML config as ``[[schedule]]`` tables; ``add_task``,
``edit_task`` and ``remove_task`` rewrite those tables in the config file (everything else in the
file, comments included, is kept, see configedit), and a running scheduler service picks the
change up within a few seconds. No APScheduler here.
"""

import os

from ..config import Task, check_addresses, check_schedule, make_task
from ..errors import ConfigError


def config_file(config_path=None):
    """The config file that holds the schedule: *config_path* or ``$WORKBENCH_CONFIG``."""
    path = config_path or os.environ.get("WORKBENCH_CONFIG")
    if not path:
        raise ConfigError("--config", None, "the schedule is kept in the config file: pass "
                          "--config FILE or set WORKBENCH_CONFIG")
    return str(path)


def list_tasks(config_path=None):
    """The tasks of the config file, in order (``schedule list`` numbers them from 1)."""
    from ..config import load_config
    return list(load_config(config_file(config_path)).schedule)


def _save(tasks, config_path):
    from . import configedit
    path = config_file(config_path)
    if not os.path.exists(path):
        open(path, "a").close()
    configedit.set_tables(path, "schedule", [t.as_dict() for t in tasks])


def add_task(days="daily", time=None, kind="differential", description="", *, config_path=None):
    """Append a task to the schedule in the config file and return it.

    Parameters
    ----------
    days : "daily", list of str or str
        ``"daily"``, ``["mon", "wed"]`` or ``"mon,wed"``.
    time : str
        ``"HH:MM"`` in the config's ``timezone``.
    kind : {"full", "differential"}
    description : str, optional
    config_path : str, optional
        The config file (default ``$WORKBENCH_CONFIG``); a running scheduler picks the change up
        within a few seconds.

    Raises
    ------
    ConfigError
        Naming the bad field (``days``, ``time`` or ``kind``).
    """
    task = make_task(days, time, kind, description)
    tasks = list_tasks(config_path) if os.path.exists(config_file(config_path)) else []
    _save(tasks + [task], config_path)
    return task


def _index(tasks, number):
    if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= len(tasks):
        raise ConfigError("task", number, f"no such task; the schedule has {len(tasks)} "
                          "(numbered from 1, as `workbench schedule list` shows)")
    return number - 1


def edit_task(number, *, days=None, time=None, kind=None, description=None, config_path=None):
    """Change the fields given of task *number* (1-based) and return the new task."""
    tasks = list_tasks(config_path)
    i = _index(tasks, number)
    old = tasks[i]
    tasks[i] = make_task(old.days if days is None else days, old.time if time is None else time,
                         old.kind if kind is None else kind,
                         old.description if description is None else description)
    _save(tasks, config_path)
    return tasks[i]


def remove_task(number, *, config_path=None):
    """Remove task *number* (1-based) from the schedule and return it."""
    tasks = list_tasks(config_path)
    removed = tasks.pop(_index(tasks, number))
    _save(tasks, config_path)
    return removed


def set_tasks(tasks, *, config_path=None):
    """Replace the whole schedule with *tasks* (Task objects or dicts)."""
    clean = check_schedule("schedule", [t if isinstance(t, Task) else dict(t) for t in tasks])
    _save(clean, config_path)
    return list(clean)


def set_enabled(enabled, *, config_path=None):
    """Turn scheduled backups on or off (the config's ``enabled`` key)."""
    from . import configedit
    if not isinstance(enabled, bool):
        raise ConfigError("enabled", enabled, "expected true or false")
    configedit.set_key(config_file(config_path), None, "enabled", enabled)


def set_notify_to(addresses, *, config_path=None):
    """Set the addresses status e-mails go to (``[notify] to``)."""
    from . import configedit
    clean = check_addresses("notify.to", addresses)
    configedit.set_key(config_file(config_path), "notify", "to", list(clean))


__all__ = ["list_tasks", "add_task", "edit_task", "remove_task", "set_tasks",
           "set_enabled", "set_notify_to"]
