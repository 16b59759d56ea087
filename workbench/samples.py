"""Synthetic Kerio Connect server directories for tests, benchmarks and demos.

``generate`` builds a *server directory* (see ``shared/design.md``): ``mailserver.cfg``,
``users.cfg``, ``license/``, ``sslcert/`` and a ``store/`` holding per-user and public mail folders
(``store/mail/<domain>/<user>/<folder>/#msgs/<8 hex>.eml`` plus the folder files ``index.fld``,
``status.fld``, ``properties.fld``, ``search.fld`` and ``deleted.fld``) and a small
``store/archive/``. Messages are real RFC 5322 mail with CRLF line endings; their text compresses
like real mail and their attachments (valid PDF and PNG files of random pixels) compress poorly, as
real attachments do. ``mutate`` then simulates one day of mail on such a directory, and
``build_sample`` makes the small sample committed under ``data/samples/kerio``.

Everything is deterministic: the same seed gives byte-identical files with identical mtimes, so
benchmarks and tests can rebuild a store instead of keeping one.

Command line::

    python -m workbench.samples generate DIR --messages N --seed S
    python -m workbench.samples mutate DIR --seed S
    python -m workbench.samples build-sample DIR

This module uses the standard library only.
"""

from __future__ import annotations

import argparse
import base64
import bisect
import calendar
import email.header
import email.utils
import hashlib
import os
import quopri
import random
import struct
import time
import unicodedata
import urllib.parse
import xml.etree.ElementTree as ET
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

__all__ = ["REFERENCE_TIME", "generate", "mutate", "build_sample"]

#: Every generated mtime lies in the year before this instant (2026-11-01T00:00:00Z).
REFERENCE_TIME = calendar.timegm((2026, 11, 1, 0, 0, 0))
_YEAR = 365 * 86400
_DAY = 86400

# Folder layout of every user: (path below the user directory, kind, share of the user's mail).
# The kind decides who sends the messages and how likely they carry attachments.
_USER_FOLDERS = (
    ("INBOX", "in", 0.42),
    ("INBOX/Projects", "in", 0.06),
    ("INBOX/Projects/2026", "in", 0.08),
    ("Sent Items", "out", 0.20),
    ("Drafts", "draft", 0.02),
    ("Deleted Items", "in", 0.10),
    ("Přijaté faktury", "invoice", 0.12),  # "received invoices": the non-ASCII folder name
)
_PUBLIC_FOLDERS = (("Company News", 0.5), ("Sdílené dokumenty", 0.3))
_ARCHIVE_MONTHS = ("2026-08", "2026-09")
_ARCHIVE_WEIGHT = 0.25
_DOMAINS = ("example.com", "example.org", "example.net")
_DOMAIN_PREFIXES = ("praha", "brno", "ostrava", "plzen", "olomouc", "liberec")
_EXTERNAL_DOMAINS = ("acme.test", "globex.test", "initech.test", "contoso.test", "umbrella.test",
                     "dodavatel.test", "stavby-novak.test", "ucetni-kancelar.test")
_FLD_FILES = ("index.fld", "status.fld", "properties.fld", "search.fld", "deleted.fld")

_FIRST = ("Jan Petr Jana Eva Tomáš Lucie Martin Kateřina Jiří Markéta Alice Bob Carol David Emma "
          "Frank Grace Henry Irene Jack Karen Louis Maria Nina Oscar Paula Rita Simon Tereza "
          "Václav Zdeněk Šárka Radek Ondřej Michaela Lenka Pavel Hana Karel Žaneta").split()
_LAST = ("Novák Svoboda Dvořák Černý Procházka Kučera Veselý Horák Němec Marek Pokorný Růžička "
         "Smith Johnson Brown Taylor Wilson Clark Walker Hall Young King Wright Green Baker Adams "
         "Nelson Hill Fiala Beneš Šimek Kříž Zeman Doležal Král Jelínek").split()

# Words are drawn with Zipf weights (rank r has weight 1/r), which is what makes generated
# text compress like real mail rather than like random letters or like a single repeated phrase.
_EN_WORDS = (
    "the of and to a in is that for it as with on be this are by we you at from or have an "
    "will not your our can all please if would about more which their has was there new also "
    "been one they when time should us these may other any could some than only into we'll "
    "thanks regards meeting project report team customer server update attached document week "
    "budget contract order invoice delivery schedule review proposal quarter client office "
    "support issue request change plan price offer service data backup store mail message "
    "account user access network system release version test result draft final approval "
    "deadline agenda minutes call tomorrow today monday tuesday wednesday thursday friday next "
    "last month year morning afternoon discuss confirm send check need know let me see find "
    "below above following information details question answer problem solution progress status "
    "migration storage capacity license renewal training session holiday vacation manager "
    "department sales marketing finance legal payment amount total cost estimate shipment "
    "warehouse supplier partner agreement terms signed copy original version revised numbers "
    "figures chart summary overview notes action items owner due soon asap priority high low "
    "medium important urgent follow up reminder feedback comments suggestions ideas options "
    "possible available interested happy glad sorry unfortunately however therefore already "
    "still just very much well good great sure ok fine correct wrong missing included"
).split()
_CS_WORDS = (
    "a v se na je že to s z do o k i jako pro by ale jsem jsme jste bude byl bylo podle prosím "
    "děkuji dobrý den pozdravem zdravím faktura objednávka smlouva nabídka schůzka termín "
    "dodávka zboží cena celkem částka splatnost úterý středa čtvrtek pátek pondělí týden měsíc "
    "příloze přikládám zasílám posílám potvrzení změna projekt zákazník společnost oddělení "
    "účetnictví vedení ředitel porada zápis výsledky přehled rozpočet záloha platba úhrada "
    "můžete mohli bychom potřebujeme prosíme dejte vědět případně ještě již také tedy proto "
    "protože pokud když kde kdy který která které jejich našeho vašeho velmi děkujeme omlouvám "
    "zpoždění dotaz odpověď řešení problém stav průběh zálohování úložiště licence školení "
    "dovolená obchod marketing finance právní platby náklady odhad expedice sklad dodavatel"
).split()
_EN_PHRASES = (
    "please let me know", "thank you for your", "as discussed in the meeting", "in the attached document",
    "if you have any questions", "we would like to", "I will send you", "at the end of the",
    "on behalf of the", "as soon as possible", "by the end of the week", "could you please",
    "we need to", "the next meeting", "the new version of", "I am not sure", "looking forward to",
    "in the meantime", "according to the", "for the project", "with the customer", "the final report",
    "the latest update", "let us discuss", "do not hesitate to contact me")
_CS_PHRASES = (
    "v příloze zasílám", "děkuji za", "dejte prosím vědět", "v případě dotazů", "podle dohody",
    "do konce týdne", "na základě objednávky", "s ohledem na", "co nejdříve", "na příští schůzce",
    "podle smlouvy", "k vyřízení", "předem děkuji")
_SYLLABLES = ("ka ro mi ne tu sa lo ve da pi ko ra ni se to ma li re na vo be di ga fo "
              "tra ple sto kri bru dvo pra zlo mar ten ser vik").split()

_EN_TOPICS = ("quarterly budget", "server migration", "project Apollo", "contract renewal",
              "holiday schedule", "new office layout", "training session", "customer feedback",
              "price list 2026", "backup policy", "license renewal", "storage capacity",
              "sales report", "team meeting", "delivery dates", "support ticket 4711",
              "website redesign", "annual review", "travel expenses", "network outage")
_EN_SUBJECTS = ("{t}", "Re: {t}", "RE: {t}", "Fwd: {t}", "Question about {t}", "{t} - update",
                "Meeting: {t}", "Re: Re: {t}", "Weekly report {n}", "Invoice {n}")
_CS_SUBJECTS = ("Faktura č. {n}", "Objednávka {n}", "Schůzka v úterý", "Přehled výsledků",
                "Žádost o schválení", "Re: Nabídka služeb", "Pozvánka na školení",
                "Změna termínu dodávky", "Re: Dotaz k účtování", "Výpověď smlouvy č. {n}")
_MAILERS = ("Microsoft Outlook 16.0", "Kerio Connect Client", "Mozilla Thunderbird 128.3.1",
            "Apple Mail (2.3776)", "Kerio Outlook Connector (Offline Edition)")
_KEYWORDS = ("$label1", "$label2", "$Important", "$Todo", "Junk", "NonJunk", "$Forwarded")
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class _Profile:
    """Size knobs of a generated store (the defaults give about 12 KB per message on average)."""

    body_lines: float = 38.0  # median lines of body text (log-normal)
    attach_rate: float = 0.11  # share of ordinary messages with attachments (invoices: 0.45)
    attach_median: int = 8_000  # raw bytes; log-normal, clipped to [attach_min, attach_max]
    attach_min: int = 5_000
    attach_max: int = 200_000
    huge_rate: float = 1 / 2000  # messages that carry one 2-8 MB attachment
    huge_min: int = 2_000_000
    huge_max: int = 8_000_000


_DEFAULT_PROFILE = _Profile()
# The committed sample must stay under 2 MB: small attachments, never a huge one.
_SAMPLE_PROFILE = _Profile(body_lines=20.0, attach_median=4_000, attach_min=1_500, attach_max=12_000, huge_rate=0.0)
_SAMPLE_MESSAGES = 240
_SAMPLE_SEED = 2026


@dataclass(frozen=True)
class _Person:
    name: str
    address: str
    header: str  # "Name <address>", RFC 2047-encoded when the name is not ASCII


@dataclass
class _Folder:
    """A mail folder to fill: where it lives and whose mail it holds."""

    rel: str  # directory relative to the server directory, with "/"
    domain: str
    kind: str  # in, out, draft, invoice, public or archive
    owner: _Person | None  # None for public and archive folders
    weight: float = 1.0
    times: list[int] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# Small helpers


def _ascii_fold(text: str) -> str:
    """``"Jiří Dvořák"`` -> ``"Jiri Dvorak"``: Kerio user names are ASCII."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _person(name: str, address: str) -> _Person:
    return _Person(name, address, email.utils.formataddr((name, address), charset="utf-8"))


def _rfc5322_date(ts: int, tz_minutes: int) -> str:
    """Format a Date header by hand: ``email.utils.format_datetime`` is several times slower."""
    t = time.gmtime(ts + tz_minutes * 60)
    sign = "+" if tz_minutes >= 0 else "-"
    tz = abs(tz_minutes)
    return (f"{_DAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year} "
            f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} {sign}{tz // 60:02d}{tz % 60:02d}")


def _prague_offset(ts: int) -> int:
    """Minutes east of UTC in Prague (approximate DST: April to October)."""
    return 120 if 4 <= time.gmtime(ts).tm_mon <= 10 else 60


def _encode_subject(subject: str) -> str:
    if subject.isascii():
        return subject
    return email.header.Header(subject, "utf-8").encode()


def _msg_name(msg_id: int) -> str:
    return f"{msg_id:08x}.eml"


def _message_flags(msg_id: int, ts: int) -> int:
    """Flags kept in ``index.fld`` (bit 0 seen, 1 answered, 2 flagged), derived, not drawn,
    so that ``mutate`` can rebuild an index without knowing the generator's random state."""
    seen = ts < REFERENCE_TIME - 3 * _DAY or msg_id % 5 != 0
    return int(seen) | (2 if msg_id % 7 == 0 else 0) | (4 if msg_id % 23 == 0 else 0)


def _vocabulary(words: list[str], phrases: tuple[str, ...], expo: float = 1.1,
                phrase_share: float = 0.2) -> tuple[list[str], list[float]]:
    """Tokens and cumulative weights for ``random.choices``.

    Words get Zipf weights (rank r weighs 1/r**expo); set phrases ("please let me know") take
    ``phrase_share`` of the draws. Both matter for compression: without collocations, word
    salad deflates to about 0.5, while real mail text is nearer 0.4.
    """
    cum, total = [], 0.0
    for rank in range(1, len(words) + 1):
        total += 1.0 / rank**expo
        cum.append(total)
    step = total * phrase_share / (1 - phrase_share) / len(phrases)
    for _ in phrases:
        total += step
        cum.append(total)
    return list(words) + list(phrases), cum


def _wrap_lines(rng: random.Random, words: list[str], cum: list[float], count: int,
                width: int = 72) -> list[str]:
    """Make ``count`` lines of sentence-like text, wrapped greedily at ``width`` columns."""
    lines: list[str] = []
    line: list[str] = []
    length = 0
    while len(lines) < count:
        sentence = rng.choices(words, cum_weights=cum, k=rng.randint(5, 17))
        sentence[0] = sentence[0].capitalize()
        sentence[-1] += rng.choice("....?!,")
        for word in sentence:
            if length + len(word) + 1 > width and line:
                lines.append(" ".join(line))
                line, length = [], 0
            line.append(word)
            length += len(word) + 1
    return lines


# ---------------------------------------------------------------------------------------------
# Attachments: valid files whose payload is random pixels, so they deflate as poorly as real
# PDFs and images do.


def _pdf(rng: random.Random, size: int, title: str) -> bytes:
    """A one-page PDF showing an uncompressed RGB image of random pixels, about ``size`` bytes."""
    width = 256
    height = max(1, size // (width * 3))
    pixels = rng.randbytes(width * height * 3)
    text = f"BT /F1 14 Tf 72 780 Td ({title}) Tj ET q 450 0 0 {450 * height // width} 72 300 cm /Im1 Do Q"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> /XObject << /Im1 6 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(text), text.encode("latin-1")),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceRGB "
        b"/BitsPerComponent 8 /Length %d >>\nstream\n%s\nendstream" % (width, height, len(pixels), pixels),
    ]
    out = [b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"]
    offsets, pos = [], len(out[0])
    for number, body in enumerate(objects, 1):
        chunk = b"%d 0 obj\n%s\nendobj\n" % (number, body)
        offsets.append(pos)
        out.append(chunk)
        pos += len(chunk)
    xref = [b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)]
    xref += [b"%010d 00000 n \n" % offset for offset in offsets]
    out += xref
    out.append(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, pos))
    return b"".join(out)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png(rng: random.Random, size: int) -> bytes:
    """A valid RGB PNG of random pixels, about ``size`` bytes.

    The image data is zlib level 0 (stored), which costs almost nothing to produce; noise would
    not compress anyway.
    """
    width = 256
    height = max(1, size // (width * 3 + 1))
    rows = bytearray(rng.randbytes((width * 3 + 1) * height))
    rows[:: width * 3 + 1] = bytes(height)  # filter byte "None" at the start of every row
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
            + _png_chunk(b"IDAT", zlib.compress(bytes(rows), 0)) + _png_chunk(b"IEND", b""))


# ---------------------------------------------------------------------------------------------
# Messages


class _MailFactory:
    """Builds RFC 5322 messages from precomputed pools of text, people and subjects.

    All the expensive work (word drawing, wrapping, header encoding) happens once in the
    constructor; a message is then mostly list picks and joins.
    """

    def __init__(self, rng: random.Random, profile: _Profile):
        self.rng = rng
        self.profile = profile
        en_words, en_cum = _vocabulary(_EN_WORDS + self._pseudo_words(300), _EN_PHRASES)
        cs_words, cs_cum = _vocabulary(_CS_WORDS, _CS_PHRASES)
        self.en_lines = _wrap_lines(rng, en_words, en_cum, 12_000)
        self.cs_lines = _wrap_lines(rng, cs_words, cs_cum, 3_000)
        self.externals = [
            _person(f"{rng.choice(_FIRST)} {rng.choice(_LAST)}",
                    f"{_ascii_fold(rng.choice(_FIRST)).lower()}@{rng.choice(_EXTERNAL_DOMAINS)}")
            for _ in range(300)
        ]
        self.suppliers = [_person(f"Fakturace {d.split('.')[0]}", f"fakturace@{d}")
                          for d in _EXTERNAL_DOMAINS]
        self.colleagues: dict[str, list[_Person]] = {}

    def _pseudo_words(self, count: int) -> list[str]:
        """Made-up words (names, jargon) that widen the vocabulary like real mail's long tail."""
        return ["".join(self.rng.choices(_SYLLABLES, k=self.rng.randint(2, 4))) for _ in range(count)]

    # -- parts ------------------------------------------------------------------------------

    def _body_lines(self, czech: bool, sender: _Person, recipient: _Person) -> list[str]:
        rng = self.rng
        pool = self.cs_lines if czech else self.en_lines
        count = max(2, int(rng.lognormvariate(0, 0.7) * self.profile.body_lines * (0.5 if czech else 1)))
        first = recipient.name.split()[0]
        lines = ["Dobrý den," if czech else f"Hi {first},", ""]
        picks = rng.choices(pool, k=count)
        while picks:  # paragraphs of 2-7 lines
            take = rng.randint(2, 7)
            lines += picks[:take]
            lines.append("")
            del picks[:take]
        lines += ["S pozdravem," if czech else "Best regards,", sender.name, "",
                  "-- ", f"{sender.name} | {sender.address.split('@')[1]}", "tel. +420 555 0" +
                  str(zlib.crc32(sender.address.encode()) % 100000).zfill(5)]
        if rng.random() < 0.3:  # a quoted earlier message, as in real replies
            lines += ["", f"On {_rfc5322_date(rng.randrange(REFERENCE_TIME - _YEAR, REFERENCE_TIME), 60)},"
                          f" {recipient.name} wrote:"]
            lines += ["> " + line for line in rng.choices(pool, k=rng.randint(4, 30))]
        return lines

    @staticmethod
    def _text_part(text: str, subtype: str) -> str:
        """Headers and content of one text part, 7bit when ASCII, else quoted-printable."""
        if text.isascii():
            return (f'Content-Type: text/{subtype}; charset="us-ascii"\n'
                    f"Content-Transfer-Encoding: 7bit\n\n{text}\n")
        encoded = quopri.encodestring(text.encode("utf-8")).decode("ascii")
        return (f'Content-Type: text/{subtype}; charset="utf-8"\n'
                f"Content-Transfer-Encoding: quoted-printable\n\n{encoded}\n")

    @staticmethod
    def _html(lines: list[str]) -> str:
        paragraphs, current = [], []
        for line in lines + [""]:
            if line:
                current.append(line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))
            elif current:
                paragraphs.append("<p>" + "<br>\n".join(current) + "</p>")
                current = []
        return ('<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">'
                '</head>\n<body style="font-family: Calibri, sans-serif">\n'
                + "\n".join(paragraphs) + "\n</body></html>")

    def _attachment(self, boundary: str, invoice: bool, ts: int, huge: bool) -> bytes:
        rng, p = self.rng, self.profile
        if huge:
            size = rng.randint(p.huge_min, p.huge_max)
        else:
            size = int(min(p.attach_max, max(p.attach_min, rng.lognormvariate(0, 0.9) * p.attach_median)))
        day = time.strftime("%Y%m%d", time.gmtime(ts))
        if invoice or rng.random() < 0.55:
            title = f"Faktura {day}-{rng.randint(100, 999)}" if invoice else f"Document {day}"
            data = _pdf(rng, size, title)
            ctype = "application/pdf"
            name = rng.choice((f"faktura-{day}.pdf", f"Faktura č. {day[2:]}.pdf")) if invoice else \
                rng.choice((f"scan_{day}.pdf", "report.pdf", "Nabídka služeb.pdf", "contract-signed.pdf"))
        else:
            data = _png(rng, size)
            ctype = "image/png"
            name = rng.choice((f"IMG_{rng.randint(1000, 9999)}.png", "screenshot.png", "graf výsledků.png"))
        if name.isascii():
            params = f'; name="{name}"', f'; filename="{name}"'
        else:  # RFC 2231 for the file name, RFC 2047 in name= for older clients
            params = (f'; name="{email.header.Header(name, "utf-8").encode()}"',
                      f"; filename*=utf-8''{urllib.parse.quote(name)}")
        head = (f"--{boundary}\nContent-Type: {ctype}{params[0]}\n"
                f"Content-Disposition: attachment{params[1]}\nContent-Transfer-Encoding: base64\n\n")
        return head.encode("ascii") + base64.encodebytes(data)

    # -- whole messages ---------------------------------------------------------------------

    def _parties(self, folder: _Folder) -> tuple[_Person, _Person, list[_Person]]:
        """Sender, main recipient and Cc list for a message in ``folder``."""
        rng = self.rng
        colleagues = self.colleagues.get(folder.domain) or self.externals
        owner = folder.owner or _person(f"All {folder.domain}", f"all@{folder.domain}")
        if folder.kind in ("out", "draft"):
            sender = owner
            recipient = rng.choice(self.externals if rng.random() < 0.6 else colleagues)
        else:
            sender = rng.choice(self.suppliers) if folder.kind == "invoice" else \
                rng.choice(self.externals if rng.random() < 0.55 else colleagues)
            recipient = owner
        cc = rng.sample(colleagues, min(len(colleagues), rng.randint(1, 3))) if rng.random() < 0.25 else []
        return sender, recipient, cc

    def _subject(self, czech: bool, invoice: bool) -> str:
        rng = self.rng
        number = rng.randint(2026000, 2026999)
        if invoice:
            return f"Faktura č. {number}"
        template = rng.choice(_CS_SUBJECTS if czech else _EN_SUBJECTS)
        return template.format(t=rng.choice(_EN_TOPICS), n=number)

    def message(self, folder: _Folder, ts: int) -> tuple[bytes, int]:
        """Build one message delivered (or saved) at ``ts``.

        Returns the message bytes (CRLF line endings) and its number of attachments.
        """
        rng, p = self.rng, self.profile
        czech = rng.random() < (0.6 if folder.kind == "invoice" else 0.15)
        invoice = folder.kind == "invoice"
        sender, recipient, cc = self._parties(folder)
        date_ts = ts - rng.randint(1, 240) if folder.kind not in ("out", "draft") else ts
        sender_domain = sender.address.split("@")[1]
        head = []
        if folder.kind not in ("out", "draft"):
            head += [f"Return-Path: <{sender.address}>",
                     f"Received: from mx{rng.randint(1, 4)}.{sender_domain} (mx.{sender_domain} "
                     f"[192.0.2.{rng.randint(1, 254)}])\n\tby mail.{folder.domain} (Kerio Connect 10.0.6) "
                     f"with ESMTPS id {rng.getrandbits(40):010X}\n\tfor <{recipient.address}>; "
                     f"{_rfc5322_date(ts, _prague_offset(ts))}"]
        tz = _prague_offset(date_ts) if sender_domain.endswith(("example.com", "example.org", "example.net")) \
            or rng.random() < 0.7 else rng.choice((0, -300, 330))
        head += [f"Message-ID: <{rng.getrandbits(64):016x}.{ts:x}@{sender_domain}>",
                 f"Date: {_rfc5322_date(date_ts, tz)}",
                 f"From: {sender.header}",
                 f"To: {recipient.header}"]
        if cc:
            head.append("Cc: " + ",\n\t".join(person.header for person in cc))
        head += [f"Subject: {_encode_subject(self._subject(czech, invoice))}",
                 "MIME-Version: 1.0",
                 f"X-Mailer: {rng.choice(_MAILERS)}"]

        lines = self._body_lines(czech, sender, recipient)
        text = "\n".join(lines)
        huge = rng.random() < p.huge_rate
        n_attach = 0
        if huge or rng.random() < (0.45 if invoice else p.attach_rate):
            n_attach = rng.choice((1, 1, 1, 1, 1, 1, 1, 2, 2, 3))
        alternative = rng.random() < 0.3

        boundary = f"----=_Part_{rng.getrandbits(48):012x}"
        if alternative:
            inner = f"{boundary}_alt"
            body = (f'Content-Type: multipart/alternative; boundary="{inner}"\n\n'
                    f"--{inner}\n{self._text_part(text, 'plain')}"
                    f"--{inner}\n{self._text_part(self._html(lines), 'html')}--{inner}--\n")
        else:
            body = self._text_part(text, "plain")
        if not n_attach:
            parts = ["\n".join(head) + "\n" + body]
        else:
            parts = ["\n".join(head) + f'\nContent-Type: multipart/mixed; boundary="{boundary}"\n\n'
                     f"This is a multi-part message in MIME format.\n\n--{boundary}\n{body}"]
        data = [part.encode("utf-8") for part in parts]
        for index in range(n_attach):
            data.append(self._attachment(boundary, invoice, ts, huge and index == 0))
        if n_attach:
            data.append(f"--{boundary}--\n".encode("ascii"))
        # Everything above is built with LF; one C-speed pass turns it into RFC 5322's CRLF.
        return b"".join(data).replace(b"\n", b"\r\n"), n_attach


# ---------------------------------------------------------------------------------------------
# Folder files and configuration


def _index_fld(records: list[tuple[int, int, int]]) -> bytes:
    """Binary index of a folder: a header, then (id, size, flags, mtime) per message."""
    out = [b"KIDX", struct.pack("<HI", 3, len(records))]
    out += [struct.pack("<IIIq", msg_id, size, _message_flags(msg_id, mtime), mtime)
            for msg_id, size, mtime in records]
    return b"".join(out)


def _status_fld(folder_rel: str, records: list[tuple[int, int, int]], changed: int) -> bytes:
    """Folder counters as text; ``lastchange`` makes every update change the file's content."""
    unseen = sum(1 for msg_id, _, mtime in records if not _message_flags(msg_id, mtime) & 1)
    next_id = max((msg_id for msg_id, _, _ in records), default=0) + 1
    uidvalidity = zlib.crc32(folder_rel.encode("utf-8"))
    return (f"[status]\r\nmessages={len(records)}\r\nunseen={unseen}\r\nnextid={next_id:08x}\r\n"
            f"uidvalidity={uidvalidity}\r\nlastchange={changed}\r\n").encode("ascii")


def _properties_fld(folder: _Folder) -> bytes:
    name = folder.rel.rsplit("/", 1)[-1]
    owner = folder.owner.address if folder.owner else f"#public@{folder.domain}"
    acl = "anyone:lr" if folder.kind in ("public", "archive") else "owner:lrswipkxtea"
    return (f'<?xml version="1.0" encoding="UTF-8"?>\r\n<folder>\r\n <name>{name}</name>\r\n'
            f" <type>mail</type>\r\n <owner>{owner}</owner>\r\n <acl>{acl}</acl>\r\n"
            f" <subscribed>1</subscribed>\r\n</folder>\r\n").encode("utf-8")


def _search_fld(folder: _Folder, count: int) -> bytes:
    digest = hashlib.sha1(f"{folder.rel}:{count}".encode()).digest()
    return b"KSRC" + struct.pack("<HI", 1, count) + digest * 4


def _deleted_fld() -> bytes:
    return b"[deleted]\r\n"


def _mailserver_cfg(domains: list[str]) -> bytes:
    rows = "".join(
        f'  <listitem>\n   <variable name="Name">{d}</variable>\n'
        f'   <variable name="Description">Domain {d}</variable>\n'
        f'   <variable name="Primary">{int(i == 0)}</variable>\n'
        f'   <variable name="PublicFoldersPerDomain">1</variable>\n  </listitem>\n'
        for i, d in enumerate(domains))
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<config>\n'
            ' <variable name="ConfigVersion">10.0.6</variable>\n'
            f' <variable name="Hostname">mail.{domains[0]}</variable>\n'
            ' <variable name="StoreDir">/opt/kerio/mailserver/store</variable>\n'
            ' <variable name="ArchiveDir">/opt/kerio/mailserver/store/archive</variable>\n'
            f' <table name="Domain">\n{rows} </table>\n'
            ' <table name="Backup">\n  <listitem>\n'
            '   <variable name="Enabled">1</variable>\n'
            '   <variable name="Directory">/opt/kerio/mailserver/store/backup</variable>\n'
            '   <variable name="MaxBackups">3</variable>\n'
            '   <variable name="VolumeSize">2048</variable>\n  </listitem>\n </table>\n'
            '</config>\n').encode("utf-8").replace(b"\n", b"\r\n")


def _users_cfg(users: list[_Person], rng: random.Random) -> bytes:
    rows = []
    for user in users:
        local, domain = user.address.split("@")
        password = hashlib.sha256(f"{user.address}:{rng.getrandbits(64)}".encode()).hexdigest()
        rows.append(f'  <listitem>\n   <variable name="Name">{local}</variable>\n'
                    f'   <variable name="Domain">{domain}</variable>\n'
                    f'   <variable name="FullName">{user.name}</variable>\n'
                    f'   <variable name="Password">SHA256:{password}</variable>\n'
                    f'   <variable name="Quota">{rng.choice((0, 2048, 5120, 10240))}</variable>\n'
                    '   <variable name="Enabled">1</variable>\n  </listitem>\n')
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<config>\n <table name="User">\n'
            + "".join(rows) + " </table>\n</config>\n").encode("utf-8").replace(b"\n", b"\r\n")


def _pem(kind: str, rng: random.Random, size: int) -> bytes:
    flat = base64.b64encode(rng.randbytes(size)).decode("ascii")
    body = "\n".join(flat[i:i + 64] for i in range(0, len(flat), 64))
    return (f"# dummy {kind.lower()} made by workbench.samples: not a real key or certificate\n"
            f"-----BEGIN {kind}-----\n{body}\n-----END {kind}-----\n").encode("ascii")


def _license_key(domains: list[str], rng: random.Random) -> bytes:
    signature = base64.b64encode(rng.randbytes(128)).decode("ascii")
    return (f'<?xml version="1.0" encoding="UTF-8"?>\r\n<license product="Kerio Connect" version="10">\r\n'
            f" <licenseNumber>{rng.randint(10000, 99999)}-{rng.randint(10000, 99999)}-DEMO</licenseNumber>\r\n"
            f" <organization>{domains[0]}</organization>\r\n <users>250</users>\r\n"
            f" <expires>2027-12-31</expires>\r\n <signature>{signature}</signature>\r\n"
            "</license>\r\n").encode("ascii")


# ---------------------------------------------------------------------------------------------
# Writing


class _Writer:
    """Writes files under the server directory with given mtimes, counting them, and remembers the
    newest mtime per directory so directories get deterministic mtimes too."""

    def __init__(self, root: Path):
        self.root = root
        self.files = 0
        self.bytes = 0
        self.dir_mtimes: dict[str, int] = {}

    def write(self, rel: str, data: bytes, mtime: int) -> None:
        path = self.root / rel
        parent = rel.rsplit("/", 1)[0] if "/" in rel else ""
        if parent not in self.dir_mtimes:
            path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(data)
        os.utime(path, ns=(mtime * 1_000_000_000,) * 2)
        self.files += 1
        self.bytes += len(data)
        # Propagate the newest mtime to every ancestor directory.
        while True:
            if self.dir_mtimes.get(parent, -1) < mtime:
                self.dir_mtimes[parent] = mtime
            if not parent:
                break
            parent = parent.rsplit("/", 1)[0] if "/" in parent else ""

    def set_dir_mtimes(self) -> None:
        """Give each directory the newest mtime below it, deepest first (writing a child changes
        its parent's mtime, so parents must come after)."""
        for rel in sorted(self.dir_mtimes, key=lambda r: -r.count("/") - (1 if r else 0)):
            ns = self.dir_mtimes[rel] * 1_000_000_000
            os.utime(self.root / rel if rel else self.root, ns=(ns, ns))


def _check_empty(root: Path) -> None:
    if root.exists() and any(root.iterdir()):
        raise FileExistsError(f"{root} is not empty; choose a new directory or remove it first")


# ---------------------------------------------------------------------------------------------
# Planning a store


def _plan_people(rng: random.Random, n_users: int) -> tuple[list[str], list[_Person]]:
    n_domains = max(2, -(-n_users // 60))
    domains = list(_DOMAINS[:n_domains])
    for extra in range(n_domains - len(domains)):  # praha.example.com, brno.example.org, ...
        rounds = extra // len(_DOMAIN_PREFIXES)
        domains.append(f"{_DOMAIN_PREFIXES[extra % len(_DOMAIN_PREFIXES)]}{rounds or ''}"
                       f".{_DOMAINS[extra % len(_DOMAINS)]}")
    users, taken = [], set()
    for index in range(n_users):
        domain = domains[index % n_domains]
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        local = _ascii_fold(f"{first}.{last}").lower()
        suffix = 1
        while f"{local}@{domain}" in taken:
            suffix += 1
            local = _ascii_fold(f"{first}.{last}").lower() + str(suffix)
        taken.add(f"{local}@{domain}")
        users.append(_person(f"{first} {last}", f"{local}@{domain}"))
    return domains, users


def _plan_folders(rng: random.Random, domains: list[str], users: list[_Person]) -> list[_Folder]:
    folders = []
    for user in users:
        local, domain = user.address.split("@")
        activity = rng.lognormvariate(0, 0.6)  # some users get far more mail than others
        for rel, kind, share in _USER_FOLDERS:
            folders.append(_Folder(f"store/mail/{domain}/{local}/{rel}", domain, kind, user, activity * share))
    for domain in domains:
        for name, weight in _PUBLIC_FOLDERS:
            folders.append(_Folder(f"store/mail/{domain}/#public/{name}", domain, "public", None, weight))
        for month in _ARCHIVE_MONTHS:
            folders.append(_Folder(f"store/archive/{domain}/archive/{month}", domain, "archive", None,
                                   _ARCHIVE_WEIGHT))
    return folders


def _plan_times(rng: random.Random, folders: list[_Folder], messages: int) -> None:
    """Spread ``messages`` over the folders (at least one each when there are enough) and give
    each a delivery time; archive folders only hold their own month."""
    counts = [1 if messages >= len(folders) else 0] * len(folders)
    rest = messages - sum(counts)
    cum = list(_cum(folder.weight for folder in folders))
    for _ in range(rest):
        counts[bisect.bisect(cum, rng.random() * cum[-1])] += 1
    for folder, count in zip(folders, counts):
        if folder.kind == "archive":
            year, month = map(int, folder.rel.rsplit("/", 1)[1].split("-"))
            start = calendar.timegm((year, month, 1, 0, 0, 0))
            end = calendar.timegm((year + month // 12, month % 12 + 1, 1, 0, 0, 0))
        else:
            start, end = REFERENCE_TIME - _YEAR, REFERENCE_TIME - 3600
        folder.times = sorted(rng.randrange(start, end) for _ in range(count))


def _cum(values):
    total = 0.0
    for value in values:
        total += value
        yield total


# ---------------------------------------------------------------------------------------------
# Public API


def generate(server_dir: str | os.PathLike, messages: int, seed: int = 0,
             progress: Callable[[int, int], None] | None = None) -> dict:
    """Create a synthetic Kerio Connect server directory.

    Parameters
    ----------
    server_dir : str or os.PathLike
        Directory to create; it must not exist or be empty.
    messages : int
        Number of ``.eml`` messages to write (user, public and archive folders together). Users
        grow with it (about one per 500 messages, at least 6) and domains with the users (at
        least 2). The average message is about 12 KB.
    seed : int, default 0
        The same seed gives byte-identical files with identical mtimes.
    progress : callable, optional
        Called as ``progress(done, total)`` with message counts every few hundred messages.

    Returns
    -------
    dict
        Counts: ``domains``, ``users``, ``folders``, ``messages``, ``with_attachments``,
        ``attachments``, ``files`` (all files written) and ``bytes`` (their total size).

    Raises
    ------
    FileExistsError
        If ``server_dir`` exists and is not empty.
    """
    return _generate(Path(server_dir), int(messages), seed, progress, _DEFAULT_PROFILE)


def _generate(root: Path, messages: int, seed: int, progress, profile: _Profile) -> dict:
    _check_empty(root)
    rng = random.Random(seed)
    domains, users = _plan_people(rng, max(6, round(messages / 500)))
    folders = _plan_folders(rng, domains, users)
    _plan_times(rng, folders, messages)
    factory = _MailFactory(rng, profile)
    for domain in domains:
        factory.colleagues[domain] = [u for u in users if u.address.endswith("@" + domain)]

    writer = _Writer(root)
    _write_config(writer, rng, domains, users)
    done = with_attachments = attachments = 0
    for folder in folders:
        records = []
        for msg_id, ts in enumerate(folder.times, 1):
            data, n_attach = factory.message(folder, ts)
            writer.write(f"{folder.rel}/#msgs/{_msg_name(msg_id)}", data, ts)
            records.append((msg_id, len(data), ts))
            with_attachments += n_attach > 0
            attachments += n_attach
            done += 1
            if progress and done % 500 == 0:
                progress(done, messages)
        _write_folder_files(writer, folder, records)
    writer.set_dir_mtimes()
    if progress:
        progress(done, messages)
    return {"domains": len(domains), "users": len(users), "folders": len(folders), "messages": done,
            "with_attachments": with_attachments, "attachments": attachments,
            "files": writer.files, "bytes": writer.bytes}


def _write_config(writer: _Writer, rng: random.Random, domains: list[str], users: list[_Person]) -> None:
    base = REFERENCE_TIME - _YEAR - 30 * _DAY  # installed a month before the oldest mail
    writer.write("mailserver.cfg", _mailserver_cfg(domains), REFERENCE_TIME - 2 * _DAY)
    writer.write("users.cfg", _users_cfg(users, rng), REFERENCE_TIME - 5 * _DAY)
    writer.write("license/license.key", _license_key(domains, rng), base)
    writer.write("sslcert/server.crt", _pem("CERTIFICATE", rng, 900), base + 3600)
    writer.write("sslcert/server.key", _pem("PRIVATE KEY", rng, 1200), base + 3600)


def _write_folder_files(writer: _Writer, folder: _Folder, records: list[tuple[int, int, int]]) -> None:
    # Kerio updates the folder files whenever mail arrives: they are as new as the newest message.
    mtime = records[-1][2] + 1 if records else REFERENCE_TIME - _YEAR
    contents = {"index.fld": _index_fld(records), "status.fld": _status_fld(folder.rel, records, mtime),
                "properties.fld": _properties_fld(folder), "search.fld": _search_fld(folder, len(records)),
                "deleted.fld": _deleted_fld()}
    for name in _FLD_FILES:
        writer.write(f"{folder.rel}/{name}", contents[name], mtime)


def build_sample(server_dir: str | os.PathLike) -> dict:
    """Build the small sample server directory committed at ``data/samples/kerio``.

    Two domains, six users with every standard folder, public and archive folders, and
    240 messages (a few with small PDF and PNG attachments), under 2 MB in all.

    Parameters
    ----------
    server_dir : str or os.PathLike
        Directory to create; it must not exist or be empty.

    Returns
    -------
    dict
        The counts returned by :func:`generate`.
    """
    return _generate(Path(server_dir), _SAMPLE_MESSAGES, _SAMPLE_SEED, None, _SAMPLE_PROFILE)


# ---------------------------------------------------------------------------------------------
# Mutation: one day of mail


@dataclass
class _Scan:
    newest: int = 0  # newest mtime in whole seconds
    messages: list[str] = field(default_factory=list)  # relpaths of mail messages, sorted


def _scan(root: Path) -> _Scan:
    scan = _Scan()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        rel_dir = Path(dirpath).relative_to(root).as_posix()
        for name in sorted(filenames):
            scan.newest = max(scan.newest, os.stat(os.path.join(dirpath, name)).st_mtime_ns // 1_000_000_000)
            if name.endswith(".eml") and rel_dir.startswith("store/mail/") and rel_dir.endswith("/#msgs"):
                scan.messages.append(f"{rel_dir}/{name}")
    return scan


def _read_people(root: Path) -> dict[str, _Person]:
    """Users from ``users.cfg`` (address -> person), so new mail carries their full names."""
    people = {}
    try:
        tree = ET.parse(root / "users.cfg")
    except (OSError, ET.ParseError):
        return people
    for item in tree.iter("listitem"):
        values = {v.get("name"): v.text or "" for v in item.iter("variable")}
        if values.get("Name") and values.get("Domain"):
            address = f"{values['Name']}@{values['Domain']}"
            people[address] = _person(values.get("FullName") or values["Name"], address)
    return people


def _folder_of(folder_rel: str, people: dict[str, _Person]) -> _Folder:
    """Rebuild the generator's view of a folder from its path."""
    parts = folder_rel.split("/")  # store, mail, domain, user or #public, folder...
    domain, owner_dir, name = parts[2], parts[3], "/".join(parts[4:])
    if owner_dir == "#public":
        return _Folder(folder_rel, domain, "public", None)
    address = f"{owner_dir}@{domain}"
    owner = people.get(address) or _person(owner_dir.replace(".", " ").title(), address)
    kind = {"Sent Items": "out", "Drafts": "draft", "Přijaté faktury": "invoice"}.get(name, "in")
    return _Folder(folder_rel, domain, kind, owner)


def _rewrite(rng: random.Random, data: bytes) -> bytes:
    """Change a message as a day of use would: new flags/keywords, or an appended note."""
    if rng.random() < 0.6:
        keywords = " ".join(rng.sample(_KEYWORDS, rng.randint(1, 3)))
        head_end = data.find(b"\r\n\r\n")
        start = data.find(b"\r\nX-Keywords: ", 0, head_end)
        if start >= 0:  # replace the existing header (may keep the same length: size can stay)
            end = data.find(b"\r\n", start + 2)
            return data[:start] + b"\r\nX-Keywords: " + keywords.encode() + data[end:]
        return data[:head_end] + b"\r\nX-Keywords: " + keywords.encode() + data[head_end:]
    note = f"\r\n[Note {rng.getrandbits(32):08x}: {rng.choice(_EN_TOPICS)}, see ticket {rng.randint(1000, 9999)}]\r\n"
    return data + note.encode("ascii")


def mutate(server_dir: str | os.PathLike, seed: int = 0) -> dict:
    """Simulate one day of mail on a server directory made by :func:`generate`.

    About 1 % of the messages under ``store/mail`` are rewritten (a keywords header set or
    changed, or a note appended, so the size usually changes), 1 % new messages are added to
    existing folders (next free id of the folder) and 0.5 % are deleted. Every folder that
    changed gets a new ``index.fld`` and ``status.fld``. Rewritten and new files get the mtime
    one day after the newest mtime found in the directory; all other files keep theirs.

    Parameters
    ----------
    server_dir : str or os.PathLike
        A server directory, as made by :func:`generate` or :func:`build_sample`.
    seed : int, default 0
        Together with the directory's contents (its newest mtime and message count) decides
        what changes, so the same seed on the same input gives the same result, and repeated
        calls with the same seed still simulate different days.

    Returns
    -------
    dict
        ``{"rewritten": [...], "added": [...], "deleted": [...]}``: sorted paths relative to
        ``server_dir`` with ``/``. ``rewritten`` includes the folder files (``index.fld``,
        ``status.fld``) rewritten, so the three lists together name every file that changed.
    """
    root = Path(server_dir)
    scan = _scan(root)
    rng = random.Random(f"mutate:{seed}:{scan.newest}:{len(scan.messages)}")
    new_mtime = scan.newest + _DAY
    ns = new_mtime * 1_000_000_000
    count = len(scan.messages)

    def about(share: float) -> int:
        return min(count, max(1, round(count * share * rng.uniform(0.85, 1.15)))) if count else 0

    n_rewrite, n_add, n_delete = about(0.01), about(0.01), about(0.005)
    picked = rng.sample(range(count), min(count, n_rewrite + n_delete))
    rewritten = [scan.messages[i] for i in sorted(picked[:n_rewrite])]
    deleted = [scan.messages[i] for i in sorted(picked[n_rewrite:])]

    for rel in rewritten:
        path = root / rel
        path.write_bytes(_rewrite(rng, path.read_bytes()))
        os.utime(path, ns=(ns, ns))
    for rel in deleted:
        (root / rel).unlink()

    added = _add_messages(root, rng, scan.messages, n_add, new_mtime)
    changed_folders = sorted({rel.rsplit("/#msgs/", 1)[0] for rel in rewritten + deleted + added})
    folder_files = []
    for folder_rel in changed_folders:
        folder_files += _refresh_folder_files(root, folder_rel, new_mtime)
    return {"rewritten": sorted(rewritten + folder_files), "added": sorted(added), "deleted": deleted}


def _add_messages(root: Path, rng: random.Random, messages: list[str], n_add: int, mtime: int) -> list[str]:
    """Deliver ``n_add`` new messages to folders picked like existing mail (busy folders get
    more), each under its folder's next unused id."""
    if not messages or not n_add:
        return []
    people = _read_people(root)
    factory = _MailFactory(rng, _DEFAULT_PROFILE)
    for person in people.values():
        factory.colleagues.setdefault(person.address.split("@")[1], []).append(person)
    # Next ids come from the folder as it was before today's deletions: a server never gives a
    # new message the name of one it deleted (a backup would see a change, not an addition).
    highest: dict[str, int] = {}
    for rel in messages:
        folder_rel, name = rel.rsplit("/#msgs/", 1)
        highest[folder_rel] = max(highest.get(folder_rel, 0), int(name[:8], 16))
    next_ids: dict[str, int] = {}
    added = []
    for _ in range(n_add):
        folder_rel = rng.choice(messages).rsplit("/#msgs/", 1)[0]
        if folder_rel not in next_ids:
            existing = [int(name[:8], 16) for name in os.listdir(root / folder_rel / "#msgs")
                        if name.endswith(".eml")]
            next_ids[folder_rel] = max(existing + [highest.get(folder_rel, 0)]) + 1
        msg_id = next_ids[folder_rel]
        next_ids[folder_rel] += 1
        folder = _folder_of(folder_rel, people)
        data, _ = factory.message(folder, mtime - rng.randint(60, 3600))
        rel = f"{folder_rel}/#msgs/{_msg_name(msg_id)}"
        path = root / rel
        path.write_bytes(data)
        os.utime(path, ns=(mtime * 1_000_000_000,) * 2)
        added.append(rel)
    return added


def _refresh_folder_files(root: Path, folder_rel: str, mtime: int) -> list[str]:
    """Rewrite a changed folder's ``index.fld`` and ``status.fld`` from what ``#msgs`` holds."""
    msgs_dir = root / folder_rel / "#msgs"
    records = []
    for name in sorted(os.listdir(msgs_dir)):
        if name.endswith(".eml"):
            st = os.stat(msgs_dir / name)
            records.append((int(name[:8], 16), st.st_size, st.st_mtime_ns // 1_000_000_000))
    written = []
    for name, data in (("index.fld", _index_fld(records)), ("status.fld", _status_fld(folder_rel, records, mtime))):
        path = root / folder_rel / name
        path.write_bytes(data)
        os.utime(path, ns=(mtime * 1_000_000_000,) * 2)
        written.append(f"{folder_rel}/{name}")
    return written


# ---------------------------------------------------------------------------------------------
# Command line


def _human(size: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.2f} {unit}"
        size /= 1000
    return str(size)


def main(argv=None) -> int:
    """Entry point of ``python -m workbench.samples``; prints one summary line."""
    parser = argparse.ArgumentParser(prog="python -m workbench.samples", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    gen = commands.add_parser("generate", help="create a synthetic server directory")
    gen.add_argument("dir")
    gen.add_argument("--messages", type=int, default=1000)
    gen.add_argument("--seed", type=int, default=0)
    mut = commands.add_parser("mutate", help="simulate one day of mail in a server directory")
    mut.add_argument("dir")
    mut.add_argument("--seed", type=int, default=0)
    sample = commands.add_parser("build-sample", help="build the committed sample (data/samples/kerio)")
    sample.add_argument("dir")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    if args.command == "mutate":
        result = mutate(args.dir, seed=args.seed)
        eml = sum(1 for rel in result["rewritten"] if rel.endswith(".eml"))
        print(f"mutated {args.dir}: {eml} messages rewritten, {len(result['added'])} added, "
              f"{len(result['deleted'])} deleted, {len(result['rewritten']) - eml} folder files "
              f"updated in {time.perf_counter() - started:.1f} s")
        return 0
    if args.command == "generate":
        summary = generate(args.dir, args.messages, seed=args.seed)
    else:
        summary = build_sample(args.dir)
    print(f"generated {args.dir}: {summary['messages']} messages ({summary['with_attachments']} with "
          f"attachments), {summary['users']} users in {summary['domains']} domains, {summary['files']} "
          f"files, {_human(summary['bytes'])} in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
