"""The notebook forms driven without a kernel: set values, press buttons, read the outputs and
check what the library did (config file, sets on the target, files restored, mail received).

One demo workspace (sample store, two weeks of nightly backups) is built per module and cloned
per test, so each test starts from the same state.
"""

import base64
import html
import os
import shutil
import socket
import zlib
from dataclasses import replace

import pytest

from workbench import catalog
from workbench.config import load_config
from workbench.service.scheduler import next_run_times
from workbench.sets import list_sets
from workbench.targets import open_target
from workbench.config import Task
from workbench.service.tasks import list_tasks
from workbench.widgets import (NotifyForm, RestoreWizard, ScheduleForm, StartNowButton,
                               StorageDashboard, Workspace, demo_target, show, workspace)

SETS = ["F20261108T010000Z"] + [f"D202611{d:02d}T010000Z" for d in range(9, 15)] + \
    ["F20261115T010000Z"]


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

def test_demo_has_two_weeks_of_rotated_backups(demo):
    assert demo.demo and demo.keep == 2 and demo.min_free == 0
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
    usage = catalog.storage_usage(demo.target, keep=2, capacity=demo.capacity)
    assert list(dash.usage["set"]) == SETS == list(usage["set"])
    assert list(dash.usage["bytes"]) == list(usage["bytes"])
    assert dash.forecast.keep == 2 and dash.forecast.capacity == 12 * 1024**2
    summary = text(dash.summary)
    assert "8 sets take" in summary and "keep = 2" in summary
    assert f"largest keep that fits today: {dash.forecast.largest_keep}" in summary
    first = png_of(dash.chart)
    assert len(first) == 1 and first[0].startswith(b"\x89PNG")

    dash.keep.value = 1  # the slider: the F20261108 chain no longer fits
    assert dash.forecast.keep == 1 and "keep = 1" in text(dash.summary)
    assert list(dash.usage["rotation"].astype(str)) == ["delete-next"] * 7 + ["keep"]
    second = png_of(dash.chart)
    assert len(second) == 1 and second[0] != first[0]


def test_storage_dashboard_largest_users_and_report(demo):
    dash = StorageDashboard(demo.target, keep=2, capacity=demo.capacity, min_free=0, top=3)
    users, folders = dash.largest_frames()
    e = catalog.read_entries(demo.target)
    e = e[e["user"].notna()]
    expected = e.groupby(["domain", "user"], observed=True)["size"].sum().nlargest(3)
    assert [(d, u, b) for d, u, b in zip(users["domain"], users["user"], users["bytes"])] == [
        (d, u, b) for (d, u), b in expected.items()]
    assert len(folders) == 3 and folders["bytes"].is_monotonic_decreasing
    assert "Largest users" in text(dash.largest)
    page = dash.report_html()
    assert 'src="data:image/png;base64,' in page and "Largest folders" in page


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
    assert png_of(wiz.timeline) and "8 sets on the target" in text(wiz.timeline)
    assert [v for _, v in wiz.quick.options][:2] == ["", "2026-11-15 01:00:00"]
    wiz.quick.value = "2026-11-12 01:00:00"
    assert wiz.at.value == "2026-11-12 01:00:00"
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
    msgs = catalog.read_messages(ws.target, set="F20261115T010000Z")
    m = msgs[msgs["user"] != "#public"].iloc[0]
    live = os.path.join(ws.store, *m["path"].split("/"))
    os.remove(live)  # the admin lost it
    wiz = RestoreWizard(ws.target, store=ws.store, to=ws.restore_dir)
    wiz.pair_button.click()
    wiz.message_id.value = m["message_id"]
    wiz.search_button.click()
    assert wiz.message.value == m["path"]
    assert "1 messages found in F20261115T010000Z" in text(wiz.found)
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
    assert "Type part of the sender or subject" in text(wiz.found)
    wiz.sender.value = "no-such-sender-anywhere"
    wiz.search_button.click()
    assert "0 messages found" in text(wiz.found)
    assert list(wiz.message.options) == [("(no single message)", "")]
