"""workbench: back up, restore and analyse Kerio Connect mail stores.

The library is the product; the ``workbench`` command is a thin layer over it.

>>> import workbench
>>> result = workbench.backup("full", store="data/samples/kerio", target="/tmp/backups")  # doctest: +SKIP
>>> workbench.restore("/tmp/restored", target="/tmp/backups")                            # doctest: +SKIP

``workbench.catalog`` (pandas DataFrames) and ``workbench.widgets`` (notebook forms) are imported
on their own. The names below load on first use, from the modules that define them (only the
error classes are there at once), so that ``import workbench`` loads neither the engine nor the
service, pandas, ipywidgets, APScheduler or smbprotocol until they are used.
docs/architecture.md describes the layers.
"""

import sys
import types

from .errors import (AuthenticationFailed, BackupsDisabled, BadDestination, ConfigError,
                     CorruptVolume, CredentialsMissing, DamagedSet, ExportBusy,
                     FinishedWithWarnings, FleetFileError, FleetUnreadable, IncompleteSet,
                     LockDamaged, LockHeld, MemberTampered, MemberTooLarge, NoCompleteBackup,
                     NotEnoughSpace, NotifyFailed, PasswordMissing, PasswordUnusable,
                     RestoreIncomplete, SealedFileDamaged, SelectionError, SetBeingRemoved,
                     SetNotFound, ShareNotFound, StateNotWritable, StoreNotFound, TargetError,
                     TargetFull, TargetStalled, TargetUnreachable, UnsafePath, UnsupportedSet,
                     VerifyFailed, WorkbenchError, WrongPassword)

__version__ = "0.1.0"

# Every other name loads on first use, from the module that defines it: a one-message restore
# from the shell (``python -m workbench restore --path ...``) then loads the restorer, not the
# backup engine, the service or their libraries.
_LAZY = {"backup": "backup", "Config": "config", "Task": "config", "load_config": "config",
         "BackupResult": "model", "Entry": "model", "RestoreResult": "model",
         "Progress": "progress", "plan_restore": "restorer", "restore": "restorer",
         "apply_rotation": "rotation", "plan_rotation": "rotation", "list_sets": "sets",
         "open_target": "targets", "verify": "verify",
         "copy_status": "service.status", "start_copy": "service.runner",
         "add_task": "service.tasks", "edit_task": "service.tasks", "list_tasks": "service.tasks",
         "remove_task": "service.tasks", "set_enabled": "service.tasks"}


def __getattr__(name):
    if name in _LAZY:
        import importlib
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


class _Package(types.ModuleType):
    """The package module: ``workbench.backup`` and ``workbench.verify`` are the functions, also
    once their modules (of the same names) are imported, which would otherwise put the modules
    in their place."""

    def __setattr__(self, name, value):
        if name in ("backup", "verify") and isinstance(value, types.ModuleType):
            return  # the module stays in sys.modules; importlib.import_module finds it there
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


__all__ = [
    "AuthenticationFailed", "BackupResult", "BackupsDisabled", "BadDestination", "Config",
    "ConfigError", "CorruptVolume", "CredentialsMissing", "DamagedSet", "Entry", "ExportBusy",
    "FinishedWithWarnings", "FleetFileError", "FleetUnreadable", "IncompleteSet", "LockDamaged",
    "LockHeld", "MemberTampered", "MemberTooLarge", "NoCompleteBackup", "NotEnoughSpace", "NotifyFailed", "PasswordMissing",
    "PasswordUnusable", "Progress", "RestoreIncomplete", "RestoreResult", "SealedFileDamaged",
    "SelectionError", "SetBeingRemoved", "SetNotFound", "ShareNotFound", "StateNotWritable",
    "StoreNotFound", "TargetError", "TargetFull", "TargetStalled", "TargetUnreachable", "Task",
    "UnsafePath", "UnsupportedSet", "VerifyFailed", "WorkbenchError", "WrongPassword", "add_task",
    "apply_rotation",
    "backup", "copy_status", "edit_task", "list_sets", "list_tasks", "load_config",
    "open_target", "plan_restore", "plan_rotation", "remove_task", "restore", "set_enabled",
    "start_copy", "verify",
]
