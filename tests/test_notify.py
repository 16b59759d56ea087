"""Status e-mails through a real SMTP server (aiosmtpd on 127.0.0.1): plain, and STARTTLS with AUTH.

Each run kind is checked end to end: a real backup of a generated store, the message as the server
received it (subject, figures in the body), and that a broken mail server never fails the backup.
"""

import os
import subprocess
import sys
import time

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

import workbench
from workbench.config import load_config
from workbench.errors import (BackupsDisabled, ConfigError, LockHeld, NotEnoughSpace,
                              StoreNotFound)
from workbench.lock import target_lock
from workbench.service.runner import run_backup
from workbench.sizes import human_size
from workbench.targets import open_target

from smtp import Inbox, free_port

USER, PASSWORD = "backup@example.com", "s3cret-pw"


def _auth(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == USER.encode() and auth_data.password == PASSWORD.encode()
    # a refused login must not be "handled", or the client only sees a dropped connection
    return AuthResult(success=True) if ok else AuthResult(success=False, handled=False)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    d = tmp_path_factory.mktemp("notify") / "server"
    subprocess.run([sys.executable, "-m", "workbench.samples", "generate", str(d), "--messages",
                    "200", "--seed", "3"], check=True, capture_output=True)
    return str(d)


@pytest.fixture
def plain_smtp(smtp):
    return smtp


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem"), "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True)
    return str(d / "cert.pem"), str(d / "key.pem")


@pytest.fixture
def tls_smtp(cert):
    import ssl
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(*cert)
    inbox, port = Inbox(), free_port()
    c = Controller(inbox, hostname="127.0.0.1", port=port, tls_context=ctx, require_starttls=True,
                   authenticator=_auth, auth_require_tls=True)
    c.start()
    yield inbox, port, cert[0]
    c.stop()


def write_config(tmp_path, store, notify, **keys):
    lines = [f"store = {store!r}", f"target = {str(tmp_path / 'bk')!r}", "min_free = 0",
             f"schedule_db = {str(tmp_path / 'state' / 'schedule.db')!r}"]
    lines += [f"{k} = {v!r}" if not isinstance(v, bool) else f"{k} = {str(v).lower()}"
              for k, v in keys.items()]
    lines.append("[notify]")
    lines += [f"{k} = {v!r}" if not isinstance(v, list) else
              f"{k} = [" + ", ".join(f'"{x}"' for x in v) + "]" for k, v in notify.items()]
    path = tmp_path / "workbench.toml"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def body(msg):
    return msg.get_body(("plain",)).get_content().replace("\r\n", "\n")


def test_success_plain_with_figures_and_rotation(tmp_path, store, plain_smtp):
    inbox, port = plain_smtp
    path = write_config(tmp_path, store, {"to": ["admin@example.com", "oncall@example.com"],
                                          "smtp_host": "127.0.0.1", "smtp_port": port},
                        keep=1)
    first = run_backup("full", config=path)
    second = run_backup("full", config=path)
    msgs = inbox.wait(2)
    assert len(msgs) == 2
    rcpts, msg, _, _ = msgs[1]
    assert sorted(rcpts) == ["admin@example.com", "oncall@example.com"]
    assert msg["Subject"].startswith(f"[workbench] OK: full backup {second.set_name} on ")
    text = body(msg)
    assert f"Set:         {second.set_name}" in text
    assert f"Files:       {second.files} in the store, {second.stored} stored" in text
    assert f"{second.bytes_in} read" in text and f"{second.bytes_out} written" in text
    assert f"Volumes:     1: {second.volumes[0]}" in text
    assert "Skipped oversize files: 0" in text
    # keep = 1: the second full's rotation removed the first, and the e-mail says so
    assert second.removed and second.removed[0]["set"] == first.set_name
    assert f"Removed: 1 (replaced differentials, rotation, leftovers of interrupted runs)\n" \
           f"  {first.set_name}: " in text
    free = open_target(str(tmp_path / "bk")).disk_usage()[1]
    reported = int(text.split("Free space left on the target: ")[1].split()[0])
    assert abs(reported - free) < 64 * 1024 * 1024
    assert "Duration:" in text


def test_starttls_auth_success_and_failure(tmp_path, store, tls_smtp, monkeypatch):
    inbox, port, ca = tls_smtp
    monkeypatch.setenv("TEST_SMTP_PW", PASSWORD)
    path = write_config(tmp_path, store, {"to": ["admin@example.com"], "smtp_host": "127.0.0.1",
                                          "smtp_port": port, "security": "starttls",
                                          "user": USER, "password_env": "TEST_SMTP_PW",
                                          "ca_file": ca})
    r = run_backup("differential", config=path)   # no full yet: runs as a full and says so
    assert r.kind == "F" and r.note
    msgs = inbox.wait(1)
    assert len(msgs) == 1
    _, msg, authenticated, tls = msgs[0]
    assert authenticated and tls
    assert msg["Subject"].startswith(f"[workbench] OK: differential backup {r.set_name}")
    assert "Note:        no usable full backup" in body(msg)

    # a failed run: the store is gone
    cfg = load_config(path, store=str(tmp_path / "nowhere"))
    with pytest.raises(StoreNotFound) as e:
        run_backup("full", config=cfg)
    msgs = inbox.wait(2)
    assert len(msgs) == 2
    msg = msgs[1][1]
    assert msg["Subject"].startswith("[workbench] FAILED: full backup on ")
    assert f"Error:       StoreNotFound: {e.value}" in body(msg)


def test_refused_runs_are_reported(tmp_path, store, plain_smtp):
    inbox, port = plain_smtp
    path = write_config(tmp_path, store, {"to": ["admin@example.com"], "smtp_host": "127.0.0.1",
                                          "smtp_port": port, "on": "failure"})
    run_backup("full", config=path)   # on = "failure": a success sends nothing

    with pytest.raises(NotEnoughSpace) as e:
        run_backup("full", config=path, min_free="1000TiB")
    target = open_target(str(tmp_path / "bk"))
    with target_lock(target):
        with pytest.raises(LockHeld):
            run_backup("differential", config=path)
    with pytest.raises(BackupsDisabled):
        run_backup("full", config=load_config(path, enabled=False), trigger="schedule")

    msgs = inbox.wait(3)
    time.sleep(0.3)
    subjects = [m[1]["Subject"] for m in inbox.messages]
    assert len(subjects) == 3, subjects
    assert subjects[0].startswith("[workbench] REFUSED: full backup on ")
    assert "not enough free space" in subjects[0]
    text = body(msgs[0][1])
    assert f"{human_size(e.value.free)} free, {human_size(e.value.required)} required" in text
    assert subjects[1].startswith("[workbench] REFUSED: differential backup on ")
    assert f"pid {os.getpid()}" in body(msgs[1][1])
    assert subjects[2].startswith("[workbench] REFUSED: full backup on ")
    assert "Error:       BackupsDisabled: backups are turned off" in body(msgs[2][1])
    # nothing but the first full reached the target
    assert [s.name.kind for s in workbench.list_sets(target)] == ["F"]


def test_after_backup_result_is_in_the_mail(tmp_path, store, plain_smtp):
    inbox, port = plain_smtp
    path = write_config(tmp_path, store, {"to": ["admin@example.com"], "smtp_host": "127.0.0.1",
                                          "smtp_port": port},
                        after_backup='echo "copied $WORKBENCH_SET ($WORKBENCH_KIND)"; exit 3')
    r = run_backup("copy", config=path)
    msg = inbox.wait(1)[0][1]
    assert msg["Subject"].startswith(f"[workbench] WARNING: copy backup {r.set_name}")
    text = body(msg)
    assert "exited with status 3" in text
    assert f"  copied {r.set_name} (C)" in text


def test_unreachable_or_refusing_server_never_fails_the_backup(tmp_path, store, tls_smtp,
                                                                 monkeypatch):
    port = free_port()   # nothing listens there
    path = write_config(tmp_path, store, {"to": ["admin@example.com"], "smtp_host": "127.0.0.1",
                                          "smtp_port": port, "timeout": 3})
    t0 = time.monotonic()
    r = run_backup("full", config=path)
    assert time.monotonic() - t0 < 10
    assert r.report.notified is False
    assert [str(s.name) for s in workbench.list_sets(open_target(str(tmp_path / "bk")))] == \
        [r.set_name]
    log = (tmp_path / "state" / "workbench.log").read_text()
    assert "status e-mail not sent: cannot send the status e-mail through 127.0.0.1" in log

    # a server that refuses the login: logged, backup fine
    inbox, tls_port, ca = tls_smtp
    monkeypatch.setenv("TEST_SMTP_PW", "wrong")
    path = write_config(tmp_path, store, {"to": ["admin@example.com"], "smtp_host": "127.0.0.1",
                                          "smtp_port": tls_port, "security": "starttls",
                                          "user": USER, "password_env": "TEST_SMTP_PW",
                                          "ca_file": ca})
    r2 = run_backup("full", config=path)
    assert r2.report.notified is False and inbox.messages == []
    assert "Authentication" in (tmp_path / "state" / "workbench.log").read_text()


def test_notify_test_command(tmp_path, store, plain_smtp):
    inbox, port = plain_smtp
    path = write_config(tmp_path, store, {"to": ["admin@example.com"], "smtp_host": "127.0.0.1",
                                          "smtp_port": port})
    p = subprocess.run([sys.executable, "-m", "workbench", "notify", "test", "--config", path],
                       capture_output=True, text=True, env={**os.environ, "WORKBENCH_CONFIG": ""})
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "test message sent to admin@example.com"
    assert inbox.wait(1)[0][1]["Subject"].startswith("[workbench] TEST: ")

    # an unreachable server: the command fails with NotifyFailed's exit code
    path = write_config(tmp_path, store, {"to": ["admin@example.com"], "smtp_host": "127.0.0.1",
                                          "smtp_port": free_port()})
    p = subprocess.run([sys.executable, "-m", "workbench", "notify", "test", "--config", path],
                       capture_output=True, text=True)
    assert p.returncode == 42 and "cannot send the status e-mail" in p.stderr


@pytest.mark.parametrize("notify, key", [
    ({"password": "hunter2-secret"}, "notify.password"),
    ({"security": "tls"}, "notify.security"),
    ({"on": "sometimes"}, "notify.on"),
    ({"to": ["not-an-address"]}, "notify.to"),
    ({"smtp_port": 0}, "notify.smtp_port"),
    ({"colour": "red"}, "notify.colour"),
])
def test_bad_notify_settings_name_the_key(tmp_path, notify, key):
    path = write_config(tmp_path, "/nowhere", notify)
    with pytest.raises(ConfigError) as e:
        load_config(path)
    assert e.value.key == key
    assert "hunter2-secret" not in str(e.value)   # a password in the config is never echoed


def test_implicit_tls_ssl_security(tmp_path, store, cert, monkeypatch):
    # security = "ssl": TLS from the first byte (SMTPS), as on port 465.
    import ssl
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(*cert)
    inbox, port = Inbox(), free_port()
    # aiosmtpd only counts STARTTLS as TLS for AUTH; the whole connection is TLS here.
    c = Controller(inbox, hostname="127.0.0.1", port=port, ssl_context=ctx, authenticator=_auth,
                   auth_require_tls=False)
    c.start()
    try:
        monkeypatch.setenv("TEST_SMTP_PW", PASSWORD)
        path = write_config(tmp_path, store, {"to": ["admin@example.com"],
                                              "smtp_host": "127.0.0.1", "smtp_port": port,
                                              "security": "ssl", "user": USER,
                                              "password_env": "TEST_SMTP_PW", "ca_file": cert[0]})
        r = run_backup("full", config=path)
        # The listener speaks only TLS (aiosmtpd leaves session.ssl unset for implicit TLS), so a
        # delivered message is one that came over TLS.
        [(rcpts, msg, authenticated, _)] = inbox.wait(1)
        assert rcpts == ["admin@example.com"] and authenticated
        assert msg["Subject"].startswith(f"[workbench] OK: full backup {r.set_name}")
        assert PASSWORD not in msg.as_string()
    finally:
        c.stop()
