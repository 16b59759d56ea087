"""The default profile's messages: ordinary office mail with text, HTML and attachments."""

from __future__ import annotations

import base64
import email.header
import quopri
import random
import time
import urllib.parse
import zlib
from typing import TYPE_CHECKING

from .attachments import pdf, png
from .layout import Folder
from .text import (REFERENCE_TIME, YEAR, Person, ascii_fold, encode_subject, person, prague_offset,
                   rfc5322_date, vocabulary, wrap_lines)
from .words import (CS_PHRASES, CS_SUBJECTS, CS_WORDS, EN_PHRASES, EN_SUBJECTS, EN_TOPICS, EN_WORDS,
                    EXTERNAL_DOMAINS, FIRST, LAST, MAILERS, SYLLABLES)

if TYPE_CHECKING:
    from .profiles import Profile


class MailFactory:
    """Builds RFC 5322 messages from precomputed pools of text, people and subjects.

    All the expensive work (word drawing, wrapping, header encoding) happens once in the
    constructor; a message is then mostly list picks and joins.
    """

    def __init__(self, rng: random.Random, profile: Profile, messages: int = 0, whole_store: bool = False):
        """``messages``: how many the caller will ask for; ``whole_store``: whether they make a new
        store. Profiles that plan their huge attachments (``huge_every``) need both; this one
        draws them per message."""
        self.rng = rng
        self.profile = profile
        en_words, en_cum = vocabulary(EN_WORDS + self._pseudo_words(300), EN_PHRASES)
        cs_words, cs_cum = vocabulary(CS_WORDS, CS_PHRASES)
        self.en_lines = wrap_lines(rng, en_words, en_cum, 12_000)
        self.cs_lines = wrap_lines(rng, cs_words, cs_cum, 3_000)
        self.externals = [
            person(f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                    f"{ascii_fold(rng.choice(FIRST)).lower()}@{rng.choice(EXTERNAL_DOMAINS)}")
            for _ in range(300)
        ]
        self.suppliers = [person(f"Fakturace {d.split('.')[0]}", f"fakturace@{d}")
                          for d in EXTERNAL_DOMAINS]
        self.colleagues: dict[str, list[Person]] = {}

    def _pseudo_words(self, count: int) -> list[str]:
        """Made-up words (names, jargon) that widen the vocabulary like real mail's long tail."""
        return ["".join(self.rng.choices(SYLLABLES, k=self.rng.randint(2, 4))) for _ in range(count)]

    # -- parts ------------------------------------------------------------------------------

    def _body_lines(self, czech: bool, sender: Person, recipient: Person) -> list[str]:
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
            lines += ["", f"On {rfc5322_date(rng.randrange(REFERENCE_TIME - YEAR, REFERENCE_TIME), 60)},"
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
            data = pdf(rng, size, title)
            ctype = "application/pdf"
            name = rng.choice((f"faktura-{day}.pdf", f"Faktura č. {day[2:]}.pdf")) if invoice else \
                rng.choice((f"scan_{day}.pdf", "report.pdf", "Nabídka služeb.pdf", "contract-signed.pdf"))
        else:
            data = png(rng, size)
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

    def _parties(self, folder: Folder) -> tuple[Person, Person, list[Person]]:
        """Sender, main recipient and Cc list for a message in ``folder``."""
        rng = self.rng
        colleagues = self.colleagues.get(folder.domain) or self.externals
        owner = folder.owner or person(f"All {folder.domain}", f"all@{folder.domain}")
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
        template = rng.choice(CS_SUBJECTS if czech else EN_SUBJECTS)
        return template.format(t=rng.choice(EN_TOPICS), n=number)

    def message(self, folder: Folder, ts: int) -> tuple[bytes, int]:
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
                     f"{rfc5322_date(ts, prague_offset(ts))}"]
        tz = prague_offset(date_ts) if sender_domain.endswith(("example.com", "example.org", "example.net")) \
            or rng.random() < 0.7 else rng.choice((0, -300, 330))
        head += [f"Message-ID: <{rng.getrandbits(64):016x}.{ts:x}@{sender_domain}>",
                 f"Date: {rfc5322_date(date_ts, tz)}",
                 f"From: {sender.header}",
                 f"To: {recipient.header}"]
        if cc:
            head.append("Cc: " + ",\n\t".join(person.header for person in cc))
        head += [f"Subject: {encode_subject(self._subject(czech, invoice))}",
                 "MIME-Version: 1.0",
                 f"X-Mailer: {rng.choice(MAILERS)}"]

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
