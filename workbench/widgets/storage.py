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

_KIND_COLORS = {"F": "#1f5fa8", "C": "#6c4ab6", "D": "#7fb3e6"}
_LIMIT_COLOR = "#b42318"
_ROOM_COLOR = "#e08a00"


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

    Attributes
    ----------
    keep : IntSlider
    chart : Output
        The figure: storage per set and cumulative (left), the projection (right).
    summary : Output
        Usage, rotation limit, capacity, forecast date and the largest ``keep`` that fits.
    largest : Output
        The largest users and folders of the newest backup.
    usage, forecast : DataFrame, StorageForecast
        What the last drawing showed.
    """

    def __init__(self, target, keep=None, capacity=None, min_free=None, now=None, top=10):
        from ..config import Config
        self.target = str(target)
        self.capacity = _size("capacity", capacity)
        self.min_free = _size("min_free", min_free)
        self.now = now
        self.top = top
        self.usage = self.forecast = self.error = None
        start = Config().keep if keep is None else int(keep)
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
        usage = catalog.storage_usage(self.target, keep=keep, capacity=self.capacity)
        forecast = catalog.forecast_storage(self.target, keep=keep, capacity=self.capacity,
                                            min_free=self.min_free, now=self.now)
        return usage, forecast

    def summary_lines(self):
        """The summary as a list of sentences (the report and the widget show the same)."""
        u, f = self.usage, self.forecast
        used = int(u["bytes"].sum()) if len(u) else 0
        kept = int(u["kept_cumulative"].iloc[-1]) if len(u) else 0
        room = f.capacity - f.other_bytes - f.min_free
        lines = [
            f"{len(u)} sets take {human_size(used)} on the target; rotation with keep = {f.keep} "
            f"would leave {human_size(kept)} of them.",
            f"Capacity {human_size(f.capacity)}, free now {human_size(f.free)}, minimum free "
            f"{human_size(f.min_free)}: the backups may use {human_size(max(room, 0))}.",
            f"One complete backup (a full and its differentials) is about "
            f"{human_size(f.chain_bytes)} today and grows by {human_size(f.growth_per_day)} a day; "
            f"keep = {f.keep} of them take about {human_size(f.projected_bytes)}.",
        ]
        if f.full_date is None:
            lines.append("Forecast: at this growth the backups keep fitting.")
        else:
            lines.append(f"Forecast: backups stop fitting on {f.full_date:%Y-%m-%d} (free space "
                         f"falls under the minimum).")
        lines.append(f"The largest keep that fits today: {f.largest_keep}.")
        return lines

    # --- drawing ------------------------------------------------------------------------------

    def figure(self):
        """The matplotlib Figure of the current numbers."""
        from matplotlib.dates import DateFormatter
        from matplotlib.figure import Figure
        u, f = self.usage, self.forecast
        fig = Figure(figsize=(11, 4.2))
        ax, bx = fig.subplots(1, 2)
        limit = f.capacity - f.other_bytes - f.min_free
        mib = 1024 * 1024
        if len(u):
            t = _naive(u["started"])
            sizes = u["bytes"].to_numpy(dtype="float64") / mib
            colors = [_KIND_COLORS.get(k, "#999999") for k in u["kind"].astype(str)]
            alphas = [1.0 if r == "keep" else 0.35 for r in u["rotation"].astype(str)]
            width = 0.6
            for x, h, c, a in zip(t, sizes, colors, alphas):
                ax.bar(x, h, width=width, color=c, alpha=a)
            ax.step(t, u["cumulative"].to_numpy(dtype="float64") / mib, where="post",
                    color="#333333", label="cumulative, all sets")
            ax.step(t, u["kept_cumulative"].to_numpy(dtype="float64") / mib, where="post",
                    color="#1a7f37", label=f"cumulative, sets kept with keep={f.keep}")
        ax.axhline(f.projected_bytes / mib, color=_ROOM_COLOR, linestyle="--",
                   label=f"rotation limit: {f.keep} complete backups")
        if limit <= 20 * max(f.projected_bytes, int(u["cumulative"].max()) if len(u) else 0):
            ax.axhline(max(limit, 0) / mib, color=_LIMIT_COLOR,
                       label="capacity less minimum free")
        ax.set_title("Storage per set (bars) and cumulative")
        ax.set_ylabel("MiB")
        ax.xaxis.set_major_formatter(DateFormatter("%m-%d"))
        ax.legend(fontsize=7, loc="upper left")

        h = f.history
        if len(h):
            ht = _naive(h["started"])
            bx.plot(ht, f.keep * h["chain_bytes"].to_numpy(dtype="float64") / mib, "o",
                    color="#1f5fa8", label="keep × complete backup (measured)")
            import numpy as np
            start = ht[0]
            end = np.datetime64(f.full_date.tz_convert("UTC").tz_localize(None)) \
                if f.full_date is not None else ht[-1] + np.timedelta64(60, "D")
            end = max(end, ht[-1] + np.timedelta64(7, "D"))
            span = np.array([start, end], dtype="datetime64[ns]")
            days_from_last = (span - ht[-1]) / np.timedelta64(1, "D")
            projected = (f.projected_bytes + f.keep * f.growth_per_day * days_from_last) / mib
            bx.plot(span, projected, "--", color=_ROOM_COLOR, label="projection")
        top = max([f.projected_bytes / mib] + ([float(projected[-1])] if len(h) else []))
        if limit / mib <= 20 * max(top, 1e-9) or f.full_date is not None:
            bx.axhline(max(limit, 0) / mib, color=_LIMIT_COLOR, label="room for backups")
        else:  # far above: drawing it would flatten the projection to a line at zero
            bx.text(0.98, 0.03, f"room for backups: {human_size(limit)} (off the chart)",
                    transform=bx.transAxes, ha="right", va="bottom", fontsize=8,
                    color=_LIMIT_COLOR)
        if f.full_date is not None:
            bx.axvline(f.full_date.tz_convert("UTC").tz_localize(None), color=_LIMIT_COLOR,
                       linestyle=":", label=f"full on {f.full_date:%Y-%m-%d}")
        bx.set_title(f"Forecast with keep = {f.keep}")
        bx.set_ylabel("MiB")
        bx.xaxis.set_major_formatter(DateFormatter("%Y-%m-%d"))
        bx.legend(fontsize=7, loc="best")
        for a in (ax, bx):
            for label in a.get_xticklabels():
                label.set_rotation(30)
        fig.tight_layout()
        return fig

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
        """``(users, folders)``: the newest backup's largest users and folders (bytes, files)."""
        from .. import catalog
        e = catalog.read_entries(self.target)
        mail = e[e["user"].notna()]
        agg = dict(files=("path", "size"), bytes=("size", "sum"))
        users = (mail.groupby(["domain", "user"], observed=True).agg(**agg)
                 .sort_values("bytes", ascending=False).head(self.top).reset_index())
        folders = (mail.groupby(["domain", "user", "folder"], observed=True).agg(**agg)
                   .sort_values("bytes", ascending=False).head(self.top).reset_index())
        for df in (users, folders):
            df["size"] = [human_size(b) for b in df["bytes"]]
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
