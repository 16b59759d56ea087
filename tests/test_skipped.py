"""A file skipped at backup (``oversize = "skip"``: larger than the volume size) is an entry: the
manifest records it with its size and reason, and every reader shows it as not in the backup
(ls, read_entries, recovery_plan, the restore's plan and summary, verify, the notebook's check,
the status e-mail). A later differential records it too."""

import json
import os
from datetime import datetime, timedelta, timezone

import pytest

import workbench
from workbench import catalog
from workbench.archive import manifest as mf
from workbench.cli import main
from workbench.naming import manifest_name

from helpers import make_store, snapshot

T0 = datetime(2026, 11, 1, 1, 0, 0, tzinfo=timezone.utc)
SETTINGS = dict(min_free=0, volume_size="64KiB")
WHY = "1 file is not in the backup: skipped at backup, larger than the volume size"


@pytest.fixture
def oversize(tmp_path):
    """A store with one message larger than a volume, a full and a differential of it."""
    store = make_store(tmp_path / "server", messages=40, seed=3)
    inbox = sorted(p for p in (tmp_path / "server" / "store" / "mail").glob("*/*/INBOX/#msgs"))[0]
    big = inbox / "0000ffff.eml"
    big.write_bytes(b"From: a@example.com\r\nSubject: big\r\n\r\n" + os.urandom(200 * 1024))
    path = big.relative_to(tmp_path / "server").as_posix()
    bk = tmp_path / "bk"
    f = workbench.backup("full", store=store, target=str(bk), now=T0, **SETTINGS)
    d = workbench.backup("differential", store=store, target=str(bk), now=T0 + timedelta(days=1),
                         **SETTINGS)
    _, _, domain, user, _ = path.split("/", 4)
    return {"store": store, "bk": str(bk), "path": path, "size": big.stat().st_size,
            "full": f, "diff": d, "domain": domain, "user": user}


def test_the_manifest_records_it_with_size_and_reason(oversize):
    f, d = oversize["full"], oversize["diff"]
    for r in (f, d):  # the differential checks it again: not silently dropped
        assert [(s["path"], s["size"], s["reason"]) for s in r.skipped] == [
            (oversize["path"], oversize["size"], "oversize")]
        header = mf.decode((open(os.path.join(oversize["bk"], manifest_name(r.set_name)), "rb")
                            .read()))
        [s] = header["skipped"]
        assert (s["path"], s["size"], s["reason"]) == (oversize["path"], oversize["size"],
                                                       "oversize")
        assert s["mtime_ns"] == os.stat(os.path.join(oversize["store"], s["path"])).st_mtime_ns


def test_ls_and_read_entries_show_it(oversize, capsys):
    for r in (oversize["full"], oversize["diff"]):
        assert main(["ls", r.set_name, "--target", oversize["bk"]]) == 0
        [line] = [x for x in capsys.readouterr().out.splitlines() if oversize["path"] in x]
        assert line.endswith(f"{oversize['path']}  (not in the backup: skipped at backup, larger "
                             "than the volume size)")
        assert main(["ls", r.set_name, "--target", oversize["bk"], "--json"]) == 0
        rows = {x["path"]: x for x in map(json.loads, capsys.readouterr().out.splitlines())}
        row = rows[oversize["path"]]
        assert (row["skipped"], row["stored_in"], row["size"]) == ("oversize", None,
                                                                    oversize["size"])
        assert all(x["skipped"] is None for p, x in rows.items() if p != oversize["path"])
        df = catalog.read_entries(oversize["bk"], set=r.set_name)
        hit = df[df["path"] == oversize["path"]]
        assert len(hit) == 1 and hit["skipped"].iloc[0] == "oversize"
        assert hit["stored_in"].isna().all() and hit["size"].iloc[0] == oversize["size"]
        assert df["skipped"].notna().sum() == 1


def test_recovery_plan_counts_it_apart(oversize):
    rp = catalog.recovery_plan(oversize["bk"])
    assert rp.set == oversize["diff"].set_name
    assert rp.skipped["path"].tolist() == [oversize["path"]]
    assert rp.files == len(rp.entries) - 1
    scoped = catalog.recovery_plan(oversize["bk"], domain=oversize["domain"],
                                   user=oversize["user"], folder="INBOX")
    assert scoped.skipped["path"].tolist() == [oversize["path"]]


def test_restore_plan_and_summary_say_it_is_not_in_the_backup(oversize, tmp_path, capsys):
    sel = dict(domain=oversize["domain"], user=oversize["user"], folder="INBOX")
    plan = workbench.plan_restore(str(tmp_path / "p"), target=oversize["bk"], **sel)
    assert [e.path for e in plan.not_in_backup] == [oversize["path"]]
    assert f"{WHY}:" in plan.render()
    r = workbench.restore(str(tmp_path / "out"), target=oversize["bk"], **sel)
    assert [e.path for e in r.not_in_backup] == [oversize["path"]]
    assert r.files == len(plan.items)
    assert oversize["path"] not in snapshot(tmp_path / "out")
    # by path too: not an unknown file, but one the backup could not store
    one = workbench.restore(str(tmp_path / "one"), target=oversize["bk"],
                            paths=[oversize["path"]])
    assert one.files == 0 and [e.path for e in one.not_in_backup] == [oversize["path"]]
    # the command line: dry-run, summary and list
    args = ["restore", "--target", oversize["bk"], "-d", oversize["domain"], "-u",
            oversize["user"], "-f", "INBOX"]
    assert main(args + ["--to", str(tmp_path / "c"), "--dry-run"]) == 0
    assert f"{WHY}:" in capsys.readouterr().out
    assert main(args + ["--to", str(tmp_path / "c")]) == 0
    out = capsys.readouterr().out
    assert f"{WHY}:\n  {oversize['path']} (200.0 KiB)" in out
    assert main(args + ["-l"]) == 0
    listed = capsys.readouterr()
    assert WHY in listed.err and oversize["path"] in listed.out


def test_verify_names_it_without_calling_it_a_problem(oversize, capsys):
    assert main(["verify", "--target", oversize["bk"], "--level", "catalog"]) == 0
    err = capsys.readouterr().err
    assert "verify --level catalog: no problems (2 files are not in the backup: skipped at " \
           "backup, larger than the volume size)" in err
    assert f"{oversize['full'].set_name}: {oversize['path']}" in err


def test_the_status_email_names_it(oversize):
    from workbench.service.notify import body_text
    from workbench.service.runner import RunReport
    report = RunReport("success", "F", result=oversize["full"])
    body = body_text(report)
    assert f"Skipped oversize files: 1 ({WHY})" in body
    assert f"  {oversize['path']} (200.0 KiB, {oversize['size']} bytes): skipped at backup, " \
           "larger than the volume size" in body


def test_the_notebook_check_counts_it(oversize, tmp_path):
    from workbench.widgets import RestoreWizard, show
    wiz = RestoreWizard(oversize["bk"], store=oversize["store"], to=str(tmp_path / "w"))
    wiz.pair_button.click()
    wiz.domain.value = oversize["domain"]
    wiz.user.value = oversize["user"]
    wiz.folder.value = "INBOX"
    wiz.plan_button.click()
    assert WHY in show.outputs_text(wiz.plan_out)
    wiz.restore_button.click()
    wiz.check_button.click()
    n = len(wiz.plan.items)
    text = show.outputs_text(wiz.result_out)
    assert f"check: {n} of {n + 1} restored; 1 skipped at backup (larger than the volume size)" \
        in text
    assert "Files not in the backup" in text and oversize["path"] in text
