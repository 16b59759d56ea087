"""Tests of workbench.samples: the synthetic store generator, the one-day mutator and the
committed sample under data/samples/kerio."""

import base64
import binascii
import email
import hashlib
import os
import random
import re
import shutil
import statistics
import struct
import xml.etree.ElementTree as ET
import zlib
from email import policy
from pathlib import Path

import pytest

import workbench
from workbench import samples
from workbench.headers import parse_headers
from workbench.samples import mutation

from helpers import snapshot as store_files, store_snapshot

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


# Huge attachments of the small-messages stores below: big enough to be unlike any other message,
# small enough to keep the tests quick.
LARGE = (300_000, 600_000)
NEW_PROFILES = ("long-headers", "small-messages")


@pytest.fixture(scope="module")
def profile_stores(tmp_path_factory):
    """One store of 300 messages per new profile, same seed (so the same users and folders)."""
    stores = {}
    for profile in NEW_PROFILES:
        root = tmp_path_factory.mktemp(profile) / "server"
        samples.generate(root, 300, seed=4, profile=profile, large_size=LARGE)
        stores[profile] = root
    return stores


def header_block(data):
    return data[:data.find(b"\r\n\r\n")]


def delivered(path):
    """Whether a message lies in a folder of delivered mail (not Sent Items or Drafts)."""
    return not {"Sent Items", "Drafts"} & set(Path(path).parts)


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


# -- profiles -----------------------------------------------------------------------------------


def tree_digest(root, dirs=True):
    """One SHA-256 over every file's path, size, mtime and content (and each directory's mtime)."""
    digest = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        rel = os.path.relpath(dirpath, root)
        if dirs:
            digest.update(f"D {rel} {os.stat(dirpath).st_mtime_ns}\n".encode())
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            st = os.stat(path)
            content = hashlib.sha256(Path(path).read_bytes()).hexdigest()
            digest.update(f"F {rel}/{name} {st.st_size} {st.st_mtime_ns} {content}\n".encode())
    return digest.hexdigest()


# What the generator made before it had profiles: 300 messages with seed 5, then that store after
# mutate(seed=3) (files only: mutate leaves directory mtimes to the filesystem).
DEFAULT_300_SEED5 = "8b62b92c8f2ce1f8dafb1cd9b2a0f18eb2039fa444c2a2739134a1e76c4c9457"
DEFAULT_300_SEED5_MUTATED = "7b0e90766fe4bc61155e9ef727e9fab444e0d1a02a93fc55f28d5f50314b78ef"


def test_default_profile_makes_the_same_bytes_as_before(tmp_path):
    root = tmp_path / "server"
    samples.generate(root, 300, seed=5, profile="default")
    assert tree_digest(root) == DEFAULT_300_SEED5
    assert (root / "mailserver.cfg").read_bytes().count(b"<!--") == 0
    samples.mutate(root, seed=3)
    assert tree_digest(root, dirs=False) == DEFAULT_300_SEED5_MUTATED


def users_of(root):
    return [(v["Name"], v["Domain"], v["FullName"]) for v in
            ({x.get("name"): x.text for x in item.iter("variable")}
             for item in ET.parse(root / "users.cfg").iter("listitem"))]


def test_profiles_share_users_folders_and_times(profile_stores, tmp_path):
    default = tmp_path / "default"
    samples.generate(default, 300, seed=4)
    layout = {p: (s, t) for p, (s, t, _) in snapshot(default).items() if p.endswith(".eml")}
    for profile, root in profile_stores.items():
        other = {p: (s, t) for p, (s, t, _) in snapshot(root).items() if p.endswith(".eml")}
        assert {p: t for p, (_, t) in other.items()} == {p: t for p, (_, t) in layout.items()}, profile
        assert users_of(root) == users_of(default)
        # ... and only the messages differ.
        assert sum(other[p][0] != layout[p][0] for p in layout) > 0.9 * len(layout)


def read_index(path):
    """(id, size, mtime) of each record of an index.fld."""
    data = path.read_bytes()
    assert data[:4] == b"KIDX"
    version, count = struct.unpack_from("<HI", data, 4)
    records = [struct.unpack_from("<IIIq", data, 10 + 20 * i) for i in range(count)]
    assert len(data) == 10 + 20 * count
    return [(msg_id, size, mtime) for msg_id, size, _, mtime in records]


@pytest.mark.parametrize("profile", NEW_PROFILES)
def test_profile_store_keeps_the_kerio_layout(profile_stores, profile):
    root = profile_stores[profile]
    for name in ("mailserver.cfg", "users.cfg", "license/license.key", "sslcert/server.crt",
                 "sslcert/server.key"):
        assert (root / name).is_file(), name
    config = ET.parse(root / "mailserver.cfg").getroot()  # the profile's comment keeps it XML
    assert config.tag == "config"
    assert f"profile={profile}".encode() in (root / "mailserver.cfg").read_bytes()
    mail = root / "store" / "mail"
    for domain in mail.iterdir():
        assert any((domain / "#public").glob("*/#msgs/*.eml")), domain
        for user in (p for p in domain.iterdir() if p.name != "#public"):
            folders = {p.parent.relative_to(user).as_posix() for p in user.rglob("index.fld")}
            assert USER_FOLDERS <= folders
    assert list((root / "store" / "archive").rglob("*.eml"))
    n = 0
    for msgs_dir in root.rglob("#msgs"):
        folder = msgs_dir.parent
        assert FLD_FILES <= {p.name for p in folder.iterdir()}
        files = {int(p.name[:8], 16): p.stat() for p in msgs_dir.iterdir()}
        assert [(i, files[i].st_size, int(files[i].st_mtime)) for i in sorted(files)] == \
            read_index(folder / "index.fld")
        n += len(files)
    assert n == 300


ENCODED_WORD = re.compile(rb"=\?([^?\s]+)\?([BbQq])\?([^?\s]*)\?=")


def test_long_headers_profile_has_long_relayed_header_blocks(profile_stores):
    root = profile_stores["long-headers"]
    blocks, received, charsets, encodings = [], [], set(), set()
    folded_words = late_ids = signed = sealed = listed = long_refs = crowded = 0
    for path in messages(root):
        data = path.read_bytes()
        head = header_block(data)
        blocks.append(len(head))
        assert max(len(line) for line in head.split(b"\r\n")) <= 998, path
        if delivered(path):
            received.append(len(re.findall(rb"(?m)^Received:", head)))
            signed += b"\r\nDKIM-Signature: " in head
            sealed += b"\r\nARC-Seal: i=" in head
            listed += b"\r\nList-Id: " in head and b"\r\nList-Unsubscribe: " in head
        for m in ENCODED_WORD.finditer(head):
            word, charset = m.group(0), m.group(1).decode().lower()
            assert len(word) <= 75, word
            raw = base64.b64decode(m.group(3)) if m.group(2) in b"Bb" else \
                binascii.a2b_qp(m.group(3), header=True)
            raw.decode(charset)  # strict: every word holds whole characters of its charset
            charsets.add(charset)
            encodings.add(m.group(2).upper())
        folded_words += bool(re.search(rb"\r\n[ \t]+=\?", head))
        late_ids += head.find(b"\r\nMessage-ID: ") > 8192
        msg = email.message_from_bytes(data, policy=policy.default)
        long_refs += len((msg["References"] or "").split()) >= 10
        crowded += len(msg["To"].addresses) + len(msg["Cc"].addresses if msg["Cc"] else ()) >= 20
    assert received and all(10 <= n <= 30 for n in received)
    assert len(set(received)) > 10  # spread over the range, not one fixed count
    assert statistics.median(blocks) >= 5000
    assert charsets >= {"utf-8", "iso-8859-1", "iso-8859-2", "windows-1250", "windows-1251",
                        "koi8-r", "gb2312", "iso-2022-jp"}
    assert encodings == {b"B", b"Q"}
    n = len(received)
    assert folded_words > 100 and late_ids > 30
    assert signed == n and sealed > 0.3 * n and listed > 0.3 * n
    assert long_refs > 30 and crowded > 10


def test_long_headers_messages_parse_and_decode(profile_stores):
    """Independent decoders agree with what the generator meant: the email package finds no
    defect, the catalog's header parser decodes the same subject, and every text part decodes
    strictly in its declared charset."""
    root = profile_stores["long-headers"]
    body_charsets, transfer_encodings = set(), set()
    for path in messages(root):
        data = path.read_bytes()
        if len(data) > 1_000_000:
            continue
        msg = email.message_from_bytes(data, policy=policy.default)
        assert not [d for part in msg.walk() for d in part.defects], path
        ours = parse_headers(data)
        assert ours["subject"] == " ".join(str(msg["Subject"]).split()), path
        assert ours["message_id"] == msg["Message-ID"]
        assert ours["date"] is not None
        for part in msg.walk():
            if part.get_content_maintype() == "text":
                charset = part.get_content_charset()
                part.get_payload(decode=True).decode(charset)
                body_charsets.add(charset)
                transfer_encodings.add(part["Content-Transfer-Encoding"])
    assert len(body_charsets) >= 7
    assert {"8bit", "quoted-printable", "base64", "7bit"} <= transfer_encodings


def test_small_messages_profile_is_small_with_a_huge_attachment(profile_stores):
    root = profile_stores["small-messages"]
    sizes, kinds = [], set()
    huge = []
    for path in messages(root):
        data = path.read_bytes()
        sizes.append(len(data))
        if len(data) > 250_000:
            huge.append(data)
            continue
        msg = email.message_from_bytes(data, policy=policy.default)
        assert not [d for part in msg.walk() for d in part.defects], path
        kinds |= {part.get_content_type() for part in msg.walk()}
        kinds |= {"auto"} if msg["Auto-Submitted"] else set()
        kinds |= {"reply"} if msg["In-Reply-To"] else set()
    assert statistics.median(sizes) < 2000
    assert {"text/calendar", "auto", "reply", "application/pdf"} <= kinds
    assert len(huge) == 1  # one per 20 000 messages, at least one
    msg = email.message_from_bytes(huge[0])
    [attachment] = [p for p in msg.walk() if p.get_content_disposition() == "attachment"]
    raw = base64.b64decode(attachment.get_payload(), validate=False)
    assert LARGE[0] <= len(raw) < LARGE[1] + 57
    assert len(zlib.compress(raw, 6)) > 0.99 * len(raw)  # random: it does not deflate
    text = attachment.get_payload().encode()
    assert len(zlib.compress(text, 6)) > 0.7 * len(text)  # like base64 of compressed data


@pytest.mark.parametrize("profile", NEW_PROFILES)
def test_mutate_adds_a_day_of_mail_in_the_profiles_style(profile_stores, profile, tmp_path):
    root = tmp_path / "server"
    shutil.copytree(profile_stores[profile], root)
    before = snapshot(root)
    result = samples.mutate(root, seed=6)
    after = snapshot(root)
    assert result["added"] == sorted(set(after) - set(before))
    assert result["deleted"] == sorted(set(before) - set(after))
    assert result["rewritten"] == sorted(p for p in set(before) & set(after) if before[p] != after[p])
    assert result["added"] and result["deleted"] and result["rewritten"]
    added = [(root / p).read_bytes() for p in result["added"]]
    if profile == "long-headers":
        assert all(len(re.findall(rb"(?m)^Received:", header_block(d))) >= 10
                   for p, d in zip(result["added"], added) if delivered(p))
    else:
        assert statistics.median(len(d) for d in added) < 2000
    for path in result["added"]:
        msg = email.message_from_bytes((root / path).read_bytes(), policy=policy.default)
        assert msg["Message-ID"] and msg["From"] and msg["Date"]
    # The folders' indexes follow.
    for folder in {p.rsplit("/#msgs/", 1)[0] for p in result["added"] + result["deleted"]}:
        ids = sorted(int(p.name[:8], 16) for p in (root / folder / "#msgs").iterdir())
        assert [r[0] for r in read_index(root / folder / "index.fld")] == ids


def test_rewriting_a_huge_message_streams_the_same_bytes(tmp_path, monkeypatch):
    """mutate changes a message's header without reading all of it; the bytes it writes are
    those of changing the whole message in memory, for both kinds of change."""
    monkeypatch.setattr(mutation, "_HEAD_READ", 4096)
    monkeypatch.setattr(mutation, "_COPY_BLOCK", 1000)
    head = b"Message-ID: <a@b>\r\nSubject: big\r\nX-Keywords: $label1\r\n\r\n"
    body = random.Random(1).randbytes(50_000).hex().encode()
    kinds = set()
    for seed in range(6):
        path = tmp_path / f"{seed}.eml"
        path.write_bytes(head + body)
        mutation._rewrite(random.Random(seed), path)
        expected = random.Random(seed)
        if expected.random() < 0.6:
            keywords = " ".join(expected.sample(samples.words.KEYWORDS, expected.randint(1, 3)))
            want = head.replace(b"$label1", keywords.encode()) + body
            kinds.add("keywords")
        else:
            kinds.add("note")
            assert path.read_bytes().startswith(head + body + b"\r\n[Note ")
            continue
        assert path.read_bytes() == want
        assert not list(tmp_path.glob("*.new"))
    assert kinds == {"keywords", "note"}


@pytest.mark.parametrize("profile", NEW_PROFILES)
def test_profile_store_backs_up_and_restores_byte_for_byte(profile, tmp_path):
    from datetime import datetime, timedelta, timezone
    store = tmp_path / "server"
    samples.generate(store, 200, seed=9, profile=profile, large_size=(2_000_000, 3_000_000))
    target, t0 = tmp_path / "bk", datetime(2026, 11, 1, 1, 0, tzinfo=timezone.utc)
    workbench.backup("full", store=str(store), target=str(target), min_free=0, now=t0)
    at_full = store_snapshot(store)
    workbench.restore(str(tmp_path / "full"), target=str(target))
    assert store_files(tmp_path / "full") == at_full
    samples.mutate(store, seed=1)
    at_diff = store_snapshot(store)
    workbench.backup("differential", store=str(store), target=str(target), min_free=0,
                     now=t0 + timedelta(days=1))
    workbench.restore(str(tmp_path / "diff"), target=str(target))
    assert store_files(tmp_path / "diff") == at_diff


def test_profile_and_large_size_errors(tmp_path, capsys):
    with pytest.raises(ValueError, match="unknown profile 'tiny'.*default, long-headers, small-messages"):
        samples.generate(tmp_path / "a", 10, profile="tiny")
    with pytest.raises(ValueError, match="large_size"):
        samples.generate(tmp_path / "b", 10, profile="small-messages", large_size=(5, 1))
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
    for argv in (["--profile", "tiny"], ["--large-size", "5M-1M"], ["--large-size", "big"]):
        with pytest.raises(SystemExit) as exit_info:
            samples.main(["generate", str(tmp_path / "c")] + argv)
        assert exit_info.value.code == 2
    assert "--profile" in capsys.readouterr().err
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "keep").write_text("x")
    assert samples.main(["generate", str(tmp_path / "d"), "--messages", "5"]) == 1
    assert "is not empty" in capsys.readouterr().err


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


def test_cli_generates_a_profile_with_a_large_size(tmp_path, capsys):
    root = tmp_path / "s"
    assert samples.main(["generate", str(root), "--messages", "40", "--seed", "2",
                         "--profile", "small-messages", "--large-size", "100K-200K"]) == 0
    assert f"generated {root} (small-messages): 40 messages" in capsys.readouterr().out
    sizes = sorted(p.stat().st_size for p in messages(root))
    assert 100_000 < sizes[-1] < 300_000 and sizes[-2] < 100_000
    assert b"profile=small-messages huge=100000-200000" in (root / "mailserver.cfg").read_bytes()
