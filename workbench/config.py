"""Load and validate the TOML configuration; every error names the key and the bad value.

Keys (all optional): ``store`` (the server directory, holding ``store/``, ``mailserver.cfg`` and
``users.cfg``), ``target`` (default ``<store>/store/backup``), ``volume_size`` (default 2GiB), ``keep``
(complete backups kept, default 7), ``min_free`` (default 4GiB), ``differentials`` (``latest`` or
``all``), ``oversize`` (``skip`` or ``own-volume``), ``enabled`` (bool), ``compression_level`` (1-9),
``smb_user_env`` and ``smb_password_env`` (names of the environment variables holding an SMB
target's credentials; the password itself is never a config key, nor part of the ``target`` URL),
``network_timeout`` (seconds one SMB operation may take, retries included, default 60),
``file_mode`` (permissions of the files workbench writes, default ``"0600"``, directories it
creates get the matching search bits; see workbench.modes), ``max_member_size`` (default
64GiB) and ``max_ratio`` (default 200): members that declare more, or inflate more than that many
times their compressed size, are refused before they are inflated (zip bombs), ``lock_stale_after`` (seconds or
a duration such as ``"24h"``, default 24 h: when the lock or a read lease of another host, or a
damaged lock file, counts as abandoned).
Scheduler, notification and log keys (``timezone``, ``schedule_db``, ``[[schedule]]``, ``[notify]``,
``after_backup``, ``low_priority``, ``grace_time``, ``default_time``, ``log_file``, ``log_max_size``)
are validated by workbench.tasks and workbench.notify; see docs/scheduler.md.
Sizes accept ``2GiB``, ``500MB``, ``1.5 GB`` or a plain number of bytes.
"""

import os
import re
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Optional

from .errors import ConfigError
from .secrets import has_url_password, mask_url
from .sizes import parse_size
from .modes import DEFAULT_FILE_MODE, check_file_mode
from .notify import NotifySettings, check_notify
from .tasks import check_command, check_duration, check_schedule, check_time, check_timezone

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
            raise ConfigError(key, value, f"must be at least {minimum} bytes")
        return n
    return check


@dataclass(frozen=True)
class Config:
    """Validated settings of the backup engine."""

    store: Optional[str] = None
    target: Optional[str] = None
    volume_size: int = 2 * 1024**3
    keep: int = 7
    min_free: int = 4 * 1024**3
    differentials: str = "latest"
    oversize: str = "skip"
    enabled: bool = True
    compression_level: int = 3
    smb_user_env: str = "WORKBENCH_SMB_USER"
    smb_password_env: str = "WORKBENCH_SMB_PASSWORD"
    network_timeout: float = 60.0           # seconds an SMB operation may take, retries included
    # Members declaring more are refused unread: larger than any file a mail server keeps (Kerio's
    # own backups stop at 2 GB a file), yet a bound on what one member of a hostile zip writes.
    max_member_size: int = 64 * 1024**3
    # The largest declared size / compressed size accepted for members over a few MB. Deflate
    # tops out near 1032:1, which only long runs of one byte reach: zero-filled bombs come out at
    # 229:1 (zlib's fast levels) to 1030:1; mail, attachments included, stays far below 100:1.
    max_ratio: float = 200
    lock_stale_after: int = 24 * 3600       # seconds: another host's lock or lease is abandoned
    # scheduler, notifications and logs (docs/scheduler.md)
    timezone: Optional[str] = None          # IANA name; None = the machine's zone
    schedule_db: Optional[str] = None       # None = $XDG_STATE_HOME/workbench/schedule.db
    schedule: tuple = ()                    # tasks.Task, from the [[schedule]] tables
    notify: Optional[NotifySettings] = None
    after_backup: Optional[str] = None      # shell command run after each successful backup
    low_priority: bool = True               # scheduled runs lower their CPU and I/O priority
    grace_time: int = 3600                  # seconds a missed scheduled run may still start late
    default_time: str = "01:00"             # time of the default schedule
    log_file: Optional[str] = None          # None = workbench.log beside the schedule db
    log_max_size: int = 10 * 1024**2        # rotate the log file at this size
    file_mode: int = DEFAULT_FILE_MODE      # of volumes, indexes, logs, status (workbench.modes)

    @property
    def target_options(self):
        """Keyword options for ``open_target`` (credential sources and timeout of SMB targets,
        file modes of local ones)."""
        return {"smb_user_env": self.smb_user_env, "smb_password_env": self.smb_password_env,
                "network_timeout": self.network_timeout, "file_mode": self.file_mode}

    @property
    def target_or_default(self):
        """The target, or the manual's default ``store/backup`` inside the server directory."""
        if self.target:
            return self.target
        if not self.store:
            raise ConfigError("target", None, "no target given and no store to default it from")
        return os.path.join(self.store, "store", "backup")


# Small volumes are fine for tests, but a volume must hold at least one header and the directory.
_CHECKS = {
    "store": _path,
    "target": _target,
    "volume_size": _size_at_least(64 * 1024),
    "keep": _int_range(1, 100000),
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
}

# Tables and keys owned by other modules (scheduler, notifications...) register here so that the
# engine's validation does not reject them as unknown.
EXTRA_KEYS = {}


def validate(values, base=None):
    """A Config from *values* (a mapping of key to raw value) over *base*; None values are ignored."""
    known = {f.name for f in fields(Config)}
    clean = {}
    for key, value in values.items():
        if value is None:
            continue
        if key in EXTRA_KEYS:
            continue
        if key not in known:
            raise ConfigError(key, value, "unknown key; known keys: " + ", ".join(sorted(known)))
        clean[key] = _CHECKS[key](key, value)
    return replace(base or Config(), **clean)


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
