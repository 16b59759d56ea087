"""The catalog: backup sets, volumes, files and messages on a target, as pandas DataFrames.

The only package of workbench that imports pandas. Every reader takes a *target* (a directory
path, an ``smb://`` URL or UNC path with ``storage_options`` for ``open_target``, or a Target
object) or a fleet: a list of them, a mapping ``{name: target}`` or a Fleet read from a fleet
file (read_fleet), each server with its own settings; the frames of all targets are then
concatenated with a ``target`` column in front, and a target that cannot be read is left out
with a warning and listed by ``problems(frame)``, so one notebook covers a fleet of servers.
``export`` writes every set of a fleet as hive-partitioned Parquet, ``connect`` opens DuckDB
views over it.

One module per job: ``sets`` (read_sets, read_volumes), ``entries`` (read_entries), ``messages``
(read_messages), ``recovery`` (recovery_plan), ``storage`` (storage_usage, forecast_storage),
``search`` (find_messages, diff_sets), ``verify`` (read_verify), ``exporter`` (export),
``query`` (connect); ``fleet`` reads several targets, ``manifests`` decodes and caches
manifests, ``frames`` builds columns, ``settings`` reads the config (``config=``, else
``$WORKBENCH_CONFIG``: the target, ``keep``, ``min_free``, ``timezone``). Sets made by Kerio
Connect itself have no manifest and are read from their volumes' central directories.

docs/catalog.md is the vocabulary: every frame's columns, their dtypes and what they mean.
"""

from .entries import CHANGES, ENTRY_COLUMNS, read_entries
from .exporter import TARGET_COLUMNS, ExportResult, export
from .fleet import (PROBLEM_COLUMNS, Fleet, Server, TargetSkipped, problems, read_fleet,
                    target_name)
from .frames import ROTATIONS, SET_KINDS, STATUSES, TEXT
from .manifests import clear_cache
from .messages import AREAS, MESSAGE_COLUMNS, read_messages
from .query import VIEWS, connect
from .recovery import PLAN_SUMMARY_COLUMNS, FleetRecoveryPlan, RecoveryPlan, recovery_plan
from .search import DIFF_COLUMNS, DISTINCT_COLUMNS, diff_sets, find_messages, fold
from .sets import SET_COLUMNS, VOLUME_COLUMNS, read_sets, read_volumes
from .storage import (FORECAST_COLUMNS, HISTORY_COLUMNS, USAGE_COLUMNS, FleetForecast,
                      StorageForecast, forecast_storage, storage_usage)
from .verify import VERIFY_COLUMNS, read_verify

__all__ = ["read_sets", "read_volumes", "read_entries", "read_messages", "recovery_plan",
           "RecoveryPlan", "FleetRecoveryPlan", "storage_usage", "forecast_storage",
           "StorageForecast", "FleetForecast", "find_messages", "diff_sets", "read_verify",
           "read_fleet", "Fleet", "Server", "target_name", "problems", "TargetSkipped",
           "export", "ExportResult", "connect", "VIEWS", "TARGET_COLUMNS",
           "clear_cache", "fold",
           "SET_COLUMNS", "VOLUME_COLUMNS", "ENTRY_COLUMNS", "MESSAGE_COLUMNS",
           "DISTINCT_COLUMNS", "DIFF_COLUMNS", "USAGE_COLUMNS", "HISTORY_COLUMNS",
           "VERIFY_COLUMNS", "PROBLEM_COLUMNS", "PLAN_SUMMARY_COLUMNS", "FORECAST_COLUMNS",
           "CHANGES", "STATUSES", "ROTATIONS", "SET_KINDS", "AREAS", "TEXT"]
