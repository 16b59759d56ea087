"""The Kerio Connect layout around the messages: folder files (``index.fld``, ``status.fld``,
``properties.fld``, ``search.fld``, ``deleted.fld``), ``mailserver.cfg``, ``users.cfg``, the
license and certificate files, and the writer that gives every file and directory its mtime."""

from __future__ import annotations

import base64
import hashlib
import os
import random
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from .text import DAY, REFERENCE_TIME, Person


FLD_FILES = ("index.fld", "status.fld", "properties.fld", "search.fld", "deleted.fld")


@dataclass
class Folder:
    """A mail folder to fill: where it lives and whose mail it holds."""

    rel: str  # directory relative to the server directory, with "/"
    domain: str
    kind: str  # in, out, draft, invoice, public or archive
    owner: Person | None  # None for public and archive folders
    weight: float = 1.0
    times: list[int] = field(default_factory=list)


def msg_name(msg_id: int) -> str:
    return f"{msg_id:08x}.eml"


def message_flags(msg_id: int, ts: int) -> int:
    """Flags kept in ``index.fld`` (bit 0 seen, 1 answered, 2 flagged), derived, not drawn,
    so that ``mutate`` can rebuild an index without knowing the generator's random state."""
    seen = ts < REFERENCE_TIME - 3 * DAY or msg_id % 5 != 0
    return int(seen) | (2 if msg_id % 7 == 0 else 0) | (4 if msg_id % 23 == 0 else 0)


# ---------------------------------------------------------------------------------------------
# Folder files and configuration


def index_fld(records: list[tuple[int, int, int]]) -> bytes:
    """Binary index of a folder: a header, then (id, size, flags, mtime) per message."""
    out = [b"KIDX", struct.pack("<HI", 3, len(records))]
    out += [struct.pack("<IIIq", msg_id, size, message_flags(msg_id, mtime), mtime)
            for msg_id, size, mtime in records]
    return b"".join(out)


def status_fld(folder_rel: str, records: list[tuple[int, int, int]], changed: int) -> bytes:
    """Folder counters as text; ``lastchange`` makes every update change the file's content."""
    unseen = sum(1 for msg_id, _, mtime in records if not message_flags(msg_id, mtime) & 1)
    next_id = max((msg_id for msg_id, _, _ in records), default=0) + 1
    uidvalidity = zlib.crc32(folder_rel.encode("utf-8"))
    return (f"[status]\r\nmessages={len(records)}\r\nunseen={unseen}\r\nnextid={next_id:08x}\r\n"
            f"uidvalidity={uidvalidity}\r\nlastchange={changed}\r\n").encode("ascii")


def properties_fld(folder: Folder) -> bytes:
    name = folder.rel.rsplit("/", 1)[-1]
    owner = folder.owner.address if folder.owner else f"#public@{folder.domain}"
    acl = "anyone:lr" if folder.kind in ("public", "archive") else "owner:lrswipkxtea"
    return (f'<?xml version="1.0" encoding="UTF-8"?>\r\n<folder>\r\n <name>{name}</name>\r\n'
            f" <type>mail</type>\r\n <owner>{owner}</owner>\r\n <acl>{acl}</acl>\r\n"
            f" <subscribed>1</subscribed>\r\n</folder>\r\n").encode("utf-8")


def search_fld(folder: Folder, count: int) -> bytes:
    digest = hashlib.sha1(f"{folder.rel}:{count}".encode()).digest()
    return b"KSRC" + struct.pack("<HI", 1, count) + digest * 4


def deleted_fld() -> bytes:
    return b"[deleted]\r\n"


def mailserver_cfg(domains: list[str], note: str | None = None) -> bytes:
    """Kerio's main configuration; ``note`` becomes an XML comment after the declaration."""
    rows = "".join(
        f'  <listitem>\n   <variable name="Name">{d}</variable>\n'
        f'   <variable name="Description">Domain {d}</variable>\n'
        f'   <variable name="Primary">{int(i == 0)}</variable>\n'
        f'   <variable name="PublicFoldersPerDomain">1</variable>\n  </listitem>\n'
        for i, d in enumerate(domains))
    comment = f"<!-- {note} -->\n" if note else ""
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + comment + '<config>\n'
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


def users_cfg(users: list[Person], rng: random.Random) -> bytes:
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


def pem(kind: str, rng: random.Random, size: int) -> bytes:
    flat = base64.b64encode(rng.randbytes(size)).decode("ascii")
    body = "\n".join(flat[i:i + 64] for i in range(0, len(flat), 64))
    return (f"# dummy {kind.lower()} made by workbench.samples: not a real key or certificate\n"
            f"-----BEGIN {kind}-----\n{body}\n-----END {kind}-----\n").encode("ascii")


def license_key(domains: list[str], rng: random.Random) -> bytes:
    signature = base64.b64encode(rng.randbytes(128)).decode("ascii")
    return (f'<?xml version="1.0" encoding="UTF-8"?>\r\n<license product="Kerio Connect" version="10">\r\n'
            f" <licenseNumber>{rng.randint(10000, 99999)}-{rng.randint(10000, 99999)}-DEMO</licenseNumber>\r\n"
            f" <organization>{domains[0]}</organization>\r\n <users>250</users>\r\n"
            f" <expires>2027-12-31</expires>\r\n <signature>{signature}</signature>\r\n"
            "</license>\r\n").encode("ascii")


# ---------------------------------------------------------------------------------------------
# Writing


class Chunks:
    """File content of known size written piece by piece: a message too large to hold in memory
    whole (``pieces`` is an iterable of bytes-like objects, read once)."""

    def __init__(self, size: int, pieces):
        self.size = size
        self.pieces = pieces

    def __len__(self) -> int:
        return self.size


def write_file(path: Path, data: bytes | Chunks) -> None:
    """Write ``data`` to ``path``, replacing what was there."""
    with open(path, "wb") as handle:
        if not isinstance(data, Chunks):
            handle.write(data)
            return
        written = sum(handle.write(piece) for piece in data.pieces)
    if written != data.size:  # a generator bug: the size went into index.fld already
        raise RuntimeError(f"{path}: wrote {written} bytes, planned {data.size}")


class Writer:
    """Writes files under the server directory with given mtimes, counting them, and remembers the
    newest mtime per directory so directories get deterministic mtimes too."""

    def __init__(self, root: Path):
        self.root = root
        self.files = 0
        self.bytes = 0
        self.dir_mtimes: dict[str, int] = {}

    def write(self, rel: str, data: bytes | Chunks, mtime: int) -> None:
        path = self.root / rel
        parent = rel.rsplit("/", 1)[0] if "/" in rel else ""
        if parent not in self.dir_mtimes:
            path.parent.mkdir(parents=True, exist_ok=True)
        write_file(path, data)
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


def check_empty(root: Path) -> None:
    if root.exists() and any(root.iterdir()):
        raise FileExistsError(f"{root} is not empty; choose a new directory or remove it first")
