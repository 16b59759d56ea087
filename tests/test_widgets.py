"""The notebook forms driven without a kernel: set values, press buttons, read the outputs and
check what the library did (config file, sets on the target, files restored, mail received).

One demo workspace (sample store, three weeks of nightly backups) is built per module and cloned
per test, so each test starts from the same state.
"""

import base64
import html
import os
import re
import shutil
import socket
import zlib
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

import workbench
from workbench import catalog, samples
from workbench.config import load_config
from workbench.service.scheduler import next_run_times
from workbench.sets import list_sets
from workbench.targets import open_target
from workbench.config import Task
from workbench.service.tasks import list_tasks
from workbench.widgets import (NotifyForm, RestoreWizard, ScheduleForm, StartNowButton,
                               StorageDashboard, Workspace, demo_target, sample_dir, show,
                               workspace)

SETS = (["F20261108T010000Z"] + [f"D202611{d:02d}T010000Z" for d in range(9, 15)]
        + ["F20261115T010000Z"] + [f"D202611{d:02d}T010000Z" for d in range(16, 22)]
        + ["F20261122T010000Z"])


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return demo_target(tmp_path_factory.mktemp("demo") / "ws")


@pytest.fixture
def ws(demo, tmp_path):
    """A private copy of the demo (its config holds relative paths, so the copy is independent)."""
    root = tmp_path / "ws"
    shutil.copytree(demo.root, root)
    return replace(demo, root=str(root), target=str(root / "backups"), store=str(root / "server"),
                   config=str(root / "workbench.toml"))


def edit_config(ws, old, new):
    with open(ws.config) as f:
        content = f.read()
    assert old in content
    with open(ws.config, "w") as f:
        f.write(content.replace(old, new))


def text(out):
    """What *out* shows: its text and HTML, entities decoded."""
    return html.unescape(show.outputs_text(out))


def png_of(out):
    return [base64.b64decode(o["data"]["image/png"]) for o in out.outputs
            if "image/png" in o.get("data", {})]


# --- workspace ----------------------------------------------------------------------------------

def test_demo_has_three_weeks_of_rotated_backups(demo):
    assert demo.demo and demo.keep == 3 and demo.min_free == 0
    assert [str(s.name) for s in list_sets(open_target(demo.target))] == SETS
    assert [t.kind for t in list_tasks(demo.config)] == ["full", "differential"]
    assert demo.restore_dir == os.path.join(demo.root, "restored")


def test_workspace_of_parameters(demo, tmp_path, monkeypatch):
    monkeypatch.delenv("WORKBENCH_CONFIG", raising=False)
    ws = workspace(target=demo.target)
    assert ws == Workspace(target=demo.target, keep=7, min_free=4 * 1024**3)
    ws = workspace(config=demo.config)
    assert (ws.target, ws.store, ws.config, ws.demo) == (demo.target, demo.store, demo.config,
                                                        False)
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "f").write_text("")
    with pytest.raises(FileExistsError):
        demo_target(tmp_path / "x")


# --- schedule -----------------------------------------------------------------------------------

def test_schedule_form_shows_next_runs(ws):
    form = ScheduleForm(ws.config)
    rows = next_run_times(ws.config)
    assert [r["description"] for r in rows] == ["weekly full backup", "nightly differential"]
    shown = text(form.runs)
    assert "Next run times" in shown
    for r in rows:
        assert r["next_run"] and r["next_run"] in shown
    assert form.enabled.value is True
    assert [label for label, _ in form.task.options][1:] == [
        "1: weekly full backup (sun 01:00)",
        "2: nightly differential (mon,tue,wed,thu,fri,sat 01:00)"]


def test_schedule_form_add_edit_remove(ws):
    form = ScheduleForm(ws.config)
    form.desc.value = "month end"
    form.set_days(["tue", "thu"])
    form.time.value = "03:15"
    form.kind.value = "full"
    form.add_button.click()
    assert "task 3 added: full tue,thu 03:15" in text(form.messages)
    assert list_tasks(ws.config)[2] == Task(("tue", "thu"), "03:15", "full", "month end")
    assert "month end" in text(form.runs)

    form.task.value = 2  # loads the task into the fields
    assert (form.desc.value, form.time.value, form.kind.value) == (
        "nightly differential", "01:00", "differential")
    assert form.days == ["mon", "tue", "wed", "thu", "fri", "sat"]
    form.time.value = "22:30"
    form.day_boxes["sun"].value = True
    form.save_button.click()
    assert list_tasks(ws.config)[1] == Task(
        ("mon", "tue", "wed", "thu", "fri", "sat", "sun"), "22:30", "differential",
        "nightly differential")
    assert "task 2 changed: differential daily 22:30" in text(form.messages)

    form.task.value = 1
    form.remove_button.click()
    assert [t.description for t in list_tasks(ws.config)] == ["nightly differential", "month end"]
    assert "task 1 removed" in text(form.messages)
    assert form.task.value == 0


def test_schedule_form_refuses_bad_time_and_keeps_config(ws):
    before = open(ws.config, "rb").read()
    form = ScheduleForm(ws.config)
    form.set_days("daily")
    form.time.value = "25:00"
    form.add_button.click()
    msg = text(form.messages)
    assert show.ERROR_CLASS in msg and "ConfigError" in msg and "'time'" in msg
    assert open(ws.config, "rb").read() == before
    form.save_button.click()  # no task picked
    assert "pick the task to change" in text(form.messages)
    assert open(ws.config, "rb").read() == before


def test_schedule_form_turns_backups_off(ws):
    form = ScheduleForm(ws.config)
    form.enabled.value = False
    assert load_config(ws.config).enabled is False
    assert "turned off" in text(form.messages)
    assert "backups are off" in text(form.runs)
    assert all(r["next_run"] is None for r in next_run_times(ws.config))


def test_start_now_makes_a_copy(ws):
    button = StartNowButton(ws.config)
    button.button.click()
    job = button.wait(60)
    r = job.result
    assert r.kind == "C" and r.set_name.startswith("C")
    names = [str(s.name) for s in list_sets(open_target(ws.target))]
    assert r.set_name in names
    assert button.bar.value == 100.0 and button.bar.bar_style == "success"
    assert f"finished: copy {r.set_name}: {r.files} files" in button.status.value
    assert f"copy {r.set_name} made" in text(button.messages)
    assert button.button.disabled is False


def test_start_now_removes_no_full_and_names_every_removal(ws):
    before = [str(s.name) for s in list_sets(open_target(ws.target))]
    edit_config(ws, 'min_free = "0"', 'min_free = "0"\nkeep_copies = 1')
    button = StartNowButton(ws.config)
    button.button.click()
    first = button.wait(60).result
    # keep = 2 in the demo: a copy counted as a complete backup used to rotate a chain away
    assert first.removed == []
    assert [str(s.name) for s in list_sets(open_target(ws.target))] == before + [first.set_name]
    button.button.click()
    second = button.wait(60).result
    reason = "older than the 1 newest copies (keep_copies)"
    assert second.removed == [{"set": first.set_name, "reason": reason}]
    assert f"removed {first.set_name}: {reason}" in text(button.messages)
    # the schedule form shows the last run, and what it removed
    form = ScheduleForm(ws.config)
    shown = text(form.runs)
    assert f"Last backup: finished: {second.set_name} (copy)" in shown
    assert f"removed {first.set_name} ({reason})" in shown


def test_start_now_shows_why_it_failed(ws):
    edit_config(ws, 'min_free = "0"', 'min_free = "1000TB"')
    button = StartNowButton(ws.config)
    button.button.click()
    button.wait(60)
    assert "NotEnoughSpace" in text(button.messages)
    assert button.status.value.count("failed") == 1 and button.bar.bar_style == "danger"
    assert not any(str(s.name).startswith("C") for s in list_sets(open_target(ws.target)))


def test_notify_form_saves_addresses_and_sends_test_mail(ws, smtp):
    inbox, port = smtp
    edit_config(ws, "smtp_port = 2525", f"smtp_port = {port}")
    form = NotifyForm(ws.config)
    assert form.addresses.value == "admin@example.com"
    form.addresses.value = "ops@example.com; boss@example.com"
    form.save_button.click()
    assert load_config(ws.config).notify.to == ("ops@example.com", "boss@example.com")
    form.test_button.click()
    assert "test message sent to ops@example.com, boss@example.com" in text(form.messages)
    [(rcpt, msg, _, _)] = inbox.messages
    assert rcpt == ["ops@example.com", "boss@example.com"]
    assert "TEST" in msg["Subject"]


def test_notify_form_refuses_bad_address_and_reports_unreachable_server(ws):
    before = open(ws.config, "rb").read()
    form = NotifyForm(ws.config)
    form.addresses.value = "ops@example.com, nobody"
    form.save_button.click()
    assert "'notify.to'" in text(form.messages) and "'nobody' is not an e-mail address" in \
        text(form.messages)
    assert open(ws.config, "rb").read() == before
    with socket.socket() as s:  # a port where nothing listens
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    edit_config(ws, "smtp_port = 2525", f"smtp_port = {port}")
    form.test_button.click()
    assert "NotifyFailed" in text(form.messages) and f"127.0.0.1:{port}" in text(form.messages)


# --- storage ------------------------------------------------------------------------------------

def test_storage_dashboard_draws_and_redraws_for_keep(demo):
    dash = StorageDashboard(demo.target, keep=demo.keep, capacity=demo.capacity,
                            min_free=demo.min_free)
    usage = catalog.storage_usage(demo.target, keep=3, capacity=demo.capacity)
    assert list(dash.usage["set"]) == SETS == list(usage["set"])
    assert list(dash.usage["set_bytes"]) == list(usage["set_bytes"])
    assert dash.forecast.keep == 3 and dash.forecast.capacity == 12 * 1024**2
    assert dash.forecast.confident  # three fulls a week apart
    summary = text(dash.summary)
    assert "15 sets take" in summary and "keep = 3" in summary
    assert f"largest keep that fits today: {dash.forecast.largest_keep}" in summary
    first = png_of(dash.chart)
    assert len(first) == 1 and first[0].startswith(b"\x89PNG")

    dash.keep.value = 1  # the slider: only the F20261122 chain fits
    assert dash.forecast.keep == 1 and "keep = 1" in text(dash.summary)
    assert list(dash.usage["rotation"].astype(str)) == ["delete-next"] * 14 + ["keep"]
    second = png_of(dash.chart)
    assert len(second) == 1 and second[0] != first[0]


def test_storage_dashboard_largest_users_and_report(demo):
    dash = StorageDashboard(demo.target, keep=2, capacity=demo.capacity, min_free=0, top=3)
    users, folders = dash.largest_frames()
    e = catalog.read_entries(demo.target)
    e = e[e["user"].notna()]
    expected = e.groupby(["domain", "user"], observed=True)["size"].sum().nlargest(3)
    assert [(d, u, b) for d, u, b in zip(users["domain"], users["user"], users["size"])] == [
        (d, u, b) for (d, u), b in expected.items()]
    assert len(folders) == 3 and folders["size"].is_monotonic_decreasing
    assert "Largest users" in text(dash.largest)
    page = dash.report_html()
    assert 'src="data:image/png;base64,' in page and "Largest folders" in page


@pytest.fixture(scope="module")
def minutes(tmp_path_factory):
    """Sets minutes apart (a first morning of backups): F, D, F, D, F seven minutes apart."""
    root = tmp_path_factory.mktemp("minutes")
    store = str(root / "server")
    shutil.copytree(sample_dir(), store)
    t0 = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
    for i, kind in enumerate(["full", "differential", "full", "differential", "full"]):
        samples.mutate(store, seed=i)
        workbench.backup(kind, store=store, target=str(root / "bk"), min_free=0, keep=20,
                         now=t0 + timedelta(minutes=7 * i))
    return str(root / "bk")


def drawn(fig):
    """*fig* drawn (as the PNG is), so that its tick labels are set."""
    show.png(fig)
    return fig


def tick_labels(ax):
    return [t.get_text() for t in ax.get_xticklabels()]


def bar_days(ax):
    return [p.get_width() for p in ax.patches]


def test_storage_chart_of_sets_minutes_apart_shows_times_and_no_forecast(minutes):
    # The sets span 28 minutes: ticks used to read "12-01" each, bars were 0.6 day wide (far
    # wider than the chart), and two fulls minutes apart made a growth a day and a date.
    dash = StorageDashboard(minutes, keep=2, capacity="100MiB", min_free=0)
    f = dash.forecast
    assert not f.confident and f.full_date is None and f.largest_keep is None
    summary = text(dash.summary)
    assert f"No forecast: {f.reason}." in summary
    assert "3 complete full backups over 28 minutes" in summary
    assert "a day" not in summary and "largest keep" not in summary
    fig = drawn(dash.figure())
    left, right = fig.axes
    labels = tick_labels(left)
    assert len(labels) >= 3 and len(set(labels)) == len(labels)
    assert all(re.fullmatch(r"\d\d:\d\d", x) for x in labels), labels
    assert "09:10" in labels or "09:15" in labels
    gaps = [7, 7, 7, 7]  # minutes between the sets
    nearest = [min(gaps[i - 1] if i else 99, gaps[i] if i < 4 else 99) for i in range(5)]
    assert bar_days(left) == pytest.approx([0.8 * m / 1440 for m in nearest])
    assert right.get_title() == "No forecast with keep = 2: too little history"
    assert any("No forecast: too little history" in t.get_text() for t in right.texts)
    assert not [ln for ln in right.get_lines() if ln.get_label() == "projection"]


def test_storage_chart_of_daily_sets_shows_dates_and_day_wide_bars(demo):
    dash = StorageDashboard(demo.target, keep=3, capacity=demo.capacity, min_free=0)
    left, right = drawn(dash.figure()).axes
    labels = tick_labels(left)
    assert len(set(labels)) == len(labels) >= 3
    assert all(re.fullmatch(r"11-\d\d", x) for x in labels), labels
    assert bar_days(left) == pytest.approx([0.8] * 15)  # a day apart
    assert [ln for ln in right.get_lines() if ln.get_label() == "projection"]


def test_restore_timeline_of_sets_minutes_apart_shows_times(minutes):
    wiz = RestoreWizard(minutes)
    labels = tick_labels(drawn(wiz.timeline_figure()).axes[0])
    assert len(set(labels)) == len(labels) >= 3
    assert all(re.fullmatch(r"\d\d:\d\d", x) for x in labels), labels


def test_restore_wizard_lists_a_message_without_a_date(ws):
    # A message whose Date header is missing has a NaT date: the list said it with strftime,
    # which raises for NaT.
    folder = os.path.join(ws.store, "store", "mail", "example.com", "rita.jelinek", "INBOX",
                          "#msgs")
    with open(os.path.join(folder, "000000ff.eml"), "wb") as f:
        f.write(b"From: Old Client <old@example.com>\r\nTo: rita.jelinek@example.com\r\n"
                b"Subject: undated note\r\n\r\nNo Date header at all.\r\n")
    workbench.backup("differential", config=load_config(ws.config),
                     now=datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc))
    wiz = RestoreWizard(ws.target, store=ws.store, to=ws.restore_dir)
    wiz.subject.value = "UNDATED"
    wiz.search_button.click()
    assert "1 messages found in D20261123T010000Z" in text(wiz.found)
    [(label, path)] = wiz.message.options[1:]
    assert label == ("Old Client <old@example.com> | undated note | no date | "
                     "store/mail/example.com/rita.jelinek/INBOX/#msgs/000000ff.eml")
    assert wiz.message.value == path


def test_restore_wizard_reads_a_time_in_the_configs_zone(ws):
    # 09:30 in Tokyo is 00:30 UTC, before the 01:00 UTC run of 11-12: the recovery uses 11-11.
    edit_config(ws, 'timezone = "UTC"', 'timezone = "Asia/Tokyo"')
    wiz = RestoreWizard(ws.target, store=ws.store, to=ws.restore_dir, config=ws.config)
    wiz.at.value = "2026-11-12 09:30"
    wiz.pair_button.click()
    assert wiz.recovery.set == "D20261111T010000Z"
    assert wiz.recovery.at == pd.Timestamp("2026-11-12 00:30", tz="UTC")
    # A set's time picked from the list says UTC, so it means the same in any zone.
    wiz.quick.value = "2026-11-12 01:00:00 UTC"
    wiz.pair_button.click()
    assert wiz.recovery.set == "D20261112T010000Z"


def test_storage_dashboard_reports_bad_target(tmp_path):
    missing = tmp_path / "nothing-here"
    dash = StorageDashboard(str(missing), keep=2, capacity="1GB", min_free=0)
    assert dash.usage is None and not dash.chart.outputs
    for out in (dash.summary, dash.largest):
        assert text(out) == (f'<div class="{show.ERROR_CLASS}" style="color:#b42318">TargetError: '
                             f"backup directory {missing} does not exist</div>")


# --- restore ------------------------------------------------------------------------------------

def test_restore_wizard_explains_the_pair(ws):
    wiz = RestoreWizard(ws.target, store=ws.store, to=ws.restore_dir)
    assert png_of(wiz.timeline) and "15 sets on the target" in text(wiz.timeline)
    assert [v for _, v in wiz.quick.options][:2] == ["", "2026-11-22 01:00:00 UTC"]
    wiz.quick.value = "2026-11-12 01:00:00 UTC"
    assert wiz.at.value == "2026-11-12 01:00:00 UTC"
    wiz.at.value = "2026-11-12 13:00"
    wiz.pair_button.click()
    rp = wiz.recovery
    assert (rp.set, rp.full) == ("D20261112T010000Z", "F20261108T010000Z")
    out = text(wiz.pair)
    assert "uses differential D20261112T010000Z with its full F20261108T010000Z" in out
    assert "D20261109T010000Z, D20261110T010000Z, D20261111T010000Z) are not needed" in out
    assert list(wiz.domain.options) == ["(all)", "example.com", "example.org"]


def _crc(path):
    return zlib.crc32(open(path, "rb").read())


def test_restore_wizard_user_folder_to_directory_and_check(ws):
    wiz = RestoreWizard(ws.target, store=ws.store, to=ws.restore_dir)
    wiz.pair_button.click()
    wiz.domain.value = "example.com"
    wiz.user.value = "rita.jelinek"
    user = wiz.user.value
    wiz.folder.value = "INBOX"
    assert wiz.restore_button.disabled
    wiz.plan_button.click()
    plan = wiz.plan
    prefix = f"store/mail/example.com/{user}/INBOX/"
    assert plan.items and all(i.entry.path.startswith(prefix) for i in plan.items)
    assert {i.action for i in plan.items} == {"create"}
    assert not os.path.exists(ws.restore_dir)  # a plan writes nothing
    assert "workbench-plan" in text(wiz.plan_out) and f"user='{user}'" in text(wiz.plan_out)

    wiz.restore_button.click()
    assert wiz.result.files == len(plan.items)
    for i in plan.items:
        assert _crc(i.dest) == i.entry.crc32
    wiz.check_button.click()
    n = len(plan.items)
    assert f"check: {n} of {n} files match the backup" in text(wiz.result_out)

    # a damaged file is caught by the check
    victim = plan.items[0].dest
    open(victim, "ab").write(b"x")
    wiz.check_button.click()
    assert f"check: {n - 1} of {n} files match" in text(wiz.result_out)
    assert "WRONG SIZE" in text(wiz.result_out)


def test_restore_wizard_changed_choice_needs_a_new_plan(ws):
    wiz = RestoreWizard(ws.target, store=ws.store, to=ws.restore_dir)
    wiz.pair_button.click()
    wiz.domain.value = "example.org"
    wiz.plan_button.click()
    assert not wiz.restore_button.disabled
    wiz.domain.value = "example.com"
    assert wiz.restore_button.disabled and wiz.plan is None
    wiz.run_restore()
    assert "Show the plan first" in text(wiz.result_out)
    assert not os.path.exists(ws.restore_dir)
    wiz.to.value = ""
    wiz.plan_button.click()
    assert "type the directory to restore into" in text(wiz.plan_out)


def test_restore_wizard_one_message_into_live_store(ws):
    msgs = catalog.read_messages(ws.target, set="F20261122T010000Z")
    m = msgs[msgs["area"] == "mail"].iloc[0]
    live = os.path.join(ws.store, *m["path"].split("/"))
    os.remove(live)  # the admin lost it
    wiz = RestoreWizard(ws.target, store=ws.store, to=ws.restore_dir)
    wiz.pair_button.click()
    wiz.message_id.value = m["message_id"]
    wiz.search_button.click()
    assert wiz.message.value == m["path"]
    assert "1 messages found in F20261122T010000Z" in text(wiz.found)
    wiz.mode.value = "live"
    wiz.plan_button.click()
    [item] = wiz.plan.items
    assert item.entry.path == m["path"] and wiz.plan.into_live
    wiz.restore_button.click()
    [(member, written)] = wiz.result.placed
    assert member == m["path"] and os.path.dirname(written) == os.path.dirname(live)
    assert _crc(written) == item.entry.crc32
    wiz.check_button.click()
    assert "check: 1 of 1 files match" in text(wiz.result_out)
    folder = os.path.dirname(os.path.dirname(live))
    assert not os.path.exists(os.path.join(folder, "index.fld"))  # set aside for a rebuild
    assert any(n.startswith("index.fld.before-restore-") for n in os.listdir(folder))


def test_restore_wizard_search_needs_criteria(ws):
    wiz = RestoreWizard(ws.target, store=ws.store, to=ws.restore_dir)
    wiz.search_button.click()
    assert "Type part of the sender, recipient or subject" in text(wiz.found)
    wiz.sender.value = "no-such-sender-anywhere"
    wiz.search_button.click()
    assert "0 messages found" in text(wiz.found)
    assert list(wiz.message.options) == [("(no single message)", "")]
