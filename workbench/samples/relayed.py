"""The long-headers profile's messages: mail as it arrives after crossing many relays and lists.

Real inbound mail from big providers and mailing lists spends most of its header block on
transport: 10-30 ``Received:`` lines with addresses, TLS notes and dates, DKIM signatures, ARC
sets, ``Authentication-Results``, ``List-*`` headers, anti-spam reports; its own headers come
late, with long ``References:`` chains, many recipients, and subjects and names as RFC 2047
encoded words in the sender's charset (which the body is often written in too, as 8bit,
quoted-printable or base64). Every pool (names, subjects, hosts, addresses, body lines) is built
once in the constructor, so a message is mostly picks and joins.
"""

from __future__ import annotations

import base64
import bisect
import itertools
import quopri
import random

from .attachments import base64_noise
from .charsets import CHARSETS, LOCALS, NAMES, UNSPACED, WORDS, encoded_words, fold
from .layout import Folder
from .mail import MailFactory
from .text import Person, person, prague_offset, rfc5322_date, vocabulary, wrap_lines

_FOREIGN_DOMAINS = ("firma.test", "beispiel.test", "societe.test", "kompania.test", "kompaniya.test",
                    "gongsi.test", "kaisha.test", "partner.test", "univ.test", "agentura.test")
_RELAY_DOMAINS = ("relay.test", "mailhost.test", "provider.test", "bigmail.test", "isp.test",
                  "filter.test", "cloudmail.test", "hosting.test")
_LISTS = ("dev-team", "announce", "users", "sales-cz", "support", "ops-alerts", "backup-users",
          "kerio-admins", "linux-cz", "board", "hr-news", "projekt-2026")
_TLS = ("(version=TLS1_3 cipher=TLS_AES_256_GCM_SHA384 bits=256/256)",
        "(version=TLS1_3 cipher=TLS_AES_128_GCM_SHA256 bits=128/128)",
        "(version=TLS1_2 cipher=ECDHE-RSA-AES256-GCM-SHA384 bits=256/256)")
_POSTFIX_TLS = ("(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)\n\t key-exchange "
                "X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256)\n\t"
                "(No client certificate requested)",
                "(using TLSv1.2 with cipher ECDHE-RSA-AES256-GCM-SHA384 (256/256 bits))\n\t"
                "(Client did not present a certificate)")
_ZONES = (0, 60, 120, -240, -300, -420, 330, 480, 540)
_SPAM_TESTS = ("BAYES_00 DKIM_SIGNED DKIM_VALID DKIM_VALID_AU DKIM_VALID_EF HTML_MESSAGE "
               "MAILING_LIST_MULTI RCVD_IN_DNSWL_NONE RCVD_IN_MSPIKE_H2 SPF_HELO_NONE SPF_PASS "
               "T_SCC_BODY_TEXT_LINE URIBL_BLOCKED ARC_SIGNED ARC_VALID").split()
_SIGNED = ("from:to:cc:subject:date:message-id:references:in-reply-to:mime-version:"
           "content-type:content-transfer-encoding:list-id:list-unsubscribe:list-post:"
           "list-help:list-subscribe:list-archive:reply-to:sender").split(":")
_LOCALES = {"cs": "cs-CZ", "pl": "pl-PL", "de": "de-DE", "fr": "fr-FR", "ru": "ru-RU", "zh": "zh-CN",
            "ja": "ja-JP", "en": "en-US"}
_REPLY = {"cs": "Odp: ", "pl": "Odp: ", "de": "AW: ", "fr": "RE: ", "ru": "Re: ", "zh": "回复：",
          "ja": "Re: ", "en": "Re: "}


class RelayedMailFactory(MailFactory):
    """Builds long-header messages; inherits the default profile's attachments and HTML."""

    def __init__(self, rng: random.Random, profile, messages: int = 0, whole_store: bool = False):
        super().__init__(rng, profile, messages, whole_store)
        self.lines = {lang: self._language_lines(lang) for lang in WORDS}
        self.charsets = [(charset, langs) for charset, langs, _ in CHARSETS]
        self.charset_cum = list(itertools.accumulate(share for _, _, share in CHARSETS))
        self.subjects = {charset: [self._subject_words(charset, langs) for _ in range(300)]
                         for charset, langs in self.charsets}
        self.crowd = [self._stranger() for _ in range(2_000)]
        self.hosts = [f"{rng.choice(('mx', 'smtp', 'relay', 'mta', 'edge', 'in', 'out'))}"
                      f"{rng.randint(1, 40)}.{rng.choice(_RELAY_DOMAINS + _FOREIGN_DOMAINS)}"
                      for _ in range(400)]
        self.ms_hosts = [f"{rng.choice(('AM0', 'DB9', 'VI1', 'PA4', 'HE1', 'DU2'))}PR0{rng.randint(1, 9)}"
                         f"MB{rng.randint(1000, 9999)}.eurprd0{rng.randint(1, 9)}.prod.outlook.test"
                         for _ in range(200)]
        self.ipv4 = [f"{rng.choice(('192.0.2', '198.51.100', '203.0.113'))}.{rng.randint(1, 254)}"
                     for _ in range(600)]
        self.ipv6 = [f"2001:db8:{rng.getrandbits(16):x}:{rng.getrandbits(16):x}::{rng.getrandbits(16):x}"
                     for _ in range(300)]

    # -- pools ------------------------------------------------------------------------------

    def _language_lines(self, lang: str) -> list[str]:
        words = list(WORDS[lang])
        pairs = tuple(f"{a} {b}" for a, b in zip(words[:16:2], words[1:16:2]))  # collocations
        words, cum = vocabulary(words, pairs)
        lines = wrap_lines(self.rng, words, cum, 400, width=72 if lang not in UNSPACED else 60)
        return [line.replace(" ", "") for line in lines] if lang in UNSPACED else lines

    def _pick_charset(self) -> tuple[str, tuple[str, ...]]:
        return self.charsets[bisect.bisect(self.charset_cum, self.rng.random() * self.charset_cum[-1])]

    def _subject_words(self, charset: str, langs: tuple[str, ...]) -> tuple[str, list[str]]:
        """(language, subject tokens): RFC 2047 words, or raw UTF-8 as some mailers send it."""
        rng = self.rng
        lang = rng.choice(langs)
        words = rng.choices(WORDS[lang], k=rng.randint(3, 9))
        text = ("" if lang in UNSPACED else " ").join(words)
        text = text[0].upper() + text[1:]
        if rng.random() < 0.3:
            text = _REPLY[lang] + text
        if charset == "utf-8" and rng.random() < 0.06:
            return lang, text.split()  # 8-bit header (RFC 6532)
        return lang, encoded_words(text, charset, rng.random() < 0.6)

    def _stranger(self) -> str:
        """One address as it appears in To or Cc: an encoded name, a quoted one, or none."""
        rng = self.rng
        charset, langs = self._pick_charset()
        lang = rng.choice(langs)
        firsts, lasts = NAMES[lang]
        first, last = rng.choice(firsts), rng.choice(lasts)
        address = (f"{rng.choice(LOCALS[lang])}.{rng.choice(LOCALS[lang])}{rng.randint(1, 99)}"
                   f"@{rng.choice(_FOREIGN_DOMAINS)}")
        roll = rng.random()
        if roll < 0.08:
            return address
        if roll < 0.2:
            first, last = rng.choice(NAMES["en"][0]), rng.choice(NAMES["en"][1])
            return f'"{last}, {first}" <{address}>'
        name = f"{last}{first}" if lang in UNSPACED else f"{first} {last}"
        return " ".join(encoded_words(name, charset, rng.random() < 0.5)) + f" <{address}>"

    def _b64(self, length: int) -> str:
        return base64_noise(self.rng, length).decode("ascii")

    def _folded_b64(self, tag: str, length: int) -> str:
        """A signature tag (``b=...``) folded over lines of 70 characters."""
        value = tag + self._b64(length)
        return "\n\t ".join(value[i:i + 70] for i in range(0, len(value), 70))

    def _date(self, ts: int) -> str:
        rng = self.rng
        tz = rng.choice(_ZONES)
        date = rfc5322_date(ts, tz)
        return date + " (CEST)" if tz == 120 and rng.random() < 0.3 else date

    # -- transport headers ------------------------------------------------------------------

    def _hop(self, ts: int, rcpt: str, sender: str) -> str:
        """One ``Received:`` header as one of the common MTAs writes it."""
        rng = self.rng
        host, by = rng.choice(self.hosts), rng.choice(self.hosts)
        kind = rng.randrange(8)
        if kind == 0:
            return (f"Received: from {host} ({host} [{rng.choice(self.ipv4)}])\n\t"
                    f"{rng.choice(_POSTFIX_TLS)}\n\tby {by} (Postfix) with ESMTPS id "
                    f"{rng.getrandbits(52):013X}\n\tfor <{rcpt}>; {self._date(ts)}")
        if kind == 1:
            return (f"Received: from localhost (localhost [127.0.0.1])\n\tby {by} (amavisd-new, "
                    f"port 10024) with ESMTP id {self._b64(12)}\n\tfor <{rcpt}>; {self._date(ts)}")
        if kind == 2:
            return (f"Received: from [{rng.choice(self.ipv4)}] (helo={host})\n\tby {by} with esmtpsa "
                    f"(TLS1.3) tls TLS_AES_256_GCM_SHA384\n\t(Exim 4.97)\n\t(envelope-from "
                    f"<{sender}>)\n\tid 1s{self._b64(5)}-00{self._b64(4)}-{rng.randint(10, 99)}\n\t"
                    f"for {rcpt}; {self._date(ts)}")
        if kind == 3:
            a, b = rng.choice(self.ms_hosts), rng.choice(self.ms_hosts)
            return (f"Received: from {a} ({rng.choice(self.ipv6)}) by\n {b}\n ({rng.choice(self.ipv6)})"
                    f" with Microsoft SMTP Server (version=TLS1_2,\n cipher=TLS_ECDHE_RSA_WITH_AES_256_"
                    f"GCM_SHA384) id 15.20.{rng.randint(7000, 8999)}.{rng.randint(10, 40)}; {self._date(ts)}")
        if kind == 4:
            return (f"Received: from {host} ({host}. [{rng.choice(self.ipv4)}])\n\tby {by} with ESMTPS "
                    f"id {self._b64(20)}\n\tfor <{rcpt}>\n\t{rng.choice(_TLS)};\n\t{self._date(ts)}")
        if kind == 5:
            return (f"Received: by 2002:a05:{rng.getrandbits(16):x}:{rng.getrandbits(16):x}:b0:"
                    f"{rng.getrandbits(16):x}:{rng.getrandbits(16):x} with SMTP id "
                    f"{self._b64(11)}.{rng.randint(1, 99)};\n        {self._date(ts)}")
        if kind == 6:
            return (f"Received: from {host} ({host} [{rng.choice(self.ipv4)}])\n\tby {by} (8.17.1/"
                    f"8.17.1) with ESMTP id {self._b64(14)};\n\t{self._date(ts)}")
        return (f"Received: (qmail {rng.randint(1000, 99999)} invoked by uid {rng.randint(80, 999)}); "
                f"{self._date(ts)}")

    def _dkim(self, domain: str, ts: int) -> str:
        rng = self.rng
        h = _colon_list(rng.sample(_SIGNED, rng.randint(6, len(_SIGNED))))
        return (f"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d={domain};\n\t"
                f"s=s{rng.randint(2019, 2026)}{rng.randint(1, 12):02d}; t={ts}; x={ts + 604800};\n\t"
                f"h={h};\n\tbh={self._b64(43)}=;\n\t{self._folded_b64('b=', 344)}")

    def _authentication(self, host: str, domain: str, sender: str, ip: str, arc: int) -> list[str]:
        rng = self.rng
        tag = self._b64(8)
        results = (f"dkim=pass (2048-bit key; unprotected) header.d={domain} header.i=@{domain} "
                   f"header.b=\"{tag}\";\n\tspf=pass ({host}: domain of {sender} designates {ip} as "
                   f"permitted sender) smtp.mailfrom={sender};\n\tdmarc=pass (p=REJECT sp=REJECT "
                   f"dis=NONE) header.from={domain}")
        headers = []
        for i in range(arc, 0, -1):
            sealer = rng.choice(self.hosts).split(".", 1)[1]
            t = rng.getrandbits(31)
            headers += [
                f"ARC-Seal: i={i}; a=rsa-sha256; t={t}; cv={'none' if i == 1 else 'pass'};\n\t"
                f"d={sealer}; s=arc-{rng.randint(2016, 2026)};\n\t{self._folded_b64('b=', 344)}",
                f"ARC-Message-Signature: i={i}; a=rsa-sha256; c=relaxed/relaxed; d={sealer};\n\t"
                f"s=arc-{rng.randint(2016, 2026)}; h={':'.join(rng.sample(_SIGNED, 8))};\n\t"
                f"bh={self._b64(43)}=;\n\t{self._folded_b64('b=', 344)}",
                f"ARC-Authentication-Results: i={i}; {rng.choice(self.hosts)};\n\t{results}"]
        arc_note = (f";\n\tarc=pass (i={arc} spf=pass spfdomain={domain} dkim=pass dkdomain={domain})"
                    if arc else "")
        return [f"Authentication-Results: {host};\n\t{results}{arc_note}"] + headers

    def _spam_report(self, host: str) -> list[str]:
        rng = self.rng
        tests = ",".join(sorted(rng.sample(_SPAM_TESTS, rng.randint(5, len(_SPAM_TESTS)))))
        return [f"X-Virus-Scanned: amavisd-new at {host}",
                "X-Spam-Flag: NO", f"X-Spam-Score: -{rng.randint(0, 9)}.{rng.randint(0, 999):03d}",
                fold("X-Spam-Status", [f"No, score=-{rng.randint(0, 9)}.{rng.randint(0, 9)}",
                                       "required=5.0", f"tests={tests}", "autolearn=ham",
                                       "autolearn_force=no", "version=4.0.0"])]

    def _microsoft(self) -> list[str]:
        """The anti-spam block Exchange Online adds: a few long opaque headers."""
        rng = self.rng
        info = base64_noise(rng, 60 * rng.randint(20, 60)).decode("ascii")
        words = [f"=?us-ascii?Q?{info[i:i + 60]}?=" for i in range(0, len(info), 60)]  # 75 each
        uuid = "{0[0]}-{0[1]}-{0[2]}-{0[3]}-{0[4]}".format(
            [f"{rng.getrandbits(128):032x}"[a:b] for a, b in ((0, 8), (8, 12), (12, 16), (16, 20), (20, 32))])
        report = "".join(f"({rng.randint(13000000, 13999999)})" for _ in range(rng.randint(10, 30)))
        return [f"X-MS-Exchange-Organization-SCL: {rng.randint(-1, 1)}",
                f"X-MS-Office365-Filtering-Correlation-Id: {uuid}",
                f"X-Microsoft-Antispam: BCL:0;ARA:{'|'.join(str(rng.getrandbits(23)) for _ in range(8))};",
                "X-Microsoft-Antispam-Message-Info:\n\t" + "\n\t".join(words),
                # One long line, as Exchange writes it (there is no whitespace to fold at).
                f"X-Forefront-Antispam-Report:\n\tCIP:{rng.choice(self.ipv4)};CTRY:;"
                f"LANG:{rng.choice(tuple(_LOCALES))};SCL:1;SRV:;IPV:NLI;SFV:NSPM;"
                f"H:{rng.choice(self.ms_hosts)};PTR:;CAT:NONE;SFS:{report};DIR:INB;",
                f"X-MS-Exchange-CrossTenant-Network-Message-Id: {uuid}"]

    def _list_headers(self, name: str, domain: str) -> list[str]:
        base = f"lists.{domain}"
        return [f"List-Id: {name.replace('-', ' ').title()} <{name}.{base}>",
                f"List-Unsubscribe: <https://{base}/mailman/options/{name}>,\n\t"
                f"<mailto:{name}-request@{base}?subject=unsubscribe>",
                "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
                f"List-Archive: <https://{base}/pipermail/{name}/>",
                f"List-Post: <mailto:{name}@{base}>",
                f"List-Help: <mailto:{name}-request@{base}?subject=help>",
                f"List-Subscribe: <https://{base}/mailman/listinfo/{name}>,\n\t"
                f"<mailto:{name}-request@{base}?subject=subscribe>",
                "Precedence: list", f"X-BeenThere: {name}@{base}", "X-Mailman-Version: 2.1.39",
                f"Errors-To: {name}-bounces@{base}", f'Sender: "{name}" <{name}-bounces@{base}>']

    # -- whole messages ---------------------------------------------------------------------

    def _recipients(self, owner: Person | None) -> tuple[list[str], list[str]]:
        """To and Cc: the owner (of delivered mail) and others, sometimes very many."""
        rng = self.rng
        others = rng.choices(self.crowd, k=int(rng.lognormvariate(1.0, 0.9)))
        to = [owner.header] + others if owner else others or [rng.choice(self.crowd)]
        if rng.random() < 0.005:  # a mass mailing with everyone in Cc: a header block of 20-70 KB
            return to, rng.choices(self.crowd, k=rng.randint(400, 1600))
        return to, rng.choices(self.crowd, k=int(rng.lognormvariate(1.5, 1.0))) if rng.random() < 0.6 else []

    def _body(self, lang: str, charset: str, alternative: bool) -> bytes:
        """The text part(s) of a message, in ``charset``, with the transfer encoding a mailer of
        that charset would pick."""
        rng = self.rng
        pool = self.lines[lang]
        count = max(2, int(rng.lognormvariate(0, 0.7) * self.profile.body_lines))
        lines = rng.choices(pool, k=count)
        if rng.random() < 0.4:
            lines += [""] + ["> " + line for line in rng.choices(pool, k=rng.randint(4, 20))]
        text = "\n".join(lines) + "\n"
        part = self._encoded_text(text, charset, "plain")
        if not alternative:
            return part
        inner = f"=_alt_{rng.getrandbits(48):012x}"
        html = "<html><body>\n<p>" + "<br>\n".join(lines) + "</p>\n</body></html>\n"
        return (f'Content-Type: multipart/alternative; boundary="{inner}"\n\n--{inner}\n'.encode("ascii")
                + part + f"--{inner}\n".encode("ascii") + self._encoded_text(html, charset, "html")
                + f"--{inner}--\n".encode("ascii"))

    def _encoded_text(self, text: str, charset: str, subtype: str) -> bytes:
        data = text.encode(charset)
        if charset == "iso-2022-jp":
            cte, payload = "7bit", data
        else:
            roll = self.rng.random()
            if roll < 0.35:
                cte, payload = "8bit", data
            elif roll < 0.75:
                cte, payload = "quoted-printable", quopri.encodestring(data)
            else:
                cte, payload = "base64", base64.encodebytes(data)
        return (f'Content-Type: text/{subtype}; charset="{charset}"\n'
                f"Content-Transfer-Encoding: {cte}\n\n").encode("ascii") + payload

    def message(self, folder: Folder, ts: int) -> tuple[bytes, int]:
        """Build one message delivered (or saved) at ``ts``: (bytes with CRLF, attachments)."""
        rng, p = self.rng, self.profile
        inbound = folder.kind not in ("out", "draft")
        owner = folder.owner or person(f"All {folder.domain}", f"all@{folder.domain}")
        charset, _ = self._pick_charset()
        lang, subject = rng.choice(self.subjects[charset])
        to, cc = self._recipients(owner if inbound else None)
        sender = rng.choice(self.crowd) if inbound else owner.header
        sender_address = sender.rsplit("<", 1)[-1].rstrip(">")
        sender_domain = sender_address.split("@")[1]
        listed = inbound and rng.random() < 0.5
        head = []
        hops_ts = ts
        if inbound:
            ip = rng.choice(self.ipv4)
            relay = rng.choice(self.hosts)
            head += [f"Return-Path: <{sender_address}>",
                     f"Received: from {relay} ({relay} [{ip}])\n\tby mail.{folder.domain} (Kerio Connect "
                     f"10.0.6) with ESMTPS id {rng.getrandbits(40):010X}\n\t{rng.choice(_TLS)}\n\tfor "
                     f"<{owner.address}>; {rfc5322_date(ts, prague_offset(ts))}"]
            head += self._spam_report(f"mail.{folder.domain}")
            hops = rng.randint(9, 29)  # with Kerio's own: 10-30 Received lines
            arc_at, list_at = rng.randrange(hops), rng.randrange(hops)
            for index in range(hops):
                hops_ts -= rng.randint(0, 90)
                head.append(self._hop(hops_ts, owner.address, sender_address))
                if index == 0:
                    arc = rng.choice((0, 0, 1, 2, 3))
                    head += self._authentication(f"mail.{folder.domain}", sender_domain, sender_address,
                                                 ip, arc)
                if listed and index == list_at:
                    name = rng.choice(_LISTS)
                    head.append(self._dkim(f"lists.{folder.domain}", hops_ts))
                    head += self._list_headers(name, folder.domain)
                    subject = [f"[{name}]"] + subject
                if index == arc_at and rng.random() < 0.5:
                    head.append(f"X-Received: by 2002:a05:{rng.getrandbits(16):x}::{rng.getrandbits(16):x} "
                                f"with SMTP id {self._b64(11)};\n        {self._date(hops_ts)}")
            head.append(self._dkim(sender_domain, hops_ts))
        date_ts = hops_ts - rng.randint(1, 120)
        message_id = f"<{rng.getrandbits(64):016x}.{ts:x}@{sender_domain}>"
        head += [f"From: {sender}", fold("To", to, ","), *([fold("Cc", cc, ",")] if cc else []),
                 fold("Subject", subject), f"Date: {self._date(date_ts)}"]
        references = [f"<{rng.getrandbits(64):016x}@{rng.choice(self.hosts)}>"
                      for _ in range(int(rng.lognormvariate(2.2, 1.0)) if rng.random() < 0.7 else 0)]
        microsoft = rng.random() < 0.35
        if microsoft:
            head += [fold("Thread-Topic", subject), f"Thread-Index: {self._b64(30)}=="]
        head.append(f"Message-ID: {message_id}")
        if references:
            head += [fold("References", references[-80:]), f"In-Reply-To: {references[-1]}"]
        if microsoft:
            head += [f"Accept-Language: {_LOCALES[lang]}, en-US", f"Content-Language: {_LOCALES[lang]}",
                     *self._microsoft()]
        head.append("MIME-Version: 1.0")

        huge = rng.random() < p.huge_rate
        n_attach = rng.choice((1, 1, 1, 2)) if huge or rng.random() < p.attach_rate else 0
        body = self._body(lang, charset, rng.random() < 0.25)
        head_bytes = "\n".join(head).encode("utf-8")
        if not n_attach:
            data = [head_bytes, b"\n", body]
        else:
            boundary = f"----=_NextPart_{rng.getrandbits(48):012x}"
            data = [head_bytes, f'\nContent-Type: multipart/mixed; boundary="{boundary}"\n\n'
                    f"--{boundary}\n".encode("ascii"), body]
            for index in range(n_attach):
                data.append(self._attachment(boundary, folder.kind == "invoice", ts, huge and index == 0))
            data.append(f"--{boundary}--\n".encode("ascii"))
        return b"".join(data).replace(b"\n", b"\r\n"), n_attach


def _colon_list(names: list[str]) -> str:
    """``a:b:c`` as a signature's ``h=`` tag writes it, folded after a colon near column 70."""
    lines, line = [], ""
    for name in names:
        if line and len(line) + len(name) > 64:
            lines.append(line + ":")
            line = name
        else:
            line = f"{line}:{name}" if line else name
    lines.append(line)
    return "\n\t ".join(lines)
