"""The public API: ``workbench.__all__`` written out (a change to it must change this test too, as
httpx does), every name in it resolves, and ``import workbench`` stays light."""

import inspect
import json
import subprocess
import sys

import workbench
from workbench import errors

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


def test_import_workbench_loads_neither_the_service_nor_the_heavy_libraries():
    code = ("import json, sys, workbench; "
            "print(json.dumps(sorted(m for m in sys.modules)))")
    loaded = set(json.loads(subprocess.run([sys.executable, "-c", code], check=True,
                                           capture_output=True, text=True).stdout))
    assert "workbench.restorer" in loaded and "workbench.backup" in loaded  # the engine is there
    heavy = [m for m in loaded if m.split(".")[0] in ("pandas", "ipywidgets", "smbprotocol",
                                                      "smbclient", "apscheduler", "numpy",
                                                      "tqdm")]
    ours = [m for m in loaded if m.startswith(("workbench.service", "workbench.cli", "workbench.notify",
                                               "workbench.tasks", "workbench.status",
                                               "workbench.catalog", "workbench.widgets",
                                               "workbench.targets.smb", "workbench.schedule",
                                               "workbench.runner"))]
    assert heavy == [] and ours == []
