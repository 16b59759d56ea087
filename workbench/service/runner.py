"""One backup job with everything around it: status, log file, priority, after_backup, e-mail.

``run_backup`` is what the scheduler, "Start now" and ``workbench backup`` call instead of the bare
engine: it records the shared status, writes the log file (with the "Store Backup" debug lines when
switched on), lowers the process's priority for scheduled runs, runs the ``after_backup`` command,
and sends the status e-mail, also for runs that fail or are refused. A notification or hook that
fails is logged and reported; it never turns a committed backup into a failure.
"""

import logging
import os
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Optional

from ..config import as_config, validate
from ..naming import kind_letter
from ..progress import Throttle
from ..errors import BackupsDisabled, LockHeld, NotEnoughSpace, TargetError, WorkbenchError
from ..secrets import mask_url
from .status import (FINISHED, WARNINGS, BackupStatus, StatusRecorder, now_text,
                     running_elsewhere, write_status)

log = logging.getLogger("workbench.backup")

# Log records of a run's outcome (its error, its warnings) carry this: the command line that
# started the run prints the outcome itself and keeps them off the console, so that each error is
# shown once; the log file keeps them.
OUTCOME = {"workbench_outcome": True}

REFUSALS = (NotEnoughSpace, LockHeld, BackupsDisabled)
_LOCK_RETRY = 5.0          # seconds between two tries when a scheduled run finds the lock held
_HOOK_TIMEOUT = 6 * 3600   # an after_backup command running longer than this is stopped
_OUTPUT_LIMIT = 8000       # characters of after_backup output kept for the log and the e-mail


@dataclass
class RunReport:
    """The outcome of one run, as the status e-mail tells it.

    ``status`` is ``success``, ``warning`` (committed, but after_backup failed or files were
    unreadable: ``warnings`` names each), ``failed``, ``refused`` or ``missed``.
    """

    status: str
    kind: str
    trigger: str = "manual"
    task: str = ""
    store: Optional[str] = None
    target: Optional[str] = None
    started: Optional[datetime] = None
    finished: Optional[datetime] = None
    result: object = None
    error: Optional[str] = None
    error_class: Optional[str] = None
    free: Optional[int] = None
    after_backup: Optional[dict] = None
    scheduled_for: Optional[str] = None
    notified: Optional[bool] = None
    warnings: list = field(default_factory=list)


def _shown(target):
    """The target as reports show it: a password written into its URL masked."""
    return mask_url(target) if target else target


def _open_target(cfg):
    from ..targets import open_target
    return open_target(cfg.target_or_default, **cfg.target_options)


def _free_space(cfg):
    try:
        return _open_target(cfg).disk_usage()[1]
    except Exception as e:  # the figure is for the report only
        log.debug("free space of the target unknown: %s", e)
        return None


# --- priority ------------------------------------------------------------------------------------

_IOPRIO_SET = {"x86_64": 251, "i386": 289, "i686": 289, "aarch64": 30, "armv7l": 314,
               "ppc64le": 273, "s390x": 282, "riscv64": 30}
_IOPRIO_CLASS_IDLE = 3
_NICE = 10


def lower_priority():
    """Lower the calling thread's CPU (nice 10) and I/O (idle class) priority; best effort.

    On Linux both are per thread and inherited by threads and processes started afterwards, so
    the engine's worker threads and the after_backup command run at the lower priority too.
    Returns a short description of what was done, for the log.
    """
    done = []
    try:
        current = os.getpriority(os.PRIO_PROCESS, 0)
        if current < _NICE:
            os.setpriority(os.PRIO_PROCESS, 0, _NICE)
        done.append(f"nice {max(current, _NICE)}")
    except (OSError, AttributeError) as e:
        done.append(f"nice unchanged ({e})")
    try:
        import ctypes
        import platform
        nr = _IOPRIO_SET.get(platform.machine())
        if nr is None:
            raise OSError("ioprio_set is unknown on this machine")
        libc = ctypes.CDLL(None, use_errno=True)
        # ioprio_set(IOPRIO_WHO_PROCESS, 0 = this thread, class << 13)
        if libc.syscall(nr, 1, 0, _IOPRIO_CLASS_IDLE << 13) != 0:
            raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
        done.append("I/O class idle")
    except (OSError, AttributeError) as e:
        try:
            subprocess.run(["ionice", "-c", "3", "-p", str(threading.get_native_id())],
                           check=True, capture_output=True, timeout=10)
            done.append("I/O class idle (ionice)")
        except (OSError, subprocess.SubprocessError):
            done.append(f"I/O priority unchanged ({e})")
    return ", ".join(done)


# --- after_backup --------------------------------------------------------------------------------

def run_after_backup(command, cfg, result):
    """Run the ``after_backup`` shell command for a committed set; {command, exit_code, output}.

    The command sees ``WORKBENCH_SET``, ``WORKBENCH_KIND`` (F, D or C), ``WORKBENCH_BASE``,
    ``WORKBENCH_STORE``, ``WORKBENCH_TARGET`` (directory or URL) and ``WORKBENCH_VOLUMES`` (the
    volumes' paths, or names on a remote target, separated by spaces).
    """
    target = _open_target(cfg)
    paths = [target.local_path(v) or v for v in result.volumes]
    env = dict(os.environ, WORKBENCH_SET=result.set_name, WORKBENCH_KIND=result.kind,
               WORKBENCH_BASE=result.base or "", WORKBENCH_STORE=os.path.abspath(cfg.store),
               WORKBENCH_TARGET=target.local_root or target.url,
               WORKBENCH_VOLUMES=" ".join(paths))
    log.info("after_backup: running %r for %s", command, result.set_name)
    try:
        p = subprocess.run(command, shell=True, env=env, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=_HOOK_TIMEOUT)
        code, out = p.returncode, p.stdout
    except subprocess.TimeoutExpired as e:
        code, out = -1, (e.stdout or b"") + f"\n(stopped after {_HOOK_TIMEOUT} s)".encode()
    except OSError as e:
        code, out = -1, str(e).encode()
    text = out.decode("utf-8", "replace")
    if len(text) > _OUTPUT_LIMIT:
        text = "...\n" + text[-_OUTPUT_LIMIT:]
    level = logging.INFO if code == 0 else logging.ERROR
    log.log(level, "after_backup exited with status %d%s", code,
            (":\n" + text.rstrip()) if text.strip() else "")
    return {"command": command, "exit_code": code, "output": text}


# --- the run -------------------------------------------------------------------------------------

def _debug_progress(user_progress, recorder):
    throttle = Throttle(1.0)

    def progress(p):
        recorder.progress(p)
        if throttle.ready(force=p.total_known and p.files_done == p.files_total):
            log.debug("progress: %d/%d files, %d/%d bytes, at %s", p.files_done, p.files_total,
                      p.bytes_done, p.bytes_total, p.path or "-")
        if user_progress is not None:
            user_progress(p)
    return progress


def run_backup(kind="full", *, config=None, trigger="manual", progress=None, task="",
               wait_for_lock=None, notify=True, **settings):
    """Run one backup with status, log file, after_backup and notification; return its result.

    Parameters
    ----------
    kind : {"full", "differential", "copy"}
    config : Config or str, optional
        A Config or a config file (default ``$WORKBENCH_CONFIG``); *settings* override it.
    trigger : {"manual", "schedule", "start-now"}
        ``schedule`` honours ``enabled`` (a disabled run is refused and reported), lowers the
        priority when ``low_priority`` is on, and waits for a lock held by another backup.
    progress : callable(Progress), optional
    task : str
        The scheduled task's description, for the log and the e-mail.
    wait_for_lock : float, optional
        Seconds to wait for a lock held by another backup before giving up (default: the
        ``grace_time`` for scheduled runs, 0 otherwise).

    Returns
    -------
    BackupResult

    Raises
    ------
    WorkbenchError
        As the engine raises it (after the status, log and e-mail have recorded it), or
        BackupsDisabled for a scheduled run while backups are turned off.
    """
    from ..backup import backup
    from .logs import attach_log_file
    from .notify import notify_run
    cfg = validate(settings, as_config(config))
    attach_log_file(cfg)
    letter = kind_letter(kind) or kind
    report = RunReport("failed", letter, trigger, task, cfg.store, _shown(cfg.target),
                       started=datetime.now(timezone.utc))
    recorder = StatusRecorder(cfg, letter, trigger)
    recorder.begin()
    log.debug("run requested: kind %s, trigger %s, task %r, store %s, target %s, volume_size %d, "
              "keep %d, min_free %d, differentials %s, oversize %s", letter, trigger, task,
              cfg.store, cfg.target, cfg.volume_size, cfg.keep, cfg.min_free, cfg.differentials,
              cfg.oversize)
    if wait_for_lock is None:
        wait_for_lock = cfg.grace_time if trigger == "schedule" else 0
    try:
        if trigger == "schedule" and not cfg.enabled:
            raise BackupsDisabled("backups are turned off (enabled = false): the scheduled "
                                  f"{kind} backup did not run; set enabled = true to resume")
        if trigger == "schedule" and cfg.low_priority:
            log.debug("priority lowered: %s", lower_priority())
        deadline = time.monotonic() + wait_for_lock
        while True:
            try:
                result = backup(kind, config=cfg, progress=_debug_progress(progress, recorder))
                break
            except LockHeld as e:
                if time.monotonic() + _LOCK_RETRY > deadline:
                    raise
                log.info("waiting for the other backup to finish: %s", e)
                time.sleep(_LOCK_RETRY)
    except BaseException as e:
        report.finished = datetime.now(timezone.utc)
        report.status = "refused" if isinstance(e, REFUSALS) else "failed"
        report.error, report.error_class = mask_url(str(e) or repr(e)), type(e).__name__
        if isinstance(e, WorkbenchError):
            log.error("backup %s (%s): %s", report.status, kind, e, extra=OUTCOME)
        else:
            log.exception("backup failed (%s): %s", kind, e, extra=OUTCOME)
        # A target that just failed is not asked again: an unreachable one would cost a second
        # retry cycle, one without credentials a second prompt.
        report.free = (None if isinstance(e, (BackupsDisabled, TargetError))
                       else _free_space(cfg))
        recorder.end(report.status, error=e)
        if notify:
            report.notified = notify_run(report, cfg.notify)
        raise
    report.result = result
    report.finished = result.finished
    report.warnings = [f"{u['path']}: {u['error']}" for u in result.unreadable]
    if cfg.after_backup:
        report.after_backup = run_after_backup(cfg.after_backup, cfg, result)
        if report.after_backup["exit_code"] != 0:
            report.warnings.append(f"after_backup exited with status "
                                   f"{report.after_backup['exit_code']}")
    report.status = "warning" if report.warnings else "success"
    if report.warnings:
        log.warning("backup %s finished with warnings: %s", result.set_name,
                    "; ".join(report.warnings), extra=OUTCOME)
    report.free = _free_space(cfg)
    log.debug("target free space after the run: %s bytes", report.free)
    recorder.end(WARNINGS if report.warnings else FINISHED, result=result,
                 warnings=report.warnings)
    if notify:
        report.notified = notify_run(report, cfg.notify)
    result.report = report  # the e-mail's view of the run, for callers that want it
    return result


def report_missed(cfg, kind, task, scheduled_for, late_by=None):
    """Log and e-mail a scheduled run that was missed beyond the grace time; return the report."""
    from .logs import attach_log_file
    from .notify import notify_run
    attach_log_file(cfg)
    late = f" ({late_by:.0f} s late, grace_time {cfg.grace_time} s)" if late_by is not None else ""
    msg = (f"the {kind} backup due at {scheduled_for} was missed (the scheduler was not running "
           f"or was busy){late}; it runs again at its next scheduled time")
    log.warning("missed: %s%s", msg, f" (task {task!r})" if task else "")
    now = datetime.now(timezone.utc)
    report = RunReport("missed", kind, "schedule", task, cfg.store, _shown(cfg.target), now, now,
                       error=msg, error_class="Missed", scheduled_for=str(scheduled_for))
    report.notified = notify_run(report, cfg.notify)
    return report


# --- Start now -----------------------------------------------------------------------------------

class CopyJob:
    """A "Start now" copy running in a background thread.

    ``wait()`` returns its BackupResult (or raises its error); ``copy_status()`` reads the shared
    status.
    """

    def __init__(self, cfg, progress):
        self.cfg = cfg
        self.result = None
        self.error = None
        self._progress = progress
        self._thread = threading.Thread(target=self._run, name="workbench-start-now", daemon=True)

    def _run(self):
        try:
            self.result = run_backup("copy", config=self.cfg, trigger="start-now",
                                     progress=self._progress)
        except BaseException as e:  # kept for wait(); the status file and the log have it too
            self.error = e

    def wait(self, timeout=None):
        """Wait for the copy; its BackupResult, or its error raised here."""
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError("the copy is still running")
        if self.error is not None:
            raise self.error
        return self.result


def start_copy(config=None, *, background=True, progress=None, **settings):
    """Start a copy (C) backup now, as the manual's **Start now** button does.

    Parameters
    ----------
    config : Config or str, optional
        A Config or a config file (default ``$WORKBENCH_CONFIG``); *settings* override it.
    background : bool
        True (default): return at once with a CopyJob while the copy runs in a thread, so a
        notebook stays responsive; False: run it here and return its BackupResult.
    progress : callable(Progress), optional

    Returns
    -------
    CopyJob or BackupResult
        Follow a background copy with ``copy_status()`` or ``job.wait()``.

    Raises
    ------
    LockHeld
        If another process is already running a backup (as the status file shows).
    """
    cfg = validate(settings, as_config(config))
    other = running_elsewhere(cfg)
    if other is not None:
        raise LockHeld(cfg.target or cfg.store, {"host": other.host, "pid": other.pid,
                                                 "started": other.started})
    if not background:
        return run_backup("copy", config=cfg, trigger="start-now", progress=progress)
    rec = BackupStatus("running", "C", "start-now", socket.gethostname(), os.getpid(), now_text(),
                       now_text())
    write_status(cfg, rec)  # "running" at once, before the thread has even started
    job = CopyJob(cfg, progress)
    job._thread.start()
    return job


__all__ = ["run_backup", "start_copy", "CopyJob", "RunReport", "report_missed", "lower_priority", "run_after_backup"]
