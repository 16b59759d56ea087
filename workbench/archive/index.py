"""A set's index: an SQLite file that finds one entry by path without reading any zip directory.

It is derived from the manifest (and can be rebuilt from it). Its ``messages`` table holds the
headers parsed at backup time, so ``lookup_message_id`` finds a message without reading any zip.
"""

import os
import sqlite3
import tempfile

from ..model import Entry
from .manifest import COLUMNS, MESSAGE_COLUMNS

_SCHEMA = """
CREATE TABLE entries (path TEXT PRIMARY KEY, kind TEXT, domain TEXT, user TEXT, folder TEXT,
    size INTEGER, mtime_ns INTEGER, crc32 INTEGER, stored_in TEXT, volume INTEGER,
    offset INTEGER, csize INTEGER, method INTEGER) WITHOUT ROWID;
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE messages (path TEXT PRIMARY KEY, message_id TEXT, "from" TEXT, "to" TEXT, cc TEXT,
    subject TEXT, date INTEGER, has_attachments INTEGER) WITHOUT ROWID;
CREATE INDEX messages_message_id ON messages (message_id);
"""


def build_index(path, set_name, entries, messages=None):
    """Write the index of *entries* (and *messages*, ``{path: headers tuple}``) to the file *path*.

    The file is replaced if present.
    """
    if os.path.exists(path):
        os.unlink(path)
    db = sqlite3.connect(path)
    try:
        # A fresh file that is fsynced and published only when complete needs no journal.
        db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-32768;")
        db.executescript(_SCHEMA)
        db.execute("INSERT INTO meta VALUES ('set', ?)", (str(set_name),))
        db.executemany(f"INSERT INTO entries VALUES ({','.join('?' * len(COLUMNS))})",
                       ([getattr(e, c) for c in COLUMNS] for e in entries))
        if messages:
            db.executemany(f"INSERT INTO messages VALUES ({','.join('?' * len(MESSAGE_COLUMNS))})",
                           ((p,) + tuple(h) for p, h in messages.items()))
        db.commit()
    finally:
        db.close()


def write_index(target, name, set_name, entries, messages=None):
    """Build the index and publish it on *target* as *name* (through a local temp file if remote)."""
    local = target.local_path(name + ".partial")
    if local is not None:
        build_index(local, set_name, entries, messages)
        with open(local, "rb+") as f:
            os.fsync(f.fileno())
        target.publish(name + ".partial", name)
        return
    fd, tmp = tempfile.mkstemp(suffix=".sqlite")
    os.close(fd)
    try:
        build_index(tmp, set_name, entries, messages)
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


def normalize_message_id(message_id):
    """``<id@host>`` from a Message-ID given with or without its angle brackets and spaces."""
    text = str(message_id).strip()
    if not text.startswith("<"):
        text = "<" + text
    if not text.endswith(">"):
        text += ">"
    return text


def lookup_message_id(index_file, message_id):
    """Paths of the messages whose Message-ID is *message_id* in the local index file.

    Parameters
    ----------
    index_file : str
        A set's ``<set>.index.sqlite`` on a local filesystem.
    message_id : str
        The Message-ID, with or without angle brackets (``<abc@example.com>`` or
        ``abc@example.com``).

    Returns
    -------
    list of str
        Server-relative paths, sorted; empty if no message has that Message-ID (or the index was
        written before message headers were indexed).
    """
    db = sqlite3.connect(f"file:{index_file}?mode=ro", uri=True)
    try:
        try:
            rows = db.execute("SELECT path FROM messages WHERE message_id = ? ORDER BY path",
                              (normalize_message_id(message_id),)).fetchall()
        except sqlite3.OperationalError:  # an index from before the messages table
            return []
        return [r[0] for r in rows]
    finally:
        db.close()
