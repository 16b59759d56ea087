"""A set's manifest: its own description, written last to commit the set.

The manifest is gzip-compressed JSON. Besides the set's header (kind, base, times, volumes, skipped
files, totals) it lists every store path present at backup time, column by column (compact, and fast
to load into pandas): path, kind, domain, user, folder, size, mtime_ns, crc32, and where the data
lives (``stored_in`` set, ``volume``, ``offset``, ``csize``, ``method``). Files absent from a
differential's manifest were deleted since its full. A copy of it is also the last member of the
set's last volume (``.workbench/<set>.manifest.json``), so the catalog can be rebuilt from the volumes
alone.
"""

import gzip
import json

from ..model import Entry

FORMAT = "workbench-manifest"
VERSION = 1
MEMBER_DIR = ".workbench/"
COLUMNS = ("path", "kind", "domain", "user", "folder", "size", "mtime_ns", "crc32", "stored_in",
           "volume", "offset", "csize", "method")


def member_name(set_name):
    """Name of the manifest's copy inside the last volume."""
    return f"{MEMBER_DIR}{set_name}.manifest.json"


def to_columns(entries):
    return {c: [getattr(e, c) for e in entries] for c in COLUMNS}


def from_columns(columns):
    """Entries from the column lists of a manifest."""
    cols = [columns[c] for c in COLUMNS]
    return [Entry(*row) for row in zip(*cols)]


def dump(header, entries):
    """The manifest document (a dict) for *header* and *entries*."""
    doc = {"format": FORMAT, "version": VERSION}
    doc.update(header)
    doc["entries"] = to_columns(entries)
    return doc


def encode(doc, compress=True):
    raw = json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return gzip.compress(raw, 6, mtime=0) if compress else raw


def decode(data):
    """The manifest dict from its bytes (gzip or plain); ValueError if it is not a manifest."""
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    doc = json.loads(data)
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ValueError("not a workbench manifest")
    if doc.get("version", 0) > VERSION:
        raise ValueError(f"manifest version {doc.get('version')} is newer than this workbench")
    return doc
