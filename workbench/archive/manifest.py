"""A set's manifest: its own description, written last to commit the set.

The manifest is gzip-compressed JSON lines. The first line is the set's header (kind, base, times,
volumes, skipped files, totals), so listing sets reads a few kilobytes. The second line,
``{"entries": {...}}``, lists every store path present at backup time, column by column: path,
kind, domain, user, folder, size, mtime_ns, crc32, and where the data lives (``stored_in`` set,
``volume``, ``offset``, ``csize``, ``method``). Files absent from a differential's manifest were
deleted since its full. Integer columns are stored as ``{"int64": base64}`` (``uint32`` for
crc32) of little-endian arrays, repetitive text columns as ``{"values": [...], "codes": base64
of uint32}``, and other text (paths, headers) as Arrow lays strings out (``{"text", "lengths",
"valid"}``: see _encode_text), so that they load without parsing anything per row (version 2; version 1 had plain
lists, and readers take both). A copy of it is also the last member of the
set's last volume (``.workbench/<set>.manifest.json``), so the catalog can be rebuilt from the volumes
alone.

A third line, ``{"messages": {...}}``, column by column as plain lists, holds the headers parsed at backup time of
every ``.eml`` message the set lists (its own and the inherited ones): path, message_id, from, to,
cc, subject, date (UTC epoch seconds) and has_attachments, None where a header is missing or
unreadable (see workbench.headers). Manifests written before it have no such block.
"""

import array
import base64
import gzip
import json
import re
import sys
from itertools import accumulate
from operator import attrgetter, itemgetter

from ..model import Entry
from .compress import gunzip, gzip_reader

FORMAT = "workbench-manifest"
VERSION = 2
MEMBER_DIR = ".workbench/"
COLUMNS = ("path", "kind", "domain", "user", "folder", "size", "mtime_ns", "crc32", "stored_in",
           "volume", "offset", "csize", "method")
MESSAGE_COLUMNS = ("path", "message_id", "from", "to", "cc", "subject", "date", "has_attachments")


# How entry columns are encoded (version 2); other columns are plain JSON lists.
_INT_COLUMNS = {"size": "int64", "mtime_ns": "int64", "crc32": "uint32", "volume": "int64",
                "offset": "int64", "csize": "int64", "method": "int64"}
_CODED_COLUMNS = ("kind", "domain", "user", "folder", "stored_in")
# Columns of distinct text, as Arrow lays strings out: UTF-8 bytes, offsets, validity bits.
_TEXT_COLUMNS = ("path", "message_id", "from", "to", "cc", "subject")
_TYPECODES = {"int64": "q", "uint32": "I", "uint16": "H"}


def _packed(values, kind):
    a = array.array(_TYPECODES[kind], values)
    if sys.byteorder == "big":
        a.byteswap()
    return base64.b64encode(a.tobytes()).decode("ascii")


def _unpacked(text, kind):
    a = array.array(_TYPECODES[kind])
    a.frombytes(base64.b64decode(text))
    if sys.byteorder == "big":
        a.byteswap()
    return a


def _b64(raw):
    return base64.b64encode(raw).decode("ascii")


_SURROGATE = re.compile("[\ud800-\udfff]")


def _encode_text(values):
    """``{"text", "lengths", "valid"?}``: the strings end to end, the length of each in UTF-8
    bytes (``{"uint16": ...}``, or ``uint32`` if one is longer), and (only if some are None) a
    validity bitmap, least significant bit first; what Arrow needs to build its strings.

    Names that are not valid UTF-8 (``surrogateescape`` in Python) cannot travel in a JSON string;
    such a column is stored as base64 of its bytes (``"utf8"``) instead.
    """
    texts = ["" if v is None else v for v in values]
    # Byte lengths without keeping a bytes copy of every value around (memory stays flat).
    lengths = [len(t) if t.isascii() else len(t.encode("utf-8", "surrogateescape")) for t in texts]
    joined = "".join(texts)
    if _SURROGATE.search(joined) is None:
        out = {"text": joined}
    else:
        out = {"utf8": _b64(joined.encode("utf-8", "surrogateescape"))}
    kind = "uint16" if max(lengths, default=0) < 65536 else "uint32"
    out["lengths"] = {kind: _packed(lengths, kind)}
    if None in values:
        valid = bytearray((len(values) + 7) // 8)
        for i, v in enumerate(values):
            if v is not None:
                valid[i >> 3] |= 1 << (i & 7)
        out["valid"] = _b64(bytes(valid))
    return out


def text_bytes(value):
    """The UTF-8 bytes of a text column (see _encode_text)."""
    if "text" in value:
        return value["text"].encode("utf-8")
    return base64.b64decode(value["utf8"])


def _decode_text(value):
    (kind, packed), = value["lengths"].items()
    ends = list(accumulate(_unpacked(packed, kind)))
    spans = list(map(slice, [0] + ends[:-1], ends))
    text = value.get("text")
    if text is not None and text.isascii():
        out = list(map(text.__getitem__, spans))  # byte offsets are character offsets
    else:
        data = text_bytes(value)
        out = [data[s].decode("utf-8", "surrogateescape") for s in spans]
    if "valid" in value:
        valid = base64.b64decode(value["valid"])
        for i in range(len(out)):
            if not valid[i >> 3] >> (i & 7) & 1:
                out[i] = None
    return out


def encode_column(name, values):
    """The JSON value of one column: packed integers, coded or Arrow-style text, or a plain list."""
    if name in _TEXT_COLUMNS:
        return _encode_text(values)
    if name in _INT_COLUMNS:
        kind = _INT_COLUMNS[name]
        return {kind: _packed(values, kind)}
    if name in _CODED_COLUMNS:
        distinct = list(dict.fromkeys(values))
        code_of = {v: i for i, v in enumerate(distinct)}
        return {"values": distinct, "codes": _packed(map(code_of.__getitem__, values), "uint32")}
    return values


def decode_column(value):
    """A column as a sequence (list or array) from its JSON value, whatever its encoding."""
    if isinstance(value, list):
        return value
    if "lengths" in value:
        return _decode_text(value)
    if "values" in value:
        values = value["values"]
        return [values[c] for c in _unpacked(value["codes"], "uint32")]
    (kind, text), = value.items()
    return _unpacked(text, kind)


def member_name(set_name):
    """Name of the manifest's copy inside the last volume."""
    return f"{MEMBER_DIR}{set_name}.manifest.json"


def to_columns(entries):
    return {c: [getattr(e, c) for e in entries] for c in COLUMNS}


def from_columns(columns):
    """Entries from the columns of a manifest (lists, or version 2's encoded columns)."""
    cols = [decode_column(columns[c]) for c in COLUMNS]
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
    cols = [decode_column(columns[c]) for c in MESSAGE_COLUMNS]
    return {row[0]: row[1:] for row in zip(*cols)}


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
    """Bytes of a manifest document: the header line, then one line per column block."""
    header = {k: v for k, v in doc.items() if k not in _BODY_KEYS}
    raw = _dumps(header) + b"\n" + b"".join(
        _dumps({k: doc[k]}) + b"\n" for k in _BODY_KEYS if k in doc)
    return gzip.compress(raw, 6, mtime=0) if compress else raw


def _dumps(value):
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def write_body(f, entries, messages=None):
    """Write the column lines of a manifest to the binary file *f*, one column at a time.

    Only one column's list and text are alive at a time, which keeps a 100k-entry backup's
    memory flat. Each line ends with a newline.
    """
    f.write(b'{"entries":{')
    for i, c in enumerate(COLUMNS):
        value = encode_column(c, list(map(attrgetter(c), entries)))
        f.write(b'%s"%s":%s' % (b"," if i else b"", c.encode(), _dumps(value)))
    f.write(b"}}\n")
    if hasattr(messages, "write_line"):  # a messages.MessageBlock gathered during the backup
        messages.write_line(f)
    elif messages is not None:
        f.write(b'{"messages":{"path":' + _dumps(encode_column("path", list(messages))))
        rows = list(messages.values())
        for i, c in enumerate(MESSAGE_COLUMNS[1:]):
            value = encode_column(c, list(map(itemgetter(i), rows)))
            f.write(b',"%s":%s' % (c.encode(), _dumps(value)))
        f.write(b"}}\n")


def header_line(header):
    """The first line of a manifest: its header (format, version and the set's description)."""
    doc = {"format": FORMAT, "version": VERSION}
    doc.update(header)
    # ASCII escapes: the header may name files whose names are not UTF-8 (reported as unreadable).
    return json.dumps(doc, separators=(",", ":")).encode() + b"\n"


def _check(header):
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ValueError("not a workbench manifest")
    if header.get("version", 0) > VERSION:
        raise ValueError(f"manifest version {header.get('version')} is newer than this workbench")
    return header


def decode(data):
    """The whole manifest dict from its bytes (gzip or plain); ValueError if it is not a manifest."""
    if data[:2] == b"\x1f\x8b":
        data = gunzip(data)
    head, *body = data.split(b"\n")
    doc = _check(json.loads(head))
    for line in body:
        if line.strip():
            doc.update(json.loads(line))
    return doc


def read_manifest(f):
    """The whole manifest from the open binary file *f*, parsed a line at a time.

    Unlike ``decode(f.read())`` it never holds the whole inflated text, nor a copy of it.
    """
    magic = f.read(2)
    f.seek(0)
    if magic == b"\x1f\x8b":
        f = gzip_reader(f)
    doc = _check(json.loads(f.readline()))
    for line in f:
        if line.strip():
            doc.update(json.loads(line))
    return doc


def decode_header(f):
    """Only the header of the manifest in the open binary file *f* (reads just its first line)."""
    magic = f.read(2)
    f.seek(0)
    stream = gzip_reader(f) if magic == b"\x1f\x8b" else f
    try:
        return _check(json.loads(stream.readline()))
    except (OSError, EOFError) as e:
        raise ValueError(f"manifest unreadable: {e}") from None
