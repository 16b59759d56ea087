"""The fleet notebook's form driven without a kernel: the demo fleet, the age of each server's
last good backup against the threshold, storage and growth as the catalog computes them, and
the parameters that pick a real fleet instead."""

import shutil
from datetime import timedelta

import pytest

from workbench import catalog
from workbench.widgets import (FleetDashboard, FleetWorkspace, demo_fleet, fleet_workspace,
                               show)
from workbench.widgets.fleet import PROBLEM_CLASS, STALE_CLASS
from workbench.widgets.workspace import FLEET_NOW


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return demo_fleet(tmp_path_factory.mktemp("fleet-demo") / "ws")


def test_the_demo_fleet(demo):
    assert demo.demo and demo.now == FLEET_NOW
    assert demo.fleet.names == ["mail1", "mail2", "mail3"]
    sets = catalog.read_sets(demo.fleet["mail1"].target)
    assert sets["started"].max() == FLEET_NOW - timedelta(hours=8)
    assert (sets["status"] == "complete").all()
    newest = catalog.read_sets(demo.fleet["mail2"].target)["started"].max()
    assert newest == FLEET_NOW - timedelta(hours=80)
    with pytest.raises(FileExistsError):
        demo_fleet(demo.root)


def test_dashboard_ages_storage_and_growth(demo):
    d = FleetDashboard(demo.fleet, max_age_hours=26, now=demo.now)
    rows = {r["target"]: r for r in d.servers}
    assert [r["target"] for r in d.servers] == ["mail1", "mail2", "mail3"]
    assert (rows["mail1"]["age_hours"], rows["mail2"]["age_hours"]) == (8.0, 80.0)
    assert rows["mail3"]["age_hours"] is None and rows["mail3"]["sets"] == 0
    assert rows["mail3"]["problem"].startswith("TargetError: backup directory ")
    assert d.stale() == ["mail2", "mail3"]
    assert d.summary_line() == ("3 servers; 2 without a good backup for 26 hours: mail2, mail3; "
                                "could not be read: mail3.")
    with pytest.warns(catalog.TargetSkipped, match="mail3 left out"):
        forecast = catalog.forecast_storage(demo.fleet, now=demo.now).summary.set_index("target")
    with pytest.warns(catalog.TargetSkipped, match="mail3 left out"):
        usage = catalog.storage_usage(demo.fleet)
    for name in ("mail1", "mail2"):
        f = forecast.loc[name]
        assert rows[name]["limit_bytes"] == f["projected_bytes"]
        assert rows[name]["room_bytes"] == (f["capacity_bytes"] - f["other_bytes"]
                                            - f["min_free_bytes"])
        assert rows[name]["growth_per_day"] == pytest.approx(f["growth_per_day"])
        assert rows[name]["used_bytes"] == usage.loc[usage["target"] == name, "set_bytes"].sum()
    assert rows["mail1"]["room_bytes"] == 12 * 1024**2 - 1024**2  # capacity less min_free
    page = show.outputs_text(d.table)
    assert page.count(f'class="{STALE_CLASS}"') == 1  # mail2; mail3 is also a problem
    assert page.count(f'class="{STALE_CLASS} {PROBLEM_CLASS}"') == 1
    assert "<td style=\"text-align:left\">3.3 days</td>" in page  # mail2's 80 hours
    # the slider: 100 hours leaves only the unreadable server red
    d.max_age.value = 100
    assert d.stale() == ["mail3"]
    assert "1 without a good backup for 100 hours: mail3" in show.outputs_text(d.summary)
    assert show.outputs_text(d.table).count(STALE_CLASS) == 1
    assert any("image/png" in o.get("data", {}) for o in d.chart.outputs)


def test_every_server_fine_says_so(demo, tmp_path):
    fleet = {"mail1": demo.fleet["mail1"].target}
    d = FleetDashboard(fleet, max_age_hours=26, now=demo.now)
    assert d.stale() == []
    assert d.summary_line() == "1 server; every one has a good backup of the last 26 hours."


def test_fleet_workspace_of_parameters(demo, tmp_path, monkeypatch):
    monkeypatch.delenv("WORKBENCH_CONFIG", raising=False)
    fleet_file = tmp_path / "fleet.toml"
    shutil.copy(demo.source, fleet_file)
    (tmp_path / "mail1").symlink_to(f"{demo.root}/mail1")
    ws = fleet_workspace(fleet=fleet_file, out=tmp_path / "catalog")
    assert isinstance(ws, FleetWorkspace) and not ws.demo and ws.now is None
    assert ws.fleet["mail1"].target == str(tmp_path / "mail1" / "backups")
    assert ws.export_dir == str(tmp_path / "catalog")
    assert ws.describe() == f"fleet file {fleet_file}; the catalog is exported to {ws.export_dir}"
    ws = fleet_workspace(target=demo.fleet["mail1"].target)
    assert ws.fleet == [demo.fleet["mail1"].target] and ws.export_dir
    config = tmp_path / "wb.toml"
    config.write_text(f'target = "{demo.fleet["mail2"].target}"\n')
    monkeypatch.setenv("WORKBENCH_CONFIG", str(config))
    assert fleet_workspace().fleet == [demo.fleet["mail2"].target]  # not a demo
