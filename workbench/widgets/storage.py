"""The storage dashboard: backup storage per set and over time against the rotation limit, the
target's capacity and the minimum free space; when backups stop fitting; a ``keep`` slider; the
largest users and folders.

The numbers come from ``workbench.catalog`` (``storage_usage``, ``forecast_storage``,
``read_entries``); this module draws them with matplotlib (``Figure`` objects, no pyplot state).
"""

import html

import ipywidgets as w

from ..errors import WorkbenchError
from ..sizes import human_size, parse_size
from . import show
from .charts import bar_widths, time_axis

_KIND_COLORS = {"F": "#1f5fa8", "C": "#6c4ab6", "D": "#7fb3e6"}
_LIMIT_COLOR = "#b42318"
_ROOM_COLOR = "#e08a00"
_MIB = 1024 * 1024


def _size(key, value):
    return None if value is None else parse_size(key, value, allow_zero=True)


def _naive(series):
    """Datetimes for matplotlib: tz-aware UTC pandas values as naive UTC numpy datetime64."""
    return series.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()


class StorageDashboard(w.VBox):
    """Charts of a target's backup storage, redrawn when the ``keep`` slider moves.

    Parameters
    ----------
    target : str
        Backup directory or ``smb://`` URL.
    keep : int, optional
        Rotation limit to start with (default: the config default).
    capacity : int or str, optional
        Bytes the backups may use (``"500GB"`` works; default: the size of the target's
        filesystem or share).
    min_free : int or str, optional
        Free space a backup requires (default: the config default, 4 GiB).
    now : datetime, optional
        The time the forecast starts from (default: now).
    top : int
        How many of the largest users and folders to list.
    config : Config or str, optional
        The config (default ``$WORKBENCH_CONFIG``): its ``keep`` starts the slider, its
        ``min_free`` and ``timezone`` the forecast, its SMB settings open the target.

    Attributes
    ----------
    keep : IntSlider
    chart : Output
        The figure: storage per set and cumulative (left), the projection (right).
    summary : Output
        Usage, rotation limit, capacity, forecast date and the largest ``keep`` that fits, or
        why there is no forecast (too little history).
    largest : Output
        The largest users and folders of the newest backup.
    usage, forecast : DataFrame, StorageForecast
        What the last drawing showed.
    """

    def __init__(self, target, keep=None, capacity=None, min_free=None, now=None, top=10,
                 config=None):
        from ..config import as_config
        self.target = str(target)
        self.config = as_config(config)
        self.capacity = _size("capacity", capacity)
        self.min_free = _size("min_free", min_free)
        self.now = now
        self.top = top
        self.usage = self.forecast = self.error = None
        start = self.config.keep if keep is None else int(keep)
        self.keep = w.IntSlider(value=start, min=1, max=max(14, 2 * start), description="keep",
                                continuous_update=False)
        self.chart = w.Output()
        self.summary = w.Output()
        self.largest = w.Output()
        self.keep.observe(lambda change: self.draw(), names="value")
        super().__init__([self.keep, self.summary, self.chart, self.largest])
        self.draw()
        self.show_largest()

    # --- numbers ------------------------------------------------------------------------------

    def compute(self):
        """``(usage, forecast)`` for the slider's ``keep``."""
        from .. import catalog
        keep = self.keep.value
        usage = catalog.storage_usage(self.target, keep=keep, capacity=self.capacity,
                                      config=self.config)
        forecast = catalog.forecast_storage(self.target, keep=keep, capacity=self.capacity,
                                            min_free=self.min_free, now=self.now,
                                            config=self.config)
        return usage, forecast

    def summary_lines(self):
        """The summary as a list of sentences (the report and the widget show the same)."""
        u, f = self.usage, self.forecast
        used = int(u["set_bytes"].sum()) if len(u) else 0
        kept = int(u["kept_cumulative_bytes"].iloc[-1]) if len(u) else 0
        room = f.capacity - f.other_bytes - f.min_free
        lines = [
            f"{len(u)} sets take {human_size(used)} on the target; rotation with keep = {f.keep} "
            f"would leave {human_size(kept)} of them.",
            f"Capacity {human_size(f.capacity)}, free now {human_size(f.free)}, minimum free "
            f"{human_size(f.min_free)}: the backups may use {human_size(max(room, 0))}.",
        ]
        size = (f"One complete backup (a full and its differentials) is about "
                f"{human_size(f.chain_bytes)} today")
        take = f"keep = {f.keep} of them take about {human_size(f.projected_bytes)}."
        if not f.confident:  # no growth, date or largest keep: say why instead
            lines.append(f"{size}; {take}")
            lines.append(f"No forecast: {f.reason}.")
            return lines
        lines.append(f"{size} and grows by {human_size(f.growth_per_day)} a day; {take}")
        if f.full_date is None:
            lines.append("Forecast: at this growth the backups keep fitting.")
        else:
            lines.append(f"Forecast: backups stop fitting on {f.full_date:%Y-%m-%d} (free space "
                         f"falls under the minimum).")
        lines.append(f"The largest keep that fits today: {f.largest_keep}.")
        return lines

    # --- drawing ------------------------------------------------------------------------------

    def figure(self):
        """The matplotlib Figure of the current numbers: storage per set (left), the forecast,
        or what was measured and why there is none (right)."""
        from matplotlib.figure import Figure
        fig = Figure(figsize=(11, 4.2))
        ax, bx = fig.subplots(1, 2)
        f = self.forecast
        limit = f.capacity - f.other_bytes - f.min_free
        self._usage_chart(ax, limit)
        if f.confident:
            self._forecast_chart(bx, limit)
        else:
            self._no_forecast_chart(bx, limit)
        for a in (ax, bx):
            for label in a.get_xticklabels():
                label.set_rotation(30)
        fig.tight_layout()
        return fig

    def _usage_chart(self, ax, limit):
        """One bar per set (as wide as the spacing of the sets allows), the cumulative bytes."""
        u, f = self.usage, self.forecast
        if len(u):
            t = _naive(u["started"])
            sizes = u["set_bytes"].to_numpy(dtype="float64") / _MIB
            colors = [_KIND_COLORS.get(k, "#999999") for k in u["kind"].astype(str)]
            alphas = [1.0 if r == "keep" else 0.35 for r in u["rotation"].astype(str)]
            for x, h, wd, c, a in zip(t, sizes, bar_widths(t), colors, alphas):
                ax.bar(x, h, width=wd, color=c, alpha=a)
            ax.step(t, u["cumulative_bytes"].to_numpy(dtype="float64") / _MIB, where="post",
                    color="#333333", label="cumulative, all sets")
            ax.step(t, u["kept_cumulative_bytes"].to_numpy(dtype="float64") / _MIB,
                    where="post", color="#1a7f37",
                    label=f"cumulative, sets kept with keep={f.keep}")
        ax.axhline(f.projected_bytes / _MIB, color=_ROOM_COLOR, linestyle="--",
                   label=f"rotation limit: {f.keep} complete backups")
        if limit <= 20 * max(f.projected_bytes,
                             int(u["cumulative_bytes"].max()) if len(u) else 0):
            ax.axhline(max(limit, 0) / _MIB, color=_LIMIT_COLOR,
                       label="capacity less minimum free")
        ax.set_title("Storage per set (bars) and cumulative")
        ax.set_ylabel("MiB")
        time_axis(ax.xaxis)
        ax.legend(fontsize=7, loc="upper left")

    def _forecast_chart(self, bx, limit):
        """keep × the measured complete backups, the fitted projection, the day it is full."""
        import numpy as np
        from matplotlib.dates import DateFormatter
        f = self.forecast
        h = f.history
        ht = _naive(h["started"])
        bx.plot(ht, f.keep * h["chain_bytes"].to_numpy(dtype="float64") / _MIB, "o",
                color="#1f5fa8", label="keep × complete backup (measured)")
        end = np.datetime64(f.full_date.tz_convert("UTC").tz_localize(None)) \
            if f.full_date is not None else ht[-1] + np.timedelta64(60, "D")
        end = max(end, ht[-1] + np.timedelta64(7, "D"))
        span = np.array([ht[0], end], dtype="datetime64[ns]")
        days_from_last = (span - ht[-1]) / np.timedelta64(1, "D")
        projected = (f.projected_bytes + f.keep * f.growth_per_day * days_from_last) / _MIB
        bx.plot(span, projected, "--", color=_ROOM_COLOR, label="projection")
        self._room(bx, limit, max(f.projected_bytes / _MIB, float(projected[-1])))
        if f.full_date is not None:
            bx.axvline(f.full_date.tz_convert("UTC").tz_localize(None), color=_LIMIT_COLOR,
                       linestyle=":", label=f"full on {f.full_date:%Y-%m-%d}")
        bx.set_title(f"Forecast with keep = {f.keep}")
        bx.set_ylabel("MiB")
        bx.xaxis.set_major_formatter(DateFormatter("%Y-%m-%d"))
        bx.legend(fontsize=7, loc="best")

    def _no_forecast_chart(self, bx, limit):
        """Without a fit: what was measured, the room, and why nothing is projected."""
        import textwrap
        f = self.forecast
        h = f.history
        top = f.projected_bytes / _MIB
        if len(h):
            measured = f.keep * h["chain_bytes"].to_numpy(dtype="float64") / _MIB
            bx.plot(_naive(h["started"]), measured, "o", color="#1f5fa8",
                    label="keep × complete backup (measured)")
            top = max(top, float(measured.max()))
            time_axis(bx.xaxis)
        self._room(bx, limit, top)
        bx.text(0.5, 0.5, "\n".join(textwrap.wrap(f"No forecast: {f.reason}.", 44)),
                transform=bx.transAxes, ha="center", va="center", fontsize=8, color="#444444",
                bbox={"facecolor": "white", "edgecolor": "#cccccc"})
        bx.set_title(f"No forecast with keep = {f.keep}: too little history")
        bx.set_ylabel("MiB")
        bx.legend(fontsize=7, loc="upper left")

    def _room(self, bx, limit, top):
        """The room for backups as a line, or a note when it is so far above *top* (MiB) that
        drawing it would flatten the rest to a line at zero."""
        if limit / _MIB <= 20 * max(top, 1e-9) or self.forecast.full_date is not None:
            bx.axhline(max(limit, 0) / _MIB, color=_LIMIT_COLOR, label="room for backups")
        else:
            bx.text(0.98, 0.03, f"room for backups: {human_size(limit)} (off the chart)",
                    transform=bx.transAxes, ha="right", va="bottom", fontsize=8,
                    color=_LIMIT_COLOR)

    def draw(self):
        """Recompute for the slider's ``keep`` and redraw the chart and the summary."""
        summary, chart = show.Buffer(), show.Buffer()
        self.error = None
        try:
            self.usage, self.forecast = self.compute()
        except WorkbenchError as e:
            self.error = e
            show.error(summary, e)
            ok = False
        else:
            show.bundle(summary, {"text/html": self._summary_html(),
                                  "text/plain": "\n".join(self.summary_lines())})
            show.figure(chart, self.figure(), alt="storage chart")
            ok = True
        show.replace(self.chart, chart)
        show.replace(self.summary, summary)
        return ok

    def _summary_html(self):
        items = "".join(f"<li>{html.escape(s)}</li>" for s in self.summary_lines())
        return f'<ul class="workbench-summary">{items}</ul>'

    def largest_frames(self):
        """``(users, folders)``: the newest backup's largest users and folders (``files``,
        ``size``: their bytes in the store, ``human_size``: the same for people)."""
        from .. import catalog
        e = catalog.read_entries(self.target, config=self.config)
        mail = e[e["user"].notna()]
        agg = dict(files=("path", "size"), size=("size", "sum"))
        users = (mail.groupby(["domain", "user"], observed=True).agg(**agg)
                 .sort_values("size", ascending=False).head(self.top).reset_index())
        folders = (mail.groupby(["domain", "user", "folder"], observed=True).agg(**agg)
                   .sort_values("size", ascending=False).head(self.top).reset_index())
        for df in (users, folders):
            df["human_size"] = [human_size(b) for b in df["size"]]
        return users, folders

    def show_largest(self):
        show.clear(self.largest)
        try:
            users, folders = self.largest_frames()
        except WorkbenchError as e:
            show.error(self.largest, e)
            return
        show.frame(self.largest, users, title="Largest users (newest backup)")
        show.frame(self.largest, folders, title="Largest folders (newest backup)")

    # --- the report ---------------------------------------------------------------------------

    def report_html(self):
        """The dashboard as static HTML (summary, chart as an embedded PNG, tables).

        Raises the error that kept the numbers from being read (a report must not look fine
        when it is empty).
        """
        import base64
        if self.error is not None:
            raise self.error
        png = base64.b64encode(show.png(self.figure())).decode("ascii")
        parts = [self._summary_html(),
                 f'<img class="workbench-chart" alt="storage chart" '
                 f'src="data:image/png;base64,{png}">']
        try:
            users, folders = self.largest_frames()
        except WorkbenchError as e:
            parts.append(f"<p>{html.escape(str(e))}</p>")
        else:
            for title, df in (("Largest users (newest backup)", users),
                              ("Largest folders (newest backup)", folders)):
                parts.append(f"<h3>{html.escape(title)}</h3>"
                             + df.to_html(index=False, classes="workbench-table", border=0))
        return "\n".join(parts)

    def static(self):
        """An object the notebook displays as the static report (no widgets)."""
        from IPython.display import HTML
        return HTML(self.report_html())


__all__ = ["StorageDashboard"]
