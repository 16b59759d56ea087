"""A set's manifest: its own description, written last to commit the set.

The manifest is gzip-compressed JSON. Besides the set's header (kind, base, times, volumes, skipped
files, totals) it lists every store path present at backup time, column by column (compact, and fast
to load into pandas): path, kind, domain, user, folder, size, mtime_ns, crc32, and where the data
lives (``stored_in`` set, ``volume``, ``offset``, ``csize``, ``method``). Files absent from a
differential's manifest were deleted since its full. A copy of it is also the last member of the
set's last volume (``.workbench/<set>.manifest.json``), so the catalog can be rebuilt from the volumes
alone.

A ``messages`` block, column by column like ``entries``, holds the headers parsed at backup time of
every ``.eml`` message the set lists (its own and the inherited ones): path, message_id, from, to,
cc, subject, date (UTC epoch seconds) and has_attachments, None where a header is missing or
unreadable (see workbench.headers). Manifests written before it have no such block.
"""

import gzip
import json

from ..model import Entry

FORMAT = "workbench-manifest"
VERSION = 1
MEMBER_DIR = ".workbench/"
COLUMNS = ("path", "kind", "domain", "user", "folder", "size", "mtime_ns", "crc32", "stored_in",
           "volume", "offset", "csize", "method")
MESSAGE_COLUMNS = ("path", "message_id", "from", "to", "cc", "subject", "date", "has_attachments")


def member_name(set_name):
    """Name of the manifest's copy inside the last volume."""
    return f"{MEMBER_DIR}{set_name}.manifest.json"


def to_columns(entries):
    return {c: [getattr(e, c) for e in entries] for c in COLUMNS}


def from_columns(columns):
    """Entries from the column lists of a manifest."""
    cols = [columns[c] for c in COLUMNS]
    return [Entry(*row) for row in zip(*cols)]


def messages_to_columns(messages):
    """The ``messages`` block from ``{path: headers}``, headers a tuple in MESSAGE_COLUMNS order."""
    paths = list(messages)
    cols = {"path": paths}
    for i, c in enumerate(MESSAGE_COLUMNS[1:]):
        cols[c] = [messages[p][i] for p in paths]
    return cols


def messages_from_columns(columns):
    """``{path: headers tuple}`` from a manifest's ``messages`` block (empty if it has none)."""
    if not columns:
        return {}
    return {row[0]: row[1:] for row in zip(*(columns[c] for c in MESSAGE_COLUMNS))}


def header_row(headers):
    """The tuple kept per message from a parse_headers dict (tuples take a third of the memory)."""
    return tuple(headers.get(c) for c in MESSAGE_COLUMNS[1:])


def dump(header, entries, messages=None):
    """The manifest document (a dict) for *header*, *entries* and *messages* (``{path: headers}``)."""
    doc = {"format": FORMAT, "version": VERSION}
    doc.update(header)
    doc["entries"] = to_columns(entries)
    if messages is not None:
        doc["messages"] = messages_to_columns(messages)
    return doc


_BODY_KEYS = ("entries", "messages")


def encode(doc, compress=True):
    """Bytes of the manifest: a header line (everything but the columns), then the columns.

    The header comes first so that listing sets reads a few kilobytes per set, not every entry.
    """
    header = {k: v for k, v in doc.items() if k not in _BODY_KEYS}
    body = {k: doc[k] for k in _BODY_KEYS if k in doc}
    raw = b"%s\n%s\n" % (json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode(),
                          json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode())
    return gzip.compress(raw, 6, mtime=0) if compress else raw


def _dumps(value):
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def write_body(f, entries, messages=None):
    """Write the column line of a manifest to the binary file *f*, one column at a time.

    The bytes are those ``encode`` writes after the header line, but only one column's list and
    text are alive at a time, which keeps a 100k-entry backup's memory flat.
    """
    f.write(b'{"entries":{')
    for i, c in enumerate(COLUMNS):
        f.write(b'%s"%s":%s' % (b"," if i else b"", c.encode(), _dumps([getattr(e, c) for e in entries])))
    f.write(b"}")
    if messages is not None:
        paths = list(messages)
        f.write(b',"messages":{"path":' + _dumps(paths))
        for i, c in enumerate(MESSAGE_COLUMNS[1:]):
            f.write(b',"%s":%s' % (c.encode(), _dumps([messages[p][i] for p in paths])))
        f.write(b"}")
    f.write(b"}")


def header_line(header):
    """The first line of a manifest: its header (format, version and the set's description)."""
    doc = {"format": FORMAT, "version": VERSION}
    doc.update(header)
    return _dumps(doc) + b"\n"


def _check(header):
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ValueError("not a workbench manifest")
    if header.get("version", 0) > VERSION:
        raise ValueError(f"manifest version {header.get('version')} is newer than this workbench")
    return header


def decode(data):
    """The whole manifest dict from its bytes (gzip or plain); ValueError if it is not a manifest."""
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    head, _, body = data.partition(b"\n")
    doc = _check(json.loads(head))
    if body.strip():
        doc.update(json.loads(body))
    return doc


def decode_header(f):
    """Only the header of the manifest in the open binary file *f* (reads just its first line)."""
    magic = f.read(2)
    f.seek(0)
    stream = gzip.GzipFile(fileobj=f) if magic == b"\x1f\x8b" else f
    try:
        return _check(json.loads(stream.readline()))
    except (OSError, EOFError) as e:
        raise ValueError(f"manifest unreadable: {e}") from None
