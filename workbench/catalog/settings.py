"""The config as the catalog reads it, the way the command line does.

Every reader takes ``config=``: a Config, a config file's path, or None for ``$WORKBENCH_CONFIG``
(else the defaults). From it come the target when none is given, the SMB settings, the rotation
limits (``keep``, ``keep_copies``) under which ``rotation`` columns are computed, the minimum free space of the
forecast and the zone of times typed without one (``timezone``). An argument given to a reader
(``keep=3``) wins over the config.
"""

from ..config import as_config
from ..rotation import plan_rotation


def settings(config=None):
    """The Config of *config* (a Config, a path, or None: ``$WORKBENCH_CONFIG`` or defaults)."""
    return as_config(config)


def rotation_decisions(sets, cfg, keep=None, keep_copies=None):
    """``{set name: rotation.Decision}`` for *sets* under *keep* and *keep_copies* (default: the
    config's; a fleet file gives them per server).

    The one place the catalog asks rotation, so that every rotation column follows the same
    settings the backup's rotation uses.
    """
    keep = cfg.keep if keep is None else int(keep)
    keep_copies = cfg.keep_copies if keep_copies is None else int(keep_copies)
    return {d.set: d for d in plan_rotation(sets, keep, keep_copies)}
