"""Loggers that load :mod:`logging` only when there is a record to handle.

Loading logging (with traceback, weakref, string and threading) took a tenth of a one-message
restore, which logs nothing at the default level. ``get_logger(name)`` stands for
``logging.getLogger(name)``: until something has loaded logging, nothing can have configured it
either, so a debug or info record (below WARNING, the level logging starts with) is dropped
without loading it; any other record loads logging and goes to the real logger.

``when_loaded(setup)`` runs *setup* once logging is loaded, by whichever module loads it: the
command line installs its console handler that way (so that every record, of workbench or of a
library, is shown as before), without loading logging itself.
"""

import sys

_WARNING = 30  # logging.WARNING
_pending = []


class Logger:
    """``logging.getLogger(name)``, loaded when first needed (see the module's docstring)."""

    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def _real(self):
        import logging
        return logging.getLogger(self.name)

    def _quiet(self, level):
        return level < _WARNING and "logging" not in sys.modules

    def debug(self, msg, *args, **kwargs):
        if not self._quiet(10):
            kwargs["stacklevel"] = kwargs.get("stacklevel", 1) + 1
            self._real().debug(msg, *args, **kwargs)

    def info(self, msg, *args, **kwargs):
        if not self._quiet(20):
            kwargs["stacklevel"] = kwargs.get("stacklevel", 1) + 1
            self._real().info(msg, *args, **kwargs)

    def isEnabledFor(self, level):
        return not self._quiet(level) and self._real().isEnabledFor(level)

    def __getattr__(self, name):  # warning, error, exception, ...: logging is loaded
        return getattr(self._real(), name)

    def __repr__(self):
        return f"<lazy logger {self.name}>"


def get_logger(name):
    """The logger *name*, loading logging only for a record that may be shown."""
    return Logger(name)


def when_loaded(setup):
    """Run ``setup()`` once logging is loaded: now if it is, else right after the module that
    first imports it has (before that import returns)."""
    if "logging" in sys.modules:
        setup()
        return
    _pending.append(setup)
    if not any(isinstance(f, _Hook) for f in sys.meta_path):
        sys.meta_path.insert(0, _Hook())


class _Hook:
    """A meta path finder that finds nothing itself: it lets the other finders find logging,
    and makes its loader run the pending setups once the module is executed."""

    def find_spec(self, name, path=None, target=None):
        if name != "logging":
            return None
        sys.meta_path.remove(self)
        for finder in sys.meta_path:
            spec = finder.find_spec(name, path, target) if hasattr(finder, "find_spec") else None
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        exec_module = loader.exec_module

        def exec_then_setup(module):
            exec_module(module)
            del loader.exec_module  # the loader's own method again
            while _pending:
                _pending.pop(0)()

        loader.exec_module = exec_then_setup
        return spec
