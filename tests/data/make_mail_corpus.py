"""Write the mail corpus under tests/data/mail/: the header shapes of twenty years of real mail.

Run ``python tests/data/make_mail_corpus.py`` (or give another directory) to rewrite it;
tests/test_headers.py checks that the committed files are exactly what this script writes.

Every message is written here, by hand or by the small encoders below; none is copied from
anywhere. The shapes are those mail clients, servers and spammers produce: encoded words in
many charsets (Q and B, split across folds, split inside a character, malformed), raw 8-bit
headers (UTF-8, declared and undeclared legacy charsets, Eudora's 8-bit bytes inside encoded
words), folded and obsolete dates, missing and duplicated Message-IDs, CRLF/LF/CR line ends,
NUL bytes, empty files, a 200 KB header block, bounces (multipart/report), Outlook Express and
Eudora messages, and spam-like junk. The whole corpus stays well under 1 MB.
"""

import base64
import hashlib
import sys
from pathlib import Path

CRLF = b"\r\n"


# ---------------------------------------------------------------------------------------------
# Encoders, written the way mail clients write (not the email package)


def qword(text, charset, upper=True):
    """One RFC 2047 Q encoded word."""
    out = []
    for byte in text.encode(charset):
        c = chr(byte)
        if c == " ":
            out.append("_")
        elif c.isascii() and (c.isalnum() or c in "!*+-/"):
            out.append(c)
        else:
            out.append(f"={byte:02X}")
    return f"=?{charset.upper() if upper else charset}?Q?{''.join(out)}?="


def bword(data, charset, pad=True):
    """One RFC 2047 B encoded word of *data* (str, or bytes already in *charset*); some
    encoders leave out the base64 padding."""
    if isinstance(data, str):
        data = data.encode(charset)
    payload = base64.b64encode(data).decode()
    return f"=?{charset}?B?{payload if pad else payload.rstrip('=')}?="


def bwords(text, charset, chars=12):
    """Base64 words of at most *chars* characters each, cut on character boundaries (as
    careful encoders do), folded one per line."""
    parts = [text[i:i + chars] for i in range(0, len(text), chars)]
    return "\r\n ".join(bword(p, charset) for p in parts)


def msg(*headers, body="Hello.\r\n", nl=CRLF):
    """A message from header lines (str as UTF-8, or bytes as they are) and a body."""
    lines = [h.encode("utf-8") if isinstance(h, str) else h for h in headers]
    if nl != CRLF:
        lines = [line.replace(CRLF, nl) for line in lines]
    data = body.encode("utf-8") if isinstance(body, str) else body
    if nl != CRLF:
        data = data.replace(CRLF, nl)
    return nl.join(lines) + nl + nl + data


def std(n, subject=None, frm=None, to=None, date=None, mid=None, extra=()):
    """Ordinary headers of message *n* (str lines), with any of them replaced."""
    return [
        f"Return-Path: <sender{n}@example.com>",
        f"Received: from mail.example.com (mail.example.com [192.0.2.{n % 250 + 1}])\r\n"
        f"\tby mx.example.org (Kerio Connect 9.4.2) with ESMTPS id {n:08X}\r\n"
        f"\tfor <user@example.org>; Tue, 14 Mar 2023 10:{n % 60:02d}:07 +0100",
        mid if mid is not None else f"Message-ID: <{n:06d}.corpus@example.com>",
        date if date is not None else f"Date: Tue, 14 Mar 2023 10:{n % 60:02d}:01 +0100",
        frm if frm is not None else f"From: Sender {n} <sender{n}@example.com>",
        to if to is not None else "To: User <user@example.org>",
        subject if subject is not None else f"Subject: Corpus message {n}",
        "MIME-Version: 1.0",
        *extra,
    ]


TEXT = 'Content-Type: text/plain; charset="utf-8"'


def text_type(charset):
    return f"Content-Type: text/plain; charset={charset}"


# ---------------------------------------------------------------------------------------------
# Charsets: one phrase each, in the script it was made for

PHRASES = [
    ("iso-8859-1", "Réunion de décembre à Zürich"),
    ("iso-8859-2", "Přijaté faktury za říjen"),
    ("iso-8859-15", "Facture de 250 € déjà payée"),
    ("windows-1250", "Účtenka – Kučera, Dvořák"),
    ("windows-1251", "Счёт на оплату №17"),
    ("windows-1252", "“Quarterly” report – final"),
    ("koi8-r", "Отчёт о продажах за квартал"),
    ("utf-8", "Юникод: 日本語, Ελληνικά 📎"),
    ("gb2312", "会议通知：下周一上午"),
    ("gbk", "镕金工艺报价单"),
    ("big5", "會議記錄：第三季"),
    ("shift_jis", "会議のお知らせ（来週）"),
    ("euc-kr", "회의 안내: 다음 주 월요일"),
    ("iso-2022-jp", "日本語の件名テスト"),
    ("euc-jp", "請求書の送付について"),
    ("iso-8859-7", "Συνάντηση την Τρίτη"),
    ("iso-8859-9", "Toplantı notları: Şubat"),
    ("windows-1257", "Sąskaita faktūra Nr. 5"),
    ("tis-620", "ประชุมวันจันทร์"),
    ("ks_c_5601-1987", "견적서 보내드립니다"),
    ("gb18030", "报价单 — 第二版"),
    ("iso-8859-5", "Протокол собрания"),
    ("utf-7", "Café ☕ at noon"),
]
# Charsets whose bytes can stand raw in a header (ASCII-compatible); the others are 7-bit.
ASCII_COMPATIBLE = {c for c, _ in PHRASES} - {"iso-2022-jp", "utf-7"}


def charsets():
    out = []
    for i, (cs, phrase) in enumerate(PHRASES):
        n = 100 + i * 10
        slug = cs.replace("_", "-")
        out.append((f"ew-q-{slug}-subject.eml", msg(
            *std(n, subject="Subject: " + qword(phrase, cs), extra=[text_type(cs)]))))
        out.append((f"ew-b-{slug}-subject.eml", msg(
            *std(n + 1, subject="Subject: " + bword(phrase, cs), extra=[text_type(cs)]))))
        # A display name in the charset, in a To list with a plain address after it.
        name = phrase.split()[0].strip(":：,")
        out.append((f"ew-b-{slug}-from-to.eml", msg(*std(
            n + 2, frm=f"From: {bword(name, cs)} <a{n}@example.net>",
            to=f"To: {qword(name, cs, upper=False)} <b{n}@example.net>, c{n}@example.net",
            extra=[text_type(cs)]))))
        if cs not in ("iso-2022-jp", "utf-7"):
            # Long subjects come as several words, one per folded line.
            out.append((f"ew-b-{slug}-folded-words.eml", msg(*std(
                n + 3, subject="Subject: Re: " + bwords(phrase + " / " + phrase, cs, 9),
                extra=[text_type(cs)]))))
        if cs in ASCII_COMPATIBLE:
            # Raw 8-bit headers in the charset the body declares (old clients, much spam).
            out.append((f"raw8-declared-{slug}.eml", msg(
                *std(n + 4)[:4],
                b"From: " + name.encode(cs) + b" <r" + str(n).encode() + b"@example.net>",
                "To: User <user@example.org>", b"Subject: " + phrase.encode(cs),
                "MIME-Version: 1.0", text_type(cs), "Content-Transfer-Encoding: 8bit",
                body=phrase.encode(cs) + CRLF)))
    return out


# ---------------------------------------------------------------------------------------------
# Encoded words: the ways they are written, well and badly


def encoded_words():
    cases = {
        # RFC 2047's own shapes: adjacent words, words next to text, words in display names.
        "ew-adjacent-same-charset": "Subject: =?utf-8?q?Faktura_?= =?utf-8?q?=C4=8D=2E_17?=",
        "ew-adjacent-two-charsets": "Subject: =?iso-8859-1?q?Caf=E9?= =?iso-8859-2?q?_=B9koda?=",
        "ew-word-then-text": "Subject: =?iso-8859-1?q?Andr=E9?= Pirard wrote",
        "ew-text-then-word": "Subject: Re: [list] =?utf-8?b?w5psb2hh?=",
        "ew-lowercase-everything": "Subject: =?utf-8?b?xb5sdcWlb3XEjWvDvQ==?=",
        "ew-mixed-case-charset": "Subject: =?UtF-8?Q?Gr=C3=BC=C3=9Fe?=",
        "ew-rfc2231-language": "Subject: =?utf-8*cs?q?P=C5=99=C3=ADloha?=",
        "ew-empty-payload": "Subject: =?utf-8?q??= empty word",
        "ew-underscore-and-equals": "Subject: =?utf-8?q?a=5Fb_c=3Dd?=",
        "ew-no-space-before": "Subject: Re:=?utf-8?q?Odpov=C4=9B=C4=8F?=",
        "ew-no-space-between": "Subject: =?utf-8?q?jedna?==?utf-8?q?dva?=",
        "ew-in-quoted-name": 'From: "=?iso-8859-1?Q?Ren=E9_Dupr=E9?=" <rene@example.fr>',
        "ew-name-with-comma": "From: =?utf-8?q?Nov=C3=A1k=2C_Jan?= <jan@example.cz>",
        "ew-quoted-name-comma": 'From: "Novák, Jan" <jan@example.cz>',
        "ew-many-recipients": "To: " + ",\r\n\t".join(
            f"{qword(n, 'utf-8')} <{a}@example.cz>" for n, a in
            (("Jiří", "jiri"), ("Šárka", "sarka"), ("Ondřej", "ondrej"), ("Žaneta", "zaneta"))),
        "ew-cc-group": "Cc: Team: =?utf-8?q?Lucie_?= <lucie@example.cz>, eva@example.cz;",
        "ew-undisclosed": "To: undisclosed-recipients:;",
        "ew-base64-no-padding": "Subject: " + bword("Škoda auto", "utf-8", pad=False),
        "ew-base64-two-unpadded": "Subject: " + " ".join(
            bword(w, "utf-8", pad=False) for w in ("Škoda", "auto", "Octavia")),
        "ew-base64-bad-length": "Subject: =?utf-8?B?w4l0YXQgZGVzIGxpZXV4e?=",
        "ew-base64-garbage": "Subject: =?utf-8?B?!!!***?= stays",
        "ew-q-bad-escape": "Subject: =?iso-8859-1?Q?100=ZZ_sure?=",
        "ew-q-invalid-utf8": "Subject: =?utf-8?Q?na=EFve?=",
        "ew-unknown-charset": "Subject: =?x-unknown?Q?caf=E9?=",
        "ew-unknown-8bit": "Subject: =?unknown-8bit?Q?Gr=FC=DFe?=",
        "ew-us-ascii-8bit": "Subject: =?us-ascii?Q?na=EFve_caf=E9?=",
        "ew-iso-8859-1-curly-quotes": "Subject: =?iso-8859-1?Q?=93Hello=94_=96_Outlook?=",
        "ew-unknown-encoding-letter": "Subject: =?utf-8?X?abc?= kept",
        "ew-missing-end": "Subject: =?utf-8?q?never_closed",
        "ew-missing-charset": "Subject: =??q?abc?= kept",
        "ew-spaces-inside-q": "Subject: =?iso-8859-1?q?=C0 la carte?=",
        "ew-question-in-text": "Subject: Was ist =?utf-8?q?gr=C3=BCn=3F?= Wer?",
        "ew-long-word": "Subject: " + bword("Dlouhý předmět " * 12, "utf-8"),
        "ew-many-words": "Subject: " + "\r\n ".join(
            qword(w, "utf-8") for w in "Věc: objednávka číslo 4711 ze dne 3. března".split()),
        "ew-split-utf8-char": "Subject: =?utf-8?b?xA==?= =?utf-8?b?jWVza8Oh?=",
        "ew-split-utf8-char-q": "Subject: =?utf-8?q?Ko=C5?=\r\n =?utf-8?q?=99en?=",
        "ew-split-across-fold": "Subject: =?utf-8?Q?P=C5=99ipom?=\r\n =?utf-8?Q?=C3=ADnka?=",
        "ew-broken-by-fold": "Subject: =?utf-8?Q?Rozbit=C3=A9\r\n _slovo?=",
        "ew-iso2022jp-split-state": "Subject: " + _jis_split_state(),
        "ew-in-message-id": "Message-ID: <=?utf-8?q?x?=.1@example.com>",
        "ew-in-date": "Date: =?utf-8?q?Tue=2C_14_Mar_2023_10=3A00=3A00_+0100?=",
        "ew-tab-between-words": "Subject: =?utf-8?q?jedna?=\t=?utf-8?q?_dva?=",
        "ew-linebreak-inside": "Subject: " + bword("line one\r\nline two", "utf-8"),
        "ew-nul-inside": "Subject: " + bword("before\x00after", "utf-8"),
        "ew-emoji": "Subject: " + bword("Dovolená 🏖️ je tady", "utf-8"),
        "ew-utf8-upper-label": "Subject: =?UTF8?Q?P=C5=99=C3=ADloha?=",
        "ew-latin1-label": "Subject: =?latin1?q?Espa=F1a?=",
    }
    out = []
    for i, (name, header) in enumerate(cases.items()):
        n = 400 + i
        key = header.split(":", 1)[0].lower()
        over = {"subject": "subject", "from": "frm", "to": "to", "message-id": "mid",
                "date": "date"}.get(key)
        if over is None:  # Cc: added to the ordinary headers
            out.append((name + ".eml", msg(*std(n, extra=[header, TEXT]))))
        else:
            out.append((name + ".eml", msg(*std(n, **{over: header}, extra=[TEXT]))))
    return out


def _jis_split_state():
    """Two ISO-2022-JP words where the first ends inside the double-byte state (a real
    encoder bug): only joining the bytes before decoding reads them."""
    data = "日本語の件名".encode("iso-2022-jp")
    cut = data.index(b"\x1b(B") if b"\x1b(B" in data else len(data) // 2
    head, tail = data[:cut - 4], data[cut - 4:]
    return bword(head, "ISO-2022-JP") + "\r\n " + bword(tail, "ISO-2022-JP")


# ---------------------------------------------------------------------------------------------
# Raw 8-bit headers


def raw_8bit():
    latin = "Grüße aus Köln".encode("latin-1")
    cases = {
        "raw8-utf8-subject": ["Subject: Přijaté faktury – říjen".encode()],
        "raw8-utf8-from-to": ["From: Jan Novák <jan@example.cz>".encode(),
                              "To: Šárka Černá <sarka@example.cz>, Žofie <z@example.cz>".encode()],
        "raw8-latin1-undeclared": [b"Subject: " + latin,
                                   b"From: J\xfcrgen M\xfcller <jm@example.de>"],
        "raw8-cp1252-quotes": [b"Subject: \x93Smart quotes\x94 \x96 and \x80 signs"],
        "raw8-cp1252-holes": [b"Subject: odd \x81 and \x8d bytes"],
        "raw8-utf8-and-latin1-headers": ["From: Юникод <u@example.ru>".encode(),
                                         b"Subject: caf\xe9 cr\xe8me"],
        "raw8-utf8-with-stray-byte": ["Subject: Příliš žluťoučký kůň".encode() + b" \xe9"],
        "raw8-truncated-utf8": ["Subject: Zkrácený text č".encode()[:-1]],
        "raw8-cp1251-undeclared": ["Subject: Привет, как дела?".encode("cp1251"),
                                   "From: Иван Петров <ivan@example.ru>".encode("cp1251")],
        "raw8-koi8r-undeclared": ["Subject: Коммерческое предложение".encode("koi8-r")],
        "raw8-cp1251-caps-spam": ["Subject: СКИДКИ НА ВСЁ ДО 70%".encode("cp1251")],
        "raw8-koi8r-caps-spam": ["Subject: ПРОДАМ ГАРАЖ НЕДОРОГО".encode("koi8-r")],
        "raw8-gbk-undeclared": ["Subject: 您好，请查收附件".encode("gbk")],
        "raw8-sjis-undeclared": ["Subject: 見積書を送付します".encode("shift_jis")],
        "raw8-cp1250-undeclared": ["Subject: Příliš žluťoučký kůň".encode("cp1250")],
        "raw8-western-caps": ["Subject: ÉTÉ À PARIS".encode("latin-1")],
        "raw8-in-encoded-word-eudora": [
            b"Subject: =?iso-8859-1?Q?Die_Hasen_und_die_Fr\xf6sche?="],
        "raw8-in-encoded-word-utf8": ["Subject: =?utf-8?Q?Die_Hasen_und_die_Frösche?=".encode()],
        "raw8-word-and-raw-text": [b"Subject: =?iso-8859-2?Q?=A9koda?= a \xb9koda"],
        "raw8-iso2022jp-raw": [b"Subject: " + "会議の件".encode("iso-2022-jp")],
        "raw8-utf8-message-id": ["Message-ID: <čaj.1@example.cz>".encode()],
        "raw8-latin1-message-id": [b"Message-ID: <caf\xe9.2@example.fr>"],
        "raw8-latin1-date": [b"Date: Mo, 13 M\xe4r 2023 10:00:00 +0100"],
        "raw8-utf8-bom-name": ["From: \ufeffBOM Name <bom@example.com>".encode()],
        "raw8-nbsp-subject": ["Subject: Faktura\u00a0č.\u00a05".encode()],
        "raw8-c1-controls": [b"Subject: ctl \x85 and \x9f"],
        "raw8-ff-bytes": [b"Subject: \xff\xfe\xfd junk"],
    }
    out = []
    for i, (name, lines) in enumerate(cases.items()):
        n = 500 + i
        keys = {line.split(b":", 1)[0].lower() for line in lines}
        base = [h for h in std(n) if h.split(":", 1)[0].lower().encode() not in keys]
        out.append((name + ".eml", msg(*base, *lines)))
    # The body's charset decides for raw headers that declare none.
    out.append(("raw8-declared-by-body-koi8r.eml", msg(
        *std(590)[:6], "Subject: Протокол".encode("koi8-r"), text_type("koi8-r"))))
    out.append(("raw8-declared-utf8-but-latin1.eml", msg(
        *std(591)[:6], b"Subject: Gr\xfc\xdfe", TEXT)))
    out.append(("raw8-declared-ascii-but-latin1.eml", msg(
        *std(592)[:6], b"Subject: Gr\xfc\xdfe", text_type("us-ascii"))))
    out.append(("raw8-declared-quoted-charset.eml", msg(
        *std(593)[:6], "Subject: Zażółć gęślą jaźń".encode("iso-8859-2"),
        'Content-Type: text/plain;\r\n\tcharset="ISO-8859-2"')))
    return out


# ---------------------------------------------------------------------------------------------
# Dates


def dates():
    cases = {
        "date-rfc5322": "Date: Fri, 21 Nov 1997 09:55:06 -0600",
        "date-folded-before-zone": "Date: Sat, 22 Nov 2008 15:04:59\r\n +1100",
        "date-folded-twice": "Date: Sat,\r\n 22 Nov 2008\r\n\t15:04:59 -0800",
        "date-obs-colon": "Date : Sat, 22 Nov 2008 15:04:59 +0100",
        "date-no-weekday": "Date: 3 Jan 2005 07:08:09 +0000",
        "date-single-digit-hour": "Date: Mon, 1 Jan 2001 9:05:03 +0100",
        "date-no-seconds": "Date: Mon, 15 May 2006 16:20 +0200",
        "date-comment-zone": "Date: Tue, 14 Mar 2023 10:00:00 +0100 (CET)",
        "date-zone-name-est": "Date: Thu, 04 Jan 2001 12:00:00 EST",
        "date-zone-name-pdt": "Date: Thu, 05 Jul 2001 12:00:00 PDT",
        "date-zone-gmt": "Date: Thu, 05 Jul 2001 12:00:00 GMT",
        "date-zone-ut": "Date: Thu, 05 Jul 2001 12:00:00 UT",
        "date-zone-military": "Date: Thu, 05 Jul 2001 12:00:00 Z",
        "date-zone-unknown-name": "Date: Thu, 05 Jul 2001 12:00:00 CEST",
        "date-zone-minus-zero": "Date: Thu, 05 Jul 2001 12:00:00 -0000",
        "date-zone-missing": "Date: Thu, 05 Jul 2001 12:00:00",
        "date-zone-with-colon": "Date: Thu, 05 Jul 2001 12:00:00 +05:30",
        "date-zone-far": "Date: Thu, 05 Jul 2001 12:00:00 +1400",
        "date-two-digit-year-00": "Date: Sat, 01 Jan 00 00:00:01 +0000",
        "date-two-digit-year-49": "Date: Fri, 01 Jan 49 00:00:01 +0000",
        "date-two-digit-year-60": "Date: Fri, 01 Jan 60 00:00:01 +0000",
        "date-two-digit-year-99": "Date: Fri, 31 Dec 99 23:59:59 +0000",
        "date-three-digit-year": "Date: Sat, 01 Jan 100 12:00:00 +0000",
        "date-three-digit-year-107": "Date: Mon, 15 Oct 107 08:30:00 +0200",
        "date-year-3609": "Date: Mon, 30 Jun 3609 15:33:50 +0600",
        "date-year-2262-inside": "Date: Fri, 11 Apr 2262 23:47:16 +0000",
        "date-year-2262-outside": "Date: Fri, 11 Apr 2262 23:47:17 +0000",
        "date-year-1677-outside": "Date: Tue, 21 Sep 1677 00:12:43 +0000",
        "date-year-1601": "Date: Mon, 01 Jan 1601 00:00:00 +0000",
        "date-year-0001": "Date: Mon, 01 Jan 0001 00:00:00 +0000",
        "date-year-9999": "Date: Fri, 31 Dec 9999 23:59:59 -1200",
        "date-epoch-zero": "Date: Thu, 01 Jan 1970 00:00:00 +0000",
        "date-before-epoch": "Date: Wed, 31 Dec 1969 23:59:59 +0000",
        "date-1900": "Date: Mon, 01 Jan 1900 00:00:00 +0000",
        "date-leap-day": "Date: Thu, 29 Feb 2024 12:00:00 +0000",
        "date-not-leap-day": "Date: Thu, 29 Feb 2023 12:00:00 +0000",
        "date-leap-second": "Date: Sat, 31 Dec 2016 23:59:60 +0000",
        "date-day-32": "Date: Mon, 32 Jan 2023 10:00:00 +0000",
        "date-hour-25": "Date: Mon, 02 Jan 2023 25:00:00 +0000",
        "date-full-month": "Date: Tuesday, 14 March 2023 10:00:00 +0100",
        "date-lowercase-month": "Date: tue, 14 mar 2023 10:00:00 +0100",
        "date-dotted-month": "Date: Tue, 14 Mar. 2023 10:00:00 +0100",
        "date-ctime": "Date: Tue Mar 14 10:00:00 2023",
        "date-iso8601": "Date: 2023-03-14T10:00:00Z",
        "date-dotted-european": "Date: 14.03.2023 10:00",
        "date-words": "Date: yesterday",
        "date-empty": "Date:",
        "date-only-spaces": "Date:    ",
        "date-extra-spaces": "Date:   Tue,   14  Mar   2023   10:00:00   +0100  ",
        "date-tab-separated": "Date:\tTue,\t14 Mar 2023\t10:00:00\t+0100",
        "date-garbage-after": "Date: Tue, 14 Mar 2023 10:00:00 +0100 garbage here",
        "date-huge-offset": "Date: Tue, 14 Mar 2023 10:00:00 +9999",
        "date-bad-minutes-offset": "Date: Tue, 14 Mar 2023 10:00:00 +0199",
    }
    out = []
    for i, (name, header) in enumerate(cases.items()):
        out.append((name + ".eml", msg(*std(600 + i, date=header), TEXT)))
    out.append(("date-missing.eml", msg(*[h for h in std(690) if not h.startswith("Date")])))
    out.append(("date-duplicated.eml", msg(*std(691), "Date: Wed, 15 Mar 2023 11:00:00 +0100")))
    out.append(("date-first-empty.eml", msg(*std(692, date="Date:"),
                                            "Date: Wed, 15 Mar 2023 11:00:00 +0100")))
    return out


# ---------------------------------------------------------------------------------------------
# Message-IDs


def message_ids():
    cases = {
        "mid-plain": "Message-ID: <plain.1@example.com>",
        "mid-lowercase-name": "message-id: <lower.2@example.com>",
        "mid-no-brackets": "Message-ID: bare.3@example.com",
        "mid-comment-after": "Message-Id: <comment.4@example.com> (added by relay)",
        "mid-bare-with-comment": "Message-Id: bare.5@example.com (no brackets)",
        "mid-folded": "Message-ID:\r\n <folded.6@example.com>",
        "mid-space-inside": "Message-ID: <space 7@example.com>",
        "mid-folded-inside": "Message-ID: <folded.8.very.long.left.part\r\n @example.com>",
        "mid-empty-brackets": "Message-ID: <>",
        "mid-empty": "Message-ID:",
        "mid-two-ids": "Message-ID: <first.9@example.com> <second.9@example.com>",
        "mid-missing-close": "Message-ID: <open.10@example.com",
        "mid-double-brackets": "Message-ID: <<double.11@example.com>>",
        "mid-outlook-express": "Message-ID: <000e01c3be81$fb6ff6c0$0200a8c0@pcrene>",
        "mid-eudora": "Message-Id: <4.3.2.7.2.20010212091200.00b2e8f0@mail.example.de>",
        "mid-long": "Message-ID: <" + "x" * 900 + "@example.com>",
        "mid-quoted-local": 'Message-ID: <"quoted local".13@example.com>',
        "mid-no-at": "Message-ID: <noat14>",
        "mid-obs-colon": "Message-ID : <obs.15@example.com>",
    }
    out = []
    for i, (name, header) in enumerate(cases.items()):
        out.append((name + ".eml", msg(*std(700 + i, mid=header), TEXT)))
    out.append(("mid-missing.eml", msg(*[h for h in std(790) if not h.startswith("Message-ID")])))
    out.append(("mid-duplicated.eml", msg(*std(791), "Message-ID: <second.791@example.com>")))
    out.append(("mid-duplicated-first-empty.eml", msg(
        *std(792, mid="Message-ID: <>"), "Message-ID: <second.792@example.com>")))
    return out


# ---------------------------------------------------------------------------------------------
# Shapes of the file itself


def shapes():
    base = std(800, extra=[TEXT])
    out = [
        ("shape-crlf.eml", msg(*base)),
        ("shape-lf.eml", msg(*base, nl=b"\n")),
        ("shape-cr-only.eml", msg(*base, body="Old Mac.\r\nSecond line.\r\n", nl=b"\r")),
        ("shape-mixed-crlf-lf.eml", b"\n".join(
            h.encode() for h in base[:4]) + b"\n" + CRLF.join(h.encode() for h in base[4:])
            + CRLF + CRLF + b"Body.\r\n"),
        ("shape-lf-headers-crlf-body.eml", b"\n".join(h.encode().replace(CRLF, b"\n")
                                                      for h in base) + b"\n\r\nBody\r\n"),
        ("shape-stray-cr-in-subject.eml", msg(*std(801, subject="Subject: one\rtwo"))),
        ("shape-nul-in-header.eml", msg(*std(802, subject="Subject: with\x00nul"))),
        ("shape-nul-in-body.eml", msg(*base, body=b"bin\x00ary\x00\r\n")),
        ("shape-nul-bytes-only.eml", b"\x00" * 512),
        ("shape-empty.eml", b""),
        ("shape-only-newlines.eml", b"\r\n\r\n\r\n"),
        ("shape-headers-no-body.eml", CRLF.join(h.encode() for h in base) + CRLF),
        ("shape-no-blank-line-no-newline.eml", CRLF.join(h.encode() for h in base)),
        ("shape-body-only.eml",
         b"\r\nJust a body, no headers at all.\r\nSubject: not a header\r\n"),
        ("shape-leading-mbox-from.eml", msg("From sender800@example.com Tue Mar 14 10:00:07 2023",
                                            *base)),
        ("shape-leading-space-line.eml", msg(" continuation of nothing", *base)),
        ("shape-junk-line-in-headers.eml", msg(*base[:4], "this line has no colon", *base[4:])),
        ("shape-header-no-value.eml", msg(*std(803, subject="Subject:", frm="From:"))),
        ("shape-obs-colon-headers.eml", msg(*std(
            804, subject="Subject : obsolete form", frm="From\t: Obs <obs@example.com>",
            to="To  : Two Spaces <two@example.com>"))),
        ("shape-uppercase-names.eml", msg(*[h.upper() if h.startswith(("Subject", "From"))
                                            else h for h in std(805)])),
        ("shape-tab-folding.eml", msg(*std(806, subject="Subject: folded\r\n\twith\r\n\ttabs"))),
        ("shape-whitespace-line-in-headers.eml", msg(*base[:5], " ", *base[5:])),
        ("shape-utf8-bom-file.eml", b"\xef\xbb\xbf" + msg(*base)),
        ("shape-very-long-line.eml", msg(*std(807, subject="Subject: " + "long " * 400))),
        ("shape-body-looks-like-headers.eml", msg(
            *[h for h in std(808) if not h.startswith(("Subject", "Date"))],
            body="Subject: from the body\r\nDate: Mon, 01 Jan 2001 00:00:00 +0000\r\n")),
        # A relay loop: 200 KB of Received lines before the headers that count.
        ("shape-200kb-header.eml", msg(*_received(1900), *std(809)[2:])),
    ]
    return out


def _received(n):
    """*n* Received lines (a relay loop): about 105 bytes each."""
    return [f"Received: from relay{i}.example.net (relay{i}.example.net [198.51.100.{i % 250}])"
            f"\r\n\tby relay{i + 1}.example.net; Tue, 14 Mar 2023 10:00:00 +0100"
            for i in range(n)]


# ---------------------------------------------------------------------------------------------
# Bounces, receipts and other machine mail


def bounces():
    boundary = "630A242E63.1678780000/mx.example.org"
    original = ("Return-Path: <user@example.org>\r\n"
                "Message-ID: <original.42@example.org>\r\n"
                "Date: Tue, 14 Mar 2023 09:00:00 +0100\r\n"
                "From: User <user@example.org>\r\n"
                "To: nobody@example.invalid\r\n"
                "Subject: The original subject\r\n\r\n"
                "Original text.\r\n")
    report = (f"This is a MIME-encapsulated message.\r\n\r\n--{boundary}\r\n"
              "Content-Description: Notification\r\n"
              "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
              "I'm sorry to have to inform you that your message could not\r\nbe delivered.\r\n\r\n"
              f"--{boundary}\r\nContent-Description: Delivery report\r\n"
              "Content-Type: message/delivery-status\r\n\r\n"
              "Reporting-MTA: dns; mx.example.org\r\n"
              "Arrival-Date: Tue, 14 Mar 2023 09:00:01 +0100\r\n"
              "\r\nFinal-Recipient: rfc822; nobody@example.invalid\r\nAction: failed\r\n"
              "Status: 5.1.1\r\n\r\n"
              f"--{boundary}\r\nContent-Description: Undelivered Message\r\n"
              f"Content-Type: message/rfc822\r\n\r\n{original}\r\n--{boundary}--\r\n")
    out = [
        ("bounce-postfix-dsn.eml", msg(
            "Return-Path: <>", "Date: Tue, 14 Mar 2023 09:00:02 +0100 (CET)",
            "From: MAILER-DAEMON@mx.example.org (Mail Delivery System)",
            "Subject: Undelivered Mail Returned to Sender", "To: user@example.org",
            "Auto-Submitted: auto-replied", "MIME-Version: 1.0",
            f'Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary="{boundary}"',
            "Message-Id: <20230314080002.630A242E63@mx.example.org>", body=report)),
        ("bounce-exchange-ndr.eml", msg(
            "From: Microsoft Outlook\r\n"
            "\t<MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@example.org>",
            "To: <user@example.org>", "Date: Tue, 14 Mar 2023 08:00:03 +0000",
            "Subject: Undeliverable: The original subject",
            f'Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary="{boundary}"',
            "Content-Language: en-US",
            "Message-ID:\r\n"
            " <3c9d2a1f-6f0e-4d0b-9b3e-1c5c2f1e2a3b@DB8PR04MB1234.eurprd04.prod.outlook.com>",
            "In-Reply-To: <original.42@example.org>", "MIME-Version: 1.0",
            "X-MS-Exchange-Message-Is-Ndr:", body=report)),
        ("bounce-qmail-plain.eml", msg(
            "Return-Path: <>", "Date: 14 Mar 2023 08:00:04 -0000",
            "From: MAILER-DAEMON@mail.example.net", "To: user@example.org",
            "Subject: failure notice",
            body="Hi. This is the qmail-send program at mail.example.net.\r\n"
                 "I'm afraid I wasn't able to deliver your message.\r\n\r\n"
                 "--- Below this line is a copy of the message.\r\n\r\n" + original)),
        ("bounce-exim.eml", msg(
            "Return-path: <>", "Envelope-to: user@example.org",
            "Delivery-date: Tue, 14 Mar 2023 09:00:05 +0100",
            "X-Failed-Recipients: nobody@example.invalid", "Auto-Submitted: auto-replied",
            "From: Mail Delivery System <Mailer-Daemon@mx2.example.net>",
            "To: user@example.org", "Content-Type: multipart/report; report-type=delivery-status;"
            f" boundary={boundary}", "MIME-Version: 1.0",
            "Subject: Mail delivery failed: returning message to sender",
            "Message-Id: <E1pc1vF-0004Ux-5B@mx2.example.net>",
            "Date: Tue, 14 Mar 2023 09:00:05 +0100", body=report)),
        ("bounce-sendmail.eml", msg(
            "Return-Path: <MAILER-DAEMON>", "Date: Tue, 14 Mar 2023 09:00:06 +0100",
            "From: Mail Delivery Subsystem <MAILER-DAEMON@old.example.net>",
            "Message-Id: <202303140800.32E806Pq012345@old.example.net>", "To: <user@example.org>",
            "MIME-Version: 1.0", "Content-Type: multipart/report; report-type=delivery-status;\r\n"
            f'\tboundary="{boundary}"', "Subject: Returned mail: see transcript for details",
            "Auto-Submitted: auto-generated (failure)", body=report)),
        ("bounce-kerio.eml", msg(
            "From: postmaster@example.org", "To: user@example.org",
            "Subject: Undeliverable: =?utf-8?q?P=C5=99=C3=ADloha?=",
            "Date: Tue, 14 Mar 2023 09:00:07 +0100", "X-Mailer: Kerio Connect 9.4.2",
            "Message-ID: <kerio-dsn-0001@example.org>", "MIME-Version: 1.0",
            f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"',
            body=report)),
        ("bounce-mdn-receipt.eml", msg(
            "From: Reader <reader@example.org>", "To: user@example.org",
            "Subject: Read: The original subject", "Date: Tue, 14 Mar 2023 11:00:00 +0100",
            "Message-ID: <mdn.1@example.org>", "MIME-Version: 1.0",
            'Content-Type: multipart/report; report-type=disposition-notification;\r\n'
            '\tboundary="mdn"',
            body="--mdn\r\nContent-Type: text/plain\r\n\r\nYour message was read.\r\n"
                 "--mdn\r\nContent-Type: message/disposition-notification\r\n\r\n"
                 "Final-Recipient: rfc822;reader@example.org\r\n"
                 "Original-Message-ID: <original.42@example.org>\r\n"
                 "Disposition: manual-action/MDN-sent-manually; displayed\r\n--mdn--\r\n")),
        ("bounce-vacation-reply.eml", msg(
            "From: Away <away@example.org>", "To: user@example.org",
            "Subject: =?utf-8?q?Automatick=C3=A1_odpov=C4=9B=C4=8F=3A?= The original subject",
            "Auto-Submitted: auto-replied", "Precedence: bulk",
            "Date: Tue, 14 Mar 2023 11:00:01 +0100", "Message-ID: <vacation.1@example.org>")),
        ("bounce-no-headers-in-part.eml", msg(
            "From: MAILER-DAEMON@mx.example.org", "Subject: Delivery failure",
            "Date: Tue, 14 Mar 2023 09:00:08 +0100", "MIME-Version: 1.0",
            'Content-Type: multipart/report; boundary="x"',
            body="--x\r\n\r\nNo part headers.\r\n--x\r\nContent-Type: message/rfc822\r\n\r\n"
                 + original + "--x--\r\n")),
    ]
    return out


# ---------------------------------------------------------------------------------------------
# Mail clients of old


def clients():
    oe = [
        ('From: "=?iso-8859-1?Q?Ren=E9_Dupr=E9?=" <rene@example.fr>', "To: <marie@example.fr>",
         "Subject: =?iso-8859-1?Q?R=E9union_de_d=E9cembre?=",
         "Date: Tue, 9 Dec 2003 18:42:07 +0100"),
        ('From: "Hans" <hans@example.de>', 'To: "Grete" <grete@example.de>',
         "Subject: Re: Termin", "Date: Wed, 2 Jun 2004 7:03:55 +0200"),
        ('From: "=?windows-1251?B?yOLg7SDP5fLw7uI=?=" <ivan@example.ru>',
         "To: <olga@example.ru>", "Subject: =?windows-1251?B?0ffl8iDt4CDu7+vg8vM=?=",
         "Date: Mon, 24 Jan 2005 11:12:13 +0300"),
        ('From: "Ola" <ola@example.pl>', "To: <jan@example.pl>",
         "Subject: =?iso-8859-2?Q?Zaproszenie_na_spotkanie_w_=B6rod=EA?=",
         "Date: Thu, 17 Mar 2005 16:00:00 +0100"),
    ]
    out = []
    for i, (frm, to, subj, date) in enumerate(oe):
        out.append((f"client-outlook-express-{i + 1}.eml", msg(
            frm, to, subj, date, "MIME-Version: 1.0",
            "Content-Type: multipart/alternative;\r\n"
            '\tboundary="----=_NextPart_000_000B_01C3BE8A.6D1C9B40"',
            "X-Priority: 3", "X-MSMail-Priority: Normal",
            "X-Mailer: Microsoft Outlook Express 6.00.2800.1158",
            "X-MimeOLE: Produced By Microsoft MimeOLE V6.00.2800.1165",
            f"Message-ID: <000e01c3be8{i}$fb6ff6c0$0200a8c0@pc{i}>",
            body="This is a multi-part message in MIME format.\r\n\r\n"
                 "------=_NextPart_000_000B_01C3BE8A.6D1C9B40\r\n"
                 'Content-Type: text/plain;\r\n\tcharset="iso-8859-1"\r\n\r\nBonjour\r\n'
                 "------=_NextPart_000_000B_01C3BE8A.6D1C9B40--\r\n")))
    eudora = [
        (b"From: Hans Meier <hans@example.de>",
         b"Subject: =?iso-8859-1?Q?Die_Hasen_und_die_Fr\xf6sche?="),
        (b"From: J\xfcrgen M\xfcller <jm@example.de>", b"Subject: Gr\xfc\xdfe aus K\xf6ln"),
        (b"From: =?iso-8859-1?Q?Andr=E9?= <andre@example.fr>",
         b"Subject: =?iso-8859-1?Q?Ca_co\xfbte_tr\xe8s_cher?="),
        (b"From: Ann Smith <ann@example.com>", b"Subject: Re: \x93the plan\x94"),
    ]
    for i, (frm, subj) in enumerate(eudora):
        out.append((f"client-eudora-{i + 1}.eml", msg(
            b"X-Sender: hans@mail.example.de",
            b"X-Mailer: QUALCOMM Windows Eudora Version 4.3.2",
            f"Date: Mon, {12 + i} Feb 2001 09:14:33 +0100".encode(),
            b"To: fabel@example.de", frm, subj, b"Mime-Version: 1.0",
            b'Content-Type: text/plain; charset="iso-8859-1"; format=flowed',
            b"Content-Transfer-Encoding: 8bit",
            f"Message-Id: <4.3.2.7.2.2001021{i}091200.00b2e8f0@mail.example.de>".encode(),
            body=b"Sehr geehrte Damen und Herren,\r\n\xfcber den Termin ...\r\n")))
    others = {
        "client-netscape4": ["Message-ID: <3A5F2C1B.8E4D1F2A@example.com>",
                             "Date: Fri, 12 Jan 2001 17:05:47 +0100",
                             "From: Karel Novák <karel@example.cz>".encode("iso-8859-2"),
                             "X-Mailer: Mozilla 4.76 [en] (Windows NT 5.0; U)",
                             "X-Accept-Language: en", "MIME-Version: 1.0",
                             "To: Pavel <pavel@example.cz>",
                             "Subject: Nabídka".encode("iso-8859-2"),
                             "Content-Type: text/plain; charset=iso-8859-2"],
        "client-lotus-notes": ["Subject: Quarterly figures", "To: finance@example.com",
                               "From: John.Smith@example.com",
                               "Date: Wed, 6 Apr 2005 10:15:00 -0400",
                               "X-Mailer: Lotus Notes Release 6.5 September 18, 2003",
                               "Message-ID: <OF1A2B3C4D.5E6F7081-ON85256FDB.004E2F3A@example.com>",
                               "X-MIMETrack: Serialize by Router on MAIL01/Example(Release 6.5)"
                               " at\r\n 04/06/2005 10:15:02 AM", "MIME-Version: 1.0"],
        "client-pine": ["Date: Thu, 3 Jul 2003 14:22:11 +0200 (CEST)",
                        "From: Petr Svoboda <petr@example.cz>",
                        "X-X-Sender: petr@unix.example.cz", "To: list@example.cz",
                        "Subject: Re: [list] =?ISO-8859-2?Q?Pozv=E1nka?=",
                        "Message-ID: <Pine.LNX.4.44.0307031420030.1234-100000@unix.example.cz>",
                        "MIME-Version: 1.0",
                        "Content-Type: TEXT/PLAIN; charset=ISO-8859-2"],
        "client-mutt": ["Date: Sun, 7 Sep 2008 21:04:05 +0200",
                        "From: Tomas Dvorak <tomas@example.cz>", "To: Eva <eva@example.cz>",
                        "Subject: =?utf-8?B?UMWZw61sb2hh?=",
                        "Message-ID: <20080907190405.GA1234@example.cz>",
                        "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8",
                        "Content-Disposition: inline", "User-Agent: Mutt/1.5.18 (2008-05-17)"],
        "client-apple-mail": ["From: Lucie <lucie@example.cz>",
                              "Content-Type: text/plain; charset=utf-8",
                              "Content-Transfer-Encoding: quoted-printable",
                              "Mime-Version: 1.0 (Mac OS X Mail 16.0 \\(3731.300.101.1.3\\))",
                              "Subject: =?utf-8?Q?Fotky_z_v=C3=BDletu?=",
                              "Message-Id: <A1B2C3D4-E5F6-4711-8899-AABBCCDDEEFF@example.cz>",
                              "Date: Sat, 3 Jun 2023 18:20:31 +0200", "To: Tom <tom@example.cz>",
                              "X-Mailer: Apple Mail (2.3731.300.101.1.3)"],
        "client-thunderbird": ["Message-ID: <b7c1e2f3-0a1b-2c3d-4e5f-60718293a4b5@example.cz>",
                               "Date: Mon, 5 Jun 2023 09:01:02 +0200", "MIME-Version: 1.0",
                               "User-Agent: Mozilla Thunderbird",
                               "Content-Language: cs",
                               "To: =?UTF-8?Q?Ji=c5=99=c3=ad?= <jiri@example.cz>",
                               "From: =?UTF-8?Q?Ond=c5=99ej_Kr=c3=a1l?= <ondrej@example.cz>",
                               "Subject: =?UTF-8?Q?Porada_v_pond=c4=9bl=c3=ad?=",
                               "Content-Type: text/plain; charset=UTF-8; format=flowed",
                               "Content-Transfer-Encoding: 8bit"],
        "client-outlook-2016": ["From: =?iso-8859-2?Q?Dvo=F8=E1k_Petr?= <petr.dvorak@example.cz>",
                                "To: \"'Novak Jan'\" <jan.novak@example.cz>",
                                "Subject: RE: =?iso-8859-2?Q?Smlouva_=E8._12/2019?=",
                                "Thread-Topic: Smlouva c. 12/2019", "Thread-Index: AdWqk8n1+abcdQ==",
                                "Date: Tue, 3 Dec 2019 08:15:42 +0000",
                                "Message-ID:\r\n <AM0PR04MB1234567890ABCDEF"
                                "@AM0PR04MB1234.eurprd04.prod.outlook.com>",
                                "Accept-Language: cs-CZ, en-US", "Content-Language: cs-CZ",
                                'Content-Type: multipart/mixed;\r\n\tboundary="_004_AM0PR04MB_"',
                                "MIME-Version: 1.0"],
        "client-gmail": ["MIME-Version: 1.0", "Date: Wed, 7 Jun 2023 14:33:12 +0200",
                         "Message-ID: <CAF=aBcD1234efGH5678ijKL+mnOP@mail.gmail.com>",
                         "Subject: =?UTF-8?B?UG96dsOhbmthIG5hIG9zbGF2dQ==?=",
                         "From: =?UTF-8?Q?Mark=C3=A9ta_Hor=C3=A1kov=C3=A1?= <marketa@gmail.example>",
                         "To: =?UTF-8?Q?Kate=C5=99ina?= <katerina@example.cz>",
                         'Content-Type: multipart/alternative; boundary="0000000000001a2b3c"'],
        "client-kerio-webmail": ["Message-ID: <kerio-web-1@example.com>",
                                 "Date: Thu, 8 Jun 2023 10:00:00 +0200",
                                 "X-Mailer: Kerio Connect Client",
                                 "From: =?utf-8?q?Radek_N=C4=9Bmec?= <radek.nemec@example.com>",
                                 'To: "All example.com" <all@example.com>',
                                 "Subject: =?utf-8?q?Faktura_=C4=8D=2E_2026504?=",
                                 'Content-Type: text/plain; charset="utf-8"'],
        "client-mailing-list-footer": ["From: List Member <member@example.org>",
                                       "Subject: [Dev-L] Re: =?utf-8?q?Nov=C3=A9_vyd=C3=A1n=C3=AD?=",
                                       "Sender: dev-l-bounces@lists.example.org",
                                       "List-Id: Developers <dev-l.lists.example.org>",
                                       "Date: Fri, 9 Jun 2023 12:00:00 +0200",
                                       "Message-ID: <list.1@example.org>",
                                       "To: dev-l@lists.example.org",
                                       "Cc: Someone <someone@example.org>,\r\n"
                                       " Other <other@example.org>"],
    }
    for name, lines in others.items():
        out.append((name + ".eml", msg(*lines)))
    return out


# ---------------------------------------------------------------------------------------------
# Spam and junk


def _junk(seed, n, low=0):
    """*n* bytes of deterministic junk in [low, 256), no CR or LF (a hash chain, stable on
    every Python)."""
    out = bytearray()
    block = seed.encode()
    while len(out) < n:
        block = hashlib.sha256(block).digest()
        out += bytes(b for b in block if b >= low and b not in (10, 13))
    return bytes(out[:n])


def spam():
    out = [
        ("spam-mismatched-charset.eml", msg(*std(900, subject="Subject: " + qword(
            "Výhra 1 000 000 Kč", "utf-8").replace("UTF-8", "iso-8859-1")))),
        ("spam-html-subject.eml", msg(*std(901, subject="Subject: <b>FREE</b> &amp; <i>NOW</i>"))),
        ("spam-huge-to-list.eml", msg(*std(902, to="To: " + ",\r\n ".join(
            f"user{i}@example{i % 7}.test" for i in range(400))))),
        ("spam-encoded-address.eml", msg(*std(903, frm="From: " + bword("winner@lottery.test",
                                                                        "utf-8")))),
        ("spam-multiple-subjects.eml", msg(*std(904), "Subject: second subject",
                                           "Subject: third subject")),
        ("spam-emoji-subject.eml", msg(*std(905, subject="Subject: " + bword(
            "🔥🔥 Only today: -90 % 💰💰", "utf-8")))),
        ("spam-gbk-raw-declared.eml", msg(*std(906)[:6], "Subject: 发票代开，优惠".encode("gbk"),
                                          text_type("gb2312"))),
        ("spam-big5-raw-declared.eml", msg(*std(907)[:6], "Subject: 優惠活動通知".encode("big5"),
                                           text_type("big5"))),
        ("spam-sjis-raw-declared.eml", msg(*std(908)[:6], "Subject: 激安セール開催中".encode("shift_jis"),
                                           text_type("shift_jis"))),
        ("spam-euckr-raw-declared.eml", msg(*std(909)[:6], "Subject: 특별 할인 안내".encode("euc-kr"),
                                            text_type("euc-kr"))),
        ("spam-koi8-raw-declared.eml", msg(*std(910)[:6], "Subject: Бесплатно".encode("koi8-r"),
                                           text_type("koi8-r"))),
        ("spam-binary-junk-header.eml", msg(*std(911), b"X-Junk: " + _junk("header", 300))),
        ("spam-binary-junk-subject.eml", msg(*std(912)[:6],
                                             b"Subject: " + _junk("subject", 60, 128))),
        ("spam-weird-header-names.eml", msg("X-%%%: weird", "X-Ünïcödé: name".encode(), *std(913))),
        ("spam-long-encoded-subject.eml", msg(*std(914, subject="Subject: " + "\r\n ".join(
            bword("Nabídka " + str(i), "utf-8") for i in range(120))))),
        ("spam-no-from-no-to.eml", msg(*[h for h in std(915) if not h.startswith(("From", "To"))])),
        ("spam-garbage-date.eml", msg(*std(916, date="Date: Mon, 99 Foo 20223 99:99:99 +99999"))),
        ("spam-future-date.eml", msg(*std(917, date="Date: Sat, 01 Jan 2050 00:00:00 +0000"))),
        ("spam-utf7-subject.eml", msg(*std(918, subject="Subject: =?utf-7?Q?+AEA-Win+ACE-?="))),
        ("spam-encoded-word-everywhere.eml", msg(
            *std(919, frm=f"From: {qword('Bank', 'utf-8')} <{qword('x', 'utf-8')}@bank.test>",
                 subject="Subject:" + qword("Účet", "utf-8") + qword("!", "utf-8")))),
        ("spam-colons-everywhere.eml", msg(*std(920, subject="Subject: ::: re: re: fwd: :::"))),
        ("spam-qp-soft-break-in-word.eml", msg(*std(
            921, subject="Subject: =?utf-8?q?Ahoj=\r\n _sv=C4=9Bte?="))),
        ("spam-control-chars.eml", msg(*std(922, subject="Subject: bell\x07 esc\x1b[31m red"))),
        ("spam-cyrillic-utf8-raw.eml", msg(*std(923, subject="Subject: Выгодное предложение"))),
        ("spam-mixed-scripts-raw.eml", msg(*std(924)[:6],
                                           b"Subject: Pr\xe9sident " + "Путин".encode("cp1251"))),
    ]
    return out


def corpus():
    """Every message of the corpus as ``[(file name, bytes)]``."""
    out = charsets() + encoded_words() + raw_8bit() + dates() + message_ids() + shapes() \
        + bounces() + clients() + spam()
    names = [n for n, _ in out]
    assert len(names) == len(set(names)), "duplicate file names"
    return out


def write(directory):
    """Write the corpus to *directory* (its old .eml files removed first)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("*.eml"):
        old.unlink()
    for name, data in corpus():
        (directory / name).write_bytes(data)


if __name__ == "__main__":
    write(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).with_name("mail"))
