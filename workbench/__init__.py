"""workbench: back up, restore and analyse Kerio Connect mail stores.

The library is the product; the ``workbench`` command is a thin layer over it.

>>> import workbench
>>> result = workbench.backup("full", store="data/samples/kerio", target="/tmp/backups")  # doctest: +SKIP
>>> workbench.restore("/tmp/restored", target="/tmp/backups")                            # doctest: +SKIP
"""

from .backup import backup
from .config import Config, Task, load_config
from .errors import (ConfigError, CorruptVolume, DamagedSet, IncompleteSet, LockDamaged, LockHeld,
                     NoCompleteBackup, NotEnoughSpace, RestoreIncomplete, SetBeingRemoved,
                     SetNotFound, StoreNotFound, TargetError, UnsafePath, WorkbenchError)
from .model import BackupResult, Entry, RestoreResult
from .progress import Progress
from .restorer import plan_restore, restore
from .verify import verify
from .rotation import apply_rotation, plan_rotation
from .sets import list_sets
from .targets import open_target

__version__ = "0.1.0"

# Loaded on first use, so that a one-message restore from the shell does not pay for them.
_LAZY = {"copy_status": "service.status", "start_copy": "service.runner",
         "add_task": "service.tasks", "edit_task": "service.tasks", "list_tasks": "service.tasks",
         "remove_task": "service.tasks", "set_enabled": "service.tasks"}


def __getattr__(name):
    if name in _LAZY:
        import importlib
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "plan_restore", "verify",
    "start_copy", "copy_status", "Task", "list_tasks", "add_task", "edit_task", "remove_task",
    "set_enabled",
    "backup", "restore", "list_sets", "plan_rotation", "apply_rotation", "open_target",
    "Config", "load_config", "BackupResult", "RestoreResult", "Entry", "Progress",
    "WorkbenchError", "ConfigError", "StoreNotFound", "TargetError", "LockHeld", "NotEnoughSpace",
    "SetNotFound", "NoCompleteBackup", "IncompleteSet", "CorruptVolume", "UnsafePath",
    "RestoreIncomplete", "LockDamaged", "DamagedSet", "SetBeingRemoved",
]
