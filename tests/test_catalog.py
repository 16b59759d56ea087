"""The catalog's frames, checked against the sample store, real backups and Kerio-made zips."""

import base64
import gzip
import json
import os
import shutil
import subprocess
import zipfile
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import workbench
from workbench import catalog, samples
from workbench.archive import manifest as mf
from workbench.archive.index import lookup_message_id
from workbench.cli import main
from workbench.config import load_config
from workbench.errors import (ConfigError, DamagedSet, IncompleteSet, NoCompleteBackup,
                              SetNotFound)
from workbench.headers import parse_headers
from workbench.naming import index_name, manifest_name
from workbench.sets import list_sets, remove_set
from workbench.store import walk_store
from workbench.targets import LocalTarget

from helpers import copy_sample

T0 = datetime(2026, 11, 1, 1, 0, tzinfo=timezone.utc)
F_NAME, D_NAME = "F20261101T010000Z", "D20261102T010000Z"
UTC = "datetime64[ns, UTC]"


def run(kind, store, target, when, **settings):
    settings.setdefault("keep", 20)
    return workbench.backup(kind, store=store, target=str(target), min_free=0, now=when,
                            **settings)


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    """A full of the sample store, one day of mail (mutate), then a differential."""
    root = tmp_path_factory.mktemp("catalog")
    store = copy_sample(root / "server")
    target = root / "backup"
    before = {f.path: f for f in walk_store(store)}
    run("full", store, target, T0)
    changes = samples.mutate(store, seed=1)
    after = {f.path: f for f in walk_store(store)}
    run("differential", store, target, T0 + timedelta(days=1))
    return {"store": store, "target": str(target), "before": before, "after": after,
            "changes": changes}


def dtypes(df):
    return {c: str(t) for c, t in df.dtypes.items()}


# ---------------------------------------------------------------------------------------------
# Sets and volumes


def test_read_sets(history):
    df = catalog.read_sets(history["target"])
    assert list(df.columns) == list(catalog.SET_COLUMNS)
    assert dtypes(df) == {
        "set": "category", "kind": "category", "base": "category", "chain": "category",
        "started": UTC, "finished": UTC, "status": "category", "foreign": "bool",
        "files": "Int64", "stored_files": "Int64", "stored_size": "Int64", "volumes": "Int64",
        "volume_bytes": "Int64", "skipped": "Int64", "rotation": "category",
        "rotation_reason": "str", "problem": "str"}
    assert df["set"].tolist() == [F_NAME, D_NAME]
    assert df["kind"].tolist() == ["F", "D"]
    assert df["base"].isna().tolist() == [True, False] and df["base"][1] == F_NAME
    assert df["chain"].tolist() == [F_NAME, F_NAME]
    assert df["started"].tolist() == [pd.Timestamp(T0), pd.Timestamp(T0 + timedelta(days=1))]
    assert (df["finished"] > df["started"]).all()
    assert df["status"].tolist() == ["complete", "complete"]
    assert not df["foreign"].any()
    before, after, ch = history["before"], history["after"], history["changes"]
    assert df["files"].tolist() == [len(before), len(after)]
    stored_d = len(ch["rewritten"]) + len(ch["added"])
    assert df["stored_files"].tolist() == [len(before), stored_d]
    assert df["stored_size"][0] == sum(f.size for f in before.values())
    assert df["stored_size"][1] == sum(after[p].size for p in ch["rewritten"] + ch["added"])
    sizes = {n: os.path.getsize(os.path.join(history["target"], n + ".zip")) for n in df["set"]}
    assert df["volume_bytes"].tolist() == [sizes[F_NAME], sizes[D_NAME]]
    assert df["volumes"].tolist() == [1, 1] and df["skipped"].tolist() == [0, 0]
    assert df["rotation"].tolist() == ["keep", "keep"]
    assert df["problem"].tolist() == ["", ""]
    one = catalog.read_sets(history["target"], keep=1)
    assert one["rotation"].tolist() == ["keep", "keep"]  # the D belongs to the kept full


def test_read_volumes(history):
    df = catalog.read_volumes(history["target"])
    assert list(df.columns) == list(catalog.VOLUME_COLUMNS)
    assert dtypes(df) == {"set": "category", "volume": "Int64", "file": "str",
                          "volume_bytes": "Int64", "members": "Int64", "problem": "str"}
    assert df["file"].tolist() == [F_NAME + ".zip", D_NAME + ".zip"]
    for row in df.itertuples():
        path = os.path.join(history["target"], row.file)
        with zipfile.ZipFile(path) as z:
            assert row.members == len(z.infolist())
        assert row.volume_bytes == os.path.getsize(path)
    only_d = catalog.read_volumes(history["target"], sets=D_NAME)
    assert only_d["set"].tolist() == [D_NAME]
    with pytest.raises(SetNotFound):
        catalog.read_volumes(history["target"], sets="F20200101T000000Z")


# ---------------------------------------------------------------------------------------------
# Entries


ENTRY_DTYPES = {"set": "category", "path": "str", "file_kind": "category", "domain": "category",
                "user": "category", "folder": "category", "size": "Int64",
                "compressed_size": "Int64", "mtime": UTC, "crc32": "Int64",
                "stored_in": "category", "volume": "Int64", "change": "category",
                "skipped": "category"}


def test_read_entries_of_the_full(history):
    df = catalog.read_entries(history["target"], set=F_NAME)
    assert list(df.columns) == list(catalog.ENTRY_COLUMNS)
    assert dtypes(df) == ENTRY_DTYPES
    before = history["before"]
    assert sorted(df["path"]) == sorted(before)
    assert set(df["change"]) == {"added"} and set(df["stored_in"]) == {F_NAME}
    rows = df.set_index("path")
    for path, f in before.items():
        assert (rows.at[path, "file_kind"], rows.at[path, "size"]) == (f.kind, f.size)
        assert rows.at[path, "mtime"] == pd.Timestamp(f.mtime_ns, unit="ns", tz="UTC")
        assert (None if pd.isna(rows.at[path, "folder"]) else rows.at[path, "folder"]) == f.folder
    # Messages per mailbox folder and bytes per user, from the walk of the store itself.
    msgs = df[df["file_kind"] == "message"]
    got = Counter(zip(msgs["domain"], msgs["user"], msgs["folder"]))
    want = Counter((f.domain, f.user, f.folder) for f in before.values() if f.kind == "message")
    assert got == want and len(want) > 10
    per_user = df.groupby("user", observed=True)["size"].sum().to_dict()
    want_bytes = Counter()
    for f in before.values():
        if f.user:
            want_bytes[f.user] += f.size
    assert per_user == dict(want_bytes)
    # CRC-32 and compressed sizes match the zip's own directory.
    with zipfile.ZipFile(os.path.join(history["target"], F_NAME + ".zip")) as z:
        infos = {i.filename: i for i in z.infolist()}
    for row in df.head(50).itertuples():
        assert (row.crc32, row.compressed_size) == (infos[row.path].CRC,
                                                   infos[row.path].compress_size)


def test_read_entries_of_the_differential(history):
    df = catalog.read_entries(history["target"], set=D_NAME)
    assert dtypes(df) == ENTRY_DTYPES
    ch = history["changes"]
    by_change = {c: sorted(df.loc[df["change"] == c, "path"]) for c in catalog.CHANGES}
    assert by_change["added"] == sorted(ch["added"])
    assert by_change["changed"] == sorted(ch["rewritten"])
    assert by_change["deleted"] == sorted(ch["deleted"])
    assert len(by_change["unchanged"]) == len(history["after"]) - len(ch["added"]) - len(
        ch["rewritten"])
    stored = df.groupby("change", observed=True)["stored_in"].agg(lambda s: set(s)).to_dict()
    assert stored == {"added": {D_NAME}, "changed": {D_NAME}, "unchanged": {F_NAME},
                      "deleted": {F_NAME}}
    assert set(df["set"]) == {D_NAME}
    # The default is the set a recovery now uses: the differential.
    default = catalog.read_entries(history["target"])
    pd.testing.assert_frame_equal(default, df)


def test_readers_never_open_a_zip(history):
    class NoZips(LocalTarget):
        def open_read(self, name):
            if name.endswith(".zip"):
                raise AssertionError(f"{name} opened")
            return super().open_read(name)

    catalog.clear_cache()
    t = NoZips(history["target"])
    assert len(catalog.read_sets(t)) == 2
    assert len(catalog.read_volumes(t)) == 2
    assert len(catalog.read_entries(t, set=D_NAME)) > 400
    assert len(catalog.read_messages(t, set=F_NAME)) > 100
    assert len(catalog.recovery_plan(t).entries) > 400


def _legacy_manifest(doc, version):
    """*doc* (as mf.decode gives it) written the way workbench wrote manifests of *version*:
    1 has plain lists in one body line; 2 has one line per block, with integer and code arrays
    as base64 and text as a JSON string with base64 lengths."""
    def b64(data):
        return base64.b64encode(bytes(data)).decode("ascii")

    def v2(name, value):
        if isinstance(value, list):
            return value
        if "values" in value:
            return {"values": value["values"], "codes": b64(value["codes"])}
        if "lengths" in value:
            out = {"text": bytes(value["utf8"]).decode("utf-8"),
                   "lengths": {k: b64(v) for k, v in value["lengths"].items()}}
            if "valid" in value:
                out["valid"] = b64(value["valid"])
            return out
        (kind, data), = value.items()
        return {kind: b64(data)}

    header = {k: v for k, v in doc.items() if k not in ("entries", "messages")}
    header["version"] = version
    blocks = {b: {c: mf.decode_column(v) if version == 1 else v2(c, v)
                  for c, v in doc[b].items()}
              for b in ("entries", "messages") if b in doc}
    for columns in blocks.values():
        for c, values in columns.items():
            if not isinstance(values, (list, dict)):
                columns[c] = list(values)
    lines = [header] + ([blocks] if version == 1 else [{b: v} for b, v in blocks.items()])
    return gzip.compress(b"".join(json.dumps(line).encode() + b"\n" for line in lines))


@pytest.mark.parametrize("version", [1, 2])
def test_manifests_of_earlier_versions_read_the_same(history, tmp_path, version):
    catalog.clear_cache()
    want = {n: (catalog.read_entries(history["target"], set=n),
                catalog.read_messages(history["target"], set=n)) for n in (F_NAME, D_NAME)}
    target = tmp_path / "t"
    shutil.copytree(history["target"], target)
    for name in (F_NAME, D_NAME):
        path = target / manifest_name(name)
        path.write_bytes(_legacy_manifest(mf.decode(path.read_bytes()), version))
        assert mf.decode_header(open(path, "rb"))["version"] == version
    catalog.clear_cache()
    for name, (entries, messages) in want.items():
        pd.testing.assert_frame_equal(catalog.read_entries(str(target), set=name), entries)
        pd.testing.assert_frame_equal(catalog.read_messages(str(target), set=name), messages)
    # The engine reads them too: a restore of full + differential gives the store at D time.
    workbench.restore(target=str(target), to=str(tmp_path / "out"))
    restored = {f.path: f.size for f in walk_store(str(tmp_path / "out"))}
    assert restored == {p: f.size for p, f in history["after"].items()}


def test_cache_follows_a_changed_manifest(history, tmp_path):
    target = tmp_path / "t"
    shutil.copytree(history["target"], target)
    assert catalog.read_sets(str(target))["files"][0] == len(history["before"])
    # A manifest replaced behind the catalog's back (different size) is read again.
    path = target / manifest_name(F_NAME)
    doc = mf.decode(path.read_bytes())
    doc["stats"]["files"] = 7
    doc["note"] = "edited"
    path.write_bytes(mf.encode(doc))
    assert catalog.read_sets(str(target))["files"][0] == 7


def _drop_manifest_copy(volume):
    """Rewrite *volume* without its manifest copy, marker kept: what an interrupted run leaves."""
    tmp = volume.with_name(volume.name + ".tmp")
    with zipfile.ZipFile(volume) as zin, zipfile.ZipFile(tmp, "w") as zout:
        zout.comment = zin.comment
        for item in zin.infolist():
            if not item.filename.startswith(".workbench/"):
                zout.writestr(item, zin.read(item))
    tmp.replace(volume)


def _spoil_manifest_copy(volume):
    """Flip bytes inside the manifest copy's data (its CRC-32 no longer matches)."""
    with zipfile.ZipFile(volume) as z:
        info = z.infolist()[-1]
        assert info.filename.startswith(".workbench/")
    with open(volume, "r+b") as f:
        f.seek(info.header_offset + 26)
        nlen, xlen = int.from_bytes(f.read(2), "little"), int.from_bytes(f.read(2), "little")
        at = info.header_offset + 30 + nlen + xlen + info.compress_size // 2
        f.seek(at)
        byte = f.read(1)
        f.seek(at)
        f.write(bytes([byte[0] ^ 0xFF]))


def test_a_set_without_its_manifest_file_reads_from_its_copy(history, tmp_path):
    target = tmp_path / "t"
    shutil.copytree(history["target"], target)
    want = catalog.read_entries(history["target"], set=D_NAME)
    (target / manifest_name(D_NAME)).unlink()
    sets = catalog.read_sets(str(target))
    assert sets["status"].tolist() == ["complete", "damaged"]
    assert sets["rotation"].tolist() == ["keep", "keep"]
    assert "its manifest file is missing; restorable by name from the manifest copy in " \
           f"{D_NAME}.zip" in sets["problem"].tolist()[1]
    pd.testing.assert_frame_equal(catalog.read_entries(str(target), set=D_NAME), want)
    # A damaged set is never chosen on its own: the recovery now is the full.
    assert catalog.read_entries(str(target))["set"].unique().tolist() == [F_NAME]


def test_incomplete_set_raises(history, tmp_path):
    target = tmp_path / "t"
    shutil.copytree(history["target"], target)
    (target / manifest_name(D_NAME)).unlink()
    _drop_manifest_copy(target / f"{D_NAME}.zip")
    sets = catalog.read_sets(str(target))
    assert sets["status"].tolist() == ["complete", "incomplete"]
    assert sets["rotation"].tolist() == ["keep", "delete-next"]
    with pytest.raises(IncompleteSet):
        catalog.read_entries(str(target), set=D_NAME)
    assert catalog.read_entries(str(target))["set"].unique().tolist() == [F_NAME]


@pytest.mark.parametrize("cut", [0.3, 0.6, 0.95])
def test_damaged_manifest_file_is_read_from_the_copy(history, tmp_path, capsys, cut):
    # Truncated in its entries, in its messages or at its very end: every reader that needs the
    # lost part reads it from the copy in the last volume instead.
    target = tmp_path / "t"
    shutil.copytree(history["target"], target)
    want_entries = catalog.read_entries(history["target"], set=F_NAME)
    want_messages = catalog.read_messages(history["target"], set=F_NAME)
    path = target / manifest_name(F_NAME)
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * cut)])
    catalog.clear_cache()
    pd.testing.assert_frame_equal(catalog.read_entries(str(target), set=F_NAME), want_entries)
    pd.testing.assert_frame_equal(catalog.read_messages(str(target), set=F_NAME), want_messages)
    assert main(["ls", F_NAME, "--target", str(target)]) == 0
    assert len(capsys.readouterr().out.splitlines()) == len(history["before"])


def test_damaged_manifest_and_copy_are_a_damaged_set_error(history, tmp_path, capsys):
    target = tmp_path / "t"
    shutil.copytree(history["target"], target)
    path = target / manifest_name(F_NAME)
    path.write_bytes(path.read_bytes()[:20])
    _spoil_manifest_copy(target / f"{F_NAME}.zip")
    catalog.clear_cache()
    for read in (catalog.read_entries, catalog.read_messages):
        with pytest.raises(DamagedSet, match=f"set {F_NAME}: manifest unreadable"):
            read(str(target), set=F_NAME)
    assert main(["ls", F_NAME, "--target", str(target)]) == DamagedSet.exit_code
    assert f"set {F_NAME}: manifest unreadable" in capsys.readouterr().err
    # The differential needs the full's volumes, not its manifest: it still restores (its
    # entries frame, which tells changed from added files by the full's, cannot be made).
    r = workbench.restore(str(tmp_path / "out"), D_NAME, target=str(target))
    assert r.files == len(history["after"])


# ---------------------------------------------------------------------------------------------
# Messages


def test_read_messages(history):
    df = catalog.read_messages(history["target"], set=D_NAME)
    assert list(df.columns) == list(catalog.MESSAGE_COLUMNS)
    assert dtypes(df) == {
        "set": "category", "path": "str", "area": "category", "domain": "category",
        "user": "category", "folder": "category", "message_id": "str", "from": "str",
        "to": "str", "cc": "str", "subject": "str", "date": UTC, "date_raw": "str",
        "size": "Int64", "has_attachments": "boolean", "stored_in": "category"}
    after = history["after"]
    want = sorted(p for p, f in after.items() if f.kind in ("message", "public", "archive")
                  and p.endswith(".eml"))
    assert sorted(df["path"]) == want
    # Every row's headers are those of the file in the store now (inherited or stored by D).
    for row in df.to_dict("records"):
        h = parse_headers(Path(history["store"], row["path"]).read_bytes())
        for key in ("message_id", "from", "to", "cc", "subject", "date_raw"):
            assert (None if pd.isna(row[key]) else row[key]) == h[key], (row["path"], key)
        assert row["date"] == pd.Timestamp(h["date"], unit="s", tz="UTC")
        assert row["has_attachments"] == h["has_attachments"]
        assert row["size"] == after[row["path"]].size
    assert df["has_attachments"].sum() > 0
    assert set(df.loc[df["path"].isin(history["changes"]["added"]), "stored_in"]) == {D_NAME}
    full = catalog.read_messages(history["target"], set=F_NAME)
    assert set(history["changes"]["deleted"]) <= set(full["path"])
    assert not set(history["changes"]["deleted"]) & set(df["path"])


def test_read_messages_holds_whatever_date_a_manifest_has(history, tmp_path):
    # A full written by an older workbench: epoch seconds for years pandas cannot hold (3609,
    # 1601, just past 2262), a damaged value, and no date_raw column. The differential based
    # on it reads its unchanged messages' headers from it too.
    target = tmp_path / "bk"
    shutil.copytree(history["target"], target)
    path = target / manifest_name(F_NAME)
    doc = mf.decode(path.read_bytes())
    messages = doc["messages"]
    dates = list(mf.decode_column(messages["date"]))
    bad = list(mf.decode_column(messages["path"]))[:4]
    dates[:4] = [51737477630, -11644473600, "garbage", 9223372037]
    messages["date"] = dates
    del messages["date_raw"]
    path.write_bytes(mf.encode(doc))
    for name in (F_NAME, D_NAME):
        df = catalog.read_messages(str(target), set=name)
        assert dtypes(df)["date"] == UTC and dtypes(df)["date_raw"] == "str"
        by_path = df.set_index("path")
        kept = [p for p in bad if p in by_path.index and by_path.loc[p, "stored_in"] == F_NAME]
        assert by_path.loc[kept, "date"].isna().all() and len(kept) >= 3
        assert by_path.loc[kept, "date_raw"].isna().all()
        assert df["date"].notna().sum() == len(df) - len(kept)
    found = catalog.find_messages(str(target), since="2000-01-01")
    assert len(found) and found["date"].notna().all()


def test_lookup_message_id_in_the_index(history):
    df = catalog.read_messages(history["target"], set=D_NAME)
    row = df[df["stored_in"] == D_NAME].iloc[0]
    index = os.path.join(history["target"], index_name(D_NAME))
    assert lookup_message_id(index, row["message_id"]) == [row["path"]]
    assert lookup_message_id(index, row["message_id"].strip("<>")) == [row["path"]]
    assert lookup_message_id(index, "<nothing@example.invalid>") == []


# ---------------------------------------------------------------------------------------------
# Search and diff


def test_find_messages(history):
    t = history["target"]
    d = catalog.read_messages(t, set=D_NAME)
    added = d[d["path"] == history["changes"]["added"][0]].iloc[0]
    found = catalog.find_messages(t, message_id=added["message_id"])
    assert found[["set", "path", "stored_in"]].values.tolist() == [[D_NAME, added["path"], D_NAME]]
    f = catalog.read_messages(t, set=F_NAME)
    gone = f[f["path"] == history["changes"]["deleted"][0]].iloc[0]
    found = catalog.find_messages(t, message_id=gone["message_id"].strip("<>"))
    assert found["set"].tolist() == [F_NAME] and found["path"].tolist() == [gone["path"]]
    kept = f[f["path"].isin(d["path"])].iloc[0]
    found = catalog.find_messages(t, message_id=kept["message_id"])
    assert found["set"].tolist() == [F_NAME, D_NAME]
    assert found["stored_in"].nunique() >= 1
    # Sender and subject substrings, date range: the same rows as filtering by hand.
    sender = d["from"].dropna().iloc[0].split("<")[1].split("@")[0]
    found = catalog.find_messages(t, sender=sender.upper(), sets=D_NAME)
    assert sorted(found["path"]) == sorted(
        d.loc[d["from"].str.lower().str.contains(sender.lower(), regex=False), "path"])
    since, until = d["date"].quantile(0.25), d["date"].quantile(0.5)
    found = catalog.find_messages(t, since=since, until=until.isoformat(), subject="re:",
                                  sets=[D_NAME])
    want = d[(d["date"] >= since) & (d["date"] <= until)
             & d["subject"].str.lower().str.contains("re:", regex=False)]
    assert sorted(found["path"]) == sorted(want["path"]) and len(want) > 0
    assert list(found.columns) == list(catalog.MESSAGE_COLUMNS)
    with pytest.raises(TypeError, match="unknown criterion sendr='x'"):
        catalog.find_messages(t, sendr="x")


def test_diff_sets(history):
    df = catalog.diff_sets(history["target"], F_NAME, D_NAME)
    ch = history["changes"]
    assert list(df.columns) == ["path", "change", "file_kind", "domain", "user", "folder",
                                "size_a", "size_b", "mtime_a", "mtime_b"]
    assert dtypes(df)["change"] == "category" and dtypes(df)["mtime_b"] == UTC
    got = {c: sorted(df.loc[df["change"] == c, "path"]) for c in ("added", "changed", "deleted")}
    assert got == {"added": sorted(ch["added"]), "changed": sorted(ch["rewritten"]),
                   "deleted": sorted(ch["deleted"])}
    assert df.loc[df["change"] == "added", "size_a"].isna().all()
    assert df.loc[df["change"] == "deleted", "size_b"].isna().all()
    back = catalog.diff_sets(history["target"], D_NAME, F_NAME)
    assert sorted(back.loc[back["change"] == "added", "path"]) == sorted(ch["deleted"])
    assert catalog.diff_sets(history["target"], F_NAME, F_NAME).empty


# ---------------------------------------------------------------------------------------------
# Recovery plans


def test_recovery_plan_before_between_after(history):
    t = history["target"]
    with pytest.raises(NoCompleteBackup):
        catalog.recovery_plan(t, at=T0 - timedelta(seconds=1))
    p = catalog.recovery_plan(t, at="2026-11-01T12:00Z")
    assert (p.set, p.full, p.chain) == (F_NAME, F_NAME, [F_NAME])
    assert p.sets["set"].tolist() == [F_NAME] and p.sets["files"].tolist() == [len(history["before"])]
    p = catalog.recovery_plan(t)
    assert (p.set, p.full, p.chain) == (D_NAME, F_NAME, [F_NAME, D_NAME])
    assert list(p.sets.columns) == ["set", "kind", "role", "started", "files", "size",
                                    "compressed_size"]
    assert p.sets["role"].tolist() == ["full", "differential"]
    ch = history["changes"]
    d_files = len(ch["added"]) + len(ch["rewritten"])
    assert p.sets["files"].tolist() == [len(history["after"]) - d_files, d_files]
    assert p.sets["size"].sum() == sum(f.size for f in history["after"].values())
    assert sorted(p.entries["path"]) == sorted(history["after"]) and p.files == len(history["after"])
    # Scoped: one user's mail, one folder and its subfolders.
    user = next(f for f in history["after"].values() if f.kind == "message")
    p = catalog.recovery_plan(t, domain=user.domain.upper(), user=user.user)
    want = [q for q, f in history["after"].items() if q.startswith("store/mail/")
            and f.domain == user.domain and f.user == user.user]
    assert sorted(p.entries["path"]) == sorted(want)
    top = user.folder.split("/")[0]
    p = catalog.recovery_plan(t, domain=user.domain, user=user.user, folder=top + "/")
    assert sorted(p.entries["path"]) == sorted(
        q for q in want if history["after"][q].folder
        and (history["after"][q].folder + "/").startswith(top + "/"))
    assert p.sets["files"].sum() == len(p.entries)


def test_recovery_plan_never_uses_incomplete_sets_or_orphan_differentials(tmp_path):
    store = copy_sample(tmp_path / "server")
    target = tmp_path / "backup"
    day = timedelta(days=1)
    names = []
    for kind, when in (("full", T0), ("differential", T0 + day), ("full", T0 + 4 * day),
                       ("differential", T0 + 5 * day), ("full", T0 + 7 * day)):
        samples.mutate(store, seed=len(names))
        names.append(run(kind, store, target, when, differentials="all").set_name)
    f1, d1, f2, d2, f3 = names
    lt = LocalTarget(str(target))
    sets = list_sets(lt)
    remove_set(lt, next(s for s in sets if str(s.name) == f1))   # d1 loses its full
    (target / manifest_name(f3)).unlink()                         # f3 is damaged
    status = catalog.read_sets(str(target)).set_index("set")["status"].to_dict()
    assert status == {d1: "complete", f2: "complete", d2: "complete", f3: "damaged"}
    for at, expected in ((T0, None), (T0 + 2 * day, None), (T0 + 4 * day, f2),
                         (T0 + 5 * day + timedelta(hours=1), d2), (T0 + 30 * day, d2)):
        if expected is None:
            with pytest.raises(NoCompleteBackup):
                catalog.recovery_plan(str(target), at=at)
        else:
            assert catalog.recovery_plan(str(target), at=at).set == expected
    assert catalog.recovery_plan(str(target)).chain == [f2, d2]
    rot = catalog.read_sets(str(target)).set_index("set")["rotation"].to_dict()
    assert rot[d1] == "delete-next" and rot[f3] == "keep"  # a damaged set is never deleted


# ---------------------------------------------------------------------------------------------
# Storage use and forecast


@pytest.fixture(scope="module")
def growing(tmp_path_factory):
    """Three weekly fulls, each with a differential, of a store that grows every day."""
    root = tmp_path_factory.mktemp("growth")
    store = copy_sample(root / "server")
    # mutate's choices follow the store's newest mtime, and a checkout's files have the time of
    # the checkout: fixed mtimes make the store grow the same way in every clone (one clone's
    # weeks deleted more mail than they added, and its fulls shrank).
    fixed = (T0 - timedelta(days=30)).timestamp()
    for dirpath, _, files in os.walk(store):
        for name in files:
            os.utime(os.path.join(dirpath, name), (fixed, fixed))
    target = root / "backup"
    for week in range(3):
        samples.mutate(store, seed=10 * week)
        run("full", store, target, T0 + timedelta(days=7 * week))
        samples.mutate(store, seed=10 * week + 1)
        run("differential", store, target, T0 + timedelta(days=7 * week + 1))
    return str(target)


def set_sizes(target):
    sizes = Counter()
    for name in os.listdir(target):
        sizes[name[:17]] += os.path.getsize(os.path.join(target, name))
    return dict(sorted(sizes.items(), key=lambda kv: (kv[0][1:], kv[0])))  # by time


def test_storage_usage(growing):
    sizes = set_sizes(growing)
    df = catalog.storage_usage(growing, keep=2, capacity=10_000_000)
    assert list(df.columns) == ["set", "kind", "chain", "started", "status", "set_bytes",
                                "cumulative_bytes", "rotation", "kept_cumulative_bytes",
                                "capacity_bytes", "free_bytes"]
    assert dtypes(df)["set_bytes"] == "Int64" and dtypes(df)["started"] == UTC
    assert dict(zip(df["set"], df["set_bytes"])) == sizes
    assert df["cumulative_bytes"].tolist() == list(np.cumsum(list(sizes.values())))
    assert df["rotation"].tolist() == ["delete-next"] * 2 + ["keep"] * 4
    kept = [b if r == "keep" else 0 for b, r in zip(df["set_bytes"], df["rotation"])]
    assert df["kept_cumulative_bytes"].tolist() == list(np.cumsum(kept))
    assert (df["capacity_bytes"] == 10_000_000).all()
    assert (df["free_bytes"] == 10_000_000 - sum(sizes.values())).all()
    real = catalog.storage_usage(growing)
    total, free = LocalTarget(growing).disk_usage()
    assert real["capacity_bytes"][0] == total and abs(int(real["free_bytes"][0]) - free) < 1 << 30


def test_forecast_storage(growing):
    sizes = set_sizes(growing)
    now = T0 + timedelta(days=16)
    fulls = [(n, b) for n, b in sizes.items() if n.startswith("F")]
    days = np.array([(datetime.strptime(n[1:], "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
                      - now).total_seconds() / 86400 for n, _ in fulls])
    slope, intercept = np.polyfit(days, [b for _, b in fulls], 1)
    assert slope > 0  # mutate adds mail every day
    capacity, min_free, keep = 6_000_000, 500_000, 3
    f = catalog.forecast_storage(growing, keep=keep, capacity=capacity, min_free=min_free, now=now)
    assert f.growth_per_day == pytest.approx(slope)
    d_mean = np.mean([b for n, b in sizes.items() if n.startswith("D")])
    assert f.chain_bytes == round(intercept + d_mean)
    assert f.history["full_bytes"].tolist() == [b for _, b in fulls]
    assert f.history["chain"].tolist() == [n for n, _ in fulls]
    assert (f.capacity, f.free, f.other_bytes) == (capacity, capacity - sum(sizes.values()), 0)
    assert f.projected_bytes == round(keep * (intercept + d_mean))
    room = capacity - min_free
    assert f.largest_keep == room // f.chain_bytes
    assert f.largest_keep * f.chain_bytes <= room < (f.largest_keep + 1) * f.chain_bytes
    # At full_date, keep chains of the grown size leave exactly min_free.
    days_left = (f.full_date - pd.Timestamp(now)).total_seconds() / 86400
    assert days_left > 0
    assert keep * (intercept + d_mean + slope * days_left) == pytest.approx(room, rel=1e-6)
    # Already too small: full now; "4GiB"-style sizes are accepted.
    small = catalog.forecast_storage(growing, keep=keep, capacity=1_000_000, min_free="100KB",
                                     now=now)
    assert small.full_date == pd.Timestamp(now) and small.min_free == 100_000


def test_forecast_without_growth(tmp_path):
    store = copy_sample(tmp_path / "server")
    target = tmp_path / "backup"
    for week in range(3):
        run("full", store, target, T0 + timedelta(days=7 * week))
    a, b, c = set_sizes(str(target)).values()
    assert max(a, b, c) - min(a, b, c) < 16  # the same store: only the manifests' times differ
    f = catalog.forecast_storage(str(target), keep=2, capacity=10**9, min_free=0,
                                 now=T0 + timedelta(days=15))
    assert f.reason is None and f.confident
    days = np.array([-15, -8, -1])
    slope, intercept = np.polyfit(days, [a, b, c], 1)
    assert f.growth_per_day == pytest.approx(slope, abs=1e-6)  # a fit through equal sizes
    assert abs(f.growth_per_day) < 1
    assert f.full_date is None  # not within a century
    assert f.chain_bytes == round(intercept)
    assert f.largest_keep == 10**9 // f.chain_bytes
    with pytest.raises(ValueError, match="keep: 0"):
        catalog.forecast_storage(str(target), keep=0)


@pytest.mark.parametrize("spacing, fulls, said", [
    (timedelta(days=7), 2, "2 complete full backups over 7 days"),
    (timedelta(minutes=6), 3, "3 complete full backups over 12 minutes"),
    (timedelta(days=3), 2, "2 complete full backups over 3 days"),
])
def test_forecast_says_when_history_is_too_short(tmp_path, spacing, fulls, said):
    # Fulls minutes apart of a growing store once gave "98 MiB a day" and "largest keep that
    # fits: 2408"; two fulls always make a line. With too little history there is no forecast.
    store = copy_sample(tmp_path / "server")
    target = tmp_path / "backup"
    for i in range(fulls):
        samples.mutate(store, seed=i)
        run("full", store, target, T0 + i * spacing)
    newest = list(set_sizes(str(target)).values())[-1]
    f = catalog.forecast_storage(str(target), keep=2, capacity=10**9, min_free=0,
                                 now=T0 + fulls * spacing)
    assert not f.confident
    assert f.reason == (f"too little history: {said}; a growth is fitted to at least 3 fulls "
                        "spanning at least 7 days")
    assert (f.growth_per_day, f.full_date, f.largest_keep) == (None, None, None)
    assert f.history["fitted_bytes"].isna().all() and len(f.history) == fulls
    # What is measured is still said: today's backup and keep of them.
    assert f.chain_bytes == newest and f.projected_bytes == 2 * newest


def test_forecast_of_an_empty_target_says_so(tmp_path):
    (tmp_path / "backup").mkdir()
    f = catalog.forecast_storage(str(tmp_path / "backup"), keep=2, capacity=10**9, min_free=0)
    assert f.reason.startswith("too little history: 0 complete full backups;")
    assert (f.chain_bytes, f.projected_bytes, f.largest_keep) == (0, 0, None)


# ---------------------------------------------------------------------------------------------
# The config, read as the command line reads it


def write_config(path, **keys):
    path.write_text("".join(f"{k} = {json.dumps(v)}\n" for k, v in keys.items()))
    return str(path)


def test_rotation_columns_follow_the_configs_keep(growing, tmp_path, monkeypatch, capsys):
    # The admin keeps one complete backup: read_sets said "keep" for all under the default 7.
    monkeypatch.delenv("WORKBENCH_CONFIG", raising=False)
    assert catalog.read_sets(growing)["rotation"].tolist() == ["keep"] * 6
    one = ["delete-next"] * 4 + ["keep"] * 2
    path = write_config(tmp_path / "wb.toml", target=growing, keep=1)
    assert catalog.read_sets(growing, config=path)["rotation"].tolist() == one
    assert catalog.read_sets(config=path)["rotation"].tolist() == one  # its target too
    assert catalog.read_sets(growing, config=load_config(path))["rotation"].tolist() == one
    assert catalog.storage_usage(config=path, capacity=10**9)["rotation"].tolist() == one
    monkeypatch.setenv("WORKBENCH_CONFIG", path)
    assert catalog.read_sets(growing)["rotation"].tolist() == one
    assert catalog.storage_usage(growing, capacity=10**9)["rotation"].tolist() == one
    assert catalog.forecast_storage(growing, capacity=10**9).keep == 1
    # an argument wins over the config
    assert catalog.read_sets(growing, keep=2)["rotation"].tolist() == ["delete-next"] * 2 + \
        ["keep"] * 4
    # the command line: the same frame
    capsys.readouterr()
    assert main(["catalog", "sets", "--format", "csv"]) == 0
    csv = pd.read_csv(__import__("io").StringIO(capsys.readouterr().out))
    assert csv["rotation"].tolist() == one


def test_forecast_takes_min_free_and_keep_from_the_config(growing, tmp_path):
    path = write_config(tmp_path / "wb.toml", keep=2, min_free="1MB")
    f = catalog.forecast_storage(growing, capacity=10**8, config=path)
    assert (f.keep, f.min_free) == (2, 1_000_000)
    g = catalog.forecast_storage(growing, capacity=10**8, config=path, keep=3, min_free=0)
    assert (g.keep, g.min_free) == (3, 0)


def test_times_without_a_zone_are_in_the_configs_timezone(history, tmp_path):
    t = history["target"]
    tokyo = write_config(tmp_path / "tokyo.toml", timezone="Asia/Tokyo")
    utc = write_config(tmp_path / "utc.toml", timezone="UTC")
    # 09:30 in Tokyo is 00:30 UTC, half an hour before the differential of 11-02 01:00 UTC
    assert catalog.recovery_plan(t, at="2026-11-02 09:30", config=utc).set == D_NAME
    p = catalog.recovery_plan(t, at="2026-11-02 09:30", config=tokyo)
    assert p.set == F_NAME and p.at == pd.Timestamp("2026-11-02T00:30Z")
    assert catalog.recovery_plan(t, at="2026-11-02 09:30Z", config=tokyo).set == D_NAME
    # find_messages' since and until
    d = catalog.read_messages(t, set=D_NAME)
    when = d["date"].dropna().sort_values().iloc[len(d) // 2]
    naive = when.tz_convert("UTC").strftime("%Y-%m-%d %H:%M:%S")
    in_utc = catalog.find_messages(t, sets=D_NAME, until=naive, config=utc)
    in_tokyo = catalog.find_messages(t, sets=D_NAME, until=naive, config=tokyo)
    assert sorted(in_utc["path"]) == sorted(d.loc[d["date"] <= when, "path"])
    assert sorted(in_tokyo["path"]) == sorted(
        d.loc[d["date"] <= when - pd.Timedelta(hours=9), "path"])
    assert len(in_tokyo) < len(in_utc)
    since = catalog.find_messages(t, sets=D_NAME, since=naive, config=tokyo)
    assert len(since) == (d["date"] >= when - pd.Timedelta(hours=9)).sum()
    # forecast_storage's now
    f = catalog.forecast_storage(t, capacity=10**9, min_free=0, now="2026-11-03 09:00",
                                 config=tokyo)
    assert f.reason is not None  # one full: no forecast, but the time was read


def test_a_bad_config_is_said_with_its_key(history, tmp_path):
    path = write_config(tmp_path / "bad.toml", keep="many")
    with pytest.raises(ConfigError, match="'keep'"):
        catalog.read_sets(history["target"], config=path)
    with pytest.raises(ConfigError, match="no target given"):
        catalog.read_sets(config=write_config(tmp_path / "empty.toml"))


# ---------------------------------------------------------------------------------------------
# Sets made by Kerio Connect (no manifest, no marker)


@pytest.fixture(scope="module")
def kerio(tmp_path_factory):
    root = tmp_path_factory.mktemp("kerio")
    store = copy_sample(root / "server")
    target = root / "backup"
    target.mkdir()
    top = sorted(os.listdir(store))
    subprocess.run(["zip", "-r", "-q", str(target / (F_NAME + ".zip")), *top], cwd=store,
                   check=True)
    before = {f.path for f in walk_store(store)}
    changes = samples.mutate(store, seed=5)
    subprocess.run(["zip", "-q", str(target / (D_NAME + ".zip")),
                    *(changes["rewritten"] + changes["added"])], cwd=store, check=True)
    return {"target": str(target), "store": store, "before": before, "changes": changes}


def test_kerio_sets_volumes_entries(kerio):
    t = kerio["target"]
    sets = catalog.read_sets(t)
    assert sets["set"].tolist() == [F_NAME, D_NAME]
    assert sets["foreign"].tolist() == [True, True]
    assert sets["status"].tolist() == ["complete", "complete"]
    assert sets["base"].tolist()[1] == F_NAME and sets["chain"].tolist() == [F_NAME, F_NAME]
    assert sets["files"].isna().all() and sets["finished"].isna().all()
    assert sets["volume_bytes"][0] == os.path.getsize(os.path.join(t, F_NAME + ".zip"))
    vols = catalog.read_volumes(t)
    for row in vols.itertuples():
        with zipfile.ZipFile(os.path.join(t, row.file)) as z:
            assert row.members == len(z.infolist())  # directories included, as zip counts them
    full = catalog.read_entries(t, set=F_NAME)
    assert dtypes(full) == ENTRY_DTYPES
    assert sorted(full["path"]) == sorted(kerio["before"])
    assert set(full["change"]) == {"added"}
    msgs = full[full["file_kind"] == "message"]
    assert msgs["user"].notna().all() and msgs["folder"].notna().all()
    diff = catalog.read_entries(t, set=D_NAME)
    ch = kerio["changes"]
    # mutate may delete a message and add a new one under the same free name: a Kerio set
    # records no deletions, so against the full that path reads as changed, not added.
    reused = set(ch["added"]) & set(kerio["before"])
    assert sorted(diff.loc[diff["change"] == "added", "path"]) == sorted(set(ch["added"]) - reused)
    assert sorted(diff.loc[diff["change"] == "changed", "path"]) == sorted(set(ch["rewritten"])
                                                                           | reused)
    # Kerio records no deletions: deleted files still look unchanged from the full.
    assert (diff["change"] == "unchanged").sum() == (len(kerio["before"]) - len(ch["rewritten"])
                                                     - len(reused))
    assert catalog.recovery_plan(t).set == D_NAME
    assert catalog.read_messages(t, set=F_NAME)["message_id"].isna().all()


# ---------------------------------------------------------------------------------------------
# Several targets, command line


def test_many_targets(history, kerio):
    df = catalog.read_sets([history["target"], kerio["target"]])
    assert list(df.columns) == ["target"] + list(catalog.SET_COLUMNS)
    assert str(df["target"].dtype) == "category"
    assert df["target"].tolist() == [history["target"]] * 2 + [kerio["target"]] * 2
    assert dtypes(df)["kind"] == "category" and dtypes(df)["files"] == "Int64"
    e = catalog.read_entries([history["target"], kerio["target"]], set=F_NAME)
    assert len(e) == len(history["before"]) + len(kerio["before"])
    assert dtypes(e)["folder"] == "category"


def test_cli(history, tmp_path, capsys):
    t = history["target"]
    assert main(["catalog", "sets", "--target", t, "--format", "csv"]) == 0
    csv = pd.read_csv(__import__("io").StringIO(capsys.readouterr().out))
    assert csv["set"].tolist() == [F_NAME, D_NAME] and csv["files"][0] == len(history["before"])
    assert main(["catalog", "volumes", "--target", t, "--format", "json"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(x)["file"] for x in lines] == [F_NAME + ".zip", D_NAME + ".zip"]
    assert main(["catalog", "messages", "--target", t, "--set", F_NAME]) == 0
    assert "message_id" in capsys.readouterr().out
    out = tmp_path / "e.parquet"
    assert main(["catalog", "entries", "--target", t, "--format", "parquet",
                 "--out", str(out)]) == 0
    back = pd.read_parquet(out)
    assert len(back) == len(catalog.read_entries(t)) and str(back["mtime"].dtype) == UTC
    assert main(["catalog", "entries", "--target", t, "--format", "parquet"]) == 10
    assert "--out" in capsys.readouterr().err
