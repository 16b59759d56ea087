"""A set's index: an SQLite file that finds one entry by path without reading any zip directory.

It is derived from the manifest (and can be rebuilt from it); later features add tables to it
(message headers for Message-ID lookups).
"""

import os
import sqlite3
import tempfile

from ..model import Entry
from .manifest import COLUMNS

_SCHEMA = """
CREATE TABLE entries (path TEXT PRIMARY KEY, kind TEXT, domain TEXT, user TEXT, folder TEXT,
    size INTEGER, mtime_ns INTEGER, crc32 INTEGER, stored_in TEXT, volume INTEGER,
    offset INTEGER, csize INTEGER, method INTEGER) WITHOUT ROWID;
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
"""


def build_index(path, set_name, entries):
    """Write the index of *entries* to the local file *path* (replaced if present)."""
    if os.path.exists(path):
        os.unlink(path)
    db = sqlite3.connect(path)
    try:
        db.executescript(_SCHEMA)
        db.execute("INSERT INTO meta VALUES ('set', ?)", (str(set_name),))
        db.executemany(f"INSERT INTO entries VALUES ({','.join('?' * len(COLUMNS))})",
                       ([getattr(e, c) for c in COLUMNS] for e in entries))
        db.commit()
    finally:
        db.close()


def write_index(target, name, set_name, entries):
    """Build the index and publish it on *target* as *name* (through a local temp file if remote)."""
    local = target.local_path(name + ".partial")
    if local is not None:
        build_index(local, set_name, entries)
        with open(local, "rb+") as f:
            os.fsync(f.fileno())
        target.publish(name + ".partial", name)
        return
    fd, tmp = tempfile.mkstemp(suffix=".sqlite")
    os.close(fd)
    try:
        build_index(tmp, set_name, entries)
        with open(tmp, "rb") as src:
            target.write_new(name, src.read())
    finally:
        os.unlink(tmp)


def lookup(index_file, paths):
    """Entries for the given server-relative *paths* found in the local index file."""
    db = sqlite3.connect(f"file:{index_file}?mode=ro", uri=True)
    try:
        out = []
        for p in paths:
            row = db.execute("SELECT * FROM entries WHERE path = ?", (p,)).fetchone()
            if row:
                out.append(Entry(*row))
        return out
    finally:
        db.close()
