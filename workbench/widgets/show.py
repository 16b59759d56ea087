"""Putting results into an ``ipywidgets.Output``, the same way in a kernel, under nbval and in tests.

Callbacks never ``print`` inside ``with out:`` (that output is lost outside a live front end);
they replace or extend ``out.outputs`` with plain mime bundles: text, HTML tables, PNG charts.
"""

import base64
import html
import io

#: CSS class of the HTML that reports a refused action (tests and the browser test look for it).
ERROR_CLASS = "workbench-error"
OK_CLASS = "workbench-ok"
_LEFT = ' style="text-align:left"'  # paths and names read better left-aligned


def clear(out):
    """Empty *out*."""
    out.outputs = ()


class Buffer:
    """Outputs collected off-screen, then shown at once with :func:`replace` (a redraw never
    shows a half-drawn state)."""

    def __init__(self):
        self.outputs = ()

    def append_stdout(self, text):
        self.outputs = self.outputs + ({"output_type": "stream", "name": "stdout", "text": text},)


def replace(out, buffer):
    """Show *buffer*'s outputs in *out*, replacing what it showed."""
    out.outputs = buffer.outputs


def bundle(out, data):
    """Append one display_data output holding the mime bundle *data*."""
    out.outputs = out.outputs + ({"output_type": "display_data", "data": data, "metadata": {}},)


def text(out, message):
    """Append *message* as plain text."""
    out.append_stdout(message if message.endswith("\n") else message + "\n")


def note(out, message, ok=True):
    """Append a one-line status message (green when *ok*, red otherwise)."""
    cls = OK_CLASS if ok else ERROR_CLASS
    color = "#1a7f37" if ok else "#b42318"
    bundle(out, {"text/html": f'<div class="{cls}" style="color:{color}">{html.escape(message)}'
                              "</div>", "text/plain": message})


def error(out, exc):
    """Append the message of *exc* (what the user reads; no traceback)."""
    note(out, f"{type(exc).__name__}: {exc}", ok=False)


def table_html(rows, columns=None, css_class="workbench-table"):
    """An HTML table of *rows* (dicts); *columns* picks and orders the keys."""
    rows = list(rows)
    columns = list(columns or (rows[0].keys() if rows else []))
    head = "".join(f"<th{_LEFT}>{html.escape(str(c))}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td{_LEFT}>{html.escape('' if r.get(c) is None else str(r.get(c)))}"
                                    "</td>" for c in columns) + "</tr>" for r in rows)
    return f'<table class="{css_class}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _scroll(table):
    # long tables (a plan of thousands of files) scroll inside their own box
    return f'<div class="workbench-scroll" style="max-height:22em;overflow:auto">{table}</div>'


def table(out, rows, columns=None, title=None, css_class="workbench-table"):
    """Append a table of *rows* (dicts), with an optional bold *title* above it."""
    rows = list(rows)
    columns = list(columns or (rows[0].keys() if rows else []))
    head = f"<b>{html.escape(title)}</b>" if title else ""
    plain = "\n".join(["\t".join(map(str, columns))] +
                      ["\t".join("" if r.get(c) is None else str(r.get(c)) for c in columns)
                       for r in rows])
    bundle(out, {"text/html": head + _scroll(table_html(rows, columns, css_class)),
                 "text/plain": plain})


def frame(out, df, title=None, css_class="workbench-table", max_rows=50):
    """Append a pandas DataFrame (the catalog's) as an HTML table."""
    head = f"<b>{html.escape(title)}</b>" if title else ""
    bundle(out, {"text/html": head + _scroll(df.to_html(index=False, classes=css_class, border=0,
                                                        max_rows=max_rows)),
                 "text/plain": df.to_string(index=False, max_rows=max_rows)})


def png(fig, dpi=96):
    """The PNG bytes of a matplotlib Figure."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return buf.getvalue()


def figure(out, fig, alt="chart"):
    """Append a matplotlib Figure as an embedded PNG image."""
    bundle(out, {"image/png": base64.b64encode(png(fig)).decode("ascii"), "text/plain": f"<{alt}>"})


def outputs_text(out):
    """All text and HTML of *out* joined (for tests and logs)."""
    parts = []
    for o in out.outputs:
        if o.get("output_type") == "stream":
            parts.append(o.get("text", ""))
        else:
            data = o.get("data", {})
            parts.append(data.get("text/html") or data.get("text/plain") or "")
    return "\n".join(parts)
