"""People, dates and text helpers shared by every message generator."""

from __future__ import annotations

import calendar
import email.header
import email.utils
import random
import time
import unicodedata
from dataclasses import dataclass


#: Every generated mtime lies in the year before this instant (2026-11-01T00:00:00Z).
REFERENCE_TIME = calendar.timegm((2026, 11, 1, 0, 0, 0))
YEAR = 365 * 86400
DAY = 86400

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class Person:
    name: str
    address: str
    header: str  # "Name <address>", RFC 2047-encoded when the name is not ASCII


def ascii_fold(text: str) -> str:
    """``"Jiří Dvořák"`` -> ``"Jiri Dvorak"``: Kerio user names are ASCII."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def person(name: str, address: str) -> Person:
    return Person(name, address, email.utils.formataddr((name, address), charset="utf-8"))


def rfc5322_date(ts: int, tz_minutes: int) -> str:
    """Format a Date header by hand: ``email.utils.format_datetime`` is several times slower."""
    t = time.gmtime(ts + tz_minutes * 60)
    sign = "+" if tz_minutes >= 0 else "-"
    tz = abs(tz_minutes)
    return (f"{DAYS[t.tm_wday]}, {t.tm_mday:02d} {MONTHS[t.tm_mon - 1]} {t.tm_year} "
            f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} {sign}{tz // 60:02d}{tz % 60:02d}")


def prague_offset(ts: int) -> int:
    """Minutes east of UTC in Prague (approximate DST: April to October)."""
    return 120 if 4 <= time.gmtime(ts).tm_mon <= 10 else 60


def encode_subject(subject: str) -> str:
    if subject.isascii():
        return subject
    return email.header.Header(subject, "utf-8").encode()


def vocabulary(words: list[str], phrases: tuple[str, ...], expo: float = 1.1,
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


def wrap_lines(rng: random.Random, words: list[str], cum: list[float], count: int,
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
