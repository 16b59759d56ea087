"""Backup tasks (days, time, kind, description) and the validators of the scheduler's config keys.

A task is one line of the manual's backup schedule: a full or differential backup on every day or on
some weekdays, at a time of day in the configured ``timezone``. The tasks live in the TOML config as
``[[schedule]]`` tables; ``add_task``, ``edit_task`` and ``remove_task`` rewrite those tables in the
config file (everything else in the file, comments included, is kept), and a running scheduler
service picks the change up within a few seconds.

This module is pure (no APScheduler): the config loader uses its validators.
"""

import os
import re
from dataclasses import dataclass

from .errors import ConfigError
from .naming import kind_name

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
TASK_KINDS = ("full", "differential")
_LONG_DAYS = {d: d[:3] for d in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                                  "sunday")}
_TIME_RE = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")
_DURATION_RE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d)?\s*", re.I)
_DURATION_UNITS = {None: 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}
_TASK_KEYS = ("description", "days", "time", "kind")


@dataclass(frozen=True)
class Task:
    """One scheduled backup.

    Attributes
    ----------
    days : tuple of str
        Weekday names (``"mon"`` ... ``"sun"``) in week order; all seven means every day.
    time : str
        ``"HH:MM"`` (or ``"HH:MM:SS"``) in the config's ``timezone``.
    kind : {"full", "differential"}
    description : str
    """

    days: tuple
    time: str
    kind: str
    description: str = ""

    @property
    def daily(self):
        return len(self.days) == 7

    @property
    def days_text(self):
        """``"daily"`` or the days joined by commas, as the CLI shows them."""
        return "daily" if self.daily else ",".join(self.days)

    @property
    def hms(self):
        """(hour, minute, second) of the task's time."""
        parts = [int(x) for x in self.time.split(":")]
        return parts[0], parts[1], parts[2] if len(parts) == 3 else 0

    def as_dict(self):
        """The task as a ``[[schedule]]`` table (``days`` is ``"daily"`` or a list)."""
        d = {"days": "daily" if self.daily else list(self.days), "time": self.time,
             "kind": self.kind}
        if self.description:
            d = {"description": self.description, **d}
        return d


def parse_days(value, key="days"):
    """Weekday names in week order from ``"daily"``, ``["mon", "wed"]`` or ``"mon,wed"``."""
    original = value
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("daily", "every day", "*"):
            return WEEKDAYS
        value = [x for x in re.split(r"[,\s]+", text) if x]
    if not isinstance(value, (list, tuple)) or not value:
        raise ConfigError(key, value, 'expected "daily" or a list of weekdays such as ["mon", "wed"]')
    days = set()
    for item in value:
        name = str(item).strip().lower() if isinstance(item, str) else None
        name = _LONG_DAYS.get(name, name)
        if name == "daily":
            return WEEKDAYS
        if name not in WEEKDAYS:
            raise ConfigError(key, original, f"unknown weekday {item!r}; use "
                              + ", ".join(WEEKDAYS) + ' or "daily"')
        days.add(name)
    return tuple(d for d in WEEKDAYS if d in days)


def parse_time(value, key="time"):
    """``"HH:MM"`` (24-hour; ``"HH:MM:SS"`` also accepted), normalised to two-digit fields."""
    m = _TIME_RE.fullmatch(value.strip()) if isinstance(value, str) else None
    if not m:
        raise ConfigError(key, value, 'expected a time of day such as "01:30" (24-hour HH:MM)')
    h, mi = int(m.group(1)), int(m.group(2))
    s = m.group(3)
    if h > 23 or mi > 59 or (s is not None and int(s) > 59):
        raise ConfigError(key, value, "hours must be 00-23 and minutes 00-59")
    return f"{h:02d}:{mi:02d}" + (f":{int(s):02d}" if s is not None and int(s) else "")


def parse_kind(value, key="kind"):
    """``"full"`` or ``"differential"`` (``"F"`` and ``"D"`` are accepted too)."""
    text = value.strip().lower() if isinstance(value, str) else None
    text = "differential" if text == "diff" else kind_name(text)
    if text not in TASK_KINDS:
        raise ConfigError(key, value, 'expected "full" or "differential"')
    return text


def make_task(days="daily", time=None, kind=None, description="", key_prefix=""):
    """A validated Task; a bad field raises ConfigError naming it (``days``, ``time``, ``kind``)."""
    if time is None:
        raise ConfigError(key_prefix + "time", None, 'a task needs a time such as "01:30"')
    if kind is None:
        raise ConfigError(key_prefix + "kind", None, 'a task needs a kind: "full" or "differential"')
    if description is None:
        description = ""
    if not isinstance(description, str):
        raise ConfigError(key_prefix + "description", description, "expected text")
    return Task(parse_days(days, key_prefix + "days"), parse_time(time, key_prefix + "time"),
                parse_kind(kind, key_prefix + "kind"), description.strip())


def check_schedule(key, value):
    """Validator of the ``[[schedule]]`` tables: a tuple of Task; errors name ``schedule[N].field``."""
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise ConfigError(key, value, "expected [[schedule]] tables")
    tasks = []
    for i, row in enumerate(value, 1):
        prefix = f"{key}[{i}]."
        if isinstance(row, Task):
            tasks.append(row)
            continue
        if not isinstance(row, dict):
            raise ConfigError(f"{key}[{i}]", row, "expected a table with days, time and kind")
        for k in row:
            if k not in _TASK_KEYS:
                raise ConfigError(prefix + k, row[k], "unknown key; known keys: "
                                  + ", ".join(_TASK_KEYS))
        tasks.append(make_task(row.get("days", "daily"), row.get("time"), row.get("kind"),
                               row.get("description", ""), prefix))
    return tuple(tasks)


def check_timezone(key, value):
    """An IANA time zone name such as ``"Europe/Prague"`` (checked against the zone database)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(key, value, 'expected a time zone name such as "Europe/Prague"')
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(key, value, 'unknown time zone; use a name such as "Europe/Prague" or '
                          '"UTC"') from None
    return value


def check_time(key, value):
    return parse_time(value, key)


def check_duration(key, value):
    """Seconds from a number or ``"90s"``, ``"30m"``, ``"2h"``, ``"1d"``."""
    if isinstance(value, bool):
        raise ConfigError(key, value, 'expected seconds or a duration such as "30m" or "2h"')
    if isinstance(value, (int, float)):
        seconds = value
    else:
        m = _DURATION_RE.fullmatch(str(value))
        if not m:
            raise ConfigError(key, value, 'expected seconds or a duration such as "30m" or "2h"')
        unit = m.group(2).lower() if m.group(2) else None
        seconds = float(m.group(1)) * _DURATION_UNITS[unit]
    if seconds < 1:
        raise ConfigError(key, value, "must be at least 1 second")
    return int(seconds)


def check_command(key, value):
    if not isinstance(value, str):
        raise ConfigError(key, value, "expected a shell command line")
    return value.strip() or None


def default_tasks(default_time="01:00"):
    """The manual's default schedule: full on Sunday, differential on the other days."""
    return (Task(("sun",), default_time, "full", "default: full backup on Sunday"),
            Task(WEEKDAYS[:6], default_time, "differential",
                 "default: differential backup Monday to Saturday"))


# --- editing the tasks in the config file --------------------------------------------------------

def config_file(config_path=None):
    """The config file that holds the schedule: *config_path* or ``$WORKBENCH_CONFIG``."""
    path = config_path or os.environ.get("WORKBENCH_CONFIG")
    if not path:
        raise ConfigError("--config", None, "the schedule is kept in the config file: pass "
                          "--config FILE or set WORKBENCH_CONFIG")
    return str(path)


def list_tasks(config_path=None):
    """The tasks of the config file, in order (``schedule list`` numbers them from 1)."""
    from .config import load_config
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
    from .notify import check_addresses
    clean = check_addresses("notify.to", addresses)
    configedit.set_key(config_file(config_path), "notify", "to", list(clean))


__all__ = ["Task", "WEEKDAYS", "TASK_KINDS", "make_task", "parse_days", "parse_time", "parse_kind",
           "default_tasks", "list_tasks", "add_task", "edit_task", "remove_task", "set_tasks",
           "set_enabled", "set_notify_to"]
