"""ipywidgets forms for the notebooks (the only package that imports ipywidgets).

- :class:`ScheduleForm`, :class:`StartNowButton`, :class:`NotifyForm`: ``01-schedule.ipynb``
- :class:`RestoreWizard`: ``02-restore-walkthrough.ipynb``
- :class:`StorageDashboard`: ``03-storage.ipynb``
- :class:`FleetDashboard`: ``04-fleet.ipynb``
- :func:`workspace` / :func:`demo_target`: what a notebook works on (a real target, or sample
  backups made in a temporary directory); :func:`fleet_workspace` / :func:`demo_fleet` for
  the fleet notebook

Each form is a ``VBox``: display it, or drive it from code (set values, ``button.click()``) and read
its Output widgets; results are appended as plain mime bundles (see :mod:`.show`), never printed.
"""

from .fleet import FleetDashboard
from .restore_wizard import RestoreWizard
from .schedule_form import NotifyForm, ScheduleForm, StartNowButton
from .storage import StorageDashboard
from .workspace import (FleetWorkspace, Workspace, demo_fleet, demo_target, fleet_workspace,
                        sample_dir, workspace)

__all__ = ["ScheduleForm", "StartNowButton", "NotifyForm", "RestoreWizard", "StorageDashboard",
           "FleetDashboard", "Workspace", "workspace", "demo_target", "sample_dir",
           "FleetWorkspace", "fleet_workspace", "demo_fleet"]
