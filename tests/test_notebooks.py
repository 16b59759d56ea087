"""``workbench report storage`` and ``workbench lab``; the notebooks themselves run under nbval
(``pytest`` collects notebooks/*.ipynb with --nbval-lax, see pyproject.toml).
"""

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from workbench.cli import main
from workbench.errors import WorkbenchError
from workbench.cli.lab import prepare_dir
from workbench.service.report import NOTEBOOKS, inject_parameters, notebooks_dir
from workbench.widgets import demo_target

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return demo_target(tmp_path_factory.mktemp("demo") / "ws")


def test_every_notebook_has_a_parameters_cell_and_no_outputs():
    assert sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb")) == list(NOTEBOOKS)
    for name in NOTEBOOKS:
        nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
        tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, name
        assert re.search(r"^target = None", tagged[0].source, re.M), name
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), name


def test_inject_parameters_refuses_unknown_names():
    nb = nbformat.read(ROOT / "notebooks" / "03-storage.ipynb", as_version=4)
    with pytest.raises(WorkbenchError, match="unknown notebook parameter 'kep'"):
        inject_parameters(nb, {"kep": 3})
    inject_parameters(nb, {"keep": 3, "target": "/x"})
    at = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    assert nb.cells[at + 1].source == "# Parameters given to this run\nkeep = 3\ntarget = '/x'"


def test_report_storage_writes_standalone_html(demo, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("WORKBENCH_CONFIG", raising=False)
    out = tmp_path / "report.html"
    assert main(["report", "storage", "--target", demo.target, "--out", str(out),
                 "--keep", "3", "--capacity", "12MiB", "--min-free", "1MiB"]) == 0
    assert capsys.readouterr().out == f"report written to {out}\n"
    page = out.read_text()
    assert page.count('src="data:image/png;base64,') == 1  # the chart, embedded
    assert "Backup storage and capacity" in page            # the Markdown
    assert "15 sets take" in page and "keep = 3" in page     # the summary, for these parameters
    assert "minimum free 1.0 MiB" in page and "Capacity 12.0 MiB" in page
    assert "Largest folders" in page
    assert "StorageDashboard(" not in page and "from workbench" not in page  # code hidden
    assert "application/vnd.jupyter.widget-view+json" not in page    # no live widgets
    assert not list(tmp_path.glob("*.tmp"))


def test_report_storage_names_a_missing_target(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("WORKBENCH_CONFIG", raising=False)
    out = tmp_path / "report.html"
    code = main(["report", "storage", "--target", str(tmp_path / "none"), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == WorkbenchError.exit_code
    assert "03-storage.ipynb failed" in err and "does not exist" in err
    assert not out.exists()


def test_prepare_dir_copies_missing_notebooks_only(tmp_path):
    work = tmp_path / "nb"
    assert prepare_dir(work) == list(NOTEBOOKS)
    for name in NOTEBOOKS:
        assert (work / name).read_bytes() == (notebooks_dir() / name).read_bytes()
    (work / NOTEBOOKS[0]).write_text("my edits")
    (work / NOTEBOOKS[1]).unlink()
    assert prepare_dir(work) == [NOTEBOOKS[1]]
    assert (work / NOTEBOOKS[0]).read_text() == "my edits"
    assert prepare_dir(notebooks_dir()) == []  # working on the bundled notebooks themselves


def test_workbench_lab_serves_the_notebooks(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(tmp_path / "conf"),
               JUPYTER_DATA_DIR=str(tmp_path / "data"), JUPYTER_RUNTIME_DIR=str(tmp_path / "rt"))
    work = tmp_path / "work"
    proc = subprocess.Popen([sys.executable, "-m", "workbench", "lab", "--dir", str(work),
                             "--no-browser", "--port", str(port), "--",
                             "--ServerApp.token=", "--ServerApp.password="],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stdout.read()
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert time.monotonic() < deadline, "workbench lab did not start"
            time.sleep(0.2)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/contents", timeout=30) as r:
            listing = json.load(r)
        assert sorted(c["name"] for c in listing["content"]) == list(NOTEBOOKS)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/lab", timeout=30) as r:
            assert r.status == 200 and b"JupyterLab" in r.read()
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert f"copied {NOTEBOOKS[0]} into {work}" in out
