"""The store walk classifies every path and takes domain, user and folder from it."""

import os

import pytest

from workbench.errors import StoreNotFound
from workbench.store import classify, walk_store

from helpers import make_store


@pytest.mark.parametrize("path,expected", [
    ("mailserver.cfg", ("config", None, None, None)),
    ("users.cfg", ("config", None, None, None)),
    ("license/license.key", ("license", None, None, None)),
    ("sslcert/server.crt", ("certificate", None, None, None)),
    ("sslca/ca.crt", ("certificate", None, None, None)),
    ("store/mail/example.com/jane/INBOX/#msgs/0000001a.eml",
     ("message", "example.com", "jane", "INBOX")),
    ("store/mail/example.com/jane/INBOX/Projects/2026/#msgs/0000001a.eml",
     ("message", "example.com", "jane", "INBOX/Projects/2026")),
    ("store/mail/example.com/jane/Přijaté faktury/index.fld",
     ("folder", "example.com", "jane", "Přijaté faktury")),
    ("store/mail/example.com/#public/Company News/#msgs/00000001.eml",
     ("public", "example.com", "#public", "Company News")),
    ("store/mail/example.com/#public/Company News/index.fld",
     ("public", "example.com", "#public", "Company News")),
    ("store/archive/example.com/2026-08/#msgs/00000001.eml", ("archive", "example.com", None, None)),
    ("store/lists/example.com/team/members.cfg", ("lists", "example.com", None, None)),
    ("store/spamassassin/bayes_toks", ("spam", None, None, None)),
    ("store/queue/x.eml", ("other", None, None, None)),
])
def test_classify(path, expected):
    assert classify(path) == expected


def test_walk_is_sorted_skips_backups_and_reports_errors(tmp_path):
    store = make_store(tmp_path / "server", messages=50, seed=1)
    os.makedirs(os.path.join(store, "store", "backup"))
    open(os.path.join(store, "store", "backup", "F20260101T000000Z.zip"), "wb").close()
    os.makedirs(os.path.join(store, "bin"))
    open(os.path.join(store, "bin", "mailserver"), "wb").close()  # not part of the data
    errors = []
    files = list(walk_store(store, on_error=lambda p, m: errors.append((p, m))))
    paths = [f.path for f in files]
    assert paths == sorted(paths, key=lambda p: p.split("/"))
    assert not [p for p in paths if p.startswith(("bin/", "store/backup/"))]
    kinds = {f.kind for f in files}
    assert {"message", "folder", "public", "config", "license", "certificate"} <= kinds
    on_disk = sum(len(fs) for d, _, fs in os.walk(store)
                  if not d.startswith((os.path.join(store, "bin"), os.path.join(store, "store", "backup"))))
    assert len(files) == on_disk and errors == []


def test_missing_store_is_a_clear_error(tmp_path):
    with pytest.raises(StoreNotFound, match="does not exist"):
        list(walk_store(str(tmp_path / "nope")))
    with pytest.raises(StoreNotFound, match="neither store/ nor mailserver.cfg"):
        list(walk_store(str(tmp_path)))


def test_names_that_are_not_utf8_are_reported_not_fatal(tmp_path):
    import workbench

    store = make_store(tmp_path / "server", messages=30, seed=3)
    folder = os.path.join(store, "store", "mail", "example.com")
    bad = os.path.join(os.fsencode(folder), b"caf\xe9.eml")
    with open(bad, "wb") as f:
        f.write(b"Subject: latin-1 name\r\n\r\nbody\r\n")
    r = workbench.backup("full", store=store, target=str(tmp_path / "bk"), min_free=0)
    [u] = r.unreadable
    assert u["error"] == "file name is not valid UTF-8; not backed up"
    assert u["path"].startswith("store/mail/example.com/caf")
    workbench.restore(str(tmp_path / "out"), target=str(tmp_path / "bk"))
    assert len(list(walk_store(str(tmp_path / "out")))) == r.files


def test_a_directory_holding_volumes_is_skipped_and_other_zips_are_files(tmp_path):
    # Names are checked for ".zip" all at once: a volume's name anywhere in a directory skips
    # it (its volumes are a backup, not data), and other zip files are backed up as files.
    store = make_store(tmp_path / "server", messages=5, seed=1)
    kept = os.path.join(store, "store", "mail", "attachments")
    skipped = os.path.join(store, "store", "mail", "old-target")
    os.makedirs(kept)
    os.makedirs(skipped)
    for name in ("a.zip", "F20260101T000000Z.zip.txt", "zip", "b.zipx"):
        open(os.path.join(kept, name), "wb").close()
    for name in ("a.txt", "D20260101T000000Z.3.zip", "z.txt"):
        open(os.path.join(skipped, name), "wb").close()
    errors = []
    paths = [f.path for f in walk_store(store, on_error=lambda p, m: errors.append((p, m)))]
    assert [p for p in paths if "/attachments/" in p] == [
        f"store/mail/attachments/{n}" for n in ("F20260101T000000Z.zip.txt", "a.zip", "b.zipx",
                                                "zip")]
    assert not [p for p in paths if "/old-target/" in p]
    assert errors == [("store/mail/old-target", "skipped: holds backup volumes")]
