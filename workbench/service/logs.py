"""Log files and the "Store Backup" debug switch.

Every part of workbench logs to a named logger under ``workbench``: ``workbench.backup`` is the
manual's "Store Backup" channel (the engine, the runner), ``workbench.schedule`` the scheduler,
``workbench.notify`` the status e-mail. Backup runs and the scheduler service write them to the log
file (the ``log_file`` config key, default ``workbench.log`` in the state directory), which rotates
by size (``log_max_size``, five old files kept).

``workbench log debug on|off`` switches the backup debug messages on or off persistently, like the
manual's Logging messages dialog: the switch is a small JSON file in the state directory, read at
the start of each run, so it also reaches a scheduler service that is already running.

Every handler workbench attaches masks passwords written into URLs (``secrets.MaskSecrets``).
"""

import json
import logging
import os
import sys
from logging.handlers import RotatingFileHandler

from ..modes import make_dirs, open_file
from ..secrets import attach_mask
from ..config import log_file_path, state_dir
from .status import writing_state

SWITCH_NAME = "logging.json"
CHANNELS = {"backup": "workbench.backup"}
FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"
_BACKUP_COUNT = 5


def _switch_path(cfg):
    return os.path.join(state_dir(cfg), SWITCH_NAME)


def debug_enabled(cfg, channel="backup"):
    """True if the debug messages of *channel* are switched on."""
    try:
        with open(_switch_path(cfg), encoding="utf-8") as f:
            return bool(json.load(f).get(channel, False))
    except (FileNotFoundError, ValueError, AttributeError):
        return False


def set_debug(cfg, on, channel="backup"):
    """Switch the debug messages of *channel* on or off, persistently."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown log channel {channel!r}; known: {', '.join(CHANNELS)}")
    path = _switch_path(cfg)
    try:
        with open(path, encoding="utf-8") as f:
            state = json.load(f)
    except (FileNotFoundError, NotADirectoryError, ValueError):
        state = {}
    state[channel] = bool(on)
    tmp = path + ".tmp"
    with writing_state(path):
        make_dirs(os.path.dirname(path), cfg.file_mode)
        with open(open_file(tmp, cfg.file_mode), "w", encoding="utf-8") as f:
            json.dump(state, f)
        os.replace(tmp, path)
    apply_debug_switch(cfg)


def apply_debug_switch(cfg):
    """Set the channel loggers' levels from the switch file (DEBUG when on, INFO when off)."""
    for channel, name in CHANNELS.items():
        logging.getLogger(name).setLevel(logging.DEBUG if debug_enabled(cfg, channel)
                                         else logging.INFO)


def _quiet_console_handlers():
    """Keep the console at the level the command line chose.

    The channel loggers now pass DEBUG and INFO records on; handlers without a level of their own
    (``logging.basicConfig``'s) would print them all, so they get the root logger's level.
    """
    root = logging.getLogger()
    for h in root.handlers:
        if isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler) \
                and h.level == logging.NOTSET:
            h.setLevel(root.level)


class _LogFile(RotatingFileHandler):
    """The rotating log file, opened (and, after each rotation, created) with the file mode: the
    log names every mailbox and file that a backup read."""

    def __init__(self, path, file_mode, **kw):
        self.file_mode = file_mode  # before the base class opens the file
        super().__init__(path, **kw)

    def _open(self):
        fd = open_file(self.baseFilename, self.file_mode, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        return open(fd, self.mode, encoding=self.encoding, errors=self.errors)


def attach_log_file(cfg):
    """Make sure the ``workbench`` loggers write to *cfg*'s log file; return its path.

    Idempotent: one handler per file, however many runs a process makes.
    """
    path = log_file_path(cfg)
    top = logging.getLogger("workbench")
    if top.level == logging.NOTSET or top.level > logging.INFO:
        top.setLevel(logging.INFO)
    for h in top.handlers:
        if isinstance(h, RotatingFileHandler) and h.baseFilename == path:
            h.maxBytes = cfg.log_max_size
            break
    else:
        with writing_state(path, "log_file" if cfg.log_file else "schedule_db"):
            make_dirs(os.path.dirname(path), cfg.file_mode)
            h = _LogFile(path, cfg.file_mode, maxBytes=cfg.log_max_size,
                         backupCount=_BACKUP_COUNT, encoding="utf-8")
        h.setFormatter(logging.Formatter(FORMAT))
        top.addHandler(h)
    attach_mask(h)  # no URL password in the log file, whoever logs it
    _quiet_console_handlers()
    apply_debug_switch(cfg)
    return path


def setup_service_logging(cfg):
    """Logging of the scheduler service: the log file and stderr, INFO and up (plus backup debug)."""
    path = attach_log_file(cfg)
    top = logging.getLogger("workbench")
    if not any(getattr(h, "_workbench_stderr", False) for h in top.handlers):
        err = attach_mask(logging.StreamHandler(sys.stderr))
        err.setFormatter(logging.Formatter(FORMAT))
        err._workbench_stderr = True
        top.addHandler(err)
        top.propagate = False  # the console handler of cli.main would print every line twice
    aps = logging.getLogger("apscheduler")
    aps.setLevel(logging.WARNING)
    for h in top.handlers:
        if h not in aps.handlers:
            aps.addHandler(h)
    aps.propagate = False
    return path
