"""No secret anywhere: a password written into a target URL is refused before anything logs it,
and every log line, status record, e-mail and error shows such URLs masked.

End to end with real components: the ``workbench`` command in a subprocess, a real SMTP server
(aiosmtpd) receiving the status e-mail, the log file and ``status.json`` as written.
"""

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from workbench.cli import main
from workbench.config import Config, load_config, validate
from workbench.errors import ConfigError, TargetError
from workbench.service.logs import set_debug
from workbench.config import NotifySettings
from workbench.service.runner import run_backup
from workbench.secrets import MaskSecrets, has_url_password, mask_url

from helpers import make_store
from samba import free_port

SECRET = "Url-Pw-7c1d-in-the-clear"
WORKTREE = str(Path(__file__).resolve().parent.parent)


def test_mask_url_masks_every_password_and_nothing_else():
    assert mask_url(f"smb://bob:{SECRET}@nas:4445/share/dir") == "smb://bob:***@nas:4445/share/dir"
    assert mask_url(f"at smb://bob:{SECRET}@nas/s, then http://u:p@h") == \
        "at smb://bob:***@nas/s, then http://u:***@h"
    # A raw @ or space in the password is masked with it, never shown in part.
    assert mask_url("smb://bob:p@ss w@rd@nas/share") == "smb://bob:***@nas/share"
    assert mask_url("smb://:pw@nas/share") == "smb://:***@nas/share"
    assert mask_url(mask_url(f"smb://bob:{SECRET}@nas/s")) == "smb://bob:***@nas/s"
    for clean in ("smb://bob@nas:4445/share/dir", r"\\nas\share\dir", "/mnt/backup",
                  "smb://nas:4445/share/user@example.com", "mail admin@example.com", ""):
        assert mask_url(clean) == clean and not has_url_password(clean)
    assert has_url_password(f"smb://bob:{SECRET}@nas/s")


def test_log_filter_masks_message_arguments_and_tracebacks():
    record = logging.LogRecord("workbench", logging.ERROR, __file__, 1, "target %s: %s",
                               (f"smb://bob:{SECRET}@nas/s", "failed"), None)
    try:
        raise OSError(f"cannot reach smb://bob:{SECRET}@nas/s")
    except OSError:
        record.exc_info = sys.exc_info()
    assert MaskSecrets().filter(record)
    text = logging.Formatter().format(record)
    assert SECRET not in text
    assert "target smb://bob:***@nas/s: failed" in text and "cannot reach smb://bob:***@nas" in text


def test_target_with_a_password_is_refused_naming_the_key_masked():
    for values in ({"target": f"smb://bob:{SECRET}@nas/backups"},):
        with pytest.raises(ConfigError) as e:
            validate(values)
        assert e.value.key == "target" and e.value.value == "smb://bob:***@nas/backups"
        assert SECRET not in str(e.value) and "WORKBENCH_SMB_PASSWORD" in str(e.value)
    with pytest.raises(ConfigError) as e:
        load_config(None, target=f"smb://bob:{SECRET}@nas/backups")
    assert e.value.key == "target" and SECRET not in str(e.value)


def _workbench(*args, env=None):
    env = dict(os.environ if env is None else env,
               PYTHONPATH=WORKTREE + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "workbench", *args], env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)


def _texts(inbox, *paths):
    """Everything a user could read afterwards: each file that exists, each e-mail received."""
    out = [Path(p).read_text(errors="replace") for p in paths if Path(p).exists()]
    out += [m.message.as_string() for m in inbox.messages]
    return out


def test_url_password_in_the_config_file_is_refused_and_never_shown(tmp_path, smtp):
    inbox, port = smtp
    store = make_store(tmp_path / "server", messages=20)
    state = tmp_path / "state"
    log_file = tmp_path / "logs" / "workbench.log"
    url = f"smb://wbtest:{SECRET}@127.0.0.1:{free_port()}/backup/kerio"
    config = tmp_path / "wb.toml"
    config.write_text(f"store = {store!r}\ntarget = {url!r}\nmin_free = 0\n"
                      f"schedule_db = {str(state / 'schedule.db')!r}\n"
                      f"log_file = {str(log_file)!r}\n"
                      f"[notify]\nto = [\"admin@example.com\"]\nsmtp_host = \"127.0.0.1\"\n"
                      f"smtp_port = {port}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKBENCH_")}
    r = _workbench("-v", "backup", "full", "--json", "--config", str(config), env=env)
    assert r.returncode == ConfigError.exit_code == 10, r.stderr
    # --json: the refusal is one JSON object on stdout
    error = json.loads(r.stdout)
    assert (error["error"], error["code"]) == ("ConfigError", 10)
    assert "config key 'target': bad value 'smb://wbtest:***@127.0.0.1:" in error["message"]
    for text in [r.stdout, r.stderr] + _texts(inbox, log_file, state / "status.json"):
        assert SECRET not in text


def test_url_password_on_the_command_line_is_refused_the_same_way(tmp_path, capsys):
    url = f"smb://wbtest:{SECRET}@127.0.0.1:4445/backup/kerio"
    store = make_store(tmp_path / "server", messages=5)
    assert main(["backup", "full", "--store", store, "--target", url, "-q"]) == 10
    assert main(["sets", "--target", url]) == 10
    err = capsys.readouterr().err
    assert err.count("config key 'target': bad value 'smb://wbtest:***@127.0.0.1:4445/backup/"
                     "kerio'") == 2
    assert SECRET not in err
    r = _workbench("-v", "sets", "--target", url)
    assert r.returncode == 10 and SECRET not in r.stdout + r.stderr
    assert "'target'" in r.stderr


def test_a_config_built_past_validation_still_shows_no_password(tmp_path, smtp):
    # Library callers can build a Config directly; the log, the status and the e-mail mask the
    # URL wherever it shows up.
    inbox, port = smtp
    state = tmp_path / "state"
    log_file = tmp_path / "workbench.log"
    cfg = Config(store=make_store(tmp_path / "server", messages=5),
                 target=f"smb://wbtest:{SECRET}@127.0.0.1:4445/backup/kerio", min_free=0,
                 schedule_db=str(state / "schedule.db"), log_file=str(log_file),
                 notify=NotifySettings(to=("admin@example.com",), smtp_host="127.0.0.1",
                                       smtp_port=port))
    set_debug(cfg, True)  # the debug lines name the target too
    try:
        with pytest.raises(TargetError) as e:
            run_backup("full", config=cfg)
    finally:
        top = logging.getLogger("workbench")
        for h in [h for h in top.handlers if getattr(h, "baseFilename", None) == str(log_file)]:
            top.removeHandler(h)
            h.close()
    assert SECRET not in str(e.value)
    assert inbox.wait(1)
    texts = _texts(inbox, log_file, state / "status.json")
    assert len(texts) == 3
    for text in texts:
        assert SECRET not in text
    assert "smb://wbtest:***@127.0.0.1:4445/backup/kerio" in texts[0]  # the debug line, masked
    assert json.loads(texts[1])["error_class"] == "TargetError"
    assert "Target:      smb://wbtest:***@127.0.0.1:4445/backup/kerio" in texts[2]
