"""Status of the latest backup run ("Start now" and scheduled alike), shared between processes.

The status lives in a small JSON file, ``status.json``, in the state directory (the directory of
``schedule_db``), so that ``workbench status`` in one terminal, a notebook and the scheduler service
all see the same thing. The run updates it when it starts, a few times a second at most while it
works, and when it ends.

States: ``idle`` (no run recorded), ``running`` (with files and bytes done, and the total and
an ETA once the total is known: a backup lists the store first),
``finished`` (with the result), ``finished with warnings`` (committed, but ``warnings`` names
files or folders that could not be read, or an after_backup command that failed), ``failed``
(with the error), ``refused`` (no space, lock held, backups disabled). A ``running`` record whose
process is gone reads as ``failed``.

>>> workbench.copy_status(config="backup.toml").state      # doctest: +SKIP
'running'

"Start now" itself (``start_copy``) is in workbench.service.runner.
"""

import json
import os
import socket
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Optional

from ..config import as_config, status_path
from ..errors import StateNotWritable
from ..lock import process_alive as _alive
from ..secrets import mask_url
from ..modes import make_dirs, set_mode
from ..naming import kind_name
from ..progress import Throttle
from ..sizes import human_size

FINISHED, WARNINGS = "finished", "finished with warnings"
_MIN_INTERVAL = 0.25   # seconds between two progress writes of the status file


@contextmanager
def writing_state(path, key="schedule_db"):
    """Turn an OSError met while writing *path* (in the state directory, or the log file that
    config key *key* names) into StateNotWritable naming the file and the key to change."""
    try:
        yield
    except OSError as e:
        where = e.filename if isinstance(e.filename, str) else path
        raise StateNotWritable(where, e.strerror or str(e), key) from None


# --- the status record ---------------------------------------------------------------------------

@dataclass
class BackupStatus:
    """What the latest backup run is doing or did.

    Attributes
    ----------
    state : {"idle", "running", "finished", "finished with warnings", "failed", "refused"}
    kind : {"F", "D", "C"} or None
    trigger : {"start-now", "schedule", "manual"} or None
    files_done, files_total, bytes_done, bytes_total : int
        Progress of a running backup (the files and bytes this set stores).
    total_known : bool
        False while the backup is still finding its work: the totals are then only what was
        found so far, and ``files_estimate``/``bytes_estimate`` may hold a guess (the previous
        set of its kind), never shown as a total.
    eta_seconds : float or None
        Estimated seconds left, from the rate so far; None unless the total is known (the
        engine's Meter computes it, for every consumer alike: workbench.progress).
    result : dict or None
        For ``finished`` (with warnings or not): set, kind, files, stored, bytes_in, bytes_out,
        volumes, skipped, unreadable, ``removed`` and ``postponed`` (``{"set", "reason"}`` of
        every set the run removed: replaced differential, rotation, leftovers of interrupted
        runs; and of those whose removal waits, being read).
    warnings : list of str
        For ``finished with warnings``: ``"<path>: <why>"`` of each file or folder that could not
        be read, and a failed after_backup command.
    error, error_class : str or None
        For ``failed`` and ``refused``: the message and the error's class name.
    """

    state: str = "idle"
    kind: Optional[str] = None
    trigger: Optional[str] = None
    host: Optional[str] = None
    pid: Optional[int] = None
    started: Optional[str] = None
    updated: Optional[str] = None
    finished: Optional[str] = None
    files_done: int = 0
    files_total: int = 0
    bytes_done: int = 0
    bytes_total: int = 0
    eta_seconds: Optional[float] = None
    total_known: bool = True
    files_estimate: Optional[int] = None
    bytes_estimate: Optional[int] = None
    result: Optional[dict] = None
    error: Optional[str] = None
    error_class: Optional[str] = None
    warnings: list = field(default_factory=list)
    extra: dict = field(default_factory=dict)

    def __str__(self):
        kind = kind_name(self.kind) or self.kind or ""
        if self.state == "idle":
            return "idle: no backup has run yet"
        if self.state == "running":
            return f"running: {kind} backup since {self.started}, {progress_line(self)}"
        if self.state in (FINISHED, WARNINGS):
            r = self.result or {}
            text = (f"{self.state}: {r.get('set')} ({kind}) at {self.finished}: {r.get('files')} "
                    f"files, {r.get('bytes_out')} bytes in {len(r.get('volumes') or [])} volumes")
            text += "".join(f"; {what} {_removal(d)}" for what, key in (
                ("removed", "removed"), ("removal postponed:", "postponed"))
                for d in r.get(key) or ())
            if self.warnings:
                shown = "; ".join(self.warnings[:20])
                more = f"; and {len(self.warnings) - 20} more" if len(self.warnings) > 20 else ""
                text += f"; {len(self.warnings)} warnings: {shown}{more}"
            return text
        return f"{self.state}: {kind} backup at {self.finished or self.updated}: {self.error}"


def _duration(seconds):
    if seconds < 100:
        return f"{seconds:.0f} s"
    if seconds < 6000:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def progress_line(p):
    """How far a job is, for people: the one text of the terminal bar, ``workbench status`` and
    the notebook forms. *p* is a Progress or a BackupStatus (the same fields). A total and an
    ETA are shown only when the total is known; before, what was done so far, and a guess
    labelled as one."""
    done = f"{p.files_done} files, {human_size(p.bytes_done)}"
    if not p.total_known:
        guess = ""
        if p.files_estimate is not None:
            guess = (f"; the last such backup stored {p.files_estimate} files, "
                     f"{human_size(p.bytes_estimate)} (an estimate)")
        return f"{done} so far (total not known yet: the store is being listed{guess})"
    text = (f"{p.files_done}/{p.files_total} files, {human_size(p.bytes_done)} of "
            f"{human_size(p.bytes_total)}")
    if p.eta_seconds is not None:
        text += f", about {_duration(p.eta_seconds)} left"
    return text


def _removal(d):
    """``F...Z (why)`` of a removal as the record holds it (a bare name in older records)."""
    if isinstance(d, dict):
        return f"{d.get('set')} ({d.get('reason')})"
    return str(d)


def removal_records(items):
    """``[{"set", "reason"}]`` of a result's ``removed`` or ``postponed`` list."""
    return [{"set": d["set"], "reason": d["reason"]} for d in items]


def now_text():
    """The current UTC time as the record writes it."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def read_status(cfg):
    """The BackupStatus in *cfg*'s state directory (``idle`` when there is none)."""
    try:
        with open(status_path(cfg), encoding="utf-8") as f:
            data = json.load(f)
    except (FileNotFoundError, ValueError):
        return BackupStatus()
    known = set(BackupStatus.__dataclass_fields__)
    st = BackupStatus(**{k: v for k, v in data.items() if k in known})
    if (st.state == "running" and st.host == socket.gethostname() and isinstance(st.pid, int)
            and not _alive(st.pid)):
        st.state = "failed"
        st.error_class = "Interrupted"
        st.error = f"the backup process {st.pid} ended before the backup finished"
    return st


def running_elsewhere(cfg):
    """The status of a run of another live process, if the record shows one; else None."""
    st = read_status(cfg)
    return st if st.state == "running" and st.pid != os.getpid() else None


def write_status(cfg, status):
    """Write *status* atomically (a reader never sees half a file)."""
    path = status_path(cfg)
    with writing_state(path):
        make_dirs(os.path.dirname(path), cfg.file_mode)
        fd, tmp = tempfile.mkstemp(prefix=".status-", dir=os.path.dirname(path))
        set_mode(fd, cfg.file_mode)  # mkstemp's 0600, unless file_mode says otherwise
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(asdict(status), f)
        os.replace(tmp, path)


class StatusRecorder:
    """Keeps the status file of one run up to date; called by the runner."""

    def __init__(self, cfg, kind, trigger):
        self.cfg = cfg
        self.status = BackupStatus("running", kind, trigger, socket.gethostname(), os.getpid(),
                                   now_text(), now_text())
        self._t0 = None
        self._throttle = Throttle(_MIN_INTERVAL)
        self._lock = threading.Lock()
        self.active = False

    def begin(self):
        """Record ``running``, unless another live process's run is what the file shows."""
        if running_elsewhere(self.cfg) is None:
            self.active = True
            write_status(self.cfg, self.status)

    def progress(self, p):
        now = time.monotonic()
        if self._t0 is None:
            self._t0 = now
            self.active = True  # the engine holds the lock now: this run is the one to show
        if not self._throttle.ready(force=p.total_known and p.files_done >= p.files_total):
            return
        with self._lock:
            s = self.status
            s.files_done, s.files_total = p.files_done, p.files_total
            s.bytes_done, s.bytes_total = p.bytes_done, p.bytes_total
            s.total_known, s.eta_seconds = p.total_known, p.eta_seconds
            s.files_estimate, s.bytes_estimate = p.files_estimate, p.bytes_estimate
            s.updated = now_text()
            write_status(self.cfg, s)

    def end(self, state, result=None, error=None, warnings=()):
        """Record the outcome; a run refused because another holds the lock leaves the file alone."""
        if not self.active and state == "refused" and type(error).__name__ == "LockHeld":
            return
        s = self.status
        s.state, s.updated, s.finished = state, now_text(), now_text()
        s.eta_seconds = None
        s.files_estimate = s.bytes_estimate = None
        if result is not None:
            s.total_known = True
            s.kind = result.kind
            s.files_done = s.files_total
            s.bytes_done = s.bytes_total
            s.result = {"set": result.set_name, "kind": result.kind, "files": result.files,
                        "stored": result.stored, "bytes_in": result.bytes_in,
                        "bytes_out": result.bytes_out, "volumes": list(result.volumes),
                        "skipped": [x["path"] for x in result.skipped],
                        "unreadable": [x["path"] for x in result.unreadable],
                        "removed": removal_records(result.removed),
                        "postponed": removal_records(getattr(result, "postponed", [])),
                        "duration": round(result.duration, 3)}
        if error is not None:
            s.error, s.error_class = mask_url(str(error)), type(error).__name__
        s.warnings = list(warnings)
        write_status(self.cfg, s)


def copy_status(config=None):
    """The status of the latest backup run: Start now's copy, or a scheduled or manual backup.

    Parameters
    ----------
    config : Config or str, optional
        Names the state directory (``schedule_db``'s); default ``$WORKBENCH_CONFIG``.

    Returns
    -------
    BackupStatus
        ``.state`` is idle, running (``files_done``, ``bytes_done``, ``eta_seconds``), finished
        (``result``), failed or refused (``error``); ``str()`` gives one line for people.
    """
    return read_status(as_config(config))
