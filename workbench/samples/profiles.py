"""Profiles: the knobs that decide what a generated store's messages look like."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    """Size knobs of a generated store (the defaults give about 12 KB per message on average)."""

    body_lines: float = 38.0  # median lines of body text (log-normal)
    attach_rate: float = 0.11  # share of ordinary messages with attachments (invoices: 0.45)
    attach_median: int = 8_000  # raw bytes; log-normal, clipped to [attach_min, attach_max]
    attach_min: int = 5_000
    attach_max: int = 200_000
    huge_rate: float = 1 / 2000  # messages that carry one 2-8 MB attachment
    huge_min: int = 2_000_000
    huge_max: int = 8_000_000


DEFAULT = Profile()
# The committed sample must stay under 2 MB: small attachments, never a huge one.
SAMPLE = Profile(body_lines=20.0, attach_median=4_000, attach_min=1_500, attach_max=12_000, huge_rate=0.0)
