"""The configuration: every key's type, default and validator, and where state lives.

Keys (all optional): ``store`` (the server directory, holding ``store/``, ``mailserver.cfg`` and
``users.cfg``), ``target`` (default ``<store>/store/backup``), ``volume_size`` (default 2GiB), ``keep``
(complete backups kept: a full with its differentials, default 7), ``keep_copies`` ("Start now"
copies kept, default 3: copies are not counted by ``keep``), ``min_free`` (default 4GiB), ``differentials`` (``latest`` or
``all``), ``oversize`` (``skip`` or ``own-volume``), ``enabled`` (bool), ``compression_level`` (1-9;
unset, each full backup chooses it by measuring a sample of the store: archive.compress.choose_level),
``smb_user_env`` and ``smb_password_env`` (names of the environment variables holding an SMB
target's credentials; the password itself is never a config key, nor part of the ``target`` URL),
``network_timeout`` (seconds one SMB operation may take, retries included, default 60),
``file_mode`` (permissions of the files workbench writes, default ``"0600"``, directories it
creates get the matching search bits; see workbench.modes), ``max_member_size`` (default
64GiB) and ``max_ratio`` (default 200): members that declare more, or inflate more than that many
times their compressed size, are refused before they are inflated (zip bombs),
``lock_stale_after`` (seconds or a duration such as ``"24h"``, default 24 h: when the lock or a
read lease of another host, or a damaged lock file, counts as abandoned), ``encrypt`` (bool,
default false: WinZip AES-256 volumes, sealed manifests and indexes) and ``password_env`` (the
environment variable holding the backup password, default ``WORKBENCH_PASSWORD``; the password
itself is never a config key: see workbench.passwords).
Scheduler, notification and log keys (``timezone``, ``schedule_db``, ``[[schedule]]`` (a
:class:`Task` each), ``[notify]`` (:class:`NotifySettings`), ``after_backup``, ``low_priority``,
``grace_time``, ``default_time``, ``log_file``, ``log_max_size``) are validated here too; see
docs/scheduler.md. ``timezone`` is also the zone of every time typed without one (workbench.times).
Sizes accept ``2GiB``, ``500MB``, ``1.5 GB`` or a plain number of bytes (workbench.sizes).

State (the status record, the log file, the scheduler's job store and switches) lives in the state
directory: :func:`state_dir`, with :func:`schedule_db_path`, :func:`status_path` and
:func:`log_file_path`. This module imports only leaves (errors, modes, secrets, sizes).
"""

import os
import re

from .errors import ConfigError
from .modes import DEFAULT_FILE_MODE, check_file_mode
from .naming import kind_name
from .records import FrozenRecord
from .secrets import has_url_password, mask_url
from .sizes import human_size, parse_size

def _choice(*options):
    def check(key, value):
        if value not in options:
            raise ConfigError(key, value, "expected one of " + ", ".join(map(repr, options)))
        return value
    return check


def _int_range(lo, hi):
    def check(key, value):
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise ConfigError(key, value, f"expected a whole number from {lo} to {hi}")
        return value
    return check


def _boolean(key, value):
    if not isinstance(value, bool):
        raise ConfigError(key, value, "expected true or false")
    return value


def _path(key, value):
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(key, value, "expected a directory path")
    return value


def _target(key, value):
    text = _path(key, value)
    if has_url_password(text):
        # The value is shown masked: this error goes to the terminal, the log and the e-mail.
        raise ConfigError(key, mask_url(text), "a password in the target URL would be stored "
                          "and shown in plain text; remove it and set WORKBENCH_SMB_PASSWORD "
                          "(or the variable smb_password_env names), or store it with keyring")
    return text


def _seconds(lo, hi):
    def check(key, value):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
            raise ConfigError(key, value, f"expected seconds, from {lo} to {hi}")
        return float(value)
    return check


def _env_name(key, value):
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
        raise ConfigError(key, value, "expected the name of an environment variable, such as "
                                      "WORKBENCH_SMB_PASSWORD")
    return value


def _ratio(key, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 1:
        raise ConfigError(key, value, "expected a number of at least 1: the largest declared size "
                                      "/ compressed size accepted (deflate reaches about 1032)")
    return value


def _size_at_least(minimum):
    def check(key, value):
        n = parse_size(key, value)
        if n < minimum:
            raise ConfigError(key, value, f"must be at least {human_size(minimum)} ({minimum} "
                              "bytes)")
        return n
    return check


# --- [[schedule]]: backup tasks ---------------------------------------------------------------

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
TASK_KINDS = ("full", "differential")
_LONG_DAYS = {d: d[:3] for d in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                                  "sunday")}
_TIME_RE = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")
_DURATION_RE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d)?\s*", re.I)
_DURATION_UNITS = {None: 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}
_TASK_KEYS = ("description", "days", "time", "kind")


class Task(FrozenRecord):
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

    _fields = ("days", "time", "kind", "description")

    def __init__(self, days, time, kind, description=""):
        self.__dict__.update(days=days, time=time, kind=kind, description=description)

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


def parse_time_of_day(value, key="time"):
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
    return Task(parse_days(days, key_prefix + "days"), parse_time_of_day(time, key_prefix + "time"),
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
    return parse_time_of_day(value, key)


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


# --- [notify]: the status e-mail --------------------------------------------------------------

SECURITY = ("none", "starttls", "ssl")
_DEFAULT_PORTS = {"none": 25, "starttls": 587, "ssl": 465}
_KEYS = ("to", "on", "smtp_host", "smtp_port", "security", "user", "password_env", "sender",
         "timeout", "ca_file")


class NotifySettings(FrozenRecord):
    """Validated ``[notify]`` settings."""

    _fields = _KEYS

    def __init__(self, to=(), on="all", smtp_host="localhost", smtp_port=None, security="none",
                 user=None, password_env=None, sender=None, timeout=10.0, ca_file=None):
        self.__dict__.update(to=to, on=on, smtp_host=smtp_host, smtp_port=smtp_port,
                             security=security, user=user, password_env=password_env,
                             sender=sender, timeout=timeout, ca_file=ca_file)

    @property
    def port(self):
        return self.smtp_port or _DEFAULT_PORTS[self.security]

    @property
    def from_address(self):
        if self.sender:
            return self.sender
        import socket
        return f"workbench@{socket.gethostname()}"


def check_addresses(key, value):
    """A tuple of e-mail addresses from one address or a list of them."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise ConfigError(key, value, 'expected a list of addresses such as ["admin@example.com"]')
    out = []
    for a in value:
        if not isinstance(a, str) or a.count("@") != 1 or any(c.isspace() for c in a.strip()) \
                or a.strip().startswith("@") or a.strip().endswith("@"):
            raise ConfigError(key, value, f"{a!r} is not an e-mail address")
        out.append(a.strip())
    return tuple(out)


def check_notify(key, value):
    """Validator of the ``[notify]`` table; errors name ``notify.<field>``."""
    if isinstance(value, NotifySettings):
        return value
    if not isinstance(value, dict):
        raise ConfigError(key, value, "expected a [notify] table")
    clean = {}
    for k, v in value.items():
        name = f"{key}.{k}"
        if k == "password":
            raise ConfigError(name, "***", "never put the password in the config: name an "
                              "environment variable with password_env, or store it in the keyring")
        if k not in _KEYS:
            raise ConfigError(name, v, "unknown key; known keys: " + ", ".join(_KEYS))
        if k == "to":
            clean[k] = check_addresses(name, v)
        elif k == "on":
            if v not in ("all", "failure"):
                raise ConfigError(name, v, "expected 'all' or 'failure'")
            clean[k] = v
        elif k == "security":
            if v not in SECURITY:
                raise ConfigError(name, v, "expected one of " + ", ".join(map(repr, SECURITY)))
            clean[k] = v
        elif k == "smtp_port":
            if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 65535:
                raise ConfigError(name, v, "expected a port number from 1 to 65535")
            clean[k] = v
        elif k == "timeout":
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v <= 300:
                raise ConfigError(name, v, "expected seconds, more than 0 and at most 300")
            clean[k] = float(v)
        elif k == "sender":
            clean[k] = check_addresses(name, v)[0]
        elif k == "ca_file":
            if not isinstance(v, str) or not v.strip():
                raise ConfigError(name, v, "expected the path of a PEM file of certificates")
            path = os.path.expanduser(v.strip())
            if not os.path.isfile(path):
                raise ConfigError(name, v, "no such file: name a PEM file of the certificates "
                                           "to trust for TLS (or remove the key to trust the "
                                           "system's)")
            clean[k] = path
        else:
            if not isinstance(v, str) or not v.strip():
                raise ConfigError(name, v, "expected text")
            clean[k] = v.strip()
    return NotifySettings(**clean)


# --- the settings -----------------------------------------------------------------------------

# The settings of the engine (the fields of Config, in this order) with their defaults.
DEFAULTS = {
    "store": None,
    "target": None,
    "volume_size": 2 * 1024**3,
    "keep": 7,                              # complete backups: fulls with their differentials
    "keep_copies": 3,                       # copies ("Start now"), beside the chains
    "min_free": 4 * 1024**3,
    "differentials": "latest",
    "oversize": "skip",
    "enabled": True,
    "compression_level": None,              # None: measured on the store (archive/compress.py)
    "smb_user_env": "WORKBENCH_SMB_USER",
    "smb_password_env": "WORKBENCH_SMB_PASSWORD",
    "network_timeout": 60.0,                # seconds an SMB operation may take, retries included
    # Members declaring more are refused unread: larger than any file a mail server keeps (Kerio's
    # own backups stop at 2 GB a file), yet a bound on what one member of a hostile zip writes.
    "max_member_size": 64 * 1024**3,
    # The largest declared size / compressed size accepted for members over a few MB. Deflate
    # tops out near 1032:1, which only long runs of one byte reach: zero-filled bombs come out at
    # 229:1 (zlib's fast levels) to 1030:1; mail, attachments included, stays far below 100:1.
    "max_ratio": 200,
    "lock_stale_after": 24 * 3600,          # seconds: another host's lock or lease is abandoned
    # scheduler, notifications and logs (docs/scheduler.md)
    "timezone": None,                       # IANA name; None = the machine's zone
    "schedule_db": None,                    # None = $XDG_STATE_HOME/workbench/schedule.db
    "schedule": (),                         # Task, from the [[schedule]] tables
    "notify": None,                         # NotifySettings
    "after_backup": None,                   # shell command run after each successful backup
    "low_priority": True,                   # scheduled runs lower their CPU and I/O priority
    "grace_time": 3600,                     # seconds a missed scheduled run may still start late
    "default_time": "01:00",                # time of the default schedule
    "log_file": None,                       # None = workbench.log beside the schedule db
    "log_max_size": 10 * 1024**2,           # rotate the log file at this size
    "file_mode": DEFAULT_FILE_MODE,         # of volumes, indexes, logs, status (workbench.modes)
    "encrypt": False,                       # AES-256 volumes, sealed manifest and index
    "password_env": "WORKBENCH_PASSWORD",   # where the backup password is (workbench.passwords)
}


class Config(FrozenRecord):
    """Validated settings of the backup engine: ``Config(keep=5)``; every key of
    :data:`DEFAULTS` is an attribute (``Config.keep`` is its default)."""

    _fields = tuple(DEFAULTS)

    def __init__(self, **settings):
        for key in settings:
            if key not in DEFAULTS:
                raise TypeError(f"Config() got an unexpected keyword argument {key!r}")
        self.__dict__.update(DEFAULTS, **settings)

    @property
    def target_options(self):
        """Keyword options for ``open_target`` (credential sources and timeout of SMB targets,
        file modes of local ones, where the password of encrypted sets comes from)."""
        return {"smb_user_env": self.smb_user_env, "smb_password_env": self.smb_password_env,
                "network_timeout": self.network_timeout, "file_mode": self.file_mode,
                "password_env": self.password_env}

    @property
    def target_or_default(self):
        """The target, or the manual's default ``store/backup`` inside the server directory."""
        if self.target:
            return self.target
        if not self.store:
            raise ConfigError("target", None, "no target given and no store to default it from")
        return os.path.join(self.store, "store", "backup")


for _key, _default in DEFAULTS.items():  # Config.keep is the default, as with a dataclass
    setattr(Config, _key, _default)
del _key, _default

# Small volumes are fine for tests, but a volume must hold at least one header and the directory.
_CHECKS = {
    "store": _path,
    "target": _target,
    "volume_size": _size_at_least(64 * 1024),
    "keep": _int_range(1, 100000),
    "keep_copies": _int_range(1, 100000),
    "min_free": lambda k, v: parse_size(k, v, allow_zero=True),
    "differentials": _choice("latest", "all"),
    "oversize": _choice("skip", "own-volume"),
    "enabled": _boolean,
    "compression_level": _int_range(1, 9),
    "smb_user_env": _env_name,
    "smb_password_env": _env_name,
    "network_timeout": _seconds(1, 3600),
    "max_member_size": parse_size,
    "max_ratio": _ratio,
    "lock_stale_after": check_duration,
    "timezone": check_timezone,
    "schedule_db": _path,
    "schedule": check_schedule,
    "notify": check_notify,
    "after_backup": check_command,
    "low_priority": _boolean,
    "grace_time": check_duration,
    "default_time": check_time,
    "log_file": _path,
    "log_max_size": _size_at_least(4096),
    "file_mode": check_file_mode,
    "encrypt": _boolean,
    "password_env": _env_name,
}

# Tables and keys owned by other modules (scheduler, notifications...) register here so that the
# engine's validation does not reject them as unknown.
EXTRA_KEYS = {}


def validate(values, base=None):
    """A Config from *values* (a mapping of key to raw value) over *base*; None values are ignored."""
    known = DEFAULTS.keys()
    clean = {}
    for key, value in values.items():
        if value is None:
            continue
        if key in EXTRA_KEYS:
            continue
        if key == "password":
            raise ConfigError(key, "***", "never put the backup password in the config file, "
                              "where anyone who reads the file has it: set the environment "
                              "variable named by password_env (default WORKBENCH_PASSWORD), or "
                              "store it with `keyring set workbench backup`")
        if key not in known:
            raise ConfigError(key, value, "unknown key; known keys: " + ", ".join(sorted(known)))
        clean[key] = _CHECKS[key](key, value)
    return Config(**{**vars(base or Config()), **clean})


def not_utf8(path, error):
    """The ConfigError for a config file that is not UTF-8 text (TOML files must be)."""
    byte = error.object[error.start]
    return ConfigError("--config", str(path), f"not UTF-8 text (byte 0x{byte:02x} at offset "
                       f"{error.start}); save the file as UTF-8")


def load_config(path=None, **overrides):
    """Read the TOML file *path* (or ``$WORKBENCH_CONFIG``), apply *overrides*, validate.

    Relative ``store``/``target`` paths in the file are taken relative to the file's directory.
    """
    path = path or os.environ.get("WORKBENCH_CONFIG")
    values = {}
    if path:
        try:
            import tomllib  # only when there is a file to read
            from pathlib import Path

            with open(path, "rb") as f:
                values = tomllib.load(f)
        except FileNotFoundError:
            raise ConfigError("--config", str(path), "file not found") from None
        except tomllib.TOMLDecodeError as e:
            raise ConfigError("--config", str(path), f"not valid TOML: {e}") from None
        except UnicodeDecodeError as e:
            raise not_utf8(path, e) from None
        for key in ("store", "target", "schedule_db", "log_file"):
            v = values.get(key)
            if isinstance(v, str) and "://" not in v and not v.startswith("\\\\"):
                values[key] = str(Path(path).parent / Path(v).expanduser())
    config = validate(values)
    return validate(overrides, config)


def as_config(config=None):
    """A Config from a Config, a config file path, or None (``$WORKBENCH_CONFIG`` or defaults)."""
    if isinstance(config, Config):
        return config
    return load_config(os.fspath(config) if config is not None else None)


# --- where state lives ---------------------------------------------------------------------------

STATUS_NAME = "status.json"
LOG_NAME = "workbench.log"


def schedule_db_path(cfg):
    """The scheduler's SQLite job store: ``schedule_db`` or ``$XDG_STATE_HOME/workbench/...``."""
    if cfg.schedule_db:
        return os.path.abspath(os.path.expanduser(cfg.schedule_db))
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local",
                                                           "state")
    return os.path.join(base, "workbench", "schedule.db")


def state_dir(cfg):
    """The directory of the schedule db, which also holds the status, the log and the switches."""
    return os.path.dirname(schedule_db_path(cfg))


def status_path(cfg):
    """The shared status record of the latest backup run (workbench.service.status)."""
    return os.path.join(state_dir(cfg), STATUS_NAME)


def log_file_path(cfg):
    """The log file: ``log_file`` or ``workbench.log`` in the state directory."""
    if cfg.log_file:
        return os.path.abspath(os.path.expanduser(cfg.log_file))
    return os.path.join(state_dir(cfg), LOG_NAME)
