"""The fleet dashboard: per server the age of its last good backup (red past a threshold),
its storage against its rotation limit and capacity, its growth, and the servers that could
not be read.

The numbers come from ``workbench.catalog`` over a fleet (``read_sets``, ``storage_usage``,
``forecast_storage``); the targets left out are shown from ``catalog.problems``, so their
warnings are not repeated under the cell.
"""

import html
import warnings
from datetime import datetime, timezone

import ipywidgets as w

from ..errors import WorkbenchError
from ..sizes import human_size
from . import show

#: CSS classes of the server table's rows (the browser test looks for them).
STALE_CLASS = "workbench-stale"
PROBLEM_CLASS = "workbench-problem"
_RED = "#b42318"
_MIB = 1024 * 1024


class FleetDashboard(w.VBox):
    """One row per server: its last good backup and how old it is, storage and growth.

    Parameters
    ----------
    fleet : Fleet, list or mapping
        What catalog readers take (catalog.read_fleet gives a Fleet).
    max_age_hours : float
        A server whose newest complete set is older (or that has none) is shown in red.
    now : datetime, optional
        The time ages are measured from (default: now).
    config : Config or str, optional
        The config under the fleet's settings.

    Attributes
    ----------
    max_age : IntSlider
        The threshold in hours; moving it recolours the table.
    table, chart, summary : Output
    servers : list of dict
        One per server: ``target``, ``last_good`` (its newest complete set's time, None if it
        has none), ``age_hours`` (None likewise), ``newest_status``, ``sets``, ``used_bytes``,
        ``kept_bytes``, ``limit_bytes`` (keep complete backups of today's size), ``room_bytes``
        (capacity less other files and the minimum free space), ``growth_per_day``,
        ``full_date`` and ``problem`` (None when it was read).
    """

    def __init__(self, fleet, max_age_hours=26, now=None, config=None):
        from ..times import parse_time
        self.fleet, self.config = fleet, config
        self.now = parse_time(now, "now") if now is not None else datetime.now(timezone.utc)
        self.max_age = w.IntSlider(value=int(max_age_hours), min=1, max=24 * 14,
                                   description="max age (h)", continuous_update=False)
        self.summary, self.table, self.chart = w.Output(), w.Output(), w.Output()
        self.servers = None
        self.max_age.observe(lambda change: self.draw_table(), names="value")
        super().__init__([self.max_age, self.summary, self.table, self.chart])
        self.refresh()

    def compute(self):
        """The ``servers`` rows, read from the fleet's targets."""
        from .. import catalog
        with warnings.catch_warnings():  # the problems are shown in the table instead
            warnings.simplefilter("ignore", catalog.TargetSkipped)
            sets = catalog.read_sets(self.fleet, config=self.config)
            usage = catalog.storage_usage(self.fleet, config=self.config)
            forecast = catalog.forecast_storage(self.fleet, now=self.now, config=self.config)
        good = sets[sets["status"] == "complete"].groupby("target", observed=True)["started"].max()
        newest = sets.sort_values("started").groupby("target", observed=True)["status"].last()
        count = sets.groupby("target", observed=True).size()
        used = usage.groupby("target", observed=True)["set_bytes"].sum()
        kept = usage.groupby("target", observed=True)["kept_cumulative_bytes"].last()
        f = forecast.summary.set_index("target")
        problems = catalog.problems(sets).set_index("target")
        rows = []
        for name in sets["target"].cat.categories:
            last = good.get(name)
            row = {"target": name, "last_good": last, "newest_status": newest.get(name),
                   "age_hours": (self.now - last).total_seconds() / 3600
                   if last is not None else None,
                   "sets": int(count.get(name, 0)), "used_bytes": int(used.get(name, 0)),
                   "kept_bytes": _int(kept.get(name)), "limit_bytes": None, "room_bytes": None,
                   "growth_per_day": None, "full_date": None, "problem": None}
            if name in f.index:
                r = f.loc[name]
                row.update(limit_bytes=int(r["projected_bytes"]),
                           room_bytes=int(r["capacity_bytes"] - r["other_bytes"]
                                          - r["min_free_bytes"]),
                           growth_per_day=_float(r["growth_per_day"]),
                           full_date=r["full_date"] if r["full_date"] == r["full_date"] else None)
            if name in problems.index:
                p = problems.loc[name]
                row["problem"] = f"{p['error']}: {p['message']}"
            rows.append(row)
        return rows

    def stale(self):
        """The servers without a good backup within ``max_age`` hours (or any, or unreadable)."""
        return [r["target"] for r in self.servers
                if r["age_hours"] is None or r["age_hours"] > self.max_age.value]

    def refresh(self):
        """Read the fleet again and redraw everything."""
        summary = show.Buffer()
        try:
            self.servers = self.compute()
        except WorkbenchError as e:
            show.error(summary, e)
            show.replace(self.summary, summary)
            return False
        self.draw_table()
        chart = show.Buffer()
        show.figure(chart, self.figure(), alt="fleet storage chart")
        show.replace(self.chart, chart)
        return True

    def summary_line(self):
        stale = self.stale()
        unread = [r["target"] for r in self.servers if r["problem"]]
        n = len(self.servers)
        text = f"{n} server{'s' * (n != 1)}; "
        text += (f"{len(stale)} without a good backup for {self.max_age.value} hours: "
                 + ", ".join(stale) if stale else
                 f"every one has a good backup of the last {self.max_age.value} hours")
        if unread:
            text += "; could not be read: " + ", ".join(unread)
        return text + "."

    def draw_table(self):
        """The server table and the summary, for the slider's threshold."""
        table, summary = show.Buffer(), show.Buffer()
        stale = set(self.stale())
        line = self.summary_line()
        show.bundle(summary, {"text/html": f'<p class="workbench-summary">{html.escape(line)}</p>',
                              "text/plain": line})
        head = ("server", "last good backup", "age", "newest set", "sets", "used",
                "rotation limit", "room", "growth a day", "full on", "problem")
        rows = []
        lines = ["\t".join(head)]
        for r in self.servers:
            classes = [STALE_CLASS] * (r["target"] in stale) + [PROBLEM_CLASS] * bool(r["problem"])
            age = "never" if r["age_hours"] is None else _age(r["age_hours"])
            cells = [r["target"],
                     "" if r["last_good"] is None else f"{r['last_good']:%Y-%m-%d %H:%M}",
                     age, r["newest_status"] or "", str(r["sets"]), human_size(r["used_bytes"]),
                     _size(r["limit_bytes"]), _size(r["room_bytes"]),
                     _size(r["growth_per_day"]) if r["growth_per_day"] is not None else "no fit",
                     f"{r['full_date']:%Y-%m-%d}" if r["full_date"] is not None else "",
                     r["problem"] or ""]
            style = f' style="color:{_RED}"' if classes else ""
            tds = "".join(f'<td style="text-align:left">{html.escape(c)}</td>' for c in cells)
            rows.append(f'<tr class="{" ".join(classes)}"{style}>{tds}</tr>')
            lines.append("\t".join(cells))
        ths = "".join(f'<th style="text-align:left">{h}</th>' for h in head)
        page = (f'<table class="workbench-table workbench-fleet"><thead><tr>{ths}</tr></thead>'
                f'<tbody>{"".join(rows)}</tbody></table>')
        show.bundle(table, {"text/html": page, "text/plain": "\n".join(lines)})
        show.replace(self.table, table)
        show.replace(self.summary, summary)

    def figure(self):
        """Storage per server: what the sets take now, the rotation limit and the room."""
        from matplotlib.figure import Figure
        s = self.servers
        fig = Figure(figsize=(9, 0.7 * len(s) + 1.4))
        ax = fig.subplots()
        y = list(range(len(s)))[::-1]
        ax.barh(y, [r["used_bytes"] / _MIB for r in s],
                color=["#999999" if r["problem"] else "#1f5fa8" for r in s], label="used now")
        for yi, r in zip(y, s):
            if r["limit_bytes"] is not None:
                ax.plot([r["limit_bytes"] / _MIB] * 2, [yi - 0.4, yi + 0.4], color="#e08a00",
                        linewidth=3, label="rotation limit")
            if r["room_bytes"] is not None:
                ax.plot([r["room_bytes"] / _MIB] * 2, [yi - 0.4, yi + 0.4], color=_RED,
                        linewidth=3, label="room for backups")
            if r["problem"]:
                ax.text(0, yi, "  could not be read", va="center", fontsize=8, color=_RED)
        ax.set_yticks(y, [r["target"] for r in s])
        ax.set_xlabel("MiB")
        ax.set_title("Storage per server")
        handles, labels = ax.get_legend_handles_labels()
        unique = dict(zip(labels, handles))
        ax.legend(unique.values(), unique.keys(), fontsize=7, loc="lower right")
        fig.tight_layout()
        return fig


def _int(value):
    return None if value is None or value != value else int(value)


def _float(value):
    return None if value is None or value != value else float(value)


def _age(hours):
    if hours < 48:
        return f"{hours:.0f} h"
    return f"{hours / 24:.1f} days"


def _size(value):
    return "" if value is None else human_size(value)


__all__ = ["FleetDashboard", "STALE_CLASS", "PROBLEM_CLASS"]
