"""A set's index: an SQLite file that finds one entry by path without reading any zip directory.

It is derived from the manifest (and can be rebuilt from it). Its ``messages`` table maps the
Message-IDs parsed at backup time to paths, so ``lookup_message_id`` finds a message without
reading any zip. The other headers live in the manifest, where the catalog reads them: keeping
them here too doubled the index (60 MB for 100k messages) and the time to copy it.
"""

import errno
import os
import sqlite3

from ..errors import SealedFileDamaged
from ..headers import normalize_message_id
from ..model import Entry
from ..modes import DEFAULT_FILE_MODE, open_file
from ..naming import partial_name
from .manifest import COLUMNS

_SCHEMA = """
CREATE TABLE entries (path TEXT PRIMARY KEY, kind TEXT, domain TEXT, user TEXT, folder TEXT,
    size INTEGER, mtime_ns INTEGER, crc32 INTEGER, stored_in TEXT, volume INTEGER,
    offset INTEGER, csize INTEGER, method INTEGER, mode INTEGER DEFAULT 0) WITHOUT ROWID;
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE messages (message_id TEXT, path TEXT, PRIMARY KEY (message_id, path)) WITHOUT ROWID;
"""



def _copy(src, dst, chunk):
    """Copy the open file *src* to *dst* in *chunk* bytes at a time."""
    while data := src.read(chunk):
        dst.write(data)

def _message_rows(messages):
    """``(message_id, path)`` rows of *messages*: such rows in a list, ``{path: headers tuple}``
    or a messages.MessageBlock (whose rows are read back from disk as they are inserted)."""
    if isinstance(messages, list):
        return messages
    if hasattr(messages, "index_rows"):
        return messages.index_rows()
    return sorted((h[0], p) for p, h in messages.items() if h[0] is not None)


def _fresh_file(path, file_mode):
    """Create *path* empty with *file_mode*, replacing any file of that name (never writing
    through it: it may be a link to a published index)."""
    if os.path.lexists(path):
        os.unlink(path)
    os.close(open_file(path, file_mode, os.O_WRONLY | os.O_CREAT | os.O_EXCL))


def build_index(path, set_name, entries, messages=None, file_mode=DEFAULT_FILE_MODE):
    """Write the index of *entries* (Entry objects or a table.EntryTable) and *messages*
    (``{path: headers tuple}`` or a messages.MessageBlock) to the file *path*.

    The file is replaced if present; it is created with *file_mode* before SQLite opens it.
    """
    _fresh_file(path, file_mode)
    db = sqlite3.connect(path)
    try:
        # A fresh file that is fsynced and published only when complete needs no journal.
        db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-8192;")
        db.executescript(_SCHEMA)
        db.execute("INSERT INTO meta VALUES ('set', ?)", (str(set_name),))
        if hasattr(entries, "rows"):  # a table.EntryTable gives its rows as tuples
            rows = entries.rows()
        else:
            rows = ([getattr(e, c) for c in COLUMNS] for e in entries)
        db.executemany(f"INSERT INTO entries VALUES ({','.join('?' * len(COLUMNS))})", rows)
        if messages:
            # Into the keyed table in key order: the Message-IDs come in no order, and inserting
            # a million of them into a B-tree far bigger than SQLite's cache cost most of the
            # index's time. SQLite sorts them first, in bounded memory (a temporary file).
            db.execute("CREATE TEMP TABLE arrived (message_id TEXT, path TEXT)")
            db.executemany("INSERT INTO arrived VALUES (?, ?)", _message_rows(messages))
            db.execute("INSERT OR IGNORE INTO messages SELECT * FROM arrived "
                       "ORDER BY message_id, path")
            db.execute("DROP TABLE arrived")
        db.commit()
    finally:
        db.close()


def write_index(target, name, set_name, entries, messages=None, token=None, sealer=None):
    """Build the index and publish it on *target* as *name* (through a local temp file if remote).

    *token* names the temporary file (``partial_name``): the writing run's, or a new one. With
    *sealer* (a crypt.Sealer: an encrypted set) the published file is sealed.
    """
    tmp = partial_name(name, token or os.urandom(8).hex())
    work = _work_file(target, tmp, sealer)
    try:
        try:
            build_index(work, set_name, entries, messages, target.file_mode)
        except sqlite3.OperationalError as e:
            if "full" not in str(e):  # "database or disk is full"
                raise
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), work) from e
    except BaseException:
        discard_copy(work)
        raise
    _publish(target, name, tmp, work, sealer)


def _work_file(target, tmp, sealer=None):
    """Where an index is written before it is published: the temporary file *tmp* itself on a
    local target, else (or when it is sealed) a local temporary file."""
    local = target.local_path(tmp) if sealer is None else None
    if local is not None:
        return local
    import tempfile
    fd, path = tempfile.mkstemp(suffix=".sqlite")
    os.close(fd)
    return path


def _publish(target, name, tmp, work, sealer=None):
    """Publish the finished file *work* (see _work_file) as *name*: fsynced and renamed on a
    local target, else uploaded as *tmp* (streamed, never whole in memory; sealed by *sealer*
    if given), then renamed."""
    local = work == target.local_path(tmp)
    try:
        if local:
            with open(work, "rb+") as f:
                os.fsync(f.fileno())
        elif sealer is not None:
            with target.open_write(tmp) as dst:
                sealer.seal_file(work, dst)
        else:
            with open(work, "rb") as src, target.open_write(tmp) as dst:
                _copy(src, dst, 4 * 1024 * 1024)
        target.publish(tmp, name)
    except BaseException:
        target.remove(tmp)  # never published: nothing of it stays behind
        raise
    finally:
        if not local:
            discard_copy(work)


def update_index(path, set_name, upserts, deletes, message_upserts):
    """Turn a copy of a full's index (the local file *path*) into a differential's index.

    *upserts* are the entries this set stores, *deletes* the paths gone since the full, and
    *message_upserts* the headers (``{path: tuple}``) of the messages among the upserts.
    Copying the full's index and applying a day's changes costs a fraction of building it anew.
    """
    db = sqlite3.connect(path)
    try:
        db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;")
        db.execute("UPDATE meta SET value = ? WHERE key = 'set'", (str(set_name),))
        if "mode" not in {row[1] for row in db.execute("PRAGMA table_info(entries)")}:
            # a full's index from before modes were recorded: its rows read as unknown (0)
            db.execute("ALTER TABLE entries ADD COLUMN mode INTEGER DEFAULT 0")
        gone = [(p,) for p in deletes]
        db.executemany("DELETE FROM entries WHERE path = ?", gone)
        db.executemany(f"INSERT OR REPLACE INTO entries VALUES ({','.join('?' * len(COLUMNS))})",
                       ([getattr(e, c) for c in COLUMNS] for e in upserts))
        # The messages table is keyed by Message-ID: find the rows of changed paths in one pass.
        db.execute("CREATE TEMP TABLE changed (path TEXT PRIMARY KEY) WITHOUT ROWID")
        db.executemany("INSERT OR IGNORE INTO changed VALUES (?)",
                       gone + [(e.path,) for e in upserts])
        db.execute("DELETE FROM messages WHERE path IN (SELECT path FROM changed)")
        db.executemany("INSERT OR REPLACE INTO messages VALUES (?, ?)",
                       _message_rows(message_upserts))
        db.commit()
    finally:
        db.close()


def copy_index(target, name, base_name, token, sealer=None):
    """Copy the index *base_name* on *target* to a local file for the index *name*, fsynced.

    Returns the file's path (the temporary file ``partial_name(name, token)`` on a local target,
    a local temporary file otherwise), or None, leaving nothing behind, if the base index is
    missing or unreadable. A differential starts this as the run begins, so the copy is done by
    the time its changes are known. With *sealer* (an encrypted chain) the base index is
    unsealed into a local temporary file.
    """
    work = _work_file(target, partial_name(name, token), sealer)
    try:
        _fresh_file(work, target.file_mode)  # the copy keeps this file's mode
        base_local = target.local_path(base_name)
        if sealer is not None:
            from .crypt import unseal_to
            unseal_to(target, base_name, work, f"the index {base_name}")
        elif base_local is not None:
            import shutil
            shutil.copyfile(base_local, work)
        else:
            with target.open_read(base_name) as src, open(work, "wb") as dst:
                _copy(src, dst, 1024 * 1024)
        with open(work, "rb+") as f:
            os.fsync(f.fileno())  # most pages reach the disk now, not at the commit
    except (OSError, SealedFileDamaged):
        discard_copy(work)
        return None
    return work


def discard_copy(work):
    """Remove a copy made by copy_index that will not be published."""
    if work is not None and os.path.exists(work):
        os.unlink(work)


def publish_index_from(target, name, set_name, work, upserts, deletes, message_upserts, token,
                       sealer=None):
    """Apply a differential's changes (update_index) to the copy *work* (made by copy_index with
    the same *token*) and publish it as *name*.

    Returns False, having published nothing and removed the copy, if the copy is unreadable;
    the caller then builds the index from all entries.
    """
    try:
        update_index(work, set_name, upserts, deletes, message_upserts)
    except sqlite3.Error:
        discard_copy(work)
        return False
    _publish(target, name, partial_name(name, token), work, sealer)
    return True


def index_set_name(path):
    """The set the SQLite index file *path* names, or None if it is not an index of ours."""
    import pathlib  # here: a restore, which does not ask, does not load it
    try:
        with open(path, "rb") as f:
            if f.read(16) != b"SQLite format 3\0":
                return None
        db = sqlite3.connect(f"{pathlib.Path(path).resolve().as_uri()}?mode=ro&immutable=1",
                             uri=True)
        try:
            row = db.execute("SELECT value FROM meta WHERE key = 'set'").fetchone()
        finally:
            db.close()
    except (OSError, sqlite3.Error):
        return None
    return row[0] if row and isinstance(row[0], str) else None


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
    wanted = normalize_message_id(message_id)
    if wanted is None:
        return []
    db = sqlite3.connect(f"file:{index_file}?mode=ro", uri=True)
    try:
        try:
            rows = db.execute("SELECT path FROM messages WHERE message_id = ? ORDER BY path",
                              (wanted,)).fetchall()
        except sqlite3.OperationalError:  # an index from before the messages table
            return []
        return [r[0] for r in rows]
    finally:
        db.close()
