"""The public API: ``workbench.__all__`` written out (a change to it must change this test too, as
httpx does), every name in it resolves, and ``import workbench`` stays light."""

import inspect
import json
import os
import re
import subprocess
import sys

import pytest

import workbench
from workbench import errors
from workbench.archive import manifest as mf

from helpers import make_store

EXPECTED = [
    "AuthenticationFailed", "BackupResult", "BackupsDisabled", "BadDestination", "Config",
    "ConfigError", "CorruptVolume", "CredentialsMissing", "DamagedSet", "Entry", "ExportBusy",
    "FinishedWithWarnings", "FleetFileError", "FleetUnreadable", "IncompleteSet", "LockDamaged", "LockHeld", "MemberTampered",
    "MemberTooLarge", "NoCompleteBackup", "NotEnoughSpace", "NotifyFailed", "PasswordMissing",
    "PasswordUnusable", "Progress", "RestoreIncomplete", "RestoreResult", "SealedFileDamaged",
    "SelectionError", "SetBeingRemoved", "SetNotFound", "ShareNotFound", "StateNotWritable",
    "StoreNotFound", "TargetError", "TargetFull", "TargetStalled", "TargetUnreachable", "Task",
    "UnsafePath", "UnsupportedSet", "VerifyFailed", "WorkbenchError", "WrongPassword", "add_task", "apply_rotation",
    "backup", "copy_status", "edit_task", "list_sets", "list_tasks", "load_config",
    "open_target", "plan_restore", "plan_rotation", "remove_task", "restore", "set_enabled",
    "start_copy", "verify",
]


def test_all_is_exactly_the_public_api_and_sorted():
    assert workbench.__all__ == EXPECTED
    assert workbench.__all__ == sorted(workbench.__all__)


def test_every_error_class_is_public():
    classes = {name for name, obj in vars(errors).items()
               if inspect.isclass(obj) and issubclass(obj, errors.WorkbenchError)}
    assert classes <= set(workbench.__all__)
    for name in classes:
        assert getattr(workbench, name) is getattr(errors, name)


def test_every_name_resolves_and_the_functions_are_functions():
    for name in workbench.__all__:
        assert getattr(workbench, name) is not None, name
    # The functions, not subpackages of the same name (the restorer package is not 'restore').
    for name in ("backup", "restore", "verify", "plan_restore", "start_copy", "copy_status"):
        assert inspect.isfunction(getattr(workbench, name)), name
    from workbench import catalog
    for name in catalog.__all__:
        assert getattr(catalog, name) is not None, name


def _modules_after(code):
    out = subprocess.run([sys.executable, "-c", code + "\nimport json, sys\n"
                          "print(json.dumps(sorted(sys.modules)))"], check=True,
                         capture_output=True, text=True).stdout
    return set(json.loads(out.splitlines()[-1]))


_HEAVY = ("pandas", "ipywidgets", "smbprotocol", "smbclient", "apscheduler", "numpy", "tqdm")
_UPPER = ("workbench.service", "workbench.cli", "workbench.notify", "workbench.tasks",
          "workbench.status", "workbench.catalog", "workbench.widgets", "workbench.targets.smb",
          "workbench.schedule", "workbench.runner")


def test_import_workbench_loads_neither_the_engine_nor_the_service_nor_the_heavy_libraries():
    # Its names load on first use; only the error classes are there at once.
    loaded = _modules_after("import workbench")
    assert sorted(m for m in loaded if m.startswith("workbench.")) == ["workbench.errors"]
    assert [m for m in loaded if m.split(".")[0] in _HEAVY] == []
    loaded = _modules_after("import workbench\nworkbench.restore, workbench.backup")
    assert "workbench.restorer" in loaded and "workbench.backup" in loaded  # the engine
    assert [m for m in loaded if m.split(".")[0] in _HEAVY or m.startswith(_UPPER)] == []


def test_the_functions_stay_functions_when_their_modules_are_imported():
    code = ("import importlib, workbench\n"
            "importlib.import_module('workbench.backup'); import workbench.verify\n"
            "assert workbench.backup.__module__ == 'workbench.backup'\n"
            "assert workbench.verify.__module__ == 'workbench.verify'\n"
            "from workbench import backup, verify\n"
            "assert callable(backup) and callable(verify)\n")
    subprocess.run([sys.executable, "-c", code], check=True)


# What a one-message restore (by --path or --message-id, local target, plain set) must not load:
# the engine's other parts, the service, the libraries of the heavy commands, and the standard
# modules whose import took a large share of its 80 ms: logging (traceback, linecache, tokenize),
# dataclasses (inspect, ast, dis), typing, shutil (bz2, lzma), calendar, base64, getpass.
_NOT_FOR_ONE_MESSAGE = (
    "workbench.backup", "workbench.verify", "workbench.archive.pack", "workbench.archive.table",
    "workbench.archive.messages", "workbench.archive.aes", "workbench.archive.sealed", "zipfile",
    "tempfile", "secrets", "socket", "concurrent.futures", "workbench.rotation",
    "workbench.removal", "logging", "traceback", "linecache", "tokenize", "dataclasses",
    "inspect", "ast", "dis", "typing", "shutil", "bz2", "lzma", "calendar", "base64", "getpass",
    "tomllib")


@pytest.mark.parametrize("flag", ["--path", "--message-id"])
def test_a_one_message_restore_loads_only_what_it_needs(tmp_path, flag):
    store = make_store(tmp_path / "server", messages=20, seed=4)
    target = str(tmp_path / "bk")
    r = workbench.backup("full", store=store, target=target, min_free=0)
    [info] = workbench.list_sets(workbench.open_target(target))
    path = next(p for p in mf.decode_column(info.manifest["entries"]["path"]) if p.endswith(".eml"))
    with open(os.path.join(store, path), "rb") as f:
        [mid] = re.findall(rb"(?im)^message-id:[ \t]*(\S+)", f.read().split(b"\r\n\r\n")[0])
    value = path if flag == "--path" else mid.decode()
    loaded = _modules_after(
        "from workbench.cli import main\n"
        f"assert main(['restore', {r.set_name!r}, {flag!r}, {value!r}, '--to', "
        f"{str(tmp_path / 'out')!r}, '--target', {target!r}, '-q']) == 0")
    assert (tmp_path / "out" / path).is_file()
    unneeded = [m for m in loaded if m in _NOT_FOR_ONE_MESSAGE
                or m.startswith(("workbench.service", "workbench.catalog", "workbench.cli.backup",
                                 "workbench.cli.service", "workbench.cli.catalog",
                                 "workbench.cli.lab"))
                or m.split(".")[0] in _HEAVY]
    assert unneeded == []


def test_a_warning_of_a_one_message_restore_reaches_the_console_formatted(tmp_path):
    # logging loads only when something logs (workbench.lazylog); the console handler, with its
    # format and the URL-password mask, is installed then, before the record is handled.
    store = make_store(tmp_path / "server", messages=20, seed=4)
    target = tmp_path / "bk"
    r = workbench.backup("full", store=store, target=str(target), min_free=0)
    [info] = workbench.list_sets(workbench.open_target(str(target)))
    path = next(p for p in mf.decode_column(info.manifest["entries"]["path"]) if p.endswith(".eml"))
    with open(target / f"{r.set_name}.zip", "ab") as f:
        f.write(b"\0")  # another size than the manifest records: damaged, still readable
    p = subprocess.run([sys.executable, "-m", "workbench", "restore", r.set_name, "--path", path,
                        "--to", str(tmp_path / "out"), "--target", str(target), "-q"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "out" / path).is_file()
    lines = p.stderr.splitlines()
    assert lines
    for line in lines:
        assert re.fullmatch(rf"\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d,\d{{3}} workbench\.restore WARNING "
                            rf"set {r.set_name} is damaged \(.+\); reading it as far as it can be",
                            line)
