"""Progress events, and the one rule for how often they are reported.

Logic reports progress through a callback (never by printing): a :class:`Progress` event says
what is being done and how far along it is. :class:`Throttle` lets an event through at most once
per interval (the last one always passes, forced); :class:`Meter` counts the files and bytes of a
job and reports them through a throttle. A Meter without a callback does nothing, so callers need
no ``if progress:``. A leaf module: it imports nothing from workbench.

A total is a claim: ``total_known`` is False while the job is still finding its work (a backup
listing the store), and the totals are then only what was found so far; ``files_estimate`` and
``bytes_estimate`` may carry a guess (the previous set's size), always labelled as one. The ETA
is computed here, by the Meter, once for every consumer (the terminal bar, ``workbench status``,
the notebook forms), and only from a known total.
"""

import time

from .records import FrozenRecord

# Reports to a callback (a progress bar, a notebook widget) at most this often.
DEFAULT_INTERVAL = 0.1


class Progress(FrozenRecord):
    """A progress event: what is being done and how far along it is.

    ``phase`` is "backup", "restore" or "verify"; ``total_known`` False says the totals are only
    what was found so far (``files_estimate`` and ``bytes_estimate`` are then a guess, if any);
    ``eta_seconds`` is the seconds left, from the rate so far (None unless known).
    """

    _fields = ("phase", "files_done", "files_total", "bytes_done", "bytes_total", "path",
               "total_known", "eta_seconds", "files_estimate", "bytes_estimate")

    def __init__(self, phase, files_done, files_total, bytes_done, bytes_total, path="",
                 total_known=True, eta_seconds=None, files_estimate=None, bytes_estimate=None):
        self.__dict__.update(phase=phase, files_done=files_done, files_total=files_total,
                             bytes_done=bytes_done, bytes_total=bytes_total, path=path,
                             total_known=total_known, eta_seconds=eta_seconds,
                             files_estimate=files_estimate, bytes_estimate=bytes_estimate)


# The ETA needs this much of the job behind it before a rate means anything.
_ETA_AFTER = 0.5


def eta(done, total, elapsed):
    """Seconds left for *total* when *done* took *elapsed* seconds (None if nothing is done yet,
    or too little time has passed for a rate). The one rule of the ETA."""
    if done <= 0 or elapsed < _ETA_AFTER or total < done:
        return None
    return round((total - done) * elapsed / done, 1)


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
    with :meth:`add`; the totals may change while the job runs: a job still finding its work
    sets ``total_known`` False (and may give ``files_estimate``/``bytes_estimate``), and True
    once the totals are the whole job. The ETA is worked out from the time since the Meter was
    made, only while the total is known.
    """

    def __init__(self, callback=None, phase="", files_total=0, bytes_total=0,
                 interval=DEFAULT_INTERVAL, total_known=True):
        self.callback, self.phase = callback, phase
        self.files_total, self.bytes_total = files_total, bytes_total
        self.total_known = total_known
        self.files_estimate = self.bytes_estimate = None
        self.files = self.bytes = 0
        self._throttle = Throttle(interval)
        self._started = time.monotonic()

    def add(self, files=1, nbytes=0, path=""):
        """Count *files* more files of *nbytes* bytes done, the last one *path*."""
        self.files += files
        self.bytes += nbytes
        self.report(path)

    def report(self, path="", force=False):
        """Send the counts now if the throttle allows (always when *force*)."""
        if self.callback is not None and self._throttle.ready(force):
            self.callback(self.event(path))

    def event(self, path=""):
        """The Progress event of the counts now."""
        left = None
        if self.total_known:
            elapsed = time.monotonic() - self._started
            left = (eta(self.bytes, self.bytes_total, elapsed) if self.bytes_total
                    else eta(self.files, self.files_total, elapsed))
        known = self.total_known
        return Progress(self.phase, self.files, self.files_total, self.bytes, self.bytes_total,
                        path, known, left, None if known else self.files_estimate,
                        None if known else self.bytes_estimate)


__all__ = ["Progress", "Throttle", "Meter", "DEFAULT_INTERVAL", "eta"]
