"""verify: catalog, data and sample levels name exactly the damaged entries; restore takes the rest."""

import os

import pytest

import workbench
from workbench.archive import manifest as mf
from workbench.archive import zipformat as zf
from workbench.cli import main
from workbench.errors import RestoreIncomplete, WorkbenchError
from workbench.naming import manifest_name

from helpers import make_store, snapshot, store_snapshot


@pytest.fixture
def damaged(tmp_path):
    store = make_store(tmp_path / "server", messages=300, seed=5)
    target = tmp_path / "bk"
    r = workbench.backup("full", store=store, target=str(target), min_free=0,
                         volume_size="256KiB")
    assert len(r.volumes) >= 3
    assert workbench.verify(target=str(target)) == []
    doc = mf.decode((target / manifest_name(r.set_name)).read_bytes())
    entries = mf.from_columns(doc["entries"])
    lost = {e.path for e in entries if e.volume == 1}
    os.remove(target / r.volumes[1])
    victim = max((e for e in entries if e.volume == 0 and e.method == zf.DEFLATED),
                 key=lambda e: e.csize)
    with open(target / r.volumes[0], "r+b") as f:
        f.seek(victim.offset)
        header_len = zf.parse_local_header(f.read(zf.LOCAL_FMT.size))[0]
        f.seek(victim.offset + header_len + victim.csize // 2)
        byte = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([byte[0] ^ 0xFF]))
    return {"store": store, "target": str(target), "set": r.set_name, "volumes": r.volumes,
            "lost": lost, "victim": victim, "state": store_snapshot(store)}


def test_verify_names_exactly_the_affected_entries(damaged):
    target, name = damaged["target"], damaged["set"]
    catalog = workbench.verify(target=target, level="catalog")
    assert {p.path for p in catalog} == damaged["lost"]
    assert all(p.set == name and p.volume == damaged["volumes"][1] and p.problem == "volume missing"
               for p in catalog)
    data = workbench.verify(target=target, level="data")
    assert {p.path for p in data} == damaged["lost"] | {damaged["victim"].path}
    flipped = [p for p in data if p.path == damaged["victim"].path][0]
    assert flipped.volume == damaged["volumes"][0] and flipped.set == name
    v = damaged["victim"]
    assert flipped.user == (f"{v.user}@{v.domain}" if v.user else None)
    assert "damaged" in flipped.problem or "unreadable" in flipped.problem
    # A sample of 100 % is the data level; a set named by its first volume is the same set.
    assert workbench.verify(os.path.join(target, damaged["volumes"][0]), level="sample=100",
                            target=target) == data
    assert {p.path for p in workbench.verify(target=target, level="sample=50", seed=1)} <= \
        {p.path for p in data}


def test_verify_cli_exit_code_and_report(damaged, capsys):
    assert main(["verify", "--target", damaged["target"], "--level", "data"]) == 51
    out = capsys.readouterr()
    assert damaged["victim"].path in out.out and "problems" in out.err
    assert len(out.out.splitlines()) == len(damaged["lost"]) + 1
    assert main(["verify", "--target", damaged["target"], "--level", "sample=abc"]) == 2


def test_restore_restores_everything_else(damaged, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(RestoreIncomplete) as info:
        workbench.restore(str(out), target=damaged["target"])
    failed = {p for p, _ in info.value.failures}
    assert failed == damaged["lost"] | {damaged["victim"].path}
    expected = {p: v for p, v in damaged["state"].items() if p not in failed}
    assert snapshot(out) == expected  # no half-written file of the failed entries either


def test_bad_level_is_refused():
    with pytest.raises(WorkbenchError, match="sample=P"):
        workbench.verify(target="/nonexistent", level="sample=0")
