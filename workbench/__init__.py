"""workbench: back up, restore and analyse Kerio Connect mail stores.

The library is the product; the ``workbench`` command is a thin layer over it.

>>> import workbench
>>> result = workbench.backup("full", store="data/samples/kerio", target="/tmp/backups")  # doctest: +SKIP
>>> workbench.restore("/tmp/restored", target="/tmp/backups")                            # doctest: +SKIP

``workbench.catalog`` (pandas DataFrames) and ``workbench.widgets`` (notebook forms) are imported
on their own; the service functions below (``start_copy``, ``copy_status``, the task editors) load
on first use, so that ``import workbench`` loads neither the service nor pandas, ipywidgets,
APScheduler or smbprotocol. docs/architecture.md describes the layers.
"""

from .backup import backup
from .config import Config, Task, load_config
from .errors import (AuthenticationFailed, BackupsDisabled, BadDestination, ConfigError,
                     CorruptVolume, CredentialsMissing, DamagedSet, ExportBusy,
                     FinishedWithWarnings, FleetFileError, FleetUnreadable, IncompleteSet, LockDamaged, LockHeld, MemberTampered, MemberTooLarge,
                     NoCompleteBackup, NotEnoughSpace, NotifyFailed, PasswordMissing,
                     PasswordUnusable, RestoreIncomplete, SealedFileDamaged, SelectionError,
                     SetBeingRemoved, SetNotFound, ShareNotFound, StateNotWritable, StoreNotFound,
                     TargetError, TargetFull, TargetStalled, TargetUnreachable, UnsafePath,
                     UnsupportedSet, VerifyFailed, WorkbenchError, WrongPassword)
from .model import BackupResult, Entry, RestoreResult
from .progress import Progress
from .restorer import plan_restore, restore
from .rotation import apply_rotation, plan_rotation
from .sets import list_sets
from .targets import open_target
from .verify import verify

__version__ = "0.1.0"

# Loaded on first use (workbench.service), so that a one-message restore from the shell does not
# pay for them.
_LAZY = {"copy_status": "service.status", "start_copy": "service.runner",
         "add_task": "service.tasks", "edit_task": "service.tasks", "list_tasks": "service.tasks",
         "remove_task": "service.tasks", "set_enabled": "service.tasks"}


def __getattr__(name):
    if name in _LAZY:
        import importlib
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "AuthenticationFailed", "BackupResult", "BackupsDisabled", "BadDestination", "Config",
    "ConfigError", "CorruptVolume", "CredentialsMissing", "DamagedSet", "Entry", "ExportBusy",
    "FinishedWithWarnings", "FleetFileError", "FleetUnreadable", "IncompleteSet", "LockDamaged", "LockHeld", "MemberTampered",
    "MemberTooLarge", "NoCompleteBackup", "NotEnoughSpace", "NotifyFailed", "PasswordMissing",
    "PasswordUnusable", "Progress", "RestoreIncomplete", "RestoreResult", "SealedFileDamaged",
    "SelectionError", "SetBeingRemoved", "SetNotFound", "ShareNotFound", "StateNotWritable",
    "StoreNotFound", "TargetError", "TargetFull", "TargetStalled", "TargetUnreachable", "Task",
    "UnsafePath", "UnsupportedSet", "VerifyFailed", "WorkbenchError", "WrongPassword", "add_task",
    "apply_rotation",
    "backup", "copy_status", "edit_task", "list_sets", "list_tasks", "load_config",
    "open_target", "plan_restore", "plan_rotation", "remove_task", "restore", "set_enabled",
    "start_copy", "verify",
]
