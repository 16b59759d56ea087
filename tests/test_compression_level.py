"""The compression level a backup measures when the config sets none, and one that is set."""

import base64
import importlib
import json
import os
import random
import zipfile

import pytest

import workbench
backup_module = importlib.import_module("workbench.backup")
from workbench.archive import compress, pack
from workbench.archive.compress import (LEVELS, SAMPLE_BYTES, choose_level, compress_member,
                                        sample_files)
from workbench.cli import main
from workbench.config import Config, validate
from workbench.sets import list_sets
from workbench.targets import open_target

pytest.importorskip("isal")  # the levels measured are ISA-L's (zlib's 6 is the reference)


def relayed_mail(rng, count):
    """Messages as they arrive over many relays and lists: header blocks of 12-25 Received:
    lines and long References:, a short body (what ISA-L's fast levels deflate worst)."""
    out = []
    for k in range(count):
        lines = []
        for _ in range(rng.randint(12, 25)):
            host = f"mx{rng.randint(1, 40)}.relay{rng.randint(1, 9)}.example.net"
            ip = ".".join(str(rng.randint(1, 254)) for _ in range(4))
            lines.append(f"Received: from {host} ({host} [{ip}])\r\n\tby mail{rng.randint(1, 9)}"
                         f".example.org (Postfix) with ESMTPS id {rng.getrandbits(48):012X}\r\n"
                         f"\tfor <user{rng.randint(1, 99)}@example.org>; Mon, "
                         f"{rng.randint(1, 28)} Nov 2026 {rng.randint(0, 23):02}:"
                         f"{rng.randint(0, 59):02}:{rng.randint(0, 59):02} +0100")
        lines.append("References: " + " ".join(
            f"<{rng.getrandbits(64):016x}.{rng.randint(1, 9999)}@lists.example.com>"
            for _ in range(rng.randint(10, 30))))
        lines.append(f"Message-ID: <{rng.getrandbits(64):016x}@example.com>")
        lines.append(f"Subject: Re: weekly report {k}")
        body = " ".join(rng.choice(("the", "report", "backup", "server", "mail", "week", "done"))
                        for _ in range(80))
        out.append(("\r\n".join(lines) + "\r\n\r\n" + body + "\r\n").encode())
    return out


def office_mail(rng, count):
    """Office mail whose bytes are mostly base64 attachments (where ISA-L's level 1 keeps up
    with zlib 6)."""
    out = []
    for k in range(count):
        head = (f"From: Jana Novak <jana{k}@example.com>\r\nTo: team@example.com\r\n"
                f"Subject: minutes {k}\r\nDate: Mon, 2 Nov 2026 10:00:00 +0100\r\n"
                f"Message-ID: <{rng.getrandbits(64):016x}@example.com>\r\nMIME-Version: 1.0\r\n"
                "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n"
                "Content-Type: text/plain\r\n\r\n")
        body = " ".join(rng.choice(("the", "minutes", "of", "our", "meeting", "are", "attached"))
                        for _ in range(60))
        attachment = base64.encodebytes(rng.randbytes(rng.randint(20000, 60000)))
        out.append((head + body + "\r\n--b\r\nContent-Type: application/pdf\r\n"
                    "Content-Transfer-Encoding: base64\r\n\r\n").encode()
                   + attachment.replace(b"\n", b"\r\n") + b"--b--\r\n")
    return out


def write_store(server, messages):
    """A server directory whose one folder holds *messages*."""
    folder = server / "store" / "mail" / "example.com" / "jana" / "INBOX" / "#msgs"
    folder.mkdir(parents=True)
    (server / "mailserver.cfg").write_text("<config/>\n")
    for i, data in enumerate(messages):
        (folder / f"{i + 1:08x}.eml").write_bytes(data)
    return str(server)


def files_of(root):
    out = []
    for directory, dirs, names in os.walk(root):
        dirs.sort()
        out += [(os.path.join(directory, n), os.path.getsize(os.path.join(directory, n)))
                for n in sorted(names)]
    return out


def measure(root):
    files = files_of(root)
    return choose_level(sample_files(files, sum(size for _, size in files)))


def test_long_header_blocks_get_a_higher_level_than_office_mail(tmp_path):
    level, ratios = measure(write_store(tmp_path / "relayed", relayed_mail(random.Random(5), 80)))
    assert ratios[3] > compress.LEVEL_MARGIN  # ISA-L level 1 falls behind zlib 6 here...
    assert level > 3 and level in LEVELS and list(ratios) == list(LEVELS)
    assert ratios[level] == min(ratios.values())  # ...and no level comes within the margin
    level, ratios = measure(write_store(tmp_path / "office", office_mail(random.Random(5), 40)))
    assert level == 3 and ratios[3] <= compress.LEVEL_MARGIN  # ISA-L level 1: the default's
    assert list(ratios) == [1, 3]  # the levels above the first that fits are not tried


def test_the_sample_of_a_huge_file_reads_a_bounded_part_of_it(tmp_path, monkeypatch):
    huge = tmp_path / "huge.eml"
    with open(huge, "wb") as f:
        f.truncate(10 * 1024**3)  # sparse: 10 GB that take no disk
    read = []

    def counting_pread(fd, n, offset):
        data = os.pread(fd, n, offset)
        read.append(len(data))
        return data

    monkeypatch.setattr(compress, "_pread", counting_pread)
    sample = sample_files([(str(huge), 10 * 1024**3)], 10 * 1024**3)
    assert 0 < sum(read) <= SAMPLE_BYTES
    assert sum(len(data) for _, data in sample) == sum(read)
    assert sum(weight for weight, _ in sample) == compress.SAMPLE_POINTS  # pieces all over it
    read.clear()
    many = [(str(huge), 10 * 1024**3)] * 3 + [(str(tmp_path / "missing.eml"), 5000)]
    sample_files(many, 30 * 1024**3 + 5000)
    assert sum(read) <= SAMPLE_BYTES


def test_an_empty_store_measures_nothing():
    assert sample_files([], 0) == [] and choose_level([]) == (LEVELS[0], {})


def deflated_at(volume_dir, store, level):
    """True if every deflated message member of the set's volumes is what level *level* makes
    of its file."""
    checked = 0
    for name in sorted(os.listdir(volume_dir)):
        if not name.endswith(".zip"):
            continue
        with zipfile.ZipFile(os.path.join(volume_dir, name)) as z:
            for info in z.infolist():
                if info.filename.endswith(".eml"):
                    with open(os.path.join(store, info.filename), "rb") as f:
                        method, payload = compress_member(f.read(), level)
                    if info.compress_size != len(payload):
                        return False
                    checked += 1
    return checked > 0


@pytest.mark.parametrize("processes", [False, True], ids=["threads", "workers"])
def test_an_unset_level_is_measured_and_a_differential_takes_its_fulls(tmp_path, monkeypatch,
                                                                      capsys, processes):
    levels = []  # the level each way of storing was handed
    if processes:
        monkeypatch.setattr(pack, "_PROCESS_MIN_FILES", 0)
        real_store = pack.Storers.store

        def store(self, root, todo, level):
            levels.append(level)
            return real_store(self, root, todo, level)

        monkeypatch.setattr(pack.Storers, "store", store)
    else:
        real_pack_files = pack.pack_files

        def pack_files(root, items, level, *args, **kw):
            levels.append(level)
            return real_pack_files(root, items, level, *args, **kw)

        monkeypatch.setattr(pack, "pack_files", pack_files)
    store = write_store(tmp_path / "server", relayed_mail(random.Random(7), 60))
    expected, _ = measure(store)
    assert expected != Config().compression_level and Config().compression_level is None
    common = ["--store", store, "--target", str(tmp_path / "bk"), "--min-free", "0", "-q",
              "--json"]
    assert main(["backup", "full", *common]) == 0
    full = json.loads(capsys.readouterr().out)
    assert (full["compression_level"], full["compression_chosen"]) == (expected, "measured")
    assert deflated_at(tmp_path / "bk", store, expected) and levels == [expected]
    sets = list_sets(open_target(str(tmp_path / "bk")))
    header = sets[0].header
    assert header["compression_level"] == expected and header["compression_chosen"] == "measured"
    assert set(header["compression_sample"]) == {"files", "bytes", "ratios"}
    with open(os.path.join(store, "store/mail/example.com/jana/INBOX/#msgs/00000001.eml"),
              "ab") as f:
        f.write(b"one more line\r\n")
    monkeypatch.setattr(backup_module, "sample_files", None)  # a differential measures nothing
    assert main(["backup", "differential", *common]) == 0
    diff = json.loads(capsys.readouterr().out)
    assert diff["kind"] == "D" and diff["stored"] == 1
    assert (diff["compression_level"], diff["compression_chosen"]) == (expected, "base")


def test_a_level_set_in_the_config_is_used_as_it_is(tmp_path, monkeypatch):
    store = write_store(tmp_path / "server", relayed_mail(random.Random(7), 60))
    assert measure(store)[0] != 3
    monkeypatch.setattr(backup_module, "sample_files", None)  # nothing is measured
    result = workbench.backup("full", store=store, target=str(tmp_path / "bk"), min_free=0,
                              compression_level=3)
    assert (result.compression_level, result.compression_chosen) == (3, "config")
    assert deflated_at(tmp_path / "bk", store, 3)
    # a differential with a level set uses that one, not its full's
    result = workbench.backup("differential", store=store, target=str(tmp_path / "bk"),
                              min_free=0, compression_level=9)
    assert (result.compression_level, result.compression_chosen) == (9, "config")
    assert validate({"compression_level": 3}).compression_level == 3
