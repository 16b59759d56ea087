"""Profiles: what a generated store's messages look like, selectable by name.

Each profile stresses something else in a backup: ``default`` is ordinary office mail (about
12 KB a message, some attachments); ``long-headers`` is relayed and list mail whose header blocks
run to several KB (many ``Received:`` lines, signatures, encoded words in many charsets);
``small-messages`` is mostly messages under 2 KB (notifications, one-line replies, calendar
pings) with a handful of very large attachments. Users, folders and delivery times are the same
for a seed whatever the profile; only the messages differ.

A store made with another profile than ``default``, or with other sizes, names its profile in a
comment in ``mailserver.cfg``, so that ``mutate`` adds a day of mail in the same style.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path

from .mail import MailFactory
from .relayed import RelayedMailFactory
from .small import SmallMailFactory


@dataclass(frozen=True)
class Profile:
    """A store's style: the factory that builds its messages, and their size knobs."""

    name: str = "default"
    factory: type = MailFactory
    body_lines: float = 38.0  # median lines of body text (log-normal)
    attach_rate: float = 0.11  # share of ordinary messages with attachments (invoices: 0.45)
    attach_median: int = 8_000  # raw bytes; log-normal, clipped to [attach_min, attach_max]
    attach_min: int = 5_000
    attach_max: int = 200_000
    huge_rate: float = 1 / 2000  # share of messages drawn to carry one huge attachment...
    huge_every: int = 0  # ...or one planned per this many messages (at least one per store)
    huge_min: int = 2_000_000  # raw bytes of a huge attachment
    huge_max: int = 8_000_000


DEFAULT = Profile()
# The committed sample must stay under 2 MB: small attachments, never a huge one.
SAMPLE = Profile(body_lines=20.0, attach_median=4_000, attach_min=1_500, attach_max=12_000, huge_rate=0.0)
LONG_HEADERS = Profile("long-headers", RelayedMailFactory, body_lines=16.0, attach_rate=0.06)
SMALL_MESSAGES = Profile("small-messages", SmallMailFactory, body_lines=4.0, huge_rate=0.0,
                         huge_every=20_000, huge_min=20_000_000, huge_max=200_000_000)
PROFILES = {profile.name: profile for profile in (DEFAULT, LONG_HEADERS, SMALL_MESSAGES)}

_NOTE = re.compile(rb"<!-- workbench\.samples profile=([\w-]+) huge=(\d+)-(\d+) -->")


def profile_named(name: str, large_size: tuple[int, int] | None = None) -> Profile:
    """The profile called ``name``, its huge attachments resized to ``large_size`` if given.

    Raises
    ------
    ValueError
        If there is no such profile, or ``large_size`` is not ``(min, max)`` with
        ``0 < min <= max``.
    """
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; choose one of {', '.join(PROFILES)}")
    profile = PROFILES[name]
    if large_size is None:
        return profile
    low, high = (int(size) for size in large_size)
    if not 0 < low <= high:
        raise ValueError(f"large_size must be (min, max) bytes with 0 < min <= max, not {large_size!r}")
    return dataclasses.replace(profile, huge_min=low, huge_max=high)


def style_note(profile: Profile) -> str | None:
    """The comment that records a profile in ``mailserver.cfg``; None for the plain default (whose
    stores stay as they always were)."""
    if profile == DEFAULT or profile == SAMPLE:
        return None
    return f"workbench.samples profile={profile.name} huge={profile.huge_min}-{profile.huge_max}"


def store_profile(server_dir: Path) -> Profile:
    """The profile a server directory was generated with (``default`` when it does not say)."""
    try:
        with open(server_dir / "mailserver.cfg", "rb") as handle:
            head = handle.read(512)
    except OSError:
        return DEFAULT
    found = _NOTE.search(head)
    if found is None:
        return DEFAULT
    return profile_named(found.group(1).decode("ascii"), (int(found.group(2)), int(found.group(3))))
