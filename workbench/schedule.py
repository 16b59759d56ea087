"""The name scripts know the scheduler by (``from workbench.schedule import next_run_times``); it
lives in workbench.service.scheduler."""

from .service.scheduler import SchedulerService, next_run_times, service_info, zone_name

__all__ = ["SchedulerService", "next_run_times", "service_info", "zone_name"]
