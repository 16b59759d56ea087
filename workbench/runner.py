"""The name scripts know the runner by (``workbench.runner.run_backup``); it lives in
workbench.service.runner."""

from .service.runner import RunReport, run_backup, start_copy

__all__ = ["RunReport", "run_backup", "start_copy"]
