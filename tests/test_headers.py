"""parse_headers: the headers indexed at backup time, checked against the email package."""

import email
import email.policy
import os
from calendar import timegm
from email.utils import parsedate_to_datetime

import pytest

from workbench import samples
from workbench.headers import FIELDS, parse_date, parse_headers


def msg(head, body="Hello.\r\n", nl="\r\n"):
    text = nl.join(head) + nl + nl + body
    return text.encode("utf-8") if isinstance(text, str) else text


def test_plain_message():
    h = parse_headers(msg([
        "Return-Path: <a@example.com>",
        "Message-ID: <abc.123@example.com>",
        "Date: Fri, 24 Jul 2026 14:58:18 +0200",
        "From: Alice Example <a@example.com>",
        "To: Bob <b@example.org>",
        "Cc: Carol <c@example.org>, Dan <d@example.org>",
        "Subject: Quarterly report",
        "Content-Type: text/plain; charset=us-ascii",
    ]))
    assert list(h) == list(FIELDS)
    assert h == {
        "message_id": "<abc.123@example.com>", "from": "Alice Example <a@example.com>",
        "to": "Bob <b@example.org>", "cc": "Carol <c@example.org>, Dan <d@example.org>",
        "subject": "Quarterly report", "date": timegm((2026, 7, 24, 12, 58, 18)),
        "has_attachments": False,
    }


def test_rfc2047_words_folding_and_case():
    h = parse_headers(msg([
        "subject: =?utf-8?q?Faktura_=C4=8D=2E?=",
        "  =?utf-8?b?IDIwMjY=?= and more",
        "FROM: =?ISO-8859-2?Q?Ji=F8=ED?= <j@example.cz>",
        "To: =?utf-8?B?xaDDoXJrYQ==?= <s@example.org>",
    ]))
    # Whitespace between two encoded words goes; the one before plain text stays.
    assert h["subject"] == "Faktura č. 2026 and more"
    assert h["from"] == "Jiří <j@example.cz>"
    assert h["to"] == "Šárka <s@example.org>"


def test_multibyte_character_split_across_encoded_words():
    # "č" is C4 8D in UTF-8: some mailers cut base64 words inside a character.
    h = parse_headers(msg(["Subject: =?utf-8?b?xA==?= =?utf-8?b?jQ==?=x"]))
    assert h["subject"] == "čx"


def test_bad_encoded_words_are_kept_or_replaced_never_raise():
    h = parse_headers(msg(["Subject: =?x-unknown?q?caf=E9?= =?utf-8?b?!!!?= =?utf-8?q?=FF?="]))
    assert h["subject"].startswith("café")  # unknown charset read as Latin-1
    assert "\ufffd" in h["subject"]          # invalid UTF-8 replaced


def test_raw_8bit_headers_utf8_and_latin1():
    assert parse_headers("Subject: Přijaté faktury\r\n\r\n".encode("utf-8"))["subject"] == \
        "Přijaté faktury"
    assert parse_headers("Subject: café\r\n\r\n".encode("latin-1"))["subject"] == "café"


@pytest.mark.parametrize("text, expected", [
    ("Fri, 24 Jul 2026 14:58:18 +0200", (2026, 7, 24, 12, 58, 18)),
    ("24 Jul 2026 14:58:18 -0000", (2026, 7, 24, 14, 58, 18)),
    ("Fri, 24 Jul 26 14:58 GMT", (2026, 7, 24, 14, 58, 0)),
    ("Fri, 24 Jul 99 14:58:01 EST", (1999, 7, 24, 19, 58, 1)),
    ("Fri,  4 Jul 2026 14:58:18 +0530 (IST)", (2026, 7, 4, 9, 28, 18)),
    ("Thu, 31 Dec 2026 23:59:60 +0000", (2026, 12, 31, 23, 59, 59)),
    ("2026-07-24T12:00:00Z", None),
    ("Fri, 30 Feb 2026 10:00:00 +0000", None),
    ("Fri, 29 Feb 2027 10:00:00 +0000", None),
    ("Fri, 24 Foo 2026 10:00:00 +0000", None),
    ("yesterday", None),
    ("", None),
])
def test_dates(text, expected):
    assert parse_date(text) == (timegm(expected) if expected else None)


def test_missing_and_empty_headers_are_none():
    h = parse_headers(msg(["X-Other: 1", "Subject:", "Message-ID: <>"]))
    assert h["subject"] is None and h["message_id"] is None and h["from"] is None
    assert h["date"] is None and h["has_attachments"] is False


def test_message_id_forms():
    assert parse_headers(b"Message-ID:\r\n <a@b>\r\n\r\n")["message_id"] == "<a@b>"
    assert parse_headers(b"Message-Id: a@b (comment)\r\n\r\n")["message_id"] == "a@b"
    assert parse_headers(b"Message-ID: <a@b> <c@d>\r\n\r\n")["message_id"] == "<a@b>"


def test_first_header_wins_and_body_is_not_read():
    h = parse_headers(msg(["Subject: one", "Subject: two"], body="Subject: body\r\n"))
    assert h["subject"] == "one"
    assert parse_headers(msg(["X: 1"], body="Subject: body\r\n"))["subject"] is None


def test_lf_only_and_no_blank_line():
    assert parse_headers(b"Subject: lf\n\nSubject: no\n")["subject"] == "lf"
    assert parse_headers(b"Subject: truncated")["subject"] == "truncated"


@pytest.mark.parametrize("raw", [
    b"", b"\x00\xff" * 1000, b"\r\n\r\n", b":::\r\n\r\n", os.urandom(4096),
    b"Subject: =?utf-8?b?" + b"A" * 10000, b"Date: 99 Dec 99999 99:99:99 +9999\r\n\r\n",
    b"Content-Type: multipart/mixed; boundary=\r\n\r\n--\r\n", b"\n" * 100,
    "Subject: \udcff".encode("utf-8", "surrogatepass"),
])
def test_malformed_input_never_raises(raw):
    h = parse_headers(raw)
    assert list(h) == list(FIELDS)


def test_not_bytes_but_buffers():
    data = b"Subject: hi\r\n\r\n"
    assert parse_headers(bytearray(data))["subject"] == "hi"
    assert parse_headers(memoryview(data))["subject"] == "hi"
    assert parse_headers(None) == dict.fromkeys(FIELDS)


def _mixed(parts, boundary="b1"):
    head = ["Subject: x", f'Content-Type: multipart/mixed; boundary="{boundary}"']
    body = "preamble\r\n"
    for ph, content in parts:
        body += f"--{boundary}\r\n" + "\r\n".join(ph) + "\r\n\r\n" + content + "\r\n"
    return msg(head, body + f"--{boundary}--\r\n")


@pytest.mark.parametrize("raw, expected", [
    (_mixed([(["Content-Type: text/plain"], "hi"),
             (["Content-Type: application/pdf; name=a.pdf",
               "Content-Disposition: attachment; filename=a.pdf"], "JVBERi0=")]), True),
    (_mixed([(["Content-Type: text/plain"], "hi"), (["Content-Type: image/png"], "iVBO")]), True),
    (_mixed([(["Content-Type: text/plain"], "hi"),
             (["Content-Type: text/plain", "Content-Disposition: attachment; filename=n.txt"],
              "note")]), True),
    (_mixed([(["Content-Type: text/plain"], "hi"), (["Content-Type: message/rfc822"], "X: y")]),
     True),
    (_mixed([(["Content-Type: text/plain"], "hi"), (["Content-Type: text/html"], "<p>")]), False),
    (_mixed([(['Content-Type: multipart/alternative; boundary="in"'],
              "--in\r\nContent-Type: text/plain\r\n\r\nx\r\n--in--")]), False),
    (msg(['Content-Type: multipart/alternative; boundary="b"'],
         "--b\r\nContent-Type: image/png\r\n\r\nx\r\n--b--\r\n"), False),
    (msg(["Content-Type: application/pdf"], "JVBERi0="), True),
    (msg(["Content-Type: text/plain", "Content-Disposition: attachment"], "x"), True),
    (msg(["Subject: no content type"], "x"), False),
    (msg(["Content-Type: multipart/mixed"], "no boundary"), False),
    # A boundary-like line inside a part's text is not a delimiter unless it starts a line.
    (_mixed([(["Content-Type: text/plain"], "see x--b1 here")]), False),
])
def test_has_attachments(raw, expected):
    assert parse_headers(raw)["has_attachments"] is expected


def test_agrees_with_email_package_on_generated_mail(tmp_path):
    samples.generate(tmp_path / "s", messages=150, seed=3)
    files = sorted((tmp_path / "s" / "store" / "mail").rglob("*.eml"))
    assert len(files) > 100
    attachments = 0
    for path in files:
        raw = path.read_bytes()
        h = parse_headers(raw)
        m = email.message_from_bytes(raw, policy=email.policy.default)
        assert h["message_id"] == m["message-id"].strip()
        assert h["subject"] == str(m["subject"])
        assert h["from"] == str(m["from"])
        assert h["to"] == str(m["to"])
        assert h["cc"] == (" ".join(str(m["cc"]).split()) if m["cc"] else None)
        assert h["date"] == int(parsedate_to_datetime(m["date"]).timestamp())
        expected = m.is_multipart() and any(True for _ in m.iter_attachments())
        assert h["has_attachments"] is expected
        attachments += expected
    assert attachments > 0
