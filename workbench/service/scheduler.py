"""The scheduler: backup tasks as APScheduler jobs in a SQLite job store, and its service.

This is the only module that imports APScheduler (always inside functions, so ``workbench`` starts
fast). ``workbench scheduler run`` is the long-running service (see docs/scheduler.md):

- the tasks are the config file's ``[[schedule]]`` tables; the service re-reads the file every
  ``POLL_SECONDS`` and reconciles its jobs, so ``workbench schedule add|edit|remove`` (or a notebook)
  takes effect within a few seconds, without a restart;
- jobs live in a SQLAlchemy job store on SQLite (``schedule_db``) with ids derived from the task's
  definition: a restart finds them with their next run times, so a run missed while the service
  was down starts once when it comes back if it is less than ``grace_time`` late, and is logged and
  e-mailed as missed otherwise;
- with ``enabled = false`` there are no jobs; with ``enabled = true`` and no tasks, the default
  schedule (full on Sunday, differential on the other days, at ``default_time``) is written into
  the config at start;
- jobs run one at a time (a single worker thread); when a full and a differential fall due
  together, the differential is skipped and the full runs.
"""

import hashlib
import json
import logging
import os
import socket
import sqlite3
import threading
from datetime import datetime, timedelta, timezone

from ..config import WEEKDAYS, Task, default_tasks, load_config, schedule_db_path, state_dir
from ..errors import WorkbenchError
from ..modes import ensure_file, make_dirs, open_file
from .status import writing_state
from .tasks import config_file

log = logging.getLogger("workbench.schedule")

POLL_SECONDS = 2.0
SERVICE_NAME = "scheduler.json"
_busy = threading.Event()   # set while a job of this process runs a backup


def zone_name(cfg):
    """The configured ``timezone``, or the machine's zone."""
    if cfg.timezone:
        return cfg.timezone
    try:
        from tzlocal import get_localzone_name
        return get_localzone_name() or "UTC"
    except Exception:
        return "UTC"


def job_id(task, tz):
    """A job id fixed by the task's definition (so a restart finds the same job in the store)."""
    key = f"{','.join(task.days)}|{task.time}|{task.kind}|{tz}"
    return "task-" + hashlib.sha1(key.encode()).hexdigest()[:16]


def _job_name(task):
    return task.description or f"{task.kind} {task.days_text} {task.time}"


def _trigger(task, tz):
    from apscheduler.triggers.cron import CronTrigger
    h, m, s = task.hms
    return CronTrigger(day_of_week="*" if task.daily else ",".join(task.days), hour=h, minute=m,
                       second=s, timezone=tz)


def _task_from(d):
    return Task(tuple(d["days"]), d["time"], d["kind"], d.get("description", ""))


def _task_dict(task):
    return {"days": list(task.days), "time": task.time, "kind": task.kind,
            "description": task.description}


# --- the job -------------------------------------------------------------------------------------

def _last_occurrence(task, tz, now):
    """The latest time at or before *now* when *task* fell due (timezone-aware)."""
    from zoneinfo import ZoneInfo
    local = now.astimezone(ZoneInfo(tz))
    h, m, s = task.hms
    for back in range(8):
        day = local - timedelta(days=back)
        at = day.replace(hour=h, minute=m, second=s, microsecond=0)
        if at <= local and WEEKDAYS[at.weekday()] in task.days:
            return at
    return None


def full_due_together(cfg, task, now=None):
    """True if a full task fell due at the same moment as the differential *task*."""
    tz = zone_name(cfg)
    now = now or datetime.now(timezone.utc)
    at = _last_occurrence(task, tz, now)
    if at is None:
        return False
    return any(t.kind == "full" and t.hms == task.hms and WEEKDAYS[at.weekday()] in t.days
               for t in effective_tasks(cfg))


def run_task(config_path, task):
    """The job function of every scheduled task (module level, so the job store can keep it)."""
    from .runner import run_backup
    task = _task_from(task)
    try:
        cfg = load_config(config_path)
    except WorkbenchError as e:
        log.error("scheduled %s backup not run: the config cannot be read: %s", task.kind, e)
        return
    if task.kind == "differential" and full_due_together(cfg, task):
        logging.getLogger("workbench.backup").info(
            "scheduled differential backup (%s) skipped: a full backup falls due at the same time",
            _job_name(task))
        return
    _busy.set()
    try:
        run_backup(task.kind, config=cfg, trigger="schedule", task=_job_name(task))
    except WorkbenchError:
        pass  # the runner has logged it, recorded the status and sent the e-mail
    except Exception:
        log.exception("scheduled %s backup failed", task.kind)
    finally:
        _busy.clear()


def effective_tasks(cfg):
    """The tasks the scheduler runs: the configured ones (none when ``enabled`` is false)."""
    return list(cfg.schedule) if cfg.enabled else []


# --- the service ---------------------------------------------------------------------------------

def _service_file(cfg):
    return os.path.join(state_dir(cfg), SERVICE_NAME)


def service_info(cfg):
    """{pid, host, started, config} of the running service of *cfg*'s state directory, or None."""
    try:
        with open(_service_file(cfg), encoding="utf-8") as f:
            info = json.load(f)
    except (FileNotFoundError, ValueError):
        return None
    if info.get("host") == socket.gethostname():
        try:
            os.kill(info.get("pid"), 0)
        except (ProcessLookupError, TypeError):
            return None
        except PermissionError:
            pass
    return info


class SchedulerService:
    """The long-running scheduler of one config file (``workbench scheduler run``)."""

    def __init__(self, config_path):
        self.config_path = os.path.abspath(config_file(config_path))
        self.cfg = load_config(self.config_path)
        self.stop_event = threading.Event()
        self.tasks_by_id = {}
        self._seen = None
        self.scheduler = None

    # -- config watching
    def _stamp(self):
        try:
            st = os.stat(self.config_path)
            return st.st_mtime_ns, st.st_size, st.st_ino
        except OSError:
            return None

    def _reload(self):
        stamp = self._stamp()
        if stamp == self._seen:
            return False
        self._seen = stamp
        try:
            cfg = load_config(self.config_path)
        except WorkbenchError as e:
            log.error("config not reloaded, the schedule stays as it was: %s", e)
            return False
        self.cfg = cfg
        return True

    # -- jobs
    def reconcile(self):
        """Make the job store hold exactly the jobs of the current tasks."""
        cfg, sched = self.cfg, self.scheduler
        tz = zone_name(cfg)
        want = {job_id(t, tz): t for t in effective_tasks(cfg)}
        have = {j.id: j for j in sched.get_jobs()}
        for jid in have.keys() - want.keys():
            sched.remove_job(jid)
            log.info("job %s (%s) removed", jid, have[jid].name)
        for jid, task in want.items():
            job = have.get(jid)
            if job is None:
                job = sched.add_job(run_task, _trigger(task, tz), id=jid, name=_job_name(task),
                                    kwargs={"config_path": self.config_path,
                                            "task": _task_dict(task)},
                                    misfire_grace_time=cfg.grace_time, coalesce=True,
                                    max_instances=1, replace_existing=True)
                job = sched.get_job(jid)
                log.info("job %s scheduled: %s backup %s at %s %s, next run %s", jid, task.kind,
                         task.days_text, task.time, tz, job.next_run_time)
            elif job.name != _job_name(task) or job.misfire_grace_time != cfg.grace_time:
                sched.modify_job(jid, name=_job_name(task), misfire_grace_time=cfg.grace_time,
                                 kwargs={"config_path": self.config_path, "task": _task_dict(task)})
        self.tasks_by_id = want
        if not cfg.enabled:
            log.info("backups are disabled (enabled = false): no jobs scheduled")

    def install_default_schedule(self):
        """The manual's behaviour: enabled with an empty schedule gets the default schedule."""
        if not self.cfg.enabled or self.cfg.schedule:
            return
        from .tasks import set_tasks
        defaults = default_tasks(self.cfg.default_time)
        set_tasks(defaults, config_path=self.config_path)
        log.info("the schedule was empty: installed the default schedule (full on Sunday, "
                 "differential Monday to Saturday, at %s)", self.cfg.default_time)
        self._seen = None
        self._reload()

    # -- events
    def _on_missed(self, event):
        task = self.tasks_by_id.get(event.job_id)
        if task is None:
            return
        late = (datetime.now(timezone.utc) - event.scheduled_run_time).total_seconds()
        from .runner import report_missed
        # the e-mail may take a while: the scheduler's own thread must not wait for it
        threading.Thread(target=report_missed, name="workbench-missed",
                         args=(self.cfg, task.kind, _job_name(task), event.scheduled_run_time,
                               late)).start()

    def _on_submitted(self, event):
        task = self.tasks_by_id.get(event.job_id)
        for when in event.scheduled_run_times:
            late = (datetime.now(timezone.utc) - when).total_seconds()
            if late > 5:
                log.info("job %s (%s) due at %s starts %.0f s late (within grace_time %d s)",
                         event.job_id, _job_name(task) if task else "?", when, late,
                         self.cfg.grace_time)
            else:
                log.info("job %s (%s) due at %s starts", event.job_id,
                         _job_name(task) if task else "?", when)

    # -- life cycle
    def start(self):
        from apscheduler.events import EVENT_JOB_MISSED, EVENT_JOB_SUBMITTED
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
        from apscheduler.schedulers.background import BackgroundScheduler
        from .logs import setup_service_logging
        cfg = self.cfg
        path = setup_service_logging(cfg)
        db = schedule_db_path(cfg)
        with writing_state(db):
            make_dirs(os.path.dirname(db), cfg.file_mode)
            ensure_file(db, cfg.file_mode)  # SQLite would create it with the umask's mode
        self.scheduler = BackgroundScheduler(
            jobstores={"default": SQLAlchemyJobStore(url=f"sqlite:///{db}")},
            # one worker: two tasks due together run one after the other, never at once
            executors={"default": ThreadPoolExecutor(max_workers=1)},
            job_defaults={"coalesce": True, "max_instances": 1,
                          "misfire_grace_time": cfg.grace_time},
            timezone=zone_name(cfg))
        self.scheduler.add_listener(self._on_missed, EVENT_JOB_MISSED)
        self.scheduler.add_listener(self._on_submitted, EVENT_JOB_SUBMITTED)
        # paused: load the stored jobs (and their next run times) without running any yet
        self.scheduler.start(paused=True)
        stored = len(self.scheduler.get_jobs())
        self._seen = self._stamp()
        self.install_default_schedule()
        self.reconcile()
        # Said once the jobs are in place: what follows this line in the log is the service's.
        log.info("scheduler started (pid %d), config %s, job store %s (%d jobs), time zone %s, "
                 "log %s", os.getpid(), self.config_path, db, stored, zone_name(cfg), path)
        self._write_service_file()
        self.scheduler.resume()

    def _write_service_file(self):
        info = {"pid": os.getpid(), "host": socket.gethostname(), "config": self.config_path,
                "started": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        path = _service_file(self.cfg)
        with writing_state(path):
            with open(open_file(path + ".tmp", self.cfg.file_mode), "w", encoding="utf-8") as f:
                json.dump(info, f)
            os.replace(path + ".tmp", path)

    def run(self):
        """Run until ``stop_event`` is set (SIGTERM/SIGINT in ``workbench scheduler run``)."""
        self.start()
        try:
            while not self.stop_event.wait(POLL_SECONDS):
                if self._reload():
                    log.info("config changed: updating the jobs")
                    self.reconcile()
        finally:
            self.stop()

    def stop(self):
        if _busy.is_set():
            log.info("stopping: waiting for the running backup to finish")
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        try:
            os.remove(_service_file(self.cfg))
        except FileNotFoundError:
            pass
        log.info("scheduler stopped")


# --- next run times ------------------------------------------------------------------------------

def _stored_next_runs(db):
    if not os.path.exists(db):
        return {}
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return dict(con.execute("SELECT id, next_run_time FROM apscheduler_jobs"))
        finally:
            con.close()
    except sqlite3.Error:
        return {}


def next_run_times(config=None):
    """The tasks with their next run times, as ``workbench schedule list`` shows them.

    Parameters
    ----------
    config : Config or str, optional
        A Config or a config file (default ``$WORKBENCH_CONFIG``).

    Returns
    -------
    list of dict
        One per task: ``number`` (1-based), ``description``, ``days``, ``time``, ``kind``, ``job``
        (its job id), ``next_run`` (ISO 8601 in the configured time zone, or None when backups are
        disabled) and ``source`` (``"job store"`` when the service has the job, else
        ``"computed"``).
    """
    from zoneinfo import ZoneInfo
    from ..config import as_config
    cfg = as_config(config)
    tz = zone_name(cfg)
    stored = _stored_next_runs(schedule_db_path(cfg))
    now = datetime.now(ZoneInfo(tz))
    rows = []
    for i, t in enumerate(cfg.schedule, 1):
        jid = job_id(t, tz)
        nxt, source = None, None
        if cfg.enabled:
            if stored.get(jid) is not None:
                nxt = datetime.fromtimestamp(stored[jid], ZoneInfo(tz))
                source = "job store"
            else:
                nxt = _trigger(t, tz).get_next_fire_time(None, now)
                source = "computed"
        rows.append({"number": i, "description": t.description, "days": t.days_text,
                     "time": t.time, "kind": t.kind, "job": jid,
                     "next_run": nxt.isoformat() if nxt else None, "source": source})
    return rows
