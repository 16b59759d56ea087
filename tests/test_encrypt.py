"""Encrypted backups: AES-256 volumes that 7-Zip and bsdtar open with the password, sealed
manifests and indexes, the password from the environment (never the config, logs, status,
--json, e-mail or a command line), every reader with it, and chains that stay restorable."""

import glob
import json
import os
import shutil
import subprocess
from datetime import datetime, timedelta, timezone

import pytest

import workbench
from workbench.archive import crypt, pack, sealed
from workbench.cli import main
from workbench.config import load_config, validate
from workbench.errors import (ConfigError, MemberTampered, PasswordMissing, PasswordUnusable,
                              VerifyFailed, WrongPassword)
from workbench.naming import index_name, manifest_name
from workbench.sets import list_sets

from helpers import make_store, snapshot, store_snapshot

PW = "Corr3ct horse: battery staple!"
SUBJECT = "Zebra merger 4711 strictly confidential"
SENDER = "ceo.zebra@hidden-sender.example"
MESSAGE_ID = "<zebra-4711@hidden-sender.example>"
T0 = datetime(2026, 11, 1, 1, 0, 0, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def no_keyring(monkeypatch):
    """The keyring is a real source: the fail backend makes it give nothing (subprocesses too)."""
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    monkeypatch.delenv("WORKBENCH_PASSWORD", raising=False)


def add_secret_message(store, name="0000abcd.eml"):
    """A message with a known subject, sender and Message-ID in the store's first mailbox;
    returns its path relative to the server directory."""
    folder = sorted(glob.glob(os.path.join(store, "store/mail/*/*/INBOX/#msgs")))[0]
    path = os.path.join(folder, name)
    with open(path, "w") as f:
        f.write(f"From: Zebra CEO <{SENDER}>\r\nTo: board@example.org\r\nSubject: {SUBJECT}\r\n"
                f"Message-ID: {MESSAGE_ID}\r\nDate: Sun, 1 Nov 2026 01:00:00 +0000\r\n\r\n"
                f"The merger is on.\r\n" + "x" * 2000 + "\r\n")
    return os.path.relpath(path, store)


def add_big_files(store):
    """A compressible and an incompressible file above the (lowered) stream threshold."""
    d = os.path.join(store, "license")
    with open(os.path.join(d, "big-text.bin"), "wb") as f:
        f.write(b"compressible line of text\n" * 12000)
    with open(os.path.join(d, "big-random.bin"), "wb") as f:
        f.write(os.urandom(300 * 1024))


@pytest.fixture
def store(tmp_path):
    s = make_store(tmp_path / "server", messages=60, seed=5)
    add_secret_message(s)
    add_big_files(s)
    return s


@pytest.fixture(params=["threads", "workers"])
def engine(request, monkeypatch):
    """Both writers: the main process's volumes (small jobs), and worker processes writing
    volumes of their own; big files streamed in both."""
    import importlib
    monkeypatch.setattr(importlib.import_module("workbench.backup"), "STREAM_THRESHOLD",
                        64 * 1024)
    if request.param == "workers":
        monkeypatch.setattr(pack, "_PROCESS_MIN_FILES", 1)
    return request.param


def encrypted_backup(store, target, kind="full", password=PW, monkeypatch=None, **kw):
    os.environ["WORKBENCH_PASSWORD"] = password
    try:
        return workbench.backup(kind, store=store, target=str(target), min_free=0, encrypt=True,
                                **kw)
    finally:
        del os.environ["WORKBENCH_PASSWORD"]


def volumes(target):
    return sorted(glob.glob(os.path.join(str(target), "*.zip")))


def seven_zip(*args):
    return subprocess.run(["7z", *args], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL)


# --- volumes -------------------------------------------------------------------------------------

def test_volumes_open_in_7zip_and_bsdtar_with_the_password_only(store, tmp_path, engine):
    bk = tmp_path / "bk"
    r = encrypted_backup(store, bk, volume_size="512KiB")
    vols = volumes(bk)
    assert len(vols) == len(r.volumes) > 1
    out = tmp_path / "x"
    out.mkdir()
    for v in vols:
        ok = seven_zip("t", f"-p{PW}", v)
        assert ok.returncode == 0 and "Everything is Ok" in ok.stdout, ok.stdout + ok.stderr
        assert seven_zip("t", "-pnot the password", v).returncode != 0
        assert seven_zip("t", v).returncode != 0  # no password: 7-Zip cannot read a member
        listing = seven_zip("l", "-slt", f"-p{PW}", v).stdout
        members = [b for b in listing.split("\n\n") if "\nPath = " in "\n" + b and "Encrypted" in b]
        assert members and all("Encrypted = +" in b and "AES-256" in b for b in members)
        subprocess.run(["bsdtar", "-x", "--passphrase", PW, "-f", v, "-C", str(out)], check=True)
    got = snapshot(out)
    manifest_copy = f".workbench/{r.set_name}.manifest.json"
    assert manifest_copy in got  # the manifest copy is a member like the others (encrypted)
    del got[manifest_copy]
    # byte for byte (zip tools set times to the second)
    assert {p: v[:2] for p, v in got.items()} == {p: v[:2] for p, v in
                                                  store_snapshot(store).items()}


def test_config_key_encrypt_and_backup_flag(store, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_PASSWORD", PW)
    bk = tmp_path / "bk"
    assert main(["backup", "full", "--store", store, "--target", str(bk), "--min-free", "0",
                 "--encrypt", "-q"]) == 0
    cfg = tmp_path / "wb.toml"
    cfg.write_text(f"store = {store!r}\ntarget = {str(tmp_path / 'bk2')!r}\nmin_free = 0\n"
                   f"encrypt = true\n")
    assert load_config(str(cfg)).encrypt is True
    assert main(["backup", "full", "--config", str(cfg), "-q"]) == 0
    for target in (bk, tmp_path / "bk2"):
        (v,) = volumes(target)
        assert seven_zip("t", v).returncode != 0
        assert seven_zip("t", f"-p{PW}", v).returncode == 0
        assert crypt.file_is_sealed(workbench.targets.open_target(str(target)),
                                    os.path.basename(v).replace(".zip", ".manifest.json.gz"))
    assert validate({}).encrypt is False and validate({}).password_env == "WORKBENCH_PASSWORD"
    with pytest.raises(ConfigError, match="encrypt"):
        validate({"encrypt": "yes"})


def test_plain_backups_stay_plain(store, tmp_path):
    r = workbench.backup("full", store=store, target=str(tmp_path / "bk"), min_free=0)
    (v,) = volumes(tmp_path / "bk")
    assert seven_zip("t", v).returncode == 0  # no password asked
    with open(tmp_path / "bk" / manifest_name(r.set_name), "rb") as f:
        assert f.read(2) == b"\x1f\x8b"
    with open(tmp_path / "bk" / index_name(r.set_name), "rb") as f:
        assert f.read(16) == b"SQLite format 3\0"


def test_sealed_magic_is_the_one_of_sealed_files():
    assert crypt.SEALED_MAGIC == sealed.MAGIC


# --- nothing readable without the password --------------------------------------------------

def test_no_file_on_the_target_shows_a_subject_sender_or_message_id(store, tmp_path, engine):
    bk = tmp_path / "bk"
    encrypted_backup(store, bk, now=T0)
    add_secret_message(store, "0000abce.eml")  # the differential stores a message too
    d = encrypted_backup(store, bk, "differential", now=T0 + timedelta(days=1))
    assert d.kind == "D"
    files = sorted(os.listdir(bk))
    assert any(f.endswith(".index.sqlite") for f in files)
    assert any(f.endswith(".manifest.json.gz") for f in files)
    for fname in files:
        data = (bk / fname).read_bytes()
        for secret in (SUBJECT, SENDER, MESSAGE_ID, "Zebra", "hidden-sender"):
            assert secret.encode() not in data, (fname, secret)
    # ... while the catalog, with the password, reads them
    os.environ["WORKBENCH_PASSWORD"] = PW
    try:
        from workbench.catalog import read_messages
        m = read_messages(str(bk))
    finally:
        del os.environ["WORKBENCH_PASSWORD"]
    assert (m["subject"] == SUBJECT).sum() == 2
    assert set(m.loc[m["subject"] == SUBJECT, "from"]) == {f"Zebra CEO <{SENDER}>"}


# --- the password --------------------------------------------------------------------------------

def test_a_password_in_the_config_is_refused_naming_the_key(tmp_path):
    cfg = tmp_path / "wb.toml"
    cfg.write_text(f'encrypt = true\npassword = "{PW}"\n')
    with pytest.raises(ConfigError) as e:
        load_config(str(cfg))
    assert e.value.key == "password" and "never put the backup password in the config" in str(e.value)
    assert PW not in str(e.value)
    assert main(["backup", "full", "--config", str(cfg)]) == ConfigError.exit_code


def test_encrypt_without_a_password_fails_before_anything_is_written(store, tmp_path):
    bk = tmp_path / "bk"
    assert main(["backup", "full", "--store", store, "--target", str(bk), "--min-free", "0",
                 "--encrypt"]) == PasswordMissing.exit_code
    assert not bk.exists()
    os.environ["WORKBENCH_PASSWORD"] = "naïve"  # 7-Zip reads zip passwords as ASCII only
    try:
        with pytest.raises(PasswordUnusable) as e:
            workbench.backup("full", store=store, target=str(bk), min_free=0, encrypt=True)
        assert "naïve" not in str(e.value)
        assert main(["backup", "full", "--store", store, "--target", str(bk), "--min-free", "0",
                     "--encrypt"]) == PasswordUnusable.exit_code
    finally:
        del os.environ["WORKBENCH_PASSWORD"]
    assert not bk.exists()


def test_password_env_names_the_variable(store, tmp_path, monkeypatch):
    monkeypatch.setenv("MY_BACKUP_SECRET", PW)
    bk = tmp_path / "bk"
    r = workbench.backup("full", store=store, target=str(bk), min_free=0, encrypt=True,
                         password_env="MY_BACKUP_SECRET")
    out = tmp_path / "out"
    workbench.restore(str(out), target=str(bk), password_env="MY_BACKUP_SECRET")
    assert snapshot(out) == store_snapshot(store)
    with pytest.raises(PasswordMissing, match="OTHER_VAR"):
        workbench.restore(str(tmp_path / "out2"), target=str(bk), password_env="OTHER_VAR")
    assert r.kind == "F"


def test_the_password_appears_in_no_log_status_json_mail_or_command_line(
        store, tmp_path, monkeypatch, smtp):
    inbox, port = smtp
    monkeypatch.setenv("WORKBENCH_PASSWORD", PW)
    monkeypatch.setattr(pack, "_PROCESS_MIN_FILES", 1)  # worker processes
    state = tmp_path / "state"
    cfg = tmp_path / "wb.toml"
    cfg.write_text(f"store = {store!r}\ntarget = {str(tmp_path / 'bk')!r}\nmin_free = 0\n"
                   f"encrypt = true\nschedule_db = {str(state / 'schedule.db')!r}\n"
                   f"[notify]\nto = [\"admin@example.com\"]\nsmtp_host = \"127.0.0.1\"\n"
                   f"smtp_port = {port}\n")
    cmdlines = []
    real_popen = subprocess.Popen

    def popen(args, *a, **kw):  # the workers' command lines and environments, as /proc shows
        proc = real_popen(args, *a, **kw)
        for what in ("cmdline", "environ"):
            with open(f"/proc/{proc.pid}/{what}", "rb") as f:
                cmdlines.append(f.read())
        return proc

    monkeypatch.setattr(pack.subprocess, "Popen", popen)
    assert main(["log", "debug", "on", "--config", str(cfg)]) == 0
    import io
    from contextlib import redirect_stdout
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["backup", "full", "--config", str(cfg), "--json"]) == 0
    # a failing run too: its error goes to the log, the status and the e-mail
    monkeypatch.setenv("WORKBENCH_PASSWORD", "wrong but usable")
    with redirect_stdout(out):
        main(["backup", "differential", "--config", str(cfg), "--json"])
        main(["restore", "--config", str(cfg), "--to", str(tmp_path / "r"), "--json"])
    assert any(b"workbench.archive.pack" in c for c in cmdlines)  # the workers ran
    texts = {"json": out.getvalue().encode(), "cmdlines": b"\n".join(cmdlines)}
    for path in glob.glob(str(state / "*")):
        if os.path.isfile(path):
            texts[path] = open(path, "rb").read()
    assert any(p.endswith(".log") for p in texts) and any(p.endswith("status.json") for p in texts)
    msgs = inbox.wait(2)
    assert len(msgs) == 2
    texts["mail"] = b"\n".join(m.message.as_bytes() for m in msgs)
    assert b"backup" in texts[next(p for p in texts if p.endswith(".log"))]
    for where, data in texts.items():
        assert PW.encode() not in data, where
        assert b"wrong but usable" not in data, where


# --- readers ------------------------------------------------------------------------------------

@pytest.fixture
def chain(tmp_path_factory):
    """An encrypted full and differential of a store with a secret message (made once)."""
    base = tmp_path_factory.mktemp("chain")
    s = make_store(base / "server", messages=60, seed=9)
    path = add_secret_message(s)
    bk = base / "bk"
    full = encrypted_backup(s, bk, now=T0, differentials="all")
    first = store_snapshot(s)
    os.remove(os.path.join(s, path))
    add_secret_message(s, "0000abcf.eml")
    diff = encrypted_backup(s, bk, "differential", now=T0 + timedelta(days=1),
                            differentials="all")
    assert diff.kind == "D" and diff.base == full.set_name
    return {"store": s, "target": bk, "full": full, "diff": diff, "first": first,
            "last": store_snapshot(s), "path": path}


def cli(*argv):
    return main([str(a) for a in argv])


def test_restore_whole_scoped_one_message_and_at(chain, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_PASSWORD", PW)
    bk = chain["target"]
    assert cli("restore", "--target", bk, "--to", tmp_path / "all", "-q") == 0
    assert snapshot(tmp_path / "all") == chain["last"]
    t = (T0 + timedelta(hours=12)).strftime("%Y-%m-%dT%H:%MZ")
    assert cli("restore", "--target", bk, "--to", tmp_path / "at", "--at", t, "-q") == 0
    assert snapshot(tmp_path / "at") == chain["first"]
    assert cli("restore", chain["full"].set_name, "--target", bk, "--to", tmp_path / "one",
               "--path", chain["path"], "-q") == 0
    assert snapshot(tmp_path / "one") == {chain["path"]: chain["first"][chain["path"]]}
    assert cli("restore", "--target", bk, "--to", tmp_path / "mid", "--message-id", MESSAGE_ID,
               "-q") == 0
    (got,) = snapshot(tmp_path / "mid").items()
    assert got[0].endswith("0000abcf.eml") and got[1] == chain["last"][got[0]]
    domain, user = chain["path"].split("/")[2:4]
    assert cli("restore", "--target", bk, "--to", tmp_path / "user", "-d", domain, "-u", user,
               "-q") == 0
    want = {p: v for p, v in chain["last"].items() if p.startswith(f"store/mail/{domain}/{user}/")}
    assert snapshot(tmp_path / "user") == want


def test_restore_into_the_live_store(chain, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_PASSWORD", PW)
    live = tmp_path / "live"
    shutil.copytree(chain["store"], live)
    before = snapshot(live)
    r = workbench.restore(str(live), paths=[chain["path"]], into_live=True,
                          target=str(chain["target"]), set=chain["full"].set_name)
    after = snapshot(live)
    new = sorted(set(after) - set(before))
    assert any(after[p][0] == chain["first"][chain["path"]][0] for p in new)
    assert r.files == 1


@pytest.mark.parametrize("argv", [
    [],
    ["--at", (T0 + timedelta(hours=12)).strftime("%Y-%m-%dT%H:%MZ")],
    ["--message-id", MESSAGE_ID],
    ["--path", "store/mail/x/y/INBOX/#msgs/00000001.eml"],
])
def test_wrong_or_missing_password_fails_before_anything_is_restored(chain, tmp_path,
                                                                       monkeypatch, argv):
    bk, out = chain["target"], tmp_path / "out"
    out.mkdir()
    before = snapshot(bk)
    monkeypatch.setenv("WORKBENCH_PASSWORD", "not the password")
    assert cli("restore", "--target", bk, "--to", out, *argv) == WrongPassword.exit_code
    assert os.listdir(out) == []
    monkeypatch.delenv("WORKBENCH_PASSWORD")
    assert cli("restore", "--target", bk, "--to", out, *argv) == PasswordMissing.exit_code
    assert os.listdir(out) == []
    assert snapshot(bk) == before


def test_into_live_with_a_wrong_password_changes_nothing(chain, tmp_path, monkeypatch):
    live = tmp_path / "live"
    shutil.copytree(chain["store"], live)
    before = snapshot(live)
    monkeypatch.setenv("WORKBENCH_PASSWORD", "not the password")
    with pytest.raises(WrongPassword):
        workbench.restore(str(live), paths=[chain["path"]], into_live=True,
                          target=str(chain["target"]), set=chain["full"].set_name)
    assert snapshot(live) == before


@pytest.mark.parametrize("level", ["catalog", "data", "sample=50"])
def test_verify_at_each_level(chain, monkeypatch, level):
    bk = chain["target"]
    monkeypatch.setenv("WORKBENCH_PASSWORD", PW)
    assert cli("verify", "--target", bk, "--level", level, "-q") == 0
    monkeypatch.setenv("WORKBENCH_PASSWORD", "not the password")
    assert cli("verify", "--target", bk, "--level", level, "-q") == WrongPassword.exit_code
    monkeypatch.delenv("WORKBENCH_PASSWORD")
    assert cli("verify", "--target", bk, "--level", level, "-q") == PasswordMissing.exit_code


def test_verify_finds_a_tampered_member(chain, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_PASSWORD", PW)
    bk = tmp_path / "bk"
    shutil.copytree(chain["target"], bk)
    vol = bk / f"{chain['full'].set_name}.zip"
    import zipfile
    with zipfile.ZipFile(vol) as z:
        info = next(i for i in z.infolist() if i.compress_size > 200)
    data = bytearray(vol.read_bytes())
    # inside the member's ciphertext: after its local header, salt and verifier
    at = info.header_offset + 30 + len(info.orig_filename.encode()) + len(info.extra) + 18 + 50
    data[at] ^= 0x40
    vol.write_bytes(bytes(data))
    problems = workbench.verify(target=str(bk), set=chain["full"].set_name)
    assert [p.path for p in problems] == [info.filename]
    assert "fails its authentication check" in problems[0].problem
    assert cli("verify", "--target", bk, "-q") == VerifyFailed.exit_code
    # restoring that file alone: the error names it, and nothing of it is left behind
    out = tmp_path / "out"
    assert cli("restore", chain["full"].set_name, "--target", bk, "--to", out, "--path",
               info.filename) == MemberTampered.exit_code
    assert not any(f for _, _, f in os.walk(out))


def test_sets_lists_encrypted_sets_without_the_password(chain, capsys, monkeypatch):
    bk = chain["target"]
    assert cli("sets", "--target", bk, "--json") == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["name"] for r in records] == [chain["full"].set_name, chain["diff"].set_name]
    assert all(r["status"] == "complete" and r["encrypted"] and r["locked"] == "no password given"
               for r in records)
    assert cli("sets", "--target", bk) == 0
    text = capsys.readouterr().out
    assert text.count("encrypted (no password given)") == 2
    monkeypatch.setenv("WORKBENCH_PASSWORD", PW)
    assert cli("sets", "--target", bk, "--json") == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert all(r["encrypted"] and r["locked"] is None and r["files"] for r in records)
    assert records[1]["base"] == chain["full"].set_name


def test_catalog_frames_with_the_password(chain, monkeypatch):
    from workbench.catalog import read_entries, read_messages, read_sets
    bk = str(chain["target"])
    monkeypatch.setenv("WORKBENCH_PASSWORD", PW)
    s = read_sets(bk)
    assert list(s["set"].astype(str)) == [chain["full"].set_name, chain["diff"].set_name]
    assert list(s["status"].astype(str)) == ["complete", "complete"]
    e = read_entries(bk, set=chain["diff"].set_name)
    assert chain["path"] not in set(e.loc[e["status"] != "deleted", "path"]) if "status" in e \
        else True
    m = read_messages(bk, set=chain["full"].set_name)
    assert list(m.loc[m["subject"] == SUBJECT, "message_id"].astype(str)) == [MESSAGE_ID]
    monkeypatch.delenv("WORKBENCH_PASSWORD")
    s = read_sets(bk)  # listed from the files, without the password
    assert list(s["set"].astype(str)) == [chain["full"].set_name, chain["diff"].set_name]
    with pytest.raises(PasswordMissing):
        read_messages(bk, set=chain["full"].set_name)
    monkeypatch.setenv("WORKBENCH_PASSWORD", "not the password")
    with pytest.raises(WrongPassword):
        read_entries(bk, set=chain["full"].set_name)


# --- chains -------------------------------------------------------------------------------------

def test_a_changed_password_starts_a_new_full(chain, tmp_path, monkeypatch):
    bk = tmp_path / "bk"
    shutil.copytree(chain["target"], bk)
    r = encrypted_backup(chain["store"], bk, "differential", password="another password",
                         now=T0 + timedelta(days=2), differentials="all")
    assert r.kind == "F" and r.requested == "D" and r.base is None
    assert "password given does not open the full backup" in r.note
    monkeypatch.setenv("WORKBENCH_PASSWORD", "another password")
    out = tmp_path / "out"
    workbench.restore(str(out), target=str(bk), set=r.set_name)
    assert snapshot(out) == chain["last"]
    assert seven_zip("t", "-panother password", str(bk / f"{r.set_name}.zip")).returncode == 0


def test_encryption_switched_on_or_off_starts_a_new_full(store, tmp_path, monkeypatch):
    bk = tmp_path / "bk"
    workbench.backup("full", store=store, target=str(bk), min_free=0, now=T0)
    r = encrypted_backup(store, bk, "differential", now=T0 + timedelta(days=1))
    assert r.kind == "F" and "encryption is on" in r.note
    r2 = workbench.backup("differential", store=store, target=str(bk), min_free=0,
                          now=T0 + timedelta(days=2))
    assert r2.kind == "F" and "encryption is off" in r2.note
    assert seven_zip("t", str(bk / f"{r2.set_name}.zip")).returncode == 0


def test_an_interrupted_encrypted_backup_leaves_previous_sets_untouched(chain, tmp_path,
                                                                       monkeypatch):
    import importlib
    backup_module = importlib.import_module("workbench.backup")
    bk = tmp_path / "bk"
    shutil.copytree(chain["target"], bk)
    before = snapshot(bk)

    def boom(*a, **kw):
        raise KeyboardInterrupt

    monkeypatch.setattr(backup_module._Run, "_publish_manifest", boom)
    with pytest.raises(KeyboardInterrupt):
        encrypted_backup(chain["store"], bk, "full", now=T0 + timedelta(days=3))
    assert snapshot(bk) == before
    monkeypatch.undo()
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    # the next run (the rotation keeps two complete backups) removes nothing of the chain
    r = encrypted_backup(chain["store"], bk, "full", now=T0 + timedelta(days=4), keep=2)
    sets = list_sets(workbench.targets.open_target(str(bk)))
    assert [str(s.name) for s in sets] == [chain["full"].set_name, chain["diff"].set_name,
                                           r.set_name]
    monkeypatch.setenv("WORKBENCH_PASSWORD", PW)
    r = workbench.backup("full", store=chain["store"], target=str(bk), min_free=0, encrypt=True,
                         now=T0 + timedelta(days=5), keep=1)
    names = [str(s.name) for s in list_sets(workbench.targets.open_target(str(bk)))]
    assert names == [r.set_name]


# --- SMB ----------------------------------------------------------------------------------------

def test_encrypted_backup_and_restore_on_smb(store, smb_url, tmp_path, monkeypatch):
    r = encrypted_backup(store, smb_url)
    target = workbench.targets.open_target(smb_url)
    names = target.list()
    for fname in names:
        with target.open_read(fname) as f:
            data = f.read()
        assert SUBJECT.encode() not in data and SENDER.encode() not in data
    local = tmp_path / "v.zip"
    with target.open_read(f"{r.set_name}.zip") as f:
        local.write_bytes(f.read())
    assert seven_zip("t", f"-p{PW}", str(local)).returncode == 0
    assert seven_zip("t", str(local)).returncode != 0
    out = tmp_path / "out"
    out.mkdir()
    assert cli("restore", "--target", smb_url, "--to", out) == PasswordMissing.exit_code
    assert os.listdir(out) == []
    monkeypatch.setenv("WORKBENCH_PASSWORD", PW)
    assert cli("restore", "--target", smb_url, "--to", out, "-q") == 0
    assert snapshot(out) == store_snapshot(store)
    assert cli("verify", "--target", smb_url, "-q") == 0
    assert cli("restore", "--target", smb_url, "--to", tmp_path / "one", "--message-id",
               MESSAGE_ID, "-q") == 0
    assert len(snapshot(tmp_path / "one")) == 1


# --- the notebook form --------------------------------------------------------------------------

def test_restore_wizard_takes_the_password_from_its_field(chain, tmp_path):
    import html as html_module
    from workbench.widgets import RestoreWizard, show

    def text(out):
        return html_module.unescape(show.outputs_text(out))

    out = tmp_path / "out"
    wiz = RestoreWizard(str(chain["target"]), store=chain["store"], to=str(out))
    assert "2 sets on the target" in text(wiz.timeline)  # listed without the password
    wiz.subject.value = "zebra merger"
    wiz.search_button.click()  # the pair, then the messages: each needs the manifests
    assert "PasswordMissing" in text(wiz.pair) + text(wiz.found)
    wiz.password.value = "not the password"
    wiz.search_button.click()
    assert "WrongPassword" in text(wiz.pair) + text(wiz.found)
    wiz.password.value = PW
    wiz.search_button.click()
    assert f"1 messages found in {chain['diff'].set_name}" in text(wiz.found)
    assert wiz.message.value.endswith("0000abcf.eml")
    wiz.plan_button.click()
    wiz.restore_button.click()
    assert wiz.result.files == 1
    (got,) = snapshot(out).items()
    assert got[1] == chain["last"][got[0]]
    wiz.check_button.click()
    assert "check: 1 of 1 files match the backup" in text(wiz.result_out)
    for o in (wiz.timeline, wiz.found, wiz.plan_out, wiz.result_out):
        assert PW not in text(o)


def test_a_lost_manifest_is_read_from_the_encrypted_copy(chain, tmp_path, monkeypatch):
    bk = tmp_path / "bk"
    shutil.copytree(chain["target"], bk)
    full = chain["full"].set_name
    os.remove(bk / manifest_name(full))
    monkeypatch.setenv("WORKBENCH_PASSWORD", PW)
    (s,) = [s for s in list_sets(workbench.targets.open_target(str(bk))) if str(s.name) == full]
    assert s.status == "damaged" and "restorable by name" in s.problem
    assert s.header["encrypted"] is True  # read from the copy in the last volume
    out = tmp_path / "out"
    workbench.restore(str(out), target=str(bk), set=full)
    assert snapshot(out) == chain["first"]
    monkeypatch.setenv("WORKBENCH_PASSWORD", "not the password")
    with pytest.raises(WrongPassword):
        workbench.restore(str(tmp_path / "out2"), target=str(bk), set=full)
    assert not (tmp_path / "out2").exists() or os.listdir(tmp_path / "out2") == []


def test_the_password_from_the_keyring(store, tmp_path):
    import keyring
    from memkeyring import Keyring
    before = keyring.get_keyring()
    keyring.set_keyring(Keyring())
    try:
        keyring.set_password("workbench", "backup", PW)
        bk = tmp_path / "bk"
        r = workbench.backup("full", store=store, target=str(bk), min_free=0, encrypt=True)
        assert seven_zip("t", f"-p{PW}", str(bk / f"{r.set_name}.zip")).returncode == 0
        out = tmp_path / "out"
        assert cli("restore", "--target", bk, "--to", out, "-q") == 0
        assert snapshot(out) == store_snapshot(store)
        os.environ["WORKBENCH_PASSWORD"] = "not the password"  # the environment comes first
        try:
            assert cli("verify", "--target", bk, "-q") == WrongPassword.exit_code
        finally:
            del os.environ["WORKBENCH_PASSWORD"]
    finally:
        keyring.set_keyring(before)


def test_the_password_asked_on_a_terminal(chain, tmp_path):
    import sys
    import pexpect
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if k != "WORKBENCH_PASSWORD"}
    env["PYTHONPATH"] = os.pathsep.join(sys.path)
    child = pexpect.spawn(sys.executable, ["-m", "workbench", "restore", "--target",
                                           str(chain["target"]), "--to", str(out), "-q"],
                          env=env, timeout=60)
    child.expect("password of ")
    child.sendline(PW)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    assert PW.encode() not in child.before  # not echoed
    assert snapshot(out) == chain["last"]


@pytest.mark.parametrize("oversize", ["skip", "own-volume"])
def test_no_encrypted_volume_passes_the_volume_size(tmp_path, monkeypatch, oversize):
    """A file that just fits an empty volume plain does not once AES adds its 50 bytes."""
    from workbench.archive.volume import fits_alone
    monkeypatch.setenv("WORKBENCH_PASSWORD", PW)
    s = make_store(tmp_path / "server", messages=5, seed=1)
    name, limit = "license/edge.bin", 128 * 1024
    size = max(n for n in range(limit - 2048, limit) if fits_alone("F20261101T010000Z", limit,
                                                                     name, n))
    assert not fits_alone("F20261101T010000Z", limit, name, size, encrypted=True)
    with open(os.path.join(s, name), "wb") as f:
        f.write(os.urandom(size))  # stored: as large in the volume as on disk
    bk = tmp_path / "bk"
    r = workbench.backup("full", store=s, target=str(bk), min_free=0, encrypt=True, now=T0,
                         volume_size=limit, oversize=oversize)
    assert all(os.path.getsize(v) <= limit for v in volumes(bk))
    assert [x["path"] for x in r.skipped] == ([name] if oversize == "skip" else [])


def test_telling_a_plain_manifest_leaves_its_first_read_whole(tmp_path):
    """The sniff for a sealed file must not shrink the 64 KiB first read of a manifest header
    (a short read made it 4 KiB: long headers were then read twice)."""
    path = tmp_path / "m.gz"
    path.write_bytes(os.urandom(200000))
    target = workbench.targets.open_target(str(tmp_path))
    with target.open_read("m.gz") as f:
        plain = crypt.unsealed(f, target, "a file")
        assert plain is f and len(f.read1(64 * 1024)) == 64 * 1024
