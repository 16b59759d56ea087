"""parse_headers: the headers indexed at backup time, checked against the email package."""

import base64
import email
import email.policy
import os
import shutil
import subprocess
from calendar import timegm
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

import workbench
from workbench import samples
from workbench.headers import FIELDS, normalize_message_id, parse_date, parse_headers


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
        "date_raw": "Fri, 24 Jul 2026 14:58:18 +0200", "has_attachments": False,
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
    assert parse_headers(b"Message-Id: a@b (comment)\r\n\r\n")["message_id"] == "<a@b>"
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


# ---------------------------------------------------------------------------------------------
# Mail as it really is: 8-bit headers, charsets, folds, obsolete syntax


def test_eudora_raw_8bit_inside_an_encoded_word():
    # Eudora 4 wrote the Latin-1 byte itself into a Q word: read in the word's charset.
    raw = b"Subject: =?iso-8859-1?Q?Die_Hasen_und_die_Fr\xf6sche?=\r\n\r\n"
    assert parse_headers(raw)["subject"] == "Die Hasen und die Frösche"
    raw = "Subject: =?utf-8?Q?Die_Hasen_und_die_Frösche?=\r\n\r\n".encode()
    assert parse_headers(raw)["subject"] == "Die Hasen und die Frösche"


def test_one_8bit_header_leaves_the_utf8_ones_alone():
    raw = ("From: Юникод <u@example.ru>\r\nTo: Šárka <s@example.cz>\r\n".encode()
           + b"Subject: caf\xe9 cr\xe8me\r\n\r\n")
    h = parse_headers(raw)
    assert h["from"] == "Юникод <u@example.ru>"
    assert h["to"] == "Šárka <s@example.cz>"
    assert h["subject"] == "café crème"


@pytest.mark.parametrize("head, expected", [
    # The charset of the message's Content-Type (quoted, folded, any case) ...
    ([b"Content-Type: text/plain;\r\n\tcharset=\"ISO-8859-2\"", "Subject: Zažluťoučký kůň"
      .encode("iso-8859-2")], "Zažluťoučký kůň"),
    ([b"Content-Type: text/plain; charset=koi8-r", "Subject: Протокол".encode("koi8-r")],
     "Протокол"),
    ([b"Content-Type: text/plain; charset=gb2312", "Subject: 镕金工艺".encode("gbk")], "镕金工艺"),
    ([b"Content-Type: text/plain; charset=shift_jis", "Subject: 会議のお知らせ".encode("cp932")],
     "会議のお知らせ"),
    # ... unless the bytes do not fit it (a body declared UTF-8, a header in Latin-1).
    ([b"Content-Type: text/plain; charset=utf-8", b"Subject: Gr\xfc\xdfe"], "Grüße"),
    ([b"Content-Type: text/plain; charset=us-ascii", b"Subject: Gr\xfc\xdfe"], "Grüße"),
    # An encoded word's charset covers the raw text beside it.
    ([b"Subject: =?iso-8859-2?Q?=A9koda?= a \xb9koda"], "Škoda a škoda"),
    # Nothing declared: windows-1252 (curly quotes, euro sign, its holes as Latin-1) ...
    ([b"Subject: \x93Quoted\x94 \x96 \x80 5 and \x81"], "“Quoted” – € 5 and \x81"),
    ([b"Subject: \xc9T\xc9 \xc0 PARIS"], "ÉTÉ À PARIS"),
    ([b"Subject: Gr\xfc\xdfe aus M\xfcnchen"], "Grüße aus München"),
    # ... or windows-1251 / KOI8-R when the bytes are plainly Russian.
    (["Subject: Привет, как дела?".encode("cp1251")], "Привет, как дела?"),
    (["Subject: Привет, как дела?".encode("koi8-r")], "Привет, как дела?"),
    (["Subject: СКИДКИ НА ВСЁ".encode("cp1251")], "СКИДКИ НА ВСЁ"),
    (["Subject: СКИДКИ НА ВСЁ".encode("koi8-r")], "СКИДКИ НА ВСЁ"),
    (["From: Иван Петров <ivan@example.ru>".encode("cp1251")], "Иван Петров <ivan@example.ru>"),
    # UTF-8 with one stray byte keeps its UTF-8 text.
    (["Subject: Příliš žluťoučký kůň".encode() + b" \xe9"], "Příliš žluťoučký kůň é"),
    # Raw 7-bit ISO-2022-JP.
    ([b"Subject: " + "会議の件".encode("iso-2022-jp")], "会議の件"),
])
def test_raw_8bit_headers_read_in_the_charset_that_fits(head, expected):
    h = parse_headers(b"\r\n".join(head) + b"\r\n\r\n")
    assert (h["subject"] or h["from"]) == expected


@pytest.mark.parametrize("text, charset", [
    ("Grüße aus München", "cp1252"), ("Ça coûte très cher à Noël", "cp1252"),
    ("È già lì, perché?", "cp1252"), ("Élève été à côté", "cp1252"),
    ("Año Niño España", "cp1252"), ("Größe süß", "cp1252"), ("Þórður", "cp1252"),
    ("ÀÉÎÕÜ", "cp1252"), ("Zażółć gęślą jaźń", "cp1250"), ("Příliš žluťoučký", "iso-8859-2"),
    ("您好，请查收附件", "gbk"), ("見積書を送付します", "shift_jis"), ("안녕하세요 회의", "euc-kr"),
])
def test_undeclared_8bit_text_is_taken_for_cyrillic_only_when_it_is(text, charset):
    # Central European and CJK bytes without a charset cannot be told apart cheaply: they are
    # read as windows-1252 (every byte visible), never as Cyrillic.
    data = text.encode(charset)
    assert parse_headers(b"Subject: " + data + b"\r\n\r\n")["subject"] == windows_1252(data)


def windows_1252(data):
    """windows-1252 as WHATWG reads it: the five undefined bytes as Latin-1."""
    return "".join(chr(b) if b in (0x81, 0x8D, 0x8F, 0x90, 0x9D) else bytes([b]).decode("cp1252")
                   for b in data)


def _b(text, charset):
    return f"=?{charset}?B?{base64.b64encode(text.encode(charset)).decode()}?="


@pytest.mark.parametrize("word, expected", [
    # Labels read as WHATWG and mail clients read them: Outlook's quotes in "iso-8859-1".
    ("=?iso-8859-1?Q?=93Hello=94_=96_Outlook?=", "“Hello” – Outlook"),
    ("=?us-ascii?Q?na=EFve?=", "naïve"),
    (_b("镕金", "gbk").replace("gbk", "gb2312"), "镕金"),
    (_b("견적서 보내드립니다", "cp949").replace("cp949", "ks_c_5601-1987"), "견적서 보내드립니다"),
    (_b("会議のお知らせ", "cp932").replace("cp932", "shift_jis"), "会議のお知らせ"),
    ("=?latin1?q?Espa=F1a?=", "España"),
    ("=?utf-8*cs?q?P=C5=99=C3=ADloha?=", "Příloha"),
    # Unknown or unsafe labels are guessed from the bytes.
    ("=?x-unknown?Q?caf=E9?=", "café"),
    ("=?unknown-8bit?Q?Gr=FC=DFe?=", "Grüße"),
    ("=??q?abc?=", "abc"),
    ("=?punycode?q?abc-def?=", "abc-def"),
    ("=?unicode-escape?q?=5Cu0041?=", "\\u0041"),
    # Base64 without padding, or one character too many.
    ("=?utf-8?B?xaBrb2Rh?= =?utf-8?B?IGF1dG8?=", "Škoda auto"),
    ("=?utf-8?B?xaBrb2RhIGF1dG8?=", "Škoda auto"),
    ("=?utf-8?B?w4l0YXQgZGVzIGxpZXV4e?=", "État des lieux"),
    # A character cut between two words, and ISO-2022-JP's state carried into the next word.
    ("=?utf-8?q?Ko=C5?=\r\n =?utf-8?q?=99en?=", "Kořen"),
    ("=?ISO-2022-JP?B?GyRCRnxLXDhsJE4=?=\r\n =?ISO-2022-JP?B?N29MPhsoQg==?=", "日本語の件名"),
    # Spaces inside a Q word (broken encoders), line breaks and runs of spaces decoded.
    ("=?iso-8859-1?q?=C0 la carte?=", "À la carte"),
    ("=?utf-8?B?bGluZSBvbmUNCmxpbmUgdHdv?=", "line one line two"),
    ("=?utf-8?q?a__b_?= c", "a b c"),
    ("=?utf-8?q??= empty word", "empty word"),
    # UTF-7 can decode to lone surrogates: they become U+FFFD.
    ("=?utf-7?q?+2D0-x?=", "\ufffdx"),
])
def test_encoded_words_as_clients_read_them(word, expected):
    assert parse_headers(f"Subject: {word}\r\n\r\n".encode())["subject"] == expected


def test_folded_date_keeps_its_zone():
    h = parse_headers(b"Date: Sat, 22 Nov 2008 15:04:59\r\n +1100\r\n\r\n")
    assert h["date"] == timegm((2008, 11, 22, 4, 4, 59))
    assert h["date_raw"] == "Sat, 22 Nov 2008 15:04:59 +1100"
    h = parse_headers(b"Date: Sat,\n 22 Nov 2008\n\t15:04:59 -0800\n\n")
    assert h["date"] == timegm((2008, 11, 22, 23, 4, 59))


def test_obsolete_whitespace_before_the_colon():
    h = parse_headers(b"Subject : obsolete\r\nFrom\t: A <a@example.com>\r\nDate  : "
                      b"Sat, 22 Nov 2008 15:04:59 +0100\r\nMessage-ID : <x@y>\r\n\r\n")
    assert h["subject"] == "obsolete" and h["from"] == "A <a@example.com>"
    assert h["date"] == timegm((2008, 11, 22, 14, 4, 59)) and h["message_id"] == "<x@y>"


@pytest.mark.parametrize("text", [
    "Mon, 30 Jun 3609 15:33:50 +0600", "Mon, 01 Jan 1601 00:00:00 +0000",
    "Tue, 21 Sep 1677 00:12:43 +0000", "Fri, 11 Apr 2262 23:47:17 +0000",
    "Fri, 31 Dec 9999 23:59:59 -1200", "Mon, 01 Jan 0001 00:00:00 +0000",
    "Tue, 14 Mar 2023 10:00:00 +0199", "yesterday", "2023-03-14T10:00:00Z",
])
def test_dates_pandas_cannot_hold_or_nobody_can_read_are_none_with_their_text(text):
    h = parse_headers(f"Date: {text}\r\n\r\n".encode())
    assert h["date"] is None and h["date_raw"] == text


def test_dates_at_the_edges_of_pandas():
    import pandas as pd
    for text in ("Fri, 11 Apr 2262 23:47:16 +0000", "Tue, 21 Sep 1677 00:12:44 +0000"):
        seconds = parse_date(text)
        assert pd.Timestamp(seconds, unit="s", tz="UTC").strftime("%d %b %Y %H:%M:%S") == \
            text[5:25]


@pytest.mark.parametrize("text, expected", [
    ("Thu, 05 Jul 2001 12:00:00 +05:30", (2001, 7, 5, 6, 30, 0)),
    ("Sat, 01 Jan 100 12:00:00 +0000", (2000, 1, 1, 12, 0, 0)),
    ("Mon, 15 Oct 107 08:30:00 +0200", (2007, 10, 15, 6, 30, 0)),
    ("Fri, 01 Jan 60 00:00:01 +0000", (1960, 1, 1, 0, 0, 1)),
    ("Tue, 14 Mar. 2023 10:00:00 +0100", (2023, 3, 14, 9, 0, 0)),
    ("Tue Mar 14 10:00:00 2023", (2023, 3, 14, 10, 0, 0)),
    ("Wed, 31 Dec 1969 23:59:59 +0000", (1969, 12, 31, 23, 59, 59)),
    ("Mon, 01 Jan 1900 00:00:00 +0000", (1900, 1, 1, 0, 0, 0)),
    ("Thu, 29 Feb 2024 12:00:00 +0000", (2024, 2, 29, 12, 0, 0)),
])
def test_more_dates(text, expected):
    assert parse_date(text) == timegm(expected)


def test_date_raw_is_the_unfolded_text_or_none():
    assert parse_headers(b"Subject: x\r\n\r\n")["date_raw"] is None
    assert parse_headers(b"Date:   \r\n\r\n")["date_raw"] is None
    assert parse_headers(b"Date:  Tue,  14 Mar\r\n\t2023 10:00  \r\n\r\n")["date_raw"] == \
        "Tue, 14 Mar 2023 10:00"
    assert parse_headers(b"Date: Mo, 13 M\xe4r 2023\r\n\r\n")["date_raw"] == "Mo, 13 Mär 2023"


@pytest.mark.parametrize("value, expected", [
    ("<a@b>", "<a@b>"), (" <a@b> ", "<a@b>"), ("a@b", "<a@b>"), ("<a@b", "<a@b>"),
    ("a@b (comment)", "<a@b>"), ("(comment) a@b", "<a@b>"), ("<a@b> (relay)", "<a@b>"),
    ("<a@b> <c@d>", "<a@b>"), ("<a \r\n @b>", "<a@b>"), ("<<a@b>>", "<a@b>"),
    ("<>", None), ("< >", None), ("", None), ("   ", None), (None, None), ("()", None),
])
def test_normalize_message_id(value, expected):
    assert normalize_message_id(value) == expected


def test_first_message_id_counts_even_when_empty():
    assert parse_headers(b"Message-ID: <1@x>\r\nMessage-ID: <2@x>\r\n\r\n")["message_id"] == "<1@x>"
    assert parse_headers(b"Message-ID: <>\r\nMessage-ID: <2@x>\r\n\r\n")["message_id"] is None


@pytest.mark.parametrize("raw, subject", [
    (b"Subject: old mac\rFrom: a@b\r\rbody\rSubject: no\r", "old mac"),
    (b"Subject: one\rtwo\r\nFrom: a@b\r\n\r\n", "one two"),
    (b"\r\nSubject: body, not a header\r\n", None),
    (b"\nSubject: body\n", None),
    (b"Subject: lf\nFrom: a@b\r\n\r\nSubject: no\r\n", "lf"),
])
def test_line_ends(raw, subject):
    assert parse_headers(raw)["subject"] == subject


def test_header_block_of_200_kb_is_read_to_its_end():
    received = b"".join(b"Received: from relay%d.example.net by relay.example.net;\r\n"
                        b"\tTue, 14 Mar 2023 10:00:00 +0100\r\n" % i for i in range(2200))
    assert 200_000 < len(received) < 256 * 1024 - 100
    h = parse_headers(received + b"Subject: late\r\nMessage-ID: <late@x>\r\n\r\nbody")
    assert h["subject"] == "late" and h["message_id"] == "<late@x>"


def test_days_is_calendar_timegm():
    from workbench.headers import _days

    @given(st.dates())
    @settings(database=None, deadline=None, max_examples=500)
    def check(d):
        assert _days(d.year, d.month, d.day) * 86400 == timegm((d.year, d.month, d.day, 0, 0, 0))

    check()


# ---------------------------------------------------------------------------------------------
# One form of Message-ID from the header to the index, restore and the catalog

ODD_IDS = {  # header value -> ways a user types the id
    "odd.1@example.com (added by relay)": ["odd.1@example.com", "<odd.1@example.com>"],
    "<odd.2@example.com> (comment)": [" <odd.2@example.com> ", "odd.2@example.com"],
    "\r\n <odd.3@example.com>": ["<odd.3@example.com>"],
    "<odd 4@example.com>": ["<odd4@example.com>", "odd 4@example.com"],
}


def _odd_store(root):
    samples.generate(root, messages=12, seed=5)
    folder = sorted(p.parent for p in Path(root, "store", "mail").rglob("*.eml"))[0]
    paths = {}
    for i, header in enumerate(ODD_IDS):
        path = folder / f"0000ff{i:02x}.eml"
        path.write_bytes(f"Message-ID: {header}\r\nSubject: odd {i}\r\n\r\nBody\r\n".encode())
        paths[header] = path.relative_to(root).as_posix()
    return paths


def test_one_message_id_form_in_index_restore_and_catalog(tmp_path):
    from workbench import catalog

    paths = _odd_store(tmp_path / "server")
    target = str(tmp_path / "bk")
    workbench.backup("full", store=str(tmp_path / "server"), target=target, min_free=0)
    for header, typed in ODD_IDS.items():
        for mid in typed:
            plan = workbench.plan_restore(str(tmp_path / "out"), message_ids=[mid], target=target)
            assert [e.path for e in plan.entries] == [paths[header]], mid
            found = catalog.find_messages(target, message_id=mid)
            assert list(found["path"]) == [paths[header]], mid


@pytest.mark.skipif(shutil.which("zip") is None, reason="Info-ZIP zip is not installed")
def test_one_message_id_form_in_a_kerio_set(tmp_path):
    # A set Kerio wrote (no manifest, no index): restore reads each message's header instead.
    paths = _odd_store(tmp_path / "server")
    target = tmp_path / "bk"
    target.mkdir()
    subprocess.run(["zip", "-q", "-r", str(target / "F20261101T010000Z.zip"), "store"],
                   cwd=tmp_path / "server", check=True)
    for header, typed in ODD_IDS.items():
        for mid in typed:
            plan = workbench.plan_restore(str(tmp_path / "out"), message_ids=[mid],
                                          target=str(target))
            assert [e.path for e in plan.entries] == [paths[header]], mid
