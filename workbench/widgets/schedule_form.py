"""Forms of the schedule notebook: backup tasks, "Start now" with progress, notification addresses.

Each form is an ``ipywidgets.VBox`` that calls the library (``workbench.service.tasks``,
``workbench.service.scheduler.next_run_times``, ``workbench.start_copy``,
``workbench.service.notify.send_test``) and
writes what happened into its ``messages`` Output; a refused change shows the library's message
and changes nothing.
"""

import threading

import ipywidgets as w

from ..errors import WorkbenchError
from ..sizes import human_size
from ..config import TASK_KINDS, WEEKDAYS
from . import show

_RUN_COLUMNS = ("number", "description", "days", "time", "kind", "next_run")


def _config(config):
    from ..config import as_config
    return as_config(config)


class ScheduleForm(w.VBox):
    """Turn scheduled backups on or off; add, edit and remove tasks; see the next run times.

    Parameters
    ----------
    config : str
        The config file that holds the schedule (``[[schedule]]`` tables and ``enabled``).

    Attributes
    ----------
    enabled : Checkbox
        Scheduled backups on or off (the config's ``enabled``).
    task : Dropdown
        ``0`` for a new task, else the number of the task to edit or remove.
    desc, time, kind : Text, Text, Dropdown
        The task's fields; ``day_boxes`` maps ``"mon"`` ... ``"sun"`` to a Checkbox.
    add_button, save_button, remove_button : Button
    runs : Output
        The tasks with their next run times.
    messages : Output
        What the last action did, or why it was refused.
    """

    def __init__(self, config):
        self.config = str(config)
        self._loading = False
        self.enabled = w.Checkbox(description="Scheduled backups on", indent=False)
        self.task = w.Dropdown(description="Task", options=[("new task", 0)], value=0)
        self.desc = w.Text(description="Description", placeholder="nightly differential")
        self.day_boxes = {d: w.Checkbox(description=d.capitalize(), indent=False,
                                        layout=w.Layout(width="64px")) for d in WEEKDAYS}
        self.time = w.Text(description="Time", value="01:00", placeholder="HH:MM")
        self.kind = w.Dropdown(description="Kind", options=list(TASK_KINDS), value="differential")
        self.add_button = w.Button(layout=w.Layout(width="max-content"), description="Add task", button_style="primary", icon="plus")
        self.save_button = w.Button(layout=w.Layout(width="max-content"), description="Save changes", icon="save")
        self.remove_button = w.Button(layout=w.Layout(width="max-content"), description="Remove task", button_style="danger",
                                      icon="trash")
        self.runs = w.Output()
        self.messages = w.Output()
        self.enabled.observe(self._on_enabled, names="value")
        self.task.observe(self._on_task, names="value")
        self.add_button.on_click(self._on_add)
        self.save_button.on_click(self._on_save)
        self.remove_button.on_click(self._on_remove)
        super().__init__([
            self.enabled, self.runs, self.task, self.desc,
            w.HBox([w.Label("Days", layout=w.Layout(width="90px"))] + list(self.day_boxes.values())),
            self.time, self.kind,
            w.HBox([self.add_button, self.save_button, self.remove_button]), self.messages])
        self.refresh()

    # --- reading the form --------------------------------------------------------------------

    @property
    def days(self):
        """The days ticked, as ``add_task`` takes them (``"daily"`` when all seven)."""
        picked = [d for d, box in self.day_boxes.items() if box.value]
        return "daily" if len(picked) == 7 else picked

    def set_days(self, days):
        """Tick *days* (``"daily"``, a list or a comma-separated string) and untick the others."""
        from ..config import parse_days
        wanted = set(parse_days(days))
        for d, box in self.day_boxes.items():
            box.value = d in wanted

    # --- showing the schedule ----------------------------------------------------------------

    def refresh(self):
        """Reload the config: the switch, the task list and the next run times."""
        from ..service.scheduler import next_run_times
        cfg = _config(self.config)
        rows = next_run_times(cfg)
        self._loading = True
        try:
            self.enabled.value = bool(cfg.enabled)
            current = self.task.value
            self.task.options = [("new task", 0)] + [
                (f"{r['number']}: {r['description'] or r['kind']} ({r['days']} {r['time']})",
                 r["number"]) for r in rows]
            self.task.value = current if current <= len(rows) else 0
        finally:
            self._loading = False
        show.clear(self.runs)
        from ..service.status import copy_status
        show.text(self.runs, f"Last backup: {copy_status(cfg)}")  # what it made and removed
        if not rows:
            show.note(self.runs, "No tasks: the default schedule is installed when the scheduler "
                                 "starts with backups on.")
        else:
            title = "Next run times" + ("" if cfg.enabled else " (backups are off: nothing runs)")
            show.table(self.runs, [{**r, "next_run": r["next_run"] or "off"} for r in rows],
                       _RUN_COLUMNS, title=title, css_class="workbench-table workbench-next-runs")
        return rows

    def _report(self, action):
        show.clear(self.messages)
        try:
            message = action()
        except WorkbenchError as e:
            show.error(self.messages, e)
            return False
        self.refresh()
        show.note(self.messages, message)
        return True

    # --- callbacks ---------------------------------------------------------------------------

    def _on_enabled(self, change):
        if self._loading:
            return
        from ..service.tasks import set_enabled
        on = bool(change["new"])

        def switch():
            set_enabled(on, config_path=self.config)
            return f"scheduled backups turned {'on' if on else 'off'}"
        self._report(switch)

    def _on_task(self, change):
        number = change["new"]
        if self._loading or not number:
            return
        from ..service.tasks import list_tasks
        t = list_tasks(self.config)[number - 1]
        self.desc.value = t.description
        self.set_days(list(t.days))
        self.time.value = t.time
        self.kind.value = t.kind

    def _on_add(self, _button=None):
        from ..service.tasks import add_task, list_tasks

        def add():
            t = add_task(self.days, self.time.value, self.kind.value, self.desc.value,
                         config_path=self.config)
            return f"task {len(list_tasks(self.config))} added: {t.kind} {t.days_text} {t.time}"
        self._report(add)

    def _on_save(self, _button=None):
        from ..service.tasks import edit_task
        number = self.task.value

        def save():
            if not number:
                raise WorkbenchError("pick the task to change in the Task list first")
            t = edit_task(number, days=self.days, time=self.time.value, kind=self.kind.value,
                          description=self.desc.value, config_path=self.config)
            return f"task {number} changed: {t.kind} {t.days_text} {t.time}"
        self._report(save)

    def _on_remove(self, _button=None):
        from ..service.tasks import remove_task
        number = self.task.value

        def remove():
            if not number:
                raise WorkbenchError("pick the task to remove in the Task list first")
            t = remove_task(number, config_path=self.config)
            self.task.value = 0
            return f"task {number} removed: {t.kind} {t.days_text} {t.time}"
        self._report(remove)


class StartNowButton(w.VBox):
    """**Start now**: a copy backup in the background, with a live progress bar and status.

    Parameters
    ----------
    config : str or Config
        The config (store and target of the copy; the status file lives in its state directory).

    Attributes
    ----------
    button : Button
    bar : FloatProgress
        Percent of the bytes stored.
    status : HTML
        One line: idle, running (files and bytes), finished (the set made) or failed (why).
    job : CopyJob or None
        The copy started by the last click.
    """

    def __init__(self, config):
        from ..service.status import copy_status
        self.config = config
        self.job = None
        self._watcher = None
        self.button = w.Button(layout=w.Layout(width="max-content"), description="Start now", button_style="primary", icon="play")
        self.bar = w.FloatProgress(value=0, min=0, max=100, description="Progress",
                                   bar_style="info")
        self.status = w.HTML()
        self.messages = w.Output()
        self.button.on_click(self._on_click)
        super().__init__([self.button, self.bar, self.status, self.messages])
        self._set_status(str(copy_status(config)))

    def _set_status(self, line):
        import html
        self.status.value = f'<span class="workbench-status">{html.escape(line)}</span>'

    def _progress(self, p):
        # called from the copy's thread; widget traits are thread-safe to set
        from ..service.status import progress_line
        if p.total_known and p.bytes_total:  # a bar only against a known total
            self.bar.value = 100.0 * p.bytes_done / p.bytes_total
        self._set_status(f"running: {progress_line(p)}")

    def _on_click(self, _button=None):
        from ..service.runner import start_copy
        show.clear(self.messages)
        self.bar.value, self.bar.bar_style = 0, "info"
        try:
            self.job = start_copy(self.config, progress=self._progress)
        except WorkbenchError as e:
            self.bar.bar_style = "danger"
            self._set_status(f"refused: {e}")
            show.error(self.messages, e)
            return
        self.button.disabled = True
        self._set_status("running: copy started")
        self._watcher = threading.Thread(target=self._watch, name="workbench-start-now-watch",
                                         daemon=True)
        self._watcher.start()

    def _watch(self):
        try:
            r = self.job.wait()
        except Exception as e:  # shown to the user; the status file and the log have it too
            self.bar.bar_style = "danger"
            self._set_status(f"failed: {e}")
            show.error(self.messages, e)
        else:
            self.bar.value, self.bar.bar_style = 100.0, "success"
            self._set_status(f"finished: copy {r.set_name}: {r.files} files, "
                             f"{human_size(r.bytes_out)} in {len(r.volumes)} volume(s), "
                             f"{r.duration:.1f} s")
            show.note(self.messages, f"copy {r.set_name} made")
            for d in r.removed:  # a copy's run removes only older copies, and says so
                show.note(self.messages, f"removed {d['set']}: {d['reason']}")
            for d in r.postponed:
                show.note(self.messages, f"removal of {d['set']} postponed: {d['reason']}")
        finally:
            self.button.disabled = False

    def wait(self, timeout=None):
        """Wait until the copy started by the last click has finished and been shown."""
        if self._watcher is not None:
            self._watcher.join(timeout)
        return self.job


class NotifyForm(w.VBox):
    """Where status e-mails go, and a **Send test mail** button.

    Parameters
    ----------
    config : str
        The config file (its ``[notify]`` table).
    """

    def __init__(self, config):
        self.config = str(config)
        cfg = _config(self.config)
        to = ", ".join(cfg.notify.to) if cfg.notify else ""
        self.addresses = w.Text(description="Send to", value=to,
                                placeholder="admin@example.com, backup@example.com",
                                layout=w.Layout(width="60%"))
        self.save_button = w.Button(layout=w.Layout(width="max-content"), description="Save addresses", icon="save")
        self.test_button = w.Button(layout=w.Layout(width="max-content"), description="Send test mail", button_style="primary",
                                    icon="envelope")
        self.messages = w.Output()
        self.save_button.on_click(self._on_save)
        self.test_button.on_click(self._on_test)
        super().__init__([self.addresses, w.HBox([self.save_button, self.test_button]),
                          self.messages])

    def _addresses(self):
        return [a.strip() for a in self.addresses.value.replace(";", ",").split(",") if a.strip()]

    def _on_save(self, _button=None):
        from ..service.tasks import set_notify_to
        show.clear(self.messages)
        try:
            set_notify_to(self._addresses(), config_path=self.config)
        except WorkbenchError as e:
            show.error(self.messages, e)
            return
        show.note(self.messages, "status e-mails go to " + ", ".join(self._addresses()))

    def _on_test(self, _button=None):
        from ..service.notify import send_test
        show.clear(self.messages)
        try:
            to = send_test(self.config)
        except WorkbenchError as e:
            show.error(self.messages, e)
            return
        show.note(self.messages, "test message sent to " + ", ".join(to))


__all__ = ["ScheduleForm", "StartNowButton", "NotifyForm"]
