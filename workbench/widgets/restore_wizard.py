"""The guided restore: target → sets on a timeline → point in time → the full + differential it
needs and why → narrow to a domain, user, folder or one message → dry-run plan → restore to a
directory or into the live store → check the result.

Every step calls the library: ``workbench.catalog`` (``read_sets``, ``recovery_plan``,
``find_messages``) to look, ``workbench.plan_restore`` for the plan and ``workbench.restore`` to
write. The plan shown is the plan carried out: the restore uses the same set and selection.
"""

import functools
import html
import os
import zlib

import ipywidgets as w

from ..errors import WorkbenchError
from ..passwords import password_prompt
from ..model import SKIP_REASONS, not_in_backup_text, skip_text
from ..sizes import human_size
from ..naming import kind_name
from . import show
from .charts import time_axis

ALL = "(all)"
_LANES = {"F": 2, "C": 2, "D": 1}
_PLAN_ROWS = 200


def _with_password(method):
    """Run a step with the form's password field as the source of an encrypted backup's
    password (after the environment variable and the keyring, as everywhere)."""
    @functools.wraps(method)
    def run(self, *args, **kwargs):
        with password_prompt(lambda what: self.password.value or None):
            return method(self, *args, **kwargs)
    return run


def _crc32(path):
    crc = 0
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            crc = zlib.crc32(block, crc)
    return crc


def message_label(row):
    """How the message list shows a message (a row of find_messages): sender, subject, day and
    path; a header the message lacks shows as such ("no date" for a Date none can read)."""
    date = row["date"]
    day = "no date" if date is None or date != date else f"{date:%Y-%m-%d}"
    sender = row["from"] if isinstance(row["from"], str) else "(no sender)"
    subject = row["subject"] if isinstance(row["subject"], str) else "(no subject)"
    return f"{sender} | {subject} | {day} | {row['path']}"


class RestoreWizard(w.VBox):
    """A restore, step by step, with the plan in front of the admin before anything is written.

    Parameters
    ----------
    target : str
        Backup directory or ``smb://`` URL.
    store : str, optional
        The live server directory (needed for a restore into the live store).
    to : str, optional
        Default destination directory of a restore to a directory.
    config : Config or str, optional
        The config (default ``$WORKBENCH_CONFIG``): its ``timezone`` reads the point in time
        typed without a zone, its SMB settings open the target, its ``keep`` the rotation shown.

    Attributes
    ----------
    load_button, pair_button, search_button, plan_button, restore_button, check_button : Button
        One per step, in order.
    at : Text
        The point in time (empty: the newest backup); ``quick`` fills it from a set's time.
    domain, user, folder, message : Dropdown
        The selection; a message picked wins over domain, user and folder.
    sender, recipient, subject, message_id : Text
        Search criteria for one message (case and accents do not count: catalog.find_messages).
    mode : RadioButtons
        ``"directory"`` or ``"live"``.
    sets, recovery, plan, result : DataFrame, RecoveryPlan, Plan, RestoreResult
        What the last steps found.
    """

    def __init__(self, target, store=None, to=None, config=None):
        from ..config import as_config
        self.store = store
        self.config = as_config(config)
        self.sets = self.recovery = self.plan = self.result = None
        self._messages = {}
        self.target = w.Text(description="Target", value=str(target), layout=w.Layout(width="70%"))
        self.load_button = w.Button(layout=w.Layout(width="max-content"), description="Show sets", icon="list")
        # Encrypted backups only; never stored, shown or logged.
        self.password = w.Password(description="Password", placeholder="encrypted backups only")
        self.timeline = w.Output()
        self.quick = w.Dropdown(description="Set time", options=[("newest", "")])
        self.at = w.Text(description="Point in time", placeholder="2026-11-05 12:00 UTC; empty = newest")
        self.pair_button = w.Button(layout=w.Layout(width="max-content"), description="Which backups?", icon="question")
        self.pair = w.Output()
        self.domain = w.Dropdown(description="Domain", options=[ALL])
        self.user = w.Dropdown(description="User", options=[ALL])
        self.folder = w.Dropdown(description="Folder", options=[ALL])
        self.sender = w.Text(description="Sender", placeholder="part of name or address")
        self.recipient = w.Text(description="Recipient", placeholder="part of To or Cc")
        self.subject = w.Text(description="Subject", placeholder="part of the subject")
        self.message_id = w.Text(description="Message-ID")
        self.search_button = w.Button(layout=w.Layout(width="max-content"), description="Search messages", icon="search")
        self.found = w.Output()
        self.message = w.Dropdown(description="Message", options=[("(no single message)", "")],
                                  layout=w.Layout(width="90%"))
        self.mode = w.RadioButtons(description="Restore", options=[
            ("to a directory", "directory"), ("into the live store", "live")], value="directory")
        self.to = w.Text(description="Directory", value=str(to or ""), layout=w.Layout(width="70%"))
        self.plan_button = w.Button(layout=w.Layout(width="max-content"), description="Show plan (dry run)", button_style="primary",
                                    icon="eye")
        self.plan_out = w.Output()
        self.restore_button = w.Button(layout=w.Layout(width="max-content"), description="Restore", button_style="danger",
                                       icon="download", disabled=True)
        self.check_button = w.Button(layout=w.Layout(width="max-content"), description="Check result", icon="check", disabled=True)
        self.result_out = w.Output()

        self.load_button.on_click(self._on_load)
        self.quick.observe(lambda c: setattr(self.at, "value", c["new"]), names="value")
        self.pair_button.on_click(self._on_pair)
        self.domain.observe(self._on_domain, names="value")
        self.user.observe(self._on_user, names="value")
        self.search_button.on_click(self._on_search)
        self.plan_button.on_click(self._on_plan)
        self.restore_button.on_click(self._on_restore)
        self.check_button.on_click(self._on_check)
        for field in (self.at, self.domain, self.user, self.folder, self.message, self.mode,
                      self.to, self.target):
            field.observe(self._stale, names="value")

        def step(n, title):
            return w.HTML(f"<h4>{n}. {html.escape(title)}</h4>")
        super().__init__([
            step(1, "The backups on the target"),
            w.HBox([self.target, self.password, self.load_button]),
            self.timeline,
            step(2, "The point in time to go back to"), w.HBox([self.quick, self.at]),
            self.pair_button, self.pair,
            step(3, "What to restore: all, a domain, a user, a folder, or one message"),
            w.HBox([self.domain, self.user, self.folder]),
            w.HBox([self.sender, self.recipient, self.subject, self.message_id]),
            self.search_button, self.found,
            self.message,
            step(4, "Where to, and the plan (nothing is written yet)"), self.mode, self.to,
            self.plan_button, self.plan_out,
            step(5, "Restore, then check"), w.HBox([self.restore_button, self.check_button]),
            self.result_out])
        self.load()

    # --- step 1: sets --------------------------------------------------------------------------

    @_with_password
    def load(self):
        """Read the target's sets; draw the timeline; offer the complete sets' times."""
        from .. import catalog
        show.clear(self.timeline)
        try:
            self.sets = catalog.read_sets(self.target.value, config=self.config)
        except WorkbenchError as e:
            show.error(self.timeline, e)
            return False
        s = self.sets
        ok = s[s["status"] == "complete"]
        self.quick.options = [("newest", "")] + [
            # the set's time in UTC, said so: a time without a zone is read in the config's zone
            (f"{r.set} ({kind_name(r.kind)}) "
             f"{r.started:%Y-%m-%d %H:%M} UTC", f"{r.started:%Y-%m-%d %H:%M:%S} UTC")
            for r in ok.sort_values("set", ascending=False).itertuples()]
        show.figure(self.timeline, self.timeline_figure(), alt="sets timeline")
        cols = [c for c in ("set", "kind", "base", "started", "status", "files", "volume_bytes",
                            "rotation") if c in s.columns]
        show.frame(self.timeline, s[cols], title=f"{len(s)} sets on the target")
        return True

    def timeline_figure(self, at=None, used=()):
        """The sets as a timeline: fulls above, differentials below, each joined to its full;
        *at* marked with a line and the sets *used* by the recovery ringed."""
        from matplotlib.figure import Figure
        s = self.sets
        fig = Figure(figsize=(10, 2.6))
        ax = fig.subplots()
        t = s["started"].dt.tz_convert("UTC").dt.tz_localize(None)
        when = dict(zip(s["set"].astype(str), t))
        for name, kind, base, status, x in zip(s["set"].astype(str), s["kind"].astype(str),
                                               s["base"], s["status"].astype(str), t):
            y = _LANES.get(kind, 1)
            if kind == "D" and isinstance(base, str) and base in when:
                ax.plot([when[base], x], [2, 1], color="#bbbbbb", linewidth=0.8, zorder=1)
            if status != "complete":
                ax.scatter([x], [y], marker="x", color="#b42318", zorder=3)
            else:
                ax.scatter([x], [y], marker="s" if y == 2 else "o", s=60 if y == 2 else 30,
                           color="#1f5fa8" if y == 2 else "#7fb3e6", zorder=2)
            if name in used:
                ax.scatter([x], [y], s=260, facecolors="none", edgecolors="#e08a00",
                           linewidths=2, zorder=4)
        if at is not None:
            ax.axvline(at, color="#e08a00", linestyle="--", label="point in time")
        if used:
            ax.scatter([], [], s=120, facecolors="none", edgecolors="#e08a00", linewidths=2,
                       label="sets the recovery reads")
        if at is not None or used:
            ax.legend(fontsize=7, loc="upper left")
        ax.set_yticks([1, 2], ["differential", "full / copy"])
        ax.set_ylim(0.5, 2.6)
        time_axis(ax.xaxis)
        ax.set_title("Backup sets (red x: incomplete, damaged or unsupported, never used)")
        fig.tight_layout()
        return fig

    def _on_load(self, _button=None):
        self.load()

    # --- step 2: which pair ---------------------------------------------------------------------

    @_with_password
    def explain(self):
        """Find the set a recovery at the chosen time needs, say why, and fill the selection lists."""
        from .. import catalog
        show.clear(self.pair)
        at = self.at.value.strip() or None
        try:
            rp = catalog.recovery_plan(self.target.value, at=at, config=self.config)
        except (WorkbenchError, ValueError) as e:
            show.error(self.pair, e)
            return None
        self.recovery = rp
        when = f"at {at}" if at else "now"
        if rp.set == rp.full:
            why = (f"A recovery {when} uses full backup {rp.set}: it is the newest complete set "
                   f"started at or before that time, and a full needs nothing else.")
        else:
            why = (f"A recovery {when} uses differential {rp.set} with its full {rp.full}: the "
                   f"differential is the newest complete set started at or before that time; it "
                   f"holds every file changed since the full (and the list of what the store "
                   f"held, so deleted mail does not come back), so only these two sets are read.")
            if len(rp.chain) > 2:
                why += (f" The other differentials of the chain ({', '.join(rp.chain[1:-1])}) are "
                        f"not needed.")
        show.note(self.pair, why)
        show.frame(self.pair, rp.sets, title=f"Sets read: {rp.files} files, "
                                             f"{human_size(rp.bytes)}")
        if self.sets is not None:
            import numpy as np
            mark = np.datetime64(rp.at.tz_convert("UTC").tz_localize(None)) \
                if rp.at is not None else None
            show.figure(self.pair, self.timeline_figure(mark, used={rp.full, rp.set}),
                        alt="sets timeline")
        e = rp.entries
        self._entries = e[e["user"].notna()] if "user" in e.columns else e
        self.domain.options = [ALL] + sorted(str(d) for d in self._entries["domain"].dropna().unique())
        self.domain.value = ALL
        return rp

    def _on_pair(self, _button=None):
        self.explain()

    def _on_domain(self, change):
        e = getattr(self, "_entries", None)
        if e is None or change["new"] == ALL:
            self.user.options = [ALL]
            return
        users = e[e["domain"] == change["new"]]["user"].dropna().unique()
        self.user.options = [ALL] + sorted(str(u) for u in users)

    def _on_user(self, change):
        e = getattr(self, "_entries", None)
        if e is None or change["new"] == ALL or self.domain.value == ALL:
            self.folder.options = [ALL]
            return
        sel = e[(e["domain"] == self.domain.value) & (e["user"] == change["new"])]
        self.folder.options = [ALL] + sorted(str(f) for f in sel["folder"].dropna().unique())

    # --- step 3: one message -------------------------------------------------------------------

    @_with_password
    def search(self):
        """Messages of the chosen set matching sender, recipient, subject and Message-ID; fill
        ``message``."""
        from .. import catalog
        show.clear(self.found)
        criteria = {k: v for k, v in (("sender", self.sender.value.strip()),
                                      ("recipient", self.recipient.value.strip()),
                                      ("subject", self.subject.value.strip()),
                                      ("message_id", self.message_id.value.strip())) if v}
        if not criteria:
            show.note(self.found, "Type part of the sender, recipient or subject, or the "
                                  "Message-ID.", ok=False)
            return None
        if self.recovery is None and self.explain() is None:
            return None
        for k in ("domain", "user", "folder"):
            v = getattr(self, k).value
            if v != ALL:
                criteria[k] = v
        try:
            found = catalog.find_messages(self.target.value, sets=[self.recovery.set],
                                          config=self.config, **criteria)
        except (WorkbenchError, ValueError) as e:
            show.error(self.found, e)
            return None
        self.message.options = [("(no single message)", "")] + [
            (message_label(r), r["path"]) for r in found.head(100).to_dict("records")]
        cols = [c for c in ("date", "from", "subject", "message_id", "user", "folder", "path")
                if c in found.columns]
        show.frame(self.found, found[cols], title=f"{len(found)} messages found in "
                                                    f"{self.recovery.set}", max_rows=20)
        if len(found):
            self.message.value = found["path"].iloc[0]
        return found

    def _on_search(self, _button=None):
        self.search()

    # --- step 4: plan --------------------------------------------------------------------------

    def arguments(self):
        """The keyword arguments of ``workbench.plan_restore``/``restore`` the form describes."""
        if self.recovery is None:
            raise WorkbenchError("find the backups first (step 2: Which backups?)")
        live = self.mode.value == "live"
        to = self.store if live else self.to.value.strip()
        if not to:
            raise WorkbenchError("no live store configured (store)" if live else
                                 "type the directory to restore into")
        kw = {"to": to, "set": self.recovery.set, "target": self.target.value,
              "into_live": live}
        if self.message.value:
            kw["paths"] = [self.message.value]
        else:
            for k in ("domain", "user", "folder"):
                v = getattr(self, k).value
                if v != ALL:
                    kw[k] = v
        return kw

    @_with_password
    def make_plan(self):
        """The dry-run Plan of the restore the form describes, shown as a table."""
        from ..restorer import plan_restore
        show.clear(self.plan_out)
        show.clear(self.result_out)
        self.plan = None
        self.restore_button.disabled = self.check_button.disabled = True
        try:
            if self.recovery is None and self.explain() is None:
                return None
            kw = self.arguments()
            plan = plan_restore(**kw)
        except WorkbenchError as e:
            show.error(self.plan_out, e)
            return None
        self.plan, self._plan_args = plan, kw
        # the header of the plan's own rendering; the files follow as a table
        head = "\n".join(line for line in plan.render(limit=0).splitlines()
                         if not line.startswith("  ... and "))
        show.bundle(self.plan_out, {"text/html": "<pre>" + html.escape(head) + "</pre>",
                                    "text/plain": head})
        rows = [{"action": i.action, "size": i.entry.size, "file": i.entry.path,
                 "written to": i.dest} for i in plan.items[:_PLAN_ROWS]]
        title = f"Plan: {len(plan.items)} files" + (
            f" (first {_PLAN_ROWS} shown)" if len(plan.items) > _PLAN_ROWS else "")
        show.table(self.plan_out, rows, ("action", "size", "file", "written to"), title=title,
                   css_class="workbench-table workbench-plan")
        self.restore_button.disabled = not plan.items
        return plan

    def _on_plan(self, _button=None):
        self.make_plan()

    def _stale(self, change):
        # a plan made for other choices must not be carried out
        if self.plan is not None:
            self.plan = None
            self.restore_button.disabled = self.check_button.disabled = True
            show.note(self.plan_out, "The choices changed: show the plan again before restoring.",
                      ok=False)

    # --- step 5: restore and check -------------------------------------------------------------

    @_with_password
    def run_restore(self):
        """Carry out the plan shown (the same arguments); return the RestoreResult."""
        from ..errors import RestoreIncomplete
        from ..restorer import restore
        show.clear(self.result_out)
        if self.plan is None:
            show.note(self.result_out, "Show the plan first (step 4).", ok=False)
            return None
        try:
            self.result = restore(**self._plan_args)
        except RestoreIncomplete as e:
            self.result = e.result
            show.error(self.result_out, e)
        except WorkbenchError as e:
            show.error(self.result_out, e)
            return None
        r = self.result
        show.note(self.result_out, f"restored {r.files} files ({human_size(r.bytes)}) from "
                                   f"{', '.join(r.sets_used)} into {r.destination} in "
                                   f"{r.duration:.1f} s; {len(r.skipped)} skipped, "
                                   f"{len(r.failures)} failed", ok=not r.failures)
        if r.not_in_backup:
            show.note(self.result_out, not_in_backup_text(e.skipped for e in r.not_in_backup)
                      + ": " + ", ".join(e.path for e in r.not_in_backup), ok=False)
        if r.marked:
            show.text(self.result_out, "index files set aside so that the server rebuilds them:\n"
                      + "\n".join(r.marked))
        self.check_button.disabled = False
        return r

    def _on_restore(self, _button=None):
        self.run_restore()

    @_with_password
    def check(self):
        """Compare every file the plan wrote with the backup: present, same size, same CRC-32."""
        if self.plan is None or self.result is None:
            show.note(self.result_out, "Restore first (step 5).", ok=False)
            return None
        placed = dict(self.result.placed)
        failed = {p for p, _ in self.result.failures}
        rows = []
        for item in self.plan.items:
            e = item.entry
            path = placed.get(e.path, item.dest)
            if item.action == "skip":
                state = "skipped: a file was already there"
            elif e.path in failed:
                state = "failed (see above)"
            elif not os.path.isfile(path):
                state = "MISSING"
            elif os.path.getsize(path) != e.size:
                state = f"WRONG SIZE {os.path.getsize(path)}"
            elif e.crc32 is not None and _crc32(path) != e.crc32:
                state = "WRONG CRC-32"
            else:
                state = "ok"
            rows.append({"file": e.path, "written to": path, "check": state})
        bad = [r for r in rows if r["check"] not in ("ok",) and not r["check"].startswith("skip")]
        ok = sum(r["check"] == "ok" for r in rows)
        gone = self.plan.not_in_backup  # recorded by the backup, never stored: not restorable
        if gone:
            reasons = ", ".join(dict.fromkeys(SKIP_REASONS.get(e.skipped, e.skipped)
                                              for e in gone))
            text = (f"check: {ok} of {len(rows) + len(gone)} restored; {len(gone)} skipped at "
                    f"backup ({reasons}); the restored files match the backup (size and "
                    "CRC-32)")
        else:
            text = f"check: {ok} of {len(rows)} files match the backup (size and CRC-32)"
        show.note(self.result_out, text + (f"; {len(bad)} do not" if bad else ""),
                  ok=not bad and not gone)
        if bad:
            show.table(self.result_out, bad, title="Files that do not match")
        if gone:
            show.table(self.result_out, [{"file": e.path, "size": e.size,
                                          "check": f"not in the backup: {skip_text(e.skipped)}"}
                                         for e in gone], title="Files not in the backup")
        return rows

    def _on_check(self, _button=None):
        self.check()


__all__ = ["RestoreWizard"]
