"""Tests of workbench.samples: the synthetic store generator, the one-day mutator and the
committed sample under data/samples/kerio."""

import base64
import email
import hashlib
import os
import re
import shutil
import xml.etree.ElementTree as ET
from email import policy
from pathlib import Path

import pytest

from workbench import samples

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "samples" / "kerio"
FLD_FILES = {"index.fld", "status.fld", "properties.fld", "search.fld", "deleted.fld"}
USER_FOLDERS = {"INBOX", "INBOX/Projects", "INBOX/Projects/2026", "Sent Items", "Deleted Items",
                "Drafts", "Přijaté faktury"}
EML_NAME = re.compile(r"^[0-9a-f]{8}\.eml$")


def snapshot(root):
    """path relative to root -> (size, mtime_ns, sha256) of every file."""
    result = {}
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            path = Path(dirpath, name)
            st = path.stat()
            result[path.relative_to(root).as_posix()] = (
                st.st_size, st.st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest())
    return result


def messages(root):
    return sorted(p for p in Path(root).rglob("*.eml"))


@pytest.fixture(scope="module")
def small_store(tmp_path_factory):
    root = tmp_path_factory.mktemp("small") / "server"
    summary = samples.generate(root, 300, seed=5)
    return root, summary


@pytest.fixture(scope="module")
def store_2000(tmp_path_factory):
    root = tmp_path_factory.mktemp("big") / "server"
    summary = samples.generate(root, 2000, seed=11)
    return root, summary


# -- generate -----------------------------------------------------------------------------------


def test_generate_is_deterministic(small_store, tmp_path):
    root, summary = small_store
    again = tmp_path / "again"
    assert samples.generate(again, 300, seed=5) == summary
    assert snapshot(again) == snapshot(root)
    # Directories get deterministic mtimes too.
    assert again.stat().st_mtime_ns == root.stat().st_mtime_ns

    other = tmp_path / "other"
    samples.generate(other, 300, seed=6)
    first, second = snapshot(root), snapshot(other)
    assert first != second
    common = set(first) & set(second)
    assert any(first[p] != second[p] for p in common)


def test_generate_summary_and_layout(small_store):
    root, summary = small_store
    assert summary["messages"] == 300 == len(messages(root))
    assert summary["domains"] >= 2 and summary["users"] >= 6
    assert summary["files"] == len(snapshot(root))
    for name in ("mailserver.cfg", "users.cfg", "license/license.key", "sslcert/server.crt",
                 "sslcert/server.key"):
        assert (root / name).is_file(), name
    for path in messages(root):
        assert EML_NAME.match(path.name)
        assert path.parent.name == "#msgs"
        assert FLD_FILES <= {p.name for p in path.parent.parent.iterdir()}
    assert list((root / "store" / "archive").rglob("*.eml"))
    mtimes = [p.stat().st_mtime for p in messages(root)]
    assert samples.REFERENCE_TIME - 366 * 86400 < min(mtimes) <= max(mtimes) < samples.REFERENCE_TIME


def test_generate_refuses_non_empty_dir(tmp_path):
    (tmp_path / "x").write_text("keep me")
    with pytest.raises(FileExistsError):
        samples.generate(tmp_path, 10)


def test_messages_parse(small_store):
    root, _ = small_store
    encoded_subjects = with_cc = 0
    for path in messages(root):
        data = path.read_bytes()
        assert b"\n" not in data.replace(b"\r\n", b""), f"bare LF in {path}"
        msg = email.message_from_bytes(data, policy=policy.default)
        for header in ("Message-ID", "From", "To", "Date", "Subject", "MIME-Version"):
            assert msg[header] is not None, (path, header)
        assert msg["Date"].datetime is not None
        assert not [d for part in msg.walk() for d in part.defects], path
        encoded_subjects += b"Subject: =?utf-8?" in data
        with_cc += msg["Cc"] is not None
    assert encoded_subjects > 0 and with_cc > 0


def test_attachments_and_sizes(store_2000):
    root, summary = store_2000
    with_attachments, sizes, kinds = 0, [], set()
    for path in messages(root):
        data = path.read_bytes()
        sizes.append(len(data))
        if b"Content-Disposition: attachment" not in data:
            continue
        with_attachments += 1
        # The compat32 parser and decoding only each payload's start keep this fast.
        for part in email.message_from_bytes(data).walk():
            if part.get_content_disposition() == "attachment":
                kinds.add(part.get_content_type())
                assert base64.b64decode(part.get_payload()[:12])[:4] in (b"%PDF", b"\x89PNG")
    assert 0.11 <= with_attachments / len(sizes) <= 0.19
    assert with_attachments == summary["with_attachments"]
    assert kinds == {"application/pdf", "image/png"}
    ordinary = [s for s in sizes if s < 1_000_000]
    assert 6_000 <= sum(ordinary) / len(ordinary) <= 14_000


# -- mutate -------------------------------------------------------------------------------------


def test_mutate_reports_exactly_what_changed(store_2000, tmp_path):
    source, _ = store_2000
    root = tmp_path / "server"
    shutil.copytree(source, root)  # copy2 keeps mtimes
    before = snapshot(root)
    newest = max(mtime for _, mtime, _ in before.values())
    result = samples.mutate(root, seed=3)
    after = snapshot(root)

    assert result["added"] == sorted(set(after) - set(before))
    assert result["deleted"] == sorted(set(before) - set(after))
    assert result["rewritten"] == sorted(p for p in set(before) & set(after) if before[p] != after[p])

    n = sum(1 for p in before if p.endswith(".eml") and p.startswith("store/mail/"))
    rewritten_eml = [p for p in result["rewritten"] if p.endswith(".eml")]
    assert 0.005 * n <= len(rewritten_eml) <= 0.015 * n
    assert 0.005 * n <= len(result["added"]) <= 0.015 * n
    assert 0.002 * n <= len(result["deleted"]) <= 0.008 * n
    assert all(p.endswith(".eml") for p in result["added"] + result["deleted"])
    # Only messages and the index/status files of their folders change.
    folders = {p.rsplit("/#msgs/", 1)[0] for p in rewritten_eml + result["added"] + result["deleted"]}
    fld = {p for p in result["rewritten"] if not p.endswith(".eml")}
    assert fld == {f"{f}/{name}" for f in folders for name in ("index.fld", "status.fld")}
    for path in result["rewritten"] + result["added"]:
        assert after[path][1] == newest + 86400 * 10**9
    sizes_changed = sum(before[p][0] != after[p][0] for p in rewritten_eml)
    assert sizes_changed >= 0.7 * len(rewritten_eml)
    for path in result["added"]:
        assert EML_NAME.match(path.rsplit("/", 1)[1])
        msg = email.message_from_bytes((root / path).read_bytes(), policy=policy.default)
        assert msg["Message-ID"] and msg["From"] and msg["Date"]


def test_mutate_is_deterministic(small_store, tmp_path):
    source, _ = small_store
    results, snaps = [], []
    for name in ("a", "b"):
        root = tmp_path / name
        shutil.copytree(source, root)
        results.append(samples.mutate(root, seed=8))
        snaps.append(snapshot(root))
    assert results[0] == results[1]
    assert snaps[0] == snaps[1]
    # A second day with the same seed changes other things.
    assert samples.mutate(tmp_path / "a", seed=8) != results[0]


# -- the committed sample -----------------------------------------------------------------------


def test_committed_sample_layout():
    assert SAMPLE.is_dir(), "run: python -m workbench.samples build-sample data/samples/kerio"
    for name in ("mailserver.cfg", "users.cfg", "license/license.key", "sslcert/server.crt",
                 "sslcert/server.key"):
        assert (SAMPLE / name).is_file(), name
    mail = SAMPLE / "store" / "mail"
    domains = sorted(p.name for p in mail.iterdir())
    assert len(domains) >= 2 and {"example.com", "example.org"} <= set(domains)

    users = []
    for domain in domains:
        public = mail / domain / "#public"
        assert any(public.glob("*/#msgs/*.eml")), f"no public folder in {domain}"
        for user in (p for p in (mail / domain).iterdir() if p.name != "#public"):
            users.append(f"{user.name}@{domain}")
            folders = {p.parent.relative_to(user).as_posix() for p in user.rglob("index.fld")}
            assert USER_FOLDERS <= folders, (user, USER_FOLDERS - folders)
            assert any(not f.isascii() for f in folders)
    assert len(users) >= 6
    cfg_users = set()
    for item in ET.parse(SAMPLE / "users.cfg").iter("listitem"):
        values = {v.get("name"): v.text for v in item.iter("variable")}
        cfg_users.add(f"{values['Name']}@{values['Domain']}")
    assert cfg_users == set(users)
    domains_cfg = (SAMPLE / "mailserver.cfg").read_text("utf-8")
    assert all(f">{d}<" in domains_cfg for d in domains)


def test_committed_sample_contents():
    emls = messages(SAMPLE)
    assert 150 <= len(emls) <= 300
    total = sum(p.stat().st_size for p in SAMPLE.rglob("*") if p.is_file())
    assert total < 2_000_000
    kinds = set()
    for path in emls:
        msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        assert msg["Message-ID"] and msg["From"] and msg["Date"]
        kinds |= {part.get_content_type() for part in msg.iter_attachments()}
    assert {"application/pdf", "image/png"} <= kinds
    # Every folder directory holds its .fld files, and no directory is empty (git drops those).
    for msgs_dir in SAMPLE.rglob("#msgs"):
        assert FLD_FILES <= {p.name for p in msgs_dir.parent.iterdir()}
    for directory in [SAMPLE, *(p for p in SAMPLE.rglob("*") if p.is_dir())]:
        assert any(directory.iterdir()), directory
    # No path of the machine that built it.
    for path in SAMPLE.rglob("*"):
        if path.is_file() and path.suffix in (".cfg", ".key", ".crt", ".fld"):
            text = path.read_bytes()
            assert b"/tmp/" not in text and b"/work/" not in text and b"/home/" not in text


def test_committed_sample_is_reproducible(tmp_path):
    samples.build_sample(tmp_path / "kerio")
    rebuilt = {p: (s, h) for p, (s, _, h) in snapshot(tmp_path / "kerio").items()}
    committed = {p: (s, h) for p, (s, _, h) in snapshot(SAMPLE).items()}
    assert rebuilt == committed, "regenerate data/samples/kerio (see data/samples/README.md)"


# -- command line -------------------------------------------------------------------------------


def test_cli_prints_one_line(tmp_path, capsys):
    assert samples.main(["generate", str(tmp_path / "s"), "--messages", "40", "--seed", "2"]) == 0
    assert samples.main(["mutate", str(tmp_path / "s"), "--seed", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("generated ") and lines[1].startswith("mutated ")
