"""The notebooks in a real JupyterLab, driven through Debian's headless Chromium (Playwright).

JupyterLab runs on 127.0.0.1 with a temporary config and data directory, on copies of the
notebooks (so autosave never touches the repository). Each notebook is run with Run All, the main
button of each form is pressed, and the expected result must appear: the next run times and a
finished copy, the recovery explanation, the plan table and a checked restore, the storage chart,
the fleet table recoloured by its threshold and the DuckDB query results.
No cell may show a traceback. Screenshots are kept in tests/artifacts/ (gitignored).
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

# Real-clock tests (servers stopped for seconds, a browser): skipped by -m "not slow".
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
WAIT = 90_000  # ms: a notebook's Run All makes its demo backups (a few seconds) in a fresh kernel


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port, proc, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"jupyter lab did not listen on port {port}")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """Base URL of a JupyterLab serving copies of the notebooks."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (scripts/test.sh does)")
    base = tmp_path_factory.mktemp("lab")
    work, conf, data = base / "notebooks", base / "config", base / "data"
    work.mkdir()
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        shutil.copy(nb, work / nb.name)
    (conf / "labconfig").mkdir(parents=True)
    (conf / "labconfig" / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))
    env = {k: v for k, v in os.environ.items() if k != "WORKBENCH_CONFIG"}
    env.update(JUPYTER_CONFIG_DIR=str(conf), JUPYTER_DATA_DIR=str(data),
               JUPYTER_RUNTIME_DIR=str(base / "runtime"), XDG_STATE_HOME=str(base / "state"))
    port = _free_port()
    log = open(base / "lab.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         "--ServerApp.token=", "--ServerApp.password=", "--allow-root",
         "--LabApp.expose_app_in_browser=True", f"--ServerApp.root_dir={work}"],
        env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_port(port, proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    yield page
    context.close()


def _open_and_run(page, lab, name):
    # a workspace of its own, reset: otherwise JupyterLab reopens the notebooks of earlier tests
    page.goto(f"{lab}/lab/workspaces/{name.split('-')[0]}/tree/{name}?reset")
    page.wait_for_function(f"window.jupyterapp && window.jupyterapp.shell.currentWidget "
                           f"&& window.jupyterapp.shell.currentWidget.context?.path === '{name}'",
                           timeout=WAIT)
    # the kernel must be up before Run All, or the cells wait for it in the queue anyway
    page.wait_for_function("(() => { const w = window.jupyterapp.shell.currentWidget;"
                           " const k = w.sessionContext.session?.kernel;"
                           " return k && k.status === 'idle'; })()", timeout=WAIT)
    page.evaluate("window.jupyterapp.commands.execute('runmenu:run-all')")


def _wait_idle(page):
    """Until no cell is queued or running (prompt ``[*]``) and the kernel is idle."""
    page.wait_for_function(
        "(() => { const w = window.jupyterapp.shell.currentWidget;"
        " const k = w.sessionContext.session?.kernel;"
        " const busy = [...document.querySelectorAll('.jp-InputPrompt')]"
        "   .some(p => p.textContent.includes('*'));"
        " return k && k.status === 'idle' && !busy; })()", timeout=WAIT)


def _no_errors(page):
    """No cell shows a traceback (JupyterLab renders a cell's error as stderr output; checked
    against a notebook with ``1/0``)."""
    errors = page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
    texts = [errors.nth(i).inner_text() for i in range(errors.count())]
    assert not [t for t in texts if "Traceback" in t or "Error" in t], texts


def _shot(page, locator, name):
    """A screenshot of the window with *locator* scrolled into view."""
    path = ARTIFACTS / name
    locator.scroll_into_view_if_needed()
    page.screenshot(path=str(path))
    print(f"screenshot: {path}")


def _cell_with(page, selector):
    """The output area of the cell that holds *selector*."""
    return page.locator(".jp-Cell-outputArea", has=page.locator(selector)).first


def test_schedule_notebook(page, lab):
    _open_and_run(page, lab, "01-schedule.ipynb")
    runs = page.locator(".workbench-next-runs")
    expect(runs).to_be_visible(timeout=WAIT)
    _wait_idle(page)
    expect(runs).to_contain_text("nightly differential")
    form = _cell_with(page, ".workbench-next-runs")
    form.get_by_label("Description").fill("browser test")
    form.get_by_label("Time").fill("03:15")
    form.get_by_text("Tue", exact=True).click()
    form.get_by_role("button", name="Add task").click()
    expect(form.locator(".workbench-ok")).to_contain_text("task 3 added: differential tue 03:15",
                                                          timeout=WAIT)
    expect(runs).to_contain_text("browser test")
    _shot(page, form, "lab-01-schedule.png")

    page.get_by_role("button", name="Start now").click()
    status = page.locator(".workbench-status")
    expect(status).to_contain_text("finished: copy C", timeout=WAIT)
    _shot(page, page.locator(".workbench-status"), "lab-01-start-now.png")
    _no_errors(page)


def test_restore_notebook(page, lab):
    _open_and_run(page, lab, "02-restore-walkthrough.ipynb")
    wizard = _cell_with(page, "text=The backups on the target")
    expect(wizard.locator("img").first).to_be_visible(timeout=WAIT)
    _wait_idle(page)
    wizard.get_by_role("button", name="Which backups?").click()
    expect(wizard.locator(".workbench-ok").first).to_contain_text("A recovery now uses",
                                                                  timeout=WAIT)
    wizard.get_by_label("Domain").select_option("example.com")
    wizard.get_by_label("User").select_option("rita.jelinek")
    wizard.get_by_role("button", name="Show plan (dry run)").click()
    plan = wizard.locator(".workbench-plan")
    expect(plan).to_be_visible(timeout=WAIT)
    expect(plan).to_contain_text("create")
    expect(wizard.locator("pre")).to_contain_text("selection: domain='example.com' "
                                                  "user='rita.jelinek'")
    _shot(page, plan, "lab-02-plan.png")
    wizard.get_by_role("button", name="Restore").click()
    expect(wizard.get_by_text("restored ", exact=False).first).to_be_visible(timeout=WAIT)
    wizard.get_by_role("button", name="Check result").click()
    check = wizard.locator(".workbench-ok", has_text="check:")
    expect(check).to_be_visible(timeout=WAIT)
    expect(check).to_contain_text("files match the backup")
    _shot(page, check, "lab-02-restored.png")
    _no_errors(page)


def test_storage_notebook(page, lab):
    _open_and_run(page, lab, "03-storage.ipynb")
    summary = page.locator(".workbench-summary")
    expect(summary).to_be_visible(timeout=WAIT)
    _wait_idle(page)
    dash = _cell_with(page, ".workbench-summary")
    expect(dash.locator("img").first).to_be_visible()
    expect(summary).to_contain_text("keep = 3")
    # the keep slider redraws: one step right with the keyboard
    dash.locator(".noUi-handle, .ui-slider-handle").first.focus()
    page.keyboard.press("ArrowRight")
    expect(summary).to_contain_text("keep = 4", timeout=WAIT)
    expect(dash.locator("img").first).to_be_visible()
    _shot(page, dash.locator("img").first, "lab-03-storage.png")
    _no_errors(page)


def test_fleet_notebook(page, lab):
    _open_and_run(page, lab, "04-fleet.ipynb")
    table = page.locator(".workbench-fleet")
    expect(table).to_be_visible(timeout=WAIT)
    _wait_idle(page)
    summary = page.locator(".workbench-summary")
    # mail2's newest backup is 80 hours old, mail3's share is gone: both red
    expect(summary).to_contain_text("2 without a good backup for 26 hours: mail2, mail3")
    expect(table.locator("tr.workbench-stale")).to_have_count(2)
    expect(table.locator("tr.workbench-problem")).to_contain_text("does not exist")
    dash = _cell_with(page, ".workbench-fleet")
    expect(dash.locator("img").first).to_be_visible()
    _shot(page, table, "lab-04-fleet.png")
    # the threshold slider recolours the table: at its end (two weeks) only mail3 is red
    dash.locator(".noUi-handle, .ui-slider-handle").first.focus()
    page.keyboard.press("End")
    expect(summary).to_contain_text("1 without a good backup for 336 hours: mail3",
                                    timeout=WAIT)
    expect(table.locator("tr.workbench-stale")).to_have_count(1)
    # the DuckDB cells: the export's tables, queried
    expect(page.get_by_text("32 sets written")).to_be_visible()
    frames = page.locator(".jp-OutputArea-output table.dataframe")
    expect(frames).to_have_count(2)
    expect(frames.nth(1)).to_contain_text("rita.jelinek")
    _shot(page, frames.nth(1), "lab-04-duckdb.png")
    _no_errors(page)
