"""Progress events, and the one rule for how often they are reported.

Logic reports progress through a callback (never by printing): a :class:`Progress` event says
what is being done and how far along it is. :class:`Throttle` lets an event through at most once
per interval (the last one always passes, forced); :class:`Meter` counts the files and bytes of a
job and reports them through a throttle. A Meter without a callback does nothing, so callers need
no ``if progress:``. A leaf module: it imports nothing from workbench.
"""

import time
from dataclasses import dataclass

# Reports to a callback (a progress bar, a notebook widget) at most this often.
DEFAULT_INTERVAL = 0.1


@dataclass(frozen=True)
class Progress:
    """A progress event: what is being done and how far along it is."""

    phase: str  # "scan", "backup", "restore", "verify"
    files_done: int
    files_total: int
    bytes_done: int
    bytes_total: int
    path: str = ""


class Throttle:
    """Says yes at most once per *interval* seconds (and whenever forced)."""

    __slots__ = ("interval", "_last")

    def __init__(self, interval=DEFAULT_INTERVAL):
        self.interval = interval
        self._last = None

    def ready(self, force=False):
        """True if an event may go out now (it then counts as sent)."""
        now = time.monotonic()
        if force or self._last is None or now - self._last >= self.interval:
            self._last = now
            return True
        return False


class Meter:
    """Files and bytes done of a job, reported as Progress events through *callback* (at most
    every *interval* seconds); without a callback every call is a no-op.

    ``files`` and ``bytes`` may be set directly (a pipeline that counts them itself), or grown
    with :meth:`add`; the totals may change while the job runs (a walk that is still listing).
    """

    def __init__(self, callback=None, phase="", files_total=0, bytes_total=0,
                 interval=DEFAULT_INTERVAL):
        self.callback, self.phase = callback, phase
        self.files_total, self.bytes_total = files_total, bytes_total
        self.files = self.bytes = 0
        self._throttle = Throttle(interval)

    def add(self, files=1, nbytes=0, path=""):
        """Count *files* more files of *nbytes* bytes done, the last one *path*."""
        self.files += files
        self.bytes += nbytes
        self.report(path)

    def report(self, path="", force=False):
        """Send the counts now if the throttle allows (always when *force*)."""
        if self.callback is not None and self._throttle.ready(force):
            self.callback(Progress(self.phase, self.files, self.files_total, self.bytes,
                                   self.bytes_total, path))


__all__ = ["Progress", "Throttle", "Meter", "DEFAULT_INTERVAL"]
