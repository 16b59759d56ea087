"""The small-messages profile's messages: mostly mail under 2 KB, and a few very large ones.

Much of a real store is short: monitoring and ticket notifications, one-line replies, calendar
invitations and their answers. Per file such a store costs a backup far more than its bytes do.
A handful of messages (one per ``huge_every``, at least one per store) carry one very large
attachment (``huge_min``-``huge_max`` raw bytes), whose random base64 is made and written about
1 MB at a time, so it neither sits in memory nor dominates generation time. About one message in
eight is ordinary mail as the default profile makes it.
"""

from __future__ import annotations

import math
import quopri
import random
import time

from .attachments import base64_lines
from .layout import Chunks, Folder
from .mail import MailFactory
from .text import Person, encode_subject, person, prague_offset, rfc5322_date

_ALERTS = ("Disk usage on {host} is {pct}%", "Backup job 'Nightly {host}' completed successfully",
           "Backup job 'Nightly {host}' finished with warnings",
           "Certificate for {host} expires in {days} days",
           "[RESOLVED] High load on {host}", "[ALERT] Service smtp on {host} is down",
           "Your password expires in {days} days", "New comment on ticket #{id}", "Ticket #{id} was closed",
           "Build #{id} passed", "Build #{id} failed", "Daily report {day}", "Úloha č. {id} dokončena",
           "Připomínka: faktura {id} je po splatnosti", "New sign-in to your account")
_ALERT_LINES = ("Host: {host}", "Time: {date}", "Value: {pct}", "Threshold: 85", "Status: {status}",
                "Details: https://monitor.example.net/event/{id}", "Job: Nightly {host}",
                "Files: {id}, errors: 0", "This message was sent automatically. Do not reply.",
                "Zpráva byla odeslána automaticky, neodpovídejte na ni.")
_SENDERS = (("Monitoring", "noreply@monitor.example.net"), ("Helpdesk", "helpdesk@example.net"),
            ("Jenkins", "jenkins@ci.example.net"), ("Backup Service", "backup@example.net"),
            ("Informační systém", "is@example.org"), ("Security", "no-reply@accounts.example.net"))
_ONE_LINERS = ("Thanks!", "OK, I'll do it tomorrow.", "Sounds good.", "Yes, 10:00 works for me.", "Done.",
               "Will check and get back to you.", "Agreed.", "See you there.", "Thank you, received.",
               "Can we move it to Friday?", "Díky, beru na vědomí.", "Souhlasím.", "Ano, zítra v 9.",
               "Hotovo.", "Pošlu odpoledne.", "Super, díky!", "No problem.", "Approved.")
_MEETINGS = ("Standup", "Weekly sync", "1:1", "Porada oddělení", "Project review", "Lunch", "Demo",
             "Školení bezpečnosti", "Planning", "Retro")
_HUGE_KINDS = (("video/mp4", "recording-{day}.mp4"), ("application/zip", "export-{day}.zip"),
               ("application/octet-stream", "vm-disk-{day}.img"),
               ("application/x-7z-compressed", "archiv-{day}.7z"))
_HOSTS = tuple(f"srv-{n:02d}" for n in range(1, 25)) + ("mail", "db1", "fs-praha", "web-02")


class SmallMailFactory(MailFactory):
    """Builds short messages, ordinary ones now and then, and plans the few huge ones."""

    def __init__(self, rng: random.Random, profile, messages: int = 0, whole_store: bool = False):
        super().__init__(rng, profile, messages, whole_store)
        every = profile.huge_every
        if not every:
            count = 0
        elif whole_store:
            count = max(1, round(messages / every))
        else:  # a day of mail: as many as the rate gives, on average
            count = int(messages / every) + (rng.random() < messages / every % 1)
        self.huge_at = set(rng.sample(range(messages), min(count, messages)))
        self.made = 0
        self.notifiers = [person(name, address) for name, address in _SENDERS]

    def message(self, folder: Folder, ts: int) -> tuple[bytes | Chunks, int]:
        """Build one message delivered (or saved) at ``ts``: (content with CRLF, attachments)."""
        rng = self.rng
        index, self.made = self.made, self.made + 1
        if index in self.huge_at:
            return self._huge(folder, ts), 1
        roll = rng.random()
        if folder.kind == "invoice":
            return super().message(folder, ts) if roll < 0.5 else (self._notification(folder, ts), 0)
        if roll < 0.12:
            return super().message(folder, ts)
        outbound = folder.kind in ("out", "draft")
        if roll < 0.22:
            return self._invitation(folder, ts, outbound), 0
        if not outbound and roll < 0.55:
            return self._notification(folder, ts), 0
        if roll < 0.8:
            return self._reply(folder, ts, [rng.choice(_ONE_LINERS)]), 0
        return self._reply(folder, ts, rng.choices(self.en_lines if rng.random() < 0.7 else self.cs_lines,
                                                   k=rng.randint(1, int(self.profile.body_lines) + 1))), 0

    # -- parts ------------------------------------------------------------------------------

    def _head(self, folder: Folder, ts: int, sender: Person, recipient: Person, subject: str,
              extra: tuple[str, ...] = ()) -> list[str]:
        """Header lines: one ``Received:`` for delivered mail, the usual six, and ``extra``."""
        rng = self.rng
        head = []
        domain = sender.address.split("@")[1]
        if folder.kind not in ("out", "draft"):
            head += [f"Return-Path: <{sender.address}>",
                     f"Received: from mx.{domain} (mx.{domain} [192.0.2.{rng.randint(1, 254)}])\n\t"
                     f"by mail.{folder.domain} (Kerio Connect 10.0.6) with ESMTPS id "
                     f"{rng.getrandbits(40):010X}; {rfc5322_date(ts, prague_offset(ts))}"]
        date_ts = ts - rng.randint(1, 60)
        head += [f"Message-ID: <{rng.getrandbits(64):016x}.{ts:x}@{domain}>",
                 f"Date: {rfc5322_date(date_ts, prague_offset(date_ts))}",
                 f"From: {sender.header}", f"To: {recipient.header}",
                 f"Subject: {encode_subject(subject)}", "MIME-Version: 1.0", *extra]
        return head

    @staticmethod
    def _finish(head: list[str], body: str) -> bytes:
        return ("\n".join(head) + "\n" + body).encode("utf-8").replace(b"\n", b"\r\n")

    # -- kinds of message -------------------------------------------------------------------

    def _notification(self, folder: Folder, ts: int) -> bytes:
        rng = self.rng
        owner = folder.owner or person(f"All {folder.domain}", f"all@{folder.domain}")
        values = {"host": rng.choice(_HOSTS), "pct": rng.randint(80, 99), "days": rng.randint(2, 30),
                  "id": rng.randint(1000, 99999), "status": rng.choice(("OK", "WARNING", "CRITICAL")),
                  "day": time.strftime("%Y-%m-%d", time.gmtime(ts)), "date": rfc5322_date(ts, 0)}
        subject = rng.choice(_ALERTS).format(**values)
        lines = [line.format(**values) for line in rng.sample(_ALERT_LINES, rng.randint(2, 5))]
        head = self._head(folder, ts, rng.choice(self.notifiers), owner, subject,
                          ("Auto-Submitted: auto-generated", "X-Auto-Response-Suppress: All"))
        return self._finish(head, self._text_part("\n".join(lines), "plain"))

    def _reply(self, folder: Folder, ts: int, lines: list[str]) -> bytes:
        rng = self.rng
        sender, recipient, _ = self._parties(folder)
        parent = f"<{rng.getrandbits(64):016x}@{recipient.address.split('@')[1]}>"
        subject = "Re: " + self._subject(rng.random() < 0.2, False).removeprefix("Re: ")
        head = self._head(folder, ts, sender, recipient, subject,
                          (f"In-Reply-To: {parent}", f"References: {parent}"))
        text = "\n".join(lines + ["", sender.name.split()[0]])
        return self._finish(head, self._text_part(text, "plain"))

    def _invitation(self, folder: Folder, ts: int, answer: bool) -> bytes:
        """A calendar invitation (text and ``text/calendar``), or the answer to one."""
        rng = self.rng
        sender, recipient, _ = self._parties(folder)
        organizer, attendee = (recipient, sender) if answer else (sender, recipient)
        meeting = rng.choice(_MEETINGS)
        start = ts + rng.randint(1, 14) * 86400 - ts % 3600
        when = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(start))
        end = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(start + rng.choice((15, 30, 60)) * 60))
        verb = rng.choice(("Accepted", "Declined", "Tentative")) if answer else "Invitation"
        method = "REPLY" if answer else "REQUEST"
        boundary = f"=_cal_{rng.getrandbits(48):012x}"
        calendar = "\n".join([
            "BEGIN:VCALENDAR", "PRODID:-//Kerio Technologies//Kerio Connect//EN", "VERSION:2.0",
            f"METHOD:{method}", "BEGIN:VEVENT", f"UID:{rng.getrandbits(96):024x}@{folder.domain}",
            f"DTSTAMP:{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(ts))}", f"DTSTART:{when}",
            f"DTEND:{end}", f"SUMMARY:{meeting}",
            f'ORGANIZER;CN="{organizer.name}":mailto:{organizer.address}',
            f'ATTENDEE;CN="{attendee.name}";PARTSTAT={verb.upper() if answer else "NEEDS-ACTION"}:'
            f"mailto:{attendee.address}", "END:VEVENT", "END:VCALENDAR"])
        head = self._head(folder, ts, sender, recipient, f"{verb}: {meeting} @ {when[:8]}",
                          (f'Content-Type: multipart/alternative; boundary="{boundary}"',))
        body = (f"\n--{boundary}\n" + self._text_part(f"{verb}: {meeting}\nWhen: {when}", "plain")
                + f"--{boundary}\n" + self._calendar_part(calendar, method) + f"--{boundary}--\n")
        return self._finish(head, body)

    def _calendar_part(self, calendar: str, method: str) -> str:
        if calendar.isascii():
            return (f'Content-Type: text/calendar; charset="us-ascii"; method={method}\n'
                    f"Content-Transfer-Encoding: 7bit\n\n{calendar}\n")
        return (f'Content-Type: text/calendar; charset="utf-8"; method={method}\n'
                f"Content-Transfer-Encoding: quoted-printable\n\n"
                f"{quopri.encodestring(calendar.encode('utf-8')).decode('ascii')}\n")

    def _huge(self, folder: Folder, ts: int) -> Chunks:
        """A short message with one very large base64 attachment, as chunks."""
        rng, p = self.rng, self.profile
        sender, recipient, _ = self._parties(folder)
        size = int(math.exp(rng.uniform(math.log(p.huge_min), math.log(p.huge_max))))
        lines = -(-size // 57)  # 57 raw bytes per line of 76 base64 characters
        ctype, name = rng.choice(_HUGE_KINDS)
        name = name.format(day=time.strftime("%Y%m%d", time.gmtime(ts)))
        boundary = f"----=_Part_{rng.getrandbits(48):012x}"
        head = self._head(folder, ts, sender, recipient, f"{name.rsplit('.', 1)[0]} (large file)",
                          (f'Content-Type: multipart/mixed; boundary="{boundary}"',))
        start = self._finish(head, f"\n--{boundary}\n" + self._text_part(f"Sending {name}.", "plain")
                             + f'--{boundary}\nContent-Type: {ctype}; name="{name}"\n'
                             f'Content-Disposition: attachment; filename="{name}"\n'
                             "Content-Transfer-Encoding: base64\n\n")
        end = f"--{boundary}--\r\n".encode("ascii")
        # Its own generator: the payload is made while it is written, after later draws.
        payload = base64_lines(random.Random(rng.getrandbits(64)), lines)
        return Chunks(len(start) + lines * 78 + len(end), _chain(start, payload, end))


def _chain(start: bytes, middle, end: bytes):
    yield start
    yield from middle
    yield end

