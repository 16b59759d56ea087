"""ipywidgets forms for the notebooks (the only package that imports ipywidgets).

- :class:`ScheduleForm`, :class:`StartNowButton`, :class:`NotifyForm`: ``01-schedule.ipynb``
- :class:`RestoreWizard`: ``02-restore-walkthrough.ipynb``
- :class:`StorageDashboard`: ``03-storage.ipynb``
- :func:`workspace` / :func:`demo_target`: what a notebook works on (a real target, or sample
  backups made in a temporary directory)

Each form is a ``VBox``: display it, or drive it from code (set values, ``button.click()``) and read
its Output widgets; results are appended as plain mime bundles (see :mod:`.show`), never printed.
"""

from .restore_wizard import RestoreWizard
from .schedule_form import NotifyForm, ScheduleForm, StartNowButton
from .storage import StorageDashboard
from .workspace import Workspace, demo_target, sample_dir, workspace

__all__ = ["ScheduleForm", "StartNowButton", "NotifyForm", "RestoreWizard", "StorageDashboard",
           "Workspace", "workspace", "demo_target", "sample_dir"]
