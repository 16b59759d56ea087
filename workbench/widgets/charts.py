"""What the charts of the forms share: time axes whose tick labels tell the ticks apart, and bars
as wide as the spacing of the sets allows.

Sets a day apart are labelled by date; sets hours or minutes apart (a first day of backups, a
test run, several copies made by hand) by time, so that no two ticks read the same "12-01".
"""

import numpy as np

_DAY = np.timedelta64(1, "D")

#: Tick label formats by the tick locator's unit, in days (matplotlib's AutoDateFormatter picks
#: the first unit at least as long as the locator's).
TICK_FORMATS = {
    365.0: "%Y",
    30.0: "%Y-%m",
    1.0: "%m-%d",
    1 / 24: "%m-%d %H:%M",
    1 / (24 * 60): "%H:%M",
    1 / (24 * 3600): "%H:%M:%S",
}

#: The width of a lone set's bar (nothing to scale by), in days.
LONE_BAR_DAYS = 0.6

#: A bar takes this share of the gap to its nearest neighbour.
BAR_SHARE = 0.8


def time_axis(axis, minticks=3, maxticks=8):
    """Put date ticks on *axis* (``ax.xaxis``) labelled by their spacing: dates for days,
    date and time for hours, times for minutes and seconds."""
    from matplotlib.dates import AutoDateFormatter, AutoDateLocator
    locator = AutoDateLocator(minticks=minticks, maxticks=maxticks)
    formatter = AutoDateFormatter(locator, defaultfmt="%Y-%m-%d %H:%M:%S")
    formatter.scaled = dict(TICK_FORMATS)
    axis.set_major_locator(locator)
    axis.set_major_formatter(formatter)


def bar_widths(times):
    """Bar widths in days (matplotlib's date unit) for bars at *times* (datetime64, sorted):
    each :data:`BAR_SHARE` of the gap to its nearest neighbour, so bars never overlap and sets
    minutes apart get bars minutes wide; a lone set :data:`LONE_BAR_DAYS`."""
    t = np.asarray(times, dtype="datetime64[ns]")
    if len(t) < 2:
        return np.full(len(t), LONE_BAR_DAYS)
    gaps = np.diff(t) / _DAY
    gaps = np.where(gaps > 0, gaps, np.inf)
    nearest = np.minimum(np.r_[np.inf, gaps], np.r_[gaps, np.inf])
    nearest = np.where(np.isfinite(nearest), nearest, LONE_BAR_DAYS / BAR_SHARE)
    return BAR_SHARE * nearest


__all__ = ["time_axis", "bar_widths", "TICK_FORMATS"]
