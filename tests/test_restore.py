"""Restore: kmsrecover selections and masks, -s/-c, --list, --at, single messages, --dry-run,
conflicts, --into-live, and safety against malicious archives."""

import os
import shutil
import zipfile
from datetime import datetime, timedelta, timezone

import pytest

import workbench
from workbench import samples
from workbench.cli import main
from workbench.errors import (NoCompleteBackup, RestoreIncomplete, SelectionError, SetNotFound,
                              UnsafePath)
from workbench.selection import Selection, mask_of

from helpers import make_store, snapshot, store_snapshot

T0 = datetime(2026, 11, 1, 1, 0, 0, tzinfo=timezone.utc)
EXTRA = {"store/lists/example.com/staff/list.cfg": b"<list/>\n", "store/spam/bayes.db": b"spam\n",
         "sslca/ca.crt": b"-----BEGIN CERTIFICATE-----\n"}


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    """A store backed up three times (full, two differentials kept), with its state each time."""
    root = tmp_path_factory.mktemp("restore")
    store = make_store(root / "server", messages=300, seed=23)
    for rel, data in EXTRA.items():
        os.makedirs(os.path.dirname(os.path.join(store, rel)), exist_ok=True)
        with open(os.path.join(store, rel), "wb") as f:
            f.write(data)
    target = str(root / "bk")
    states, names = [], []
    for day in range(3):
        if day:
            samples.mutate(store, seed=day)
        kind = "full" if day == 0 else "differential"
        r = workbench.backup(kind, store=store, target=target, min_free=0, differentials="all",
                             now=T0 + timedelta(days=day))
        states.append(store_snapshot(store))
        names.append(r.set_name)
    return {"store": store, "target": target, "states": states, "names": names}


def mailbox(state):
    """A (domain, user, folder) that has messages and a subfolder-free sibling, from *state*."""
    msgs = sorted(p for p in state if "/#msgs/" in p and "/#public/" not in p)
    _, _, domain, user, rest = msgs[0].split("/", 4)
    return domain, user, rest.split("/#msgs/")[0]


def only(state, pred):
    return {p: v for p, v in state.items() if pred(p)}


def cli(*argv):
    return main([str(a) for a in argv])


def test_whole_restore_is_the_latest_state(history, tmp_path):
    assert cli("restore", "--to", tmp_path / "out", "--target", history["target"], "-q") == 0
    assert snapshot(tmp_path / "out") == history["states"][2]


def test_at_between_two_differentials_restores_the_earlier_one(history, tmp_path):
    t = (T0 + timedelta(days=1, hours=12)).strftime("%Y-%m-%dT%H:%MZ")
    assert cli("restore", "--to", tmp_path / "out", "--target", history["target"], "--at", t) == 0
    assert snapshot(tmp_path / "out") == history["states"][1]
    # Local time without a zone, in the 'YYYY-MM-DD HH:MM' form.
    local = (T0 + timedelta(hours=1)).astimezone().strftime("%Y-%m-%d %H:%M")
    plan = workbench.plan_restore(None, at=local, target=history["target"])
    assert str(plan.set.name) == history["names"][0]
    with pytest.raises(NoCompleteBackup):
        workbench.plan_restore(None, at="2026-10-01", target=history["target"])
    with pytest.raises(SelectionError, match="not a time"):
        workbench.plan_restore(None, at="yesterday", target=history["target"])


@pytest.mark.parametrize("flags, pred", [
    (["-d", "example.org"], lambda p: p.startswith("store/mail/example.org/")),
    (["-m", "cfg"], lambda p: p in ("mailserver.cfg", "users.cfg")),
    (["-m", "mail"], lambda p: p.startswith("store/mail/")),
    (["-m", "lists"], lambda p: p.startswith("store/lists/")),
    (["-m", "license"], lambda p: p.startswith("license/")),
    (["-m", "sslca"], lambda p: p.startswith("sslca/")),
    (["-m", "sslcert"], lambda p: p.startswith("sslcert/")),
    (["-m", "spam"], lambda p: p.startswith("store/spam/")),
    (["-m", "cfg,license", "-d", "example.org"],
     lambda p: p in ("mailserver.cfg", "users.cfg") or p.startswith("license/")),
    (["-d", "example.org", "-m", "mail,cfg"],
     lambda p: p.startswith("store/mail/example.org/") or p in ("mailserver.cfg", "users.cfg")),
])
def test_selection_flags_and_masks(history, tmp_path, flags, pred):
    state = history["states"][2]
    expected = only(state, pred)
    assert expected
    assert cli("restore", "--to", tmp_path / "out", "--target", history["target"], *flags) == 0
    assert snapshot(tmp_path / "out") == expected


def test_user_and_folder_with_its_subfolders(history, tmp_path):
    state = history["states"][2]
    domain, user, folder = mailbox(state)
    cli("restore", "--to", tmp_path / "u", "--target", history["target"], "-d", domain, "-u", user)
    assert snapshot(tmp_path / "u") == only(state, lambda p: p.startswith(
        f"store/mail/{domain}/{user}/"))
    # A folder takes its subfolders: make one by restoring a whole user and picking a parent.
    nested = sorted({p.split("/#msgs/")[0] for p in state if p.count("/") > 7 and "/#msgs/" in p})
    if nested:
        _, _, domain, user, rest = nested[0].split("/", 4)
        folder = rest.split("/")[0]
    prefix = f"store/mail/{domain}/{user}/{folder}/"
    cli("restore", "--to", tmp_path / "f", "--target", history["target"], "-d", domain, "-u", user,
        "-f", folder)
    assert snapshot(tmp_path / "f") == only(state, lambda p: p.startswith(prefix))
    sibling = f"store/mail/{domain}/{user}/{folder}2/"  # a prefix of the name is not the folder
    assert Selection(domain, user, folder).matches(_entry(prefix + "#msgs/00000001.eml"))
    assert not Selection(domain, user, folder).matches(_entry(sibling + "#msgs/00000001.eml"))


def _entry(path):
    from workbench.model import Entry
    from workbench.store import classify
    return Entry(path, *classify(path), 0, 0)


def test_bad_selections_name_the_flag(history, tmp_path, capsys):
    assert cli("restore", "--to", tmp_path, "--target", history["target"], "-f", "INBOX") == 50
    assert "--folder 'INBOX' needs --domain and --user" in capsys.readouterr().err
    assert cli("restore", "--to", tmp_path, "--target", history["target"], "-m", "cfg,bogus") == 50
    assert "bogus" in capsys.readouterr().err
    assert cli("restore", "--to", tmp_path, "--target", history["target"], "-d", "nope.test") == 50
    assert "nothing in set" in capsys.readouterr().err
    assert cli("restore", "--target", history["target"]) == 50  # no destination
    assert os.listdir(tmp_path) == []
    assert mask_of("store/archive/example.com/x.eml") is None


def test_store_and_cfgdir_split_the_destination(history, tmp_path):
    state = history["states"][2]
    s, c = tmp_path / "s", tmp_path / "c"
    assert cli("restore", "--target", history["target"], "-s", s, "-c", c) == 0
    assert snapshot(s) == {p[len("store/"):]: v for p, v in state.items() if p.startswith("store/")}
    assert snapshot(c) == only(state, lambda p: not p.startswith("store/"))
    # -s alone with the config selected has nowhere to put it: refused before writing.
    with pytest.raises(SelectionError, match="-c/--cfgdir"):
        workbench.restore(None, store_dir=str(tmp_path / "s2"), target=history["target"])
    assert not (tmp_path / "s2").exists()
    workbench.restore(None, store_dir=str(tmp_path / "s3"), mask="mail", target=history["target"])
    assert set(snapshot(tmp_path / "s3")) == {p[6:] for p in state if p.startswith("store/mail/")}


def test_list_and_sources(history, tmp_path, capsys):
    target = history["target"]
    assert cli("restore", "-l", target, "-m", "cfg") == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[-1] for line in out] == ["mailserver.cfg", "users.cfg"]
    assert all(history["names"][0] in line for line in out)  # unchanged since the full
    # A volume file: that set (the first differential, with its full).
    vol = os.path.join(target, history["names"][1] + ".zip")
    cli("restore", vol, "--to", tmp_path / "d1")
    assert snapshot(tmp_path / "d1") == history["states"][1]
    assert cli("restore", os.path.join(target, history["names"][1] + ".1.zip"), "-l") == 50
    assert "first volume" in capsys.readouterr().err
    with pytest.raises(SetNotFound):
        workbench.plan_restore(None, str(tmp_path / "nothing-here"))


def test_single_message_by_path_and_message_id(history, tmp_path):
    state = history["states"][2]
    path = sorted(p for p in state if p.endswith(".eml") and p.startswith("store/mail/"))[5]
    r = workbench.restore(str(tmp_path / "p"), paths=[path], target=history["target"])
    assert r.files == 1 and snapshot(tmp_path / "p") == {path: state[path]}
    with open(os.path.join(history["store"], path), "rb") as f:
        head = f.read().split(b"\r\n\r\n")[0].decode()
    mid = [line.split(":", 1)[1].strip() for line in head.splitlines()
           if line.lower().startswith("message-id:")][0]
    cli("restore", "--to", tmp_path / "m", "--target", history["target"], "--message-id",
        mid.strip("<>"))
    assert snapshot(tmp_path / "m") == {path: state[path]}
    with pytest.raises(SelectionError, match="store/mail/nope"):
        workbench.plan_restore("x", paths=["store/mail/nope/a.eml"], target=history["target"])
    with pytest.raises(SelectionError, match="no message with Message-ID"):
        workbench.plan_restore("x", message_ids=["<none@nowhere>"], target=history["target"])


def test_dry_run_shows_the_plan_and_writes_nothing(history, tmp_path, capsys):
    state = history["states"][2]
    out = tmp_path / "out"
    workbench.restore(str(out), mask="cfg", target=history["target"])
    os.remove(out / "users.cfg")
    assert cli("restore", "--to", out, "--target", history["target"], "-m", "cfg", "--dry-run",
               "--conflict", "overwrite") == 0
    text = capsys.readouterr().out
    assert f"{history['names'][0]}.zip" in text and history["names"][2] in text
    assert "1 create, 1 overwrite, 0 rename, 0 skip" in text
    assert f"overwrite {state['mailserver.cfg'][1]:>10}  {out / 'mailserver.cfg'}" in text
    assert sorted(os.listdir(out)) == ["mailserver.cfg"]
    plan = workbench.plan_restore(str(out), mask="cfg", target=history["target"])
    assert plan.counts() == {"skip": 1, "create": 1}
    assert plan.bytes == state["mailserver.cfg"][1] + state["users.cfg"][1]


def test_conflicts(history, tmp_path):
    state = history["states"][2]
    out = tmp_path / "out"
    out.mkdir()
    (out / "mailserver.cfg").write_bytes(b"mine")
    r = workbench.restore(str(out), mask="cfg", target=history["target"])
    assert r.skipped == ["mailserver.cfg"] and (out / "mailserver.cfg").read_bytes() == b"mine"
    r = workbench.restore(str(out), mask="cfg", conflict="rename", target=history["target"])
    assert sorted(r.renamed) == ["mailserver.cfg", "users.cfg"]
    assert (out / "mailserver.cfg").read_bytes() == b"mine"
    assert snapshot(out)["mailserver.cfg.restored-1"] == state["mailserver.cfg"]
    workbench.restore(str(out), mask="cfg", conflict="overwrite", target=history["target"])
    assert snapshot(out)["mailserver.cfg"] == state["mailserver.cfg"]
    assert "users.cfg.restored-1" in os.listdir(out)  # nothing outside the plan is deleted


def test_into_live_store_new_names_and_reindex(history, tmp_path):
    live = tmp_path / "live"
    shutil.copytree(history["store"], live)
    before = snapshot(live)
    state = history["states"][2]
    path = sorted(p for p in state if p.startswith("store/mail/") and p.endswith(".eml")
                  and "/#public/" not in p)[3]
    folder = path.split("/#msgs/")[0]
    existing = sorted(p for p in before if p.startswith(folder + "/#msgs/"))
    r = workbench.restore(str(live), paths=[path], into_live=True, target=history["target"])
    after = snapshot(live)
    new = sorted(p for p in set(after) - set(before) if "/#msgs/" in p)
    highest = int(existing[-1].rsplit("/", 1)[1][:8], 16)
    assert new == [f"{folder}/#msgs/{highest + 1:08x}.eml"]
    assert after[new[0]][0] == state[path][0]  # the same bytes under a new name
    # The index is set aside (kept, not deleted), everything else untouched.
    gone = set(before) - set(after)
    assert gone == {f"{folder}/index.fld"}
    aside = [p for p in after if p.startswith(f"{folder}/index.fld.before-restore-")]
    assert len(aside) == 1 and after[aside[0]][0] == before[f"{folder}/index.fld"][0]
    assert set(after) - set(before) == set(new) | set(aside)
    assert {p: v for p, v in after.items() if p not in new and p not in aside} == \
        {p: v for p, v in before.items() if p not in gone}
    assert r.marked == [str(live / aside[0])]

    # Into a new folder of another user: nothing of the original mailbox changes.
    _, _, domain, user, _ = path.split("/", 4)
    other = sorted(d for d in os.listdir(live / "store/mail" / domain)
                   if d != user and not d.startswith("#"))[0]
    before = snapshot(live)
    r = workbench.restore(str(live), paths=[path], into_live=True, to_user=other,
                          to_folder="Restored 2026-11-26", target=history["target"])
    after = snapshot(live)
    assert sorted(set(after) - set(before)) == [
        f"store/mail/{domain}/{other}/Restored 2026-11-26/#msgs/00000001.eml"]
    assert set(before) <= set(after) and r.marked == []
    with pytest.raises(SelectionError, match="no mailbox"):
        workbench.plan_restore(str(live), paths=[path], into_live=True, to_user="ghost",
                               target=history["target"])


def _malicious_set(target, link_target):
    os.makedirs(target, exist_ok=True)
    path = os.path.join(target, "F20261101T010000Z.zip")
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("store/ok.txt", b"fine")
        z.writestr("/abs/evil.txt", b"absolute")
        z.writestr("../evil.txt", b"dotdot")
        z.writestr("store/../../evil2.txt", b"dotdot2")
        link = zipfile.ZipInfo("store/link")
        link.external_attr = (0o120777 << 16)
        z.writestr(link, link_target)
        z.writestr("store/link/passwd", b"through the link")
    return path


def test_malicious_zip_writes_nothing_outside(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    target = tmp_path / "bk"
    _malicious_set(str(target), str(outside))
    dest = tmp_path / "box" / "dest"
    with pytest.raises(RestoreIncomplete) as info:
        workbench.restore(str(dest), target=str(target))
    failed = {p for p, _ in info.value.failures}
    assert failed == {"/abs/evil.txt", "../evil.txt", "store/../../evil2.txt", "store/link"}
    assert "symbolic link" in dict(info.value.failures)["store/link"]
    assert os.listdir(outside) == []
    assert snapshot(tmp_path / "box") == {k: v for k, v in snapshot(tmp_path / "box").items()
                                           if k.startswith("dest/")}
    assert sorted(snapshot(dest)) == ["store/link/passwd", "store/ok.txt"]
    assert not os.path.islink(dest / "store" / "link")


def test_destination_with_a_link_pointing_out(history, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    dest = tmp_path / "dest"
    dest.mkdir()
    os.symlink(outside, dest / "store")
    with pytest.raises(RestoreIncomplete) as info:
        workbench.restore(str(dest), target=history["target"])
    state = history["states"][2]
    assert {p for p, _ in info.value.failures} == {p for p in state if p.startswith("store/")}
    assert all("outside the destination" in r for _, r in info.value.failures)
    assert os.listdir(outside) == []
    assert snapshot(dest) == only(state, lambda p: not p.startswith("store/"))
    # A file that is itself a link is never written through.
    (outside / "x").write_bytes(b"keep")
    os.unlink(dest / "store")
    os.unlink(dest / "users.cfg")
    os.symlink(outside / "x", dest / "users.cfg")
    with pytest.raises(RestoreIncomplete) as info:
        workbench.restore(str(dest), mask="cfg", conflict="overwrite", target=history["target"])
    assert [p for p, _ in info.value.failures] == ["users.cfg"]
    assert (outside / "x").read_bytes() == b"keep"


def test_check_member_path_refuses_unsafe_names():
    from workbench.restorer import check_member_path
    for bad in ("/etc/passwd", "../x", "a/../../x", "a//b", "C:/x", "a\\b", ""):
        with pytest.raises(UnsafePath):
            check_member_path(bad)
    check_member_path("store/mail/a/b/#msgs/00000001.eml")


def test_restore_in_small_batches_never_creates_in_one_directory_from_two_threads(
        history, tmp_path, monkeypatch):
    """Batches of three files: the whole state still comes back, and no directory has files
    created in it by two writer threads at the same time (threads creating files in one
    directory take turns on its lock in the kernel)."""
    import importlib
    import threading
    import time
    r = importlib.import_module("workbench.restorer.write")
    monkeypatch.setattr(r, "_BATCH_FILES", 3)
    lock, active, overlaps, seen = threading.Lock(), {}, [], {}
    create = r._Writer._create

    def spy(self, path, entry, data):
        d, me = os.path.dirname(path), threading.get_ident()
        with lock:
            others = {t for t in active.get(d, ()) if t != me}
            if others:
                overlaps.append(d)
            active.setdefault(d, []).append(me)
            seen[d] = seen.get(d, 0) + 1
        try:
            time.sleep(0.001)  # widen the window in which an overlap would show
            return create(self, path, entry, data)
        finally:
            with lock:
                active[d].remove(me)

    monkeypatch.setattr(r._Writer, "_create", spy)
    out = tmp_path / "out"
    result = workbench.restore(str(out), target=history["target"])
    assert snapshot(out) == history["states"][2]
    assert result.files == len(history["states"][2])
    assert max(seen.values()) > 3  # some directory spans several batches
    assert overlaps == []


def test_a_damaged_member_fails_alone_inside_its_batch(history, tmp_path, monkeypatch):
    """A CRC mismatch in the middle of a batch fails that entry only; no file of it is left (with
    one batch in flight at a time, so that the reader waits for the writers)."""
    import importlib
    r = importlib.import_module("workbench.restorer.write")
    monkeypatch.setattr(r, "_BATCH_FILES", 4)
    monkeypatch.setattr(r, "_RESTORE_INFLIGHT_BYTES", 1)
    state = history["states"][2]
    victim = sorted(p for p in state if "/#msgs/" in p)[5]
    write = r._Writer.write

    def damaging(self, item, payload):
        if item.entry.path == victim:
            payload = bytes(len(payload)) if payload else b"x"
        return write(self, item, payload)

    monkeypatch.setattr(r._Writer, "write", damaging)
    out = tmp_path / "out"
    with pytest.raises(RestoreIncomplete) as info:
        workbench.restore(str(out), target=history["target"])
    assert [p for p, _ in info.value.failures] == [victim]
    assert snapshot(out) == {p: v for p, v in state.items() if p != victim}
