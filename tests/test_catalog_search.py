"""find_messages as people search mail: case and accents do not count, To and Cc are searched,
regular expressions on request, archive mail included, one row per message on request; and
read_messages' archive mail with its area.

The messages searched are written the way clients write them (RFC 2047 words, raw UTF-8,
Latin-1) into a copy of the sample store, in a mailbox, a public folder and the archive.
"""

import os
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest

import workbench
from workbench import catalog, samples
from workbench.catalog import search

from helpers import copy_sample

T0 = datetime(2026, 11, 1, 1, 0, tzinfo=timezone.utc)
F1, D1, F2 = "F20261101T010000Z", "D20261102T010000Z", "F20261108T010000Z"

INBOX = "store/mail/example.com/rita.jelinek/INBOX/#msgs/"
PUBLIC = "store/mail/example.com/#public/Company News/#msgs/"
ARCHIVE = "store/archive/example.com/archive/2026-08/#msgs/"

# name: (folder, raw header block); every message has a body "Hello."
MAIL = {
    "kucera": (INBOX, b"From: =?utf-8?q?Bo=C5=99ivoj_Ku=C4=8Derovsk=C3=BD?= <b@firma.test>\r\n"
                      b"To: Rita <rita.jelinek@example.com>\r\n"
                      b"Subject: =?utf-8?q?Faktura_=C4=8D=2E_2026/11-ZX9?=\r\n"
                      b"Date: Mon, 02 Nov 2026 09:00:00 +0100\r\n"
                      b"Message-ID: <kucera-1@firma.test>\r\n"),
    "strasse": (INBOX, "From: Müller <m@gmbh.test>\r\n"
                       "To: Zdeněk Šťastný <z@firma.test>\r\n"
                       "Cc: Ölçer Ağa <o@firma.test>\r\n"
                       "Subject: Neue Adresse: Hauptstraße 5\r\n"
                       "Date: Tue, 03 Nov 2026 10:00:00 +0100\r\n"
                       "Message-ID: <strasse-1@gmbh.test>\r\n".encode("utf-8")),
    "latin1": (PUBLIC, "From: =?iso-8859-1?q?Fran=E7ois_Lef=E8vre?= <f@exemple.test>\r\n"
                       "To: all@example.com\r\n"
                       "Subject: Réunion: café à 10h\r\n"
                       "Date: Wed, 04 Nov 2026 08:00:00 +0100\r\n"
                       "Message-ID: <latin1-1@exemple.test>\r\n".encode("latin-1")),
    "archived": (ARCHIVE, b"From: Old Partner <partner@old.test>\r\n"
                          b"To: =?utf-8?q?Ludmila_=C5=A0=C5=A5ov=C3=AD=C4=8Dkov=C3=A1?= "
                          b"<lu@example.com>\r\n"
                          b"Subject: =?utf-8?q?Archivovan=C3=A1_smlouva?=\r\n"
                          b"Date: Sat, 01 Aug 2026 12:00:00 +0200\r\n"
                          b"Message-ID: <archived-1@old.test>\r\n"),
    "no-id": (INBOX, b"From: Robot <robot@example.com>\r\n"
                     b"To: rita.jelinek@example.com\r\n"
                     b"Subject: nightly report\r\n"
                     b"Date: Thu, 05 Nov 2026 03:00:00 +0100\r\n"),
}
NAMES = {name: f"0000f{i:03x}.eml" for i, name in enumerate(MAIL)}


def path_of(name):
    return MAIL[name][0] + NAMES[name]


@pytest.fixture(scope="module")
def people(tmp_path_factory):
    """The sample store with MAIL added; a full, a day of other mail, a differential, a full a
    week later: the messages above are in all three sets."""
    root = tmp_path_factory.mktemp("people")
    store = copy_sample(root / "server")
    for name, (folder, head) in MAIL.items():
        Path(store, folder, NAMES[name]).write_bytes(head + b"\r\nHello.\r\n")
    target = str(root / "backup")
    common = dict(store=store, target=target, min_free=0, keep=20)
    workbench.backup("full", now=T0, **common)
    samples.mutate(store, seed=11)
    for name in MAIL:  # mutate leaves the messages above alone
        assert Path(store, path_of(name)).exists()
    workbench.backup("differential", now=T0 + timedelta(days=1), **common)
    workbench.backup("full", now=T0 + timedelta(days=7), **common)
    return target


def paths(df):
    return sorted(df["path"])


def found(target, **criteria):
    return paths(catalog.find_messages(target, sets=F2, **criteria))


def test_archive_mail_is_read_with_its_headers_and_area(people):
    df = catalog.read_messages(people, set=F2).set_index("path")
    row = df.loc[path_of("archived")]
    assert row["area"] == "archive" and row["domain"] == "example.com"
    assert pd.isna(row["user"]) and pd.isna(row["folder"])
    assert row["subject"] == "Archivovaná smlouva" and row["message_id"] == "<archived-1@old.test>"
    assert row["date"] == pd.Timestamp("2026-08-01T10:00:00Z")
    assert df.loc[path_of("latin1"), "area"] == "public"
    assert df.loc[path_of("kucera"), "area"] == "mail"
    # every archive message of the store is there, none missing its headers
    archive = df[df["area"] == "archive"]
    on_disk = {p for p in catalog.read_entries(people, set=F2)["path"]
               if p.startswith("store/archive/") and p.endswith(".eml")}
    assert set(archive.index) == on_disk and len(on_disk) > 10
    assert archive["message_id"].notna().all()
    assert {"mail", "public", "archive"} == set(df["area"])


@pytest.mark.parametrize("criterion, query, expected", [
    # no accent, no capital, and the address says nothing
    ("sender", "kucerovsky", ["kucera"]),
    ("sender", "KUČEROVSKÝ", ["kucera"]),
    ("sender", "borivoj kucerovsky", ["kucera"]),
    ("sender", "francois lefevre", ["latin1"]),
    ("sender", "MULLER", ["strasse"]),
    ("subject", "faktura c. 2026/11-zx9", ["kucera"]),
    ("subject", "HAUPTSTRASSE", ["strasse"]),   # ß folds to ss
    ("subject", "reunion: cafe", ["latin1"]),
    ("subject", "archivovana", ["archived"]),  # archive mail is searched too
    ("recipient", "stastny", ["strasse"]),     # To
    ("recipient", "olcer aga", ["strasse"]),   # Cc
    ("recipient", "ludmila stovickova", ["archived"]),
])
def test_text_criteria_ignore_case_and_accents(people, criterion, query, expected):
    assert found(people, **{criterion: query}) == sorted(path_of(n) for n in expected)


def test_text_criteria_against_every_message(people):
    # The same rows as folding each header by hand (NFKD, marks dropped, casefold) and
    # looking for the folded query in it, over the whole sample store.
    import unicodedata

    def by_hand(text):
        decomposed = unicodedata.normalize("NFKD", text.casefold())
        return "".join(c for c in decomposed if not unicodedata.combining(c))

    msgs = catalog.read_messages(people, set=F2)
    for criterion, cols, query in (("sender", ["from"], "Jelínek"), ("recipient", ["to", "cc"],
                                                                     "kateřina"),
                                   ("subject", ["subject"], "RE:")):
        hit = pd.Series(False, index=msgs.index)
        for c in cols:
            hit |= msgs[c].map(lambda v: isinstance(v, str) and by_hand(query) in by_hand(v))
        want = sorted(msgs.loc[hit, "path"])
        assert found(people, **{criterion: query}) == want and len(want) > 2, criterion


def test_kucera_finds_kucera(people):
    # The sample's own mail from "Kučera" (Czech, raw UTF-8 or encoded words): every one is
    # found by the plain ASCII query, as by the accented one.
    msgs = catalog.read_messages(people, set=F2)
    accented = sorted(msgs.loc[msgs["from"].str.contains("Kučera", na=False), "path"])
    assert len(accented) > 2
    plain = found(people, sender="kucera")
    assert set(accented) <= set(plain) and plain == found(people, sender="KUČERA")


def test_regular_expressions(people):
    assert found(people, subject=r"^faktura\s+c\.\s*\d{4}/11-zx\d$", regex=True) == [
        path_of("kucera")]
    assert found(people, sender=r"ku[cč]erovsk|lef[eè]vre", regex=True) == sorted(
        [path_of("kucera"), path_of("latin1")])
    assert found(people, recipient=r"šťastný", regex=True) == [path_of("strasse")]
    # without regex=True the same text is plain text: its dots and brackets are themselves
    assert found(people, subject=r"^faktura\s+c") == []
    assert found(people, subject="c. 2026/11-zx") == [path_of("kucera")]
    with pytest.raises(re.error):
        catalog.find_messages(people, subject="(unclosed", regex=True)


def test_area_criterion(people):
    assert found(people, area="archive", subject="archivovana") == [path_of("archived")]
    assert found(people, area=["mail", "public"], subject="archivovana") == []
    everything = catalog.find_messages(people, sets=F2)
    assert set(everything["area"]) == {"mail", "public", "archive"}
    assert len(catalog.find_messages(people, sets=F2, area="archive")) == (
        everything["area"] == "archive").sum()
    with pytest.raises(ValueError, match="area: 'attic' is none of mail, public, archive"):
        catalog.find_messages(people, area="attic")


def test_one_row_per_set_or_per_message(people):
    per_set = catalog.find_messages(people)
    every = [catalog.read_messages(people, set=s) for s in (F1, D1, F2)]
    assert len(per_set) == sum(len(m) for m in every)
    distinct = catalog.find_messages(people, distinct=True)
    assert list(distinct.columns) == list(catalog.DISTINCT_COLUMNS)
    # one row per Message-ID, or per path + size + date without one
    keys = set()
    for m in every:
        for row in m.itertuples():
            keys.add(row.message_id if isinstance(row.message_id, str) else
                     (row.path, row.size, row.date))
    assert len(distinct) == len(keys) < len(per_set)
    assert distinct["message_id"].dropna().is_unique
    rows = distinct.set_index("path")
    # a message in every set: first the oldest, last the newest, in three
    for name in ("kucera", "archived", "no-id"):
        r = rows.loc[path_of(name)]
        assert (r["first_set"], r["last_set"], r["set_count"]) == (F1, F2, 3), name
    # a message deleted before the differential (only the first full holds it), and one
    # written before it (the differential and the second full hold it)
    f1, d1 = set(every[0]["path"]), set(every[1]["path"])
    ids = every[0].set_index("path")["message_id"]
    gone = sorted(p for p in f1 - d1 if ids[p] not in set(every[1]["message_id"]))[0]
    assert (rows.loc[gone, "first_set"], rows.loc[gone, "last_set"]) == (F1, F1)
    assert rows.loc[gone, "set_count"] == 1
    new = sorted(d1 - f1)[0]
    assert (rows.loc[new, "first_set"], rows.loc[new, "last_set"]) == (D1, F2)
    assert rows.loc[new, "set_count"] == 2
    # ordered by the first set holding them, oldest first
    assert distinct["first_set"].is_monotonic_increasing
    # the criteria apply as without distinct
    one = catalog.find_messages(people, sender="kucerovsky", distinct=True)
    assert one["path"].tolist() == [path_of("kucera")] and one["set_count"].tolist() == [3]
    none = catalog.find_messages(people, sender="nobody at all", distinct=True)
    assert none.empty and list(none.columns) == list(catalog.DISTINCT_COLUMNS)


def test_folded_text_is_made_once_per_cached_frame(people, monkeypatch):
    calls = []
    real = search._fold_column
    monkeypatch.setattr(search, "_fold_column", lambda col: calls.append(col.name) or real(col))
    catalog.clear_cache()
    catalog.find_messages(people, sets=F2, sender="kucerovsky")
    assert sorted(calls) == ["cc", "from", "subject", "to"]
    catalog.find_messages(people, sets=F2, subject="strasse", recipient="x")
    catalog.find_messages(people, sets=F2, sender="mueller", regex=True)
    assert len(calls) == 4  # kept with the cached frame
    catalog.find_messages(people, sets=F2, message_id="<kucera-1@firma.test>")
    assert len(calls) == 4  # no text criterion: nothing folded


def test_fold():
    assert catalog.fold("Kučera") == catalog.fold("KUCERA") == "kucera"
    assert catalog.fold("Straße") == "strasse"
    assert catalog.fold("İstanbul") == "istanbul"
    assert catalog.fold("ﬁle") == "file"  # a ligature (NFKD)
    assert catalog.fold("Ωμέγα") == "ωμεγα"


def test_unknown_criterion(people):
    with pytest.raises(TypeError, match="unknown criterion sendr='x'"):
        catalog.find_messages(people, sendr="x")
