"""Run a bundled notebook with parameters and save it as a standalone HTML report.

The parameters go into a new cell placed after the notebook's cell tagged ``parameters`` (as
papermill does), so the notebook's own defaults stay visible in it. The notebook runs in a fresh
kernel (nbclient); the page (nbconvert) hides the code, and charts are embedded as PNG images,
so the file can be mailed as it is.
"""

import os
from pathlib import Path

from ..errors import WorkbenchError

NOTEBOOKS = ("01-schedule.ipynb", "02-restore-walkthrough.ipynb", "03-storage.ipynb",
             "04-fleet.ipynb")
STORAGE_NOTEBOOK = "03-storage.ipynb"


def notebooks_dir():
    """The bundled notebooks: the source checkout's ``notebooks/``, else the copy installed in
    ``<prefix>/share/workbench/notebooks`` (see pyproject's data-files)."""
    import sys
    here = Path(__file__).resolve().parents[2] / "notebooks"
    for d in (here, Path(sys.prefix) / "share" / "workbench" / "notebooks"):
        if all((d / n).is_file() for n in NOTEBOOKS):
            return d
    raise WorkbenchError("the bundled notebooks are missing: reinstall workbench "
                         "(they live in notebooks/ of the source, share/workbench/notebooks "
                         "when installed)")


def inject_parameters(nb, parameters):
    """Put ``name = value`` lines for *parameters* in a cell after the ``parameters`` cell.

    Raises WorkbenchError when the notebook has no cell tagged ``parameters`` or a name is not
    one of its parameters (a typo would otherwise be ignored silently).
    """
    import nbformat
    at = next((i for i, c in enumerate(nb.cells)
               if "parameters" in c.get("metadata", {}).get("tags", [])), None)
    if at is None:
        raise WorkbenchError("the notebook has no cell tagged 'parameters'")
    source = nb.cells[at].source
    known = {line.split("=", 1)[0].strip() for line in source.splitlines()
             if "=" in line and not line.lstrip().startswith("#")}
    unknown = sorted(set(parameters) - known)
    if unknown:
        raise WorkbenchError(f"unknown notebook parameter {unknown[0]!r}; the notebook takes "
                             + ", ".join(sorted(known)))
    lines = ["# Parameters given to this run"] + [f"{k} = {v!r}" for k, v in parameters.items()]
    cell = nbformat.v4.new_code_cell("\n".join(lines))
    cell.metadata["tags"] = ["injected-parameters"]
    cell["id"] = "injected-parameters"
    nb.cells.insert(at + 1, cell)
    return nb


def run_notebook(path, parameters=None, timeout=600, cwd=None):
    """Execute the notebook at *path* with *parameters* in a fresh kernel; return it.

    Raises WorkbenchError naming the failing cell's error when a cell fails.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError
    nb = nbformat.read(os.fspath(path), as_version=4)
    inject_parameters(nb, dict(parameters or {}))
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": os.fspath(cwd or Path(path).parent)}})
    try:
        client.execute()
    except CellExecutionError as e:
        raise WorkbenchError(f"the notebook {Path(path).name} failed: "
                             f"{e.ename}: {e.evalue}") from None
    return nb


def to_html(nb, title=None):
    """The notebook as a standalone HTML page without code or prompts."""
    from nbconvert import HTMLExporter
    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True)
    if title:
        nb.metadata["title"] = title
    # the report shows static output only: without the widget state the page loads no widget
    # manager from a CDN
    nb.metadata.pop("widgets", None)
    body, _ = exporter.from_notebook_node(nb)
    return body


def storage_report(target, out, *, config=None, keep=None, capacity=None, min_free=None,
                   timeout=600):
    """Run ``03-storage.ipynb`` against *target* and write the HTML report to *out*.

    Parameters
    ----------
    target : str
        Backup directory or ``smb://`` URL.
    out : str
        The HTML file to write (replaced if it exists).
    config : str, optional
        Config file (credentials of an SMB target, ``keep``, ``min_free``).
    keep : int, optional
    capacity, min_free : int or str, optional
        ``"2TB"`` works.

    Returns
    -------
    str
        The path written.
    """
    params = {"target": str(target), "interactive": False}
    for k, v in (("config", config), ("keep", keep), ("capacity", capacity),
                 ("min_free", min_free)):
        if v is not None:
            params[k] = v
    nb = run_notebook(notebooks_dir() / STORAGE_NOTEBOOK, params, timeout=timeout)
    html = to_html(nb, title=f"Backup storage report: {target}")
    tmp = f"{out}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(html)
    os.replace(tmp, out)
    return str(out)


__all__ = ["notebooks_dir", "inject_parameters", "run_notebook", "to_html", "storage_report",
           "NOTEBOOKS"]
