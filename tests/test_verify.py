"""verify: catalog, data and sample levels name exactly the damaged entries; restore takes the rest."""

import os

import pytest

import workbench
from workbench.archive import manifest as mf
from workbench.archive import zipformat as zf
from workbench.cli import main
from workbench.errors import RestoreIncomplete, WorkbenchError
from workbench.naming import manifest_name
from workbench.verify import Problem

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


def _missing_volume(damaged):
    """The set's own problem: damaged, naming the volume that is gone."""
    return Problem(damaged["set"], None, None, None, "damaged set: volume "
                                    f"{damaged['volumes'][1]} is missing")


def test_verify_names_exactly_the_affected_entries(damaged):
    target, name = damaged["target"], damaged["set"]
    catalog = workbench.verify(target=target, level="catalog")
    assert catalog[0] == _missing_volume(damaged)
    assert {p.path for p in catalog[1:]} == damaged["lost"]
    assert all(p.set == name and p.volume == damaged["volumes"][1] and p.problem == "volume missing"
               for p in catalog[1:])
    data = workbench.verify(target=target, level="data")
    assert _missing_volume(damaged) in data
    assert {p.path for p in data} == damaged["lost"] | {damaged["victim"].path, None}
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
    assert len(out.out.splitlines()) == len(damaged["lost"]) + 2  # the set's problem too
    assert main(["verify", "--target", damaged["target"], "--level", "sample=abc"]) == 2


def test_restore_restores_everything_else(damaged, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(RestoreIncomplete) as info:  # named: a damaged set is never chosen
        workbench.restore(str(out), damaged["set"], target=damaged["target"])
    failed = {p for p, _ in info.value.failures}
    assert failed == damaged["lost"] | {damaged["victim"].path}
    expected = {p: v for p, v in damaged["state"].items() if p not in failed}
    assert snapshot(out) == expected  # no half-written file of the failed entries either


def test_bad_level_is_refused():
    with pytest.raises(WorkbenchError, match="sample=P"):
        workbench.verify(target="/nonexistent", level="sample=0")


# --- what a restore refuses, verify reports: at every level, with exit 51 ---------------------------

import shutil
import subprocess
import zipfile

HOSTILE = "F20261101T010000Z"
GOOD = "store/mail/example.com/jane/INBOX/#msgs/00000001.eml"
BAD_NAMES = ["../../evil", "/abs/x", "store\\mail\\x.eml", "C:/windows/x", "store/mail/../../up"]


def _nul_member(zpath, name):
    """Rewrite the member named *name* (with an 'X' where the NUL goes) to carry a NUL byte
    there: zipfile cannot write such a name, a hostile tool can."""
    data = zpath.read_bytes()
    raw = name.encode()
    assert data.count(raw) == 2  # local header and central directory
    zpath.write_bytes(data.replace(raw, raw.replace(b"X", b"\0")))


@pytest.fixture
def hostile(tmp_path):
    """A set, as another tool would write it, whose members a restore must refuse."""
    bk = tmp_path / "bk"
    bk.mkdir()
    with zipfile.ZipFile(bk / f"{HOSTILE}.zip", "w") as z:
        z.writestr(GOOD, b"From: a\r\n\r\nhello\r\n")
        for name in BAD_NAMES:
            z.writestr(name, b"owned")
        z.writestr("store/nulXname.eml", b"owned")
        with pytest.warns(UserWarning, match="Duplicate name"):
            z.writestr(GOOD.replace("01.eml", "02.eml"), b"one")
            z.writestr(GOOD.replace("01.eml", "02.eml"), b"two")
    _nul_member(bk / f"{HOSTILE}.zip", "store/nulXname.eml")
    return bk


def test_verify_reports_every_member_restore_refuses(hostile, tmp_path, capsys):
    twice = GOOD.replace("01.eml", "02.eml")
    for level in ("catalog", "data", "sample=50"):
        problems = workbench.verify(target=str(hostile), level=level, seed=1)
        named = {p.path: p.problem for p in problems}
        assert set(named) == set(BAD_NAMES) | {"store/nul\0name.eml", twice}, level
        assert all(p.set == HOSTILE and p.volume == f"{HOSTILE}.zip" for p in problems)
        assert "absolute or non-portable" in named["/abs/x"]
        assert "'..'" in named["../../evil"] and "'..'" in named["store/mail/../../up"]
        assert "listed more than once" in named[twice]
        assert main(["verify", "--target", str(hostile), "--level", level]) == 51
        capsys.readouterr()
    # A restore refuses the same members, and writes nothing outside its destination.
    with pytest.raises(RestoreIncomplete) as info:
        workbench.restore(str(tmp_path / "out" / "in"), HOSTILE, target=str(hostile))
    assert {p for p, _ in info.value.failures} == set(BAD_NAMES) | {"store/nul\0name.eml", twice}
    assert snapshot(tmp_path / "out") == {
        "in/" + GOOD: snapshot(tmp_path / "out")["in/" + GOOD]}


@pytest.mark.skipif(shutil.which("zip") is None, reason="Info-ZIP zip is not installed")
def test_verify_reports_a_symbolic_link_made_by_info_zip(tmp_path):
    src = tmp_path / "server"
    (src / "store" / "mail").mkdir(parents=True)
    (src / "store" / "mail" / "real.eml").write_bytes(b"From: a\r\n\r\nx\r\n")
    os.symlink("/etc/passwd", src / "store" / "mail" / "link.eml")
    bk = tmp_path / "bk"
    bk.mkdir()
    subprocess.run(["zip", "-q", "--symlinks", "-r", str(bk / f"{HOSTILE}.zip"), "store"],
                   cwd=src, check=True)
    for level in ("catalog", "data"):
        [p] = workbench.verify(target=str(bk), level=level)
        assert (p.path, p.volume) == ("store/mail/link.eml", f"{HOSTILE}.zip")
        assert "symbolic link" in p.problem


def test_every_missing_volume_is_named_at_every_level(damaged):
    for level in ("catalog", "data", "sample=1"):
        problems = workbench.verify(target=damaged["target"], level=level, seed=2)
        assert _missing_volume(damaged) in problems, level
