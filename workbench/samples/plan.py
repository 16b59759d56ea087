"""Planning a store: domains and users, their folders, and when each message arrived."""

from __future__ import annotations

import bisect
import calendar
import random

from .layout import Folder
from .text import REFERENCE_TIME, YEAR, Person, ascii_fold, person
from .words import DOMAIN_PREFIXES, DOMAINS, FIRST, LAST


# Folder layout of every user: (path below the user directory, kind, share of the user's mail).
# The kind decides who sends the messages and how likely they carry attachments.
USER_FOLDERS = (
    ("INBOX", "in", 0.42),
    ("INBOX/Projects", "in", 0.06),
    ("INBOX/Projects/2026", "in", 0.08),
    ("Sent Items", "out", 0.20),
    ("Drafts", "draft", 0.02),
    ("Deleted Items", "in", 0.10),
    ("Přijaté faktury", "invoice", 0.12),  # "received invoices": the non-ASCII folder name
)
PUBLIC_FOLDERS = (("Company News", 0.5), ("Sdílené dokumenty", 0.3))
ARCHIVE_MONTHS = ("2026-08", "2026-09")
ARCHIVE_WEIGHT = 0.25


def plan_people(rng: random.Random, n_users: int) -> tuple[list[str], list[Person]]:
    n_domains = max(2, -(-n_users // 60))
    domains = list(DOMAINS[:n_domains])
    for extra in range(n_domains - len(domains)):  # praha.example.com, brno.example.org, ...
        rounds = extra // len(DOMAIN_PREFIXES)
        domains.append(f"{DOMAIN_PREFIXES[extra % len(DOMAIN_PREFIXES)]}{rounds or ''}"
                       f".{DOMAINS[extra % len(DOMAINS)]}")
    users, taken = [], set()
    for index in range(n_users):
        domain = domains[index % n_domains]
        first, last = rng.choice(FIRST), rng.choice(LAST)
        local = ascii_fold(f"{first}.{last}").lower()
        suffix = 1
        while f"{local}@{domain}" in taken:
            suffix += 1
            local = ascii_fold(f"{first}.{last}").lower() + str(suffix)
        taken.add(f"{local}@{domain}")
        users.append(person(f"{first} {last}", f"{local}@{domain}"))
    return domains, users


def plan_folders(rng: random.Random, domains: list[str], users: list[Person]) -> list[Folder]:
    folders = []
    for user in users:
        local, domain = user.address.split("@")
        activity = rng.lognormvariate(0, 0.6)  # some users get far more mail than others
        for rel, kind, share in USER_FOLDERS:
            folders.append(Folder(f"store/mail/{domain}/{local}/{rel}", domain, kind, user, activity * share))
    for domain in domains:
        for name, weight in PUBLIC_FOLDERS:
            folders.append(Folder(f"store/mail/{domain}/#public/{name}", domain, "public", None, weight))
        for month in ARCHIVE_MONTHS:
            folders.append(Folder(f"store/archive/{domain}/archive/{month}", domain, "archive", None,
                                   ARCHIVE_WEIGHT))
    return folders


def plan_times(rng: random.Random, folders: list[Folder], messages: int) -> None:
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
            start, end = REFERENCE_TIME - YEAR, REFERENCE_TIME - 3600
        folder.times = sorted(rng.randrange(start, end) for _ in range(count))


def _cum(values):
    total = 0.0
    for value in values:
        total += value
        yield total
