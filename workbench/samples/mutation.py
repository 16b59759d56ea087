"""Mutation: one day of mail on a generated server directory."""

from __future__ import annotations

import os
import random
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from .layout import Folder, index_fld, msg_name, status_fld, write_file
from .profiles import Profile, store_profile
from .text import DAY, Person, person
from .words import EN_TOPICS, KEYWORDS

_HEAD_READ = 1 << 20  # header blocks are far shorter: one read holds the whole of one
_COPY_BLOCK = 1 << 20


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


def _read_people(root: Path) -> dict[str, Person]:
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
            people[address] = person(values.get("FullName") or values["Name"], address)
    return people


def _folder_of(folder_rel: str, people: dict[str, Person]) -> Folder:
    """Rebuild the generator's view of a folder from its path."""
    parts = folder_rel.split("/")  # store, mail, domain, user or #public, folder...
    domain, owner_dir, name = parts[2], parts[3], "/".join(parts[4:])
    if owner_dir == "#public":
        return Folder(folder_rel, domain, "public", None)
    address = f"{owner_dir}@{domain}"
    owner = people.get(address) or person(owner_dir.replace(".", " ").title(), address)
    kind = {"Sent Items": "out", "Drafts": "draft", "Přijaté faktury": "invoice"}.get(name, "in")
    return Folder(folder_rel, domain, kind, owner)


def _rewrite(rng: random.Random, path: Path) -> None:
    """Change a message as a day of use would: new flags/keywords, or an appended note.

    Only the header block is read and rewritten in memory: a message of hundreds of MB is
    copied through in pieces (or appended to) instead of being read whole.
    """
    if rng.random() >= 0.6:
        note = f"\r\n[Note {rng.getrandbits(32):08x}: {rng.choice(EN_TOPICS)}, see ticket {rng.randint(1000, 9999)}]\r\n"
        with open(path, "ab") as handle:
            handle.write(note.encode("ascii"))
        return
    keywords = " ".join(rng.sample(KEYWORDS, rng.randint(1, 3))).encode()
    with open(path, "rb") as source:
        data = source.read(_HEAD_READ)
        if len(data) == _HEAD_READ and data.find(b"\r\n\r\n") < 0:
            data += source.read()  # no header end in the first block: take all of it
        head = _set_keywords(data, keywords)
        rest = source.read(_COPY_BLOCK)
        if not rest:
            path.write_bytes(head)
            return
        work = path.with_name(path.name + ".new")
        with open(work, "wb") as target:
            target.write(head)
            while rest:
                target.write(rest)
                rest = source.read(_COPY_BLOCK)
    os.replace(work, path)


def _set_keywords(data: bytes, keywords: bytes) -> bytes:
    head_end = data.find(b"\r\n\r\n")
    start = data.find(b"\r\nX-Keywords: ", 0, head_end)
    if start >= 0:  # replace the existing header (may keep the same length: size can stay)
        end = data.find(b"\r\n", start + 2)
        return data[:start] + b"\r\nX-Keywords: " + keywords + data[end:]
    return data[:head_end] + b"\r\nX-Keywords: " + keywords + data[head_end:]


def mutate(server_dir: str | os.PathLike, seed: int = 0) -> dict:
    """Simulate one day of mail on a server directory made by :func:`generate`.

    New mail comes in the style of the store's profile (as ``mailserver.cfg`` records it; a
    store that does not say gets the default profile's mail).

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
    new_mtime = scan.newest + DAY
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
        _rewrite(rng, path)
        os.utime(path, ns=(ns, ns))
    for rel in deleted:
        (root / rel).unlink()

    added = _add_messages(root, rng, scan.messages, n_add, new_mtime, store_profile(root))
    changed_folders = sorted({rel.rsplit("/#msgs/", 1)[0] for rel in rewritten + deleted + added})
    folder_files = []
    for folder_rel in changed_folders:
        folder_files += _refresh_folder_files(root, folder_rel, new_mtime)
    return {"rewritten": sorted(rewritten + folder_files), "added": sorted(added), "deleted": deleted}


def _add_messages(root: Path, rng: random.Random, messages: list[str], n_add: int, mtime: int,
                  profile: Profile) -> list[str]:
    """Deliver ``n_add`` new messages in the store's style to folders picked like existing mail
    (busy folders get more), each under its folder's next unused id."""
    if not messages or not n_add:
        return []
    people = _read_people(root)
    factory = profile.factory(rng, profile, n_add)
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
        rel = f"{folder_rel}/#msgs/{msg_name(msg_id)}"
        path = root / rel
        write_file(path, data)
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
    for name, data in (("index.fld", index_fld(records)), ("status.fld", status_fld(folder_rel, records, mtime))):
        path = root / folder_rel / name
        path.write_bytes(data)
        os.utime(path, ns=(mtime * 1_000_000_000,) * 2)
        written.append(f"{folder_rel}/{name}")
    return written
