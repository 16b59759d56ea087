"""A set's manifest: its own description, written last to commit the set.

The manifest is a gzip-compressed stream. Its first line is the set's header in JSON (kind, base,
times, volumes, skipped files, totals), so listing sets reads a few kilobytes. The header's
``skipped`` list is the block of the files the backup recorded without storing them (bigger than
a volume, with ``oversize = "skip"``): ``{"path", "size", "reason", "mtime_ns", "mode"}`` each
(``reason`` a key of model.SKIP_REASONS, ``oversize``; ``mtime_ns`` and ``mode`` were added
later: absent, they read as 0). They are entries of the store at backup time that are in no
volume: sets.skipped_entries makes Entry objects of them (``stored_in`` "", ``skipped`` the
reason), which listings, the catalog, restore plans and verify show as not in the backup. A
differential checks such files again and records its own. Then come column
blocks, each opened by a JSON line ``{"block": "entries", "columns": 13}`` and made of that many
columns; a column is a JSON line describing it followed by its raw bytes (version 3):

- integers ``{"column": "size", "int64": N}``: N bytes of a little-endian array (``uint32`` for
  crc32);
- repetitive text ``{"column": "kind", "values": [...], "codes": N}``: N bytes of uint32 codes;
- other text (paths, headers) as Arrow lays strings out, ``{"column": "path", "text": N,
  "lengths": ["uint16", M], "valid": K}``: N bytes of UTF-8 end to end, M bytes of lengths
  (``uint32`` if one is longer than 65535), and, only if some values are missing, K bytes of
  validity bits (least significant first);
- short lists ``{"column": "date", "list": [...]}``, no bytes.

The bytes load as arrays without parsing anything per row. Version 2 had the same columns as
base64 and JSON strings inside one line per block, version 1 plain lists; readers take all three.

The ``entries`` block lists every store path present at backup time: path, kind, domain, user,
folder, size, mtime_ns, crc32, where the data lives (``stored_in`` set, ``volume``, ``offset``,
``csize``, ``method``) and the file's permission bits (``mode``, ``uint16``; added later within
version 3: a manifest without it reads as 0, unknown). Files absent from a differential's
manifest were deleted since its full. The ``messages`` block holds the headers parsed at backup time of the ``.eml``
messages (all of a full's; a differential's header says ``message_headers = "stored"`` and lists
only those it stores): path, message_id, from, to, cc, subject, date (UTC epoch seconds),
has_attachments and date_raw (the Date header's text; manifests before it have no such column),
None where a header is missing or unreadable (see workbench.headers).

A copy of the manifest (the stream before gzip) is also the last member of the set's last volume
(``.workbench/<set>.manifest.json``), so the catalog can be rebuilt from the volumes alone
(archive.reader.read_manifest_copy reads it). Every reader refuses a manifest that inflates past
MAX_BYTES.
"""

import array
import binascii
import io
import json
import sys
from collections import namedtuple
from itertools import accumulate, chain
from operator import attrgetter, itemgetter

from ..model import Entry
from .compress import INFLATE_ERRORS, gunzip, gzip_inflater, gzip_reader

FORMAT = "workbench-manifest"
VERSION = 3
MEMBER_DIR = ".workbench/"
COLUMNS = ("path", "kind", "domain", "user", "folder", "size", "mtime_ns", "crc32", "stored_in",
           "volume", "offset", "csize", "method", "mode")
# Entry columns added after manifests were first written, with the value of their rows in the
# manifests that lack them.
_LATER_COLUMNS = {"mode": 0}
MESSAGE_COLUMNS = ("path", "message_id", "from", "to", "cc", "subject", "date", "has_attachments",
                   "date_raw")
# The most a manifest may inflate to; readers refuse it past this (a target could hold a gzip bomb
# under a manifest's name). A million entries with their messages' headers take about 310 MB
# (some 110 bytes an entry, 200 a message's headers), so this holds some three million.
MAX_BYTES = 1024**3


# How columns are encoded; others are plain lists.
_INT_COLUMNS = {"size": "int64", "mtime_ns": "int64", "crc32": "uint32", "volume": "int64",
                "offset": "int64", "csize": "int64", "method": "int64", "mode": "uint16"}
_CODED_COLUMNS = ("kind", "domain", "user", "folder", "stored_in")
_TEXT_COLUMNS = ("path", "message_id", "from", "to", "cc", "subject", "date_raw")
_TYPECODES = {"int64": "q", "uint32": "I", "uint16": "H"}


def typecode(kind):
    """The array typecode of a manifest's integer type (``int64``, ``uint32``, ``uint16``)."""
    return _TYPECODES[kind]


def _packed(values, kind):
    """Little-endian bytes of *values* as the integer type *kind*."""
    code = _TYPECODES[kind]
    a = values if isinstance(values, array.array) and values.typecode == code else \
        array.array(code, values)
    if sys.byteorder == "big":
        a = array.array(code, a)
        a.byteswap()
    return a.tobytes()


def raw(value):
    """The bytes of a binary field: version 3 holds them as read, version 2 as base64 text."""
    return binascii.a2b_base64(value) if isinstance(value, str) else value  # base64.b64decode's


def _unpacked(data, kind):
    a = array.array(_TYPECODES[kind])
    a.frombytes(raw(data))
    if sys.byteorder == "big":
        a.byteswap()
    return a


def _utf8(text):
    # surrogateescape gives back the original bytes of names that are not UTF-8.
    return text.encode("utf-8", "surrogateescape")


def lengths_field(lengths):
    """``("uint16" or "uint32", bytes)`` for the byte lengths of a text column."""
    kind = "uint16" if max(lengths, default=0) < 65536 else "uint32"
    return kind, _packed(lengths, kind)


def _encode_text(values):
    texts = ["" if v is None else v for v in values]
    # Byte lengths without keeping a bytes copy of every value around (memory stays flat).
    lengths = [len(t) if t.isascii() else len(_utf8(t)) for t in texts]
    kind, packed = lengths_field(lengths)
    data = _utf8("".join(texts))
    desc, parts = {"text": len(data), "lengths": [kind, len(packed)]}, [data, packed]
    if None in values:
        valid = bytearray((len(values) + 7) // 8)
        for i, v in enumerate(values):
            if v is not None:
                valid[i >> 3] |= 1 << (i & 7)
        desc["valid"] = len(valid)
        parts.append(bytes(valid))
    return desc, parts


def text_bytes(value):
    """The UTF-8 bytes of a text column as read (version 2 kept them as a JSON string)."""
    if "text" in value:
        return value["text"].encode("utf-8")
    return raw(value["utf8"])


def _decode_text(value):
    (kind, packed), = value["lengths"].items()
    ends = list(accumulate(_unpacked(packed, kind)))
    spans = list(map(slice, [0] + ends[:-1], ends))
    text = value.get("text")
    if text is not None and text.isascii():
        out = list(map(text.__getitem__, spans))  # byte offsets are character offsets
    else:
        data = text_bytes(value)
        if data.isascii():
            text = data.decode("ascii")
            out = list(map(text.__getitem__, spans))
        else:
            out = [data[s].decode("utf-8", "surrogateescape") for s in spans]
    if "valid" in value:
        valid = raw(value["valid"])
        for i in range(len(out)):
            if not valid[i >> 3] >> (i & 7) & 1:
                out[i] = None
    return out


def text_column(lengths, chunks):
    """``(description, byte parts)`` of a text column without missing values, given as the
    UTF-8 length of each value and an iterable of the values' UTF-8 end to end (the same bytes
    encode_column gives, without a list of the values)."""
    kind, packed = lengths_field(lengths)
    return {"text": sum(lengths), "lengths": [kind, len(packed)]}, chain(chunks, [packed])


def encode_column(name, values):
    """``(description, byte parts)`` of one column: packed integers, coded or Arrow-style text,
    or a plain list (no parts)."""
    if name in _TEXT_COLUMNS:
        return _encode_text(values)
    if name in _INT_COLUMNS:
        kind = _INT_COLUMNS[name]
        data = _packed(values, kind)
        return {kind: len(data)}, [data]
    if name in _CODED_COLUMNS:
        distinct = list(dict.fromkeys(values))
        code_of = {v: i for i, v in enumerate(distinct)}
        return coded_column(distinct, map(code_of.__getitem__, values))
    return {"list": list(values)}, []


def coded_column(values, codes):
    """``(description, byte parts)`` of a column given as its distinct *values* and one code
    (index into them) per row."""
    data = _packed(codes, "uint32")
    return {"values": values, "codes": len(data)}, [data]


def open_block(f, block, columns):
    """Write the line that opens a block of *columns* columns."""
    f.write(_dumps({"block": block, "columns": columns}) + b"\n")


def write_column(f, name, desc, parts):
    """Write one column: its description line, then its bytes."""
    f.write(_dumps({"column": name, **desc}) + b"\n")
    for part in parts:
        f.write(part)


def _exact(f, n):
    if not 0 <= n <= MAX_BYTES:  # never ask a stream for more than a manifest may hold
        raise ValueError(f"manifest damaged: a column of {n} bytes")
    data = f.read(n)
    if len(data) != n:
        raise ValueError("manifest truncated")
    return data


def _spooled(f, n):
    """The next *n* bytes of *f* in a temporary file (a reader that goes through them once)."""
    if not 0 <= n <= MAX_BYTES:
        raise ValueError(f"manifest damaged: a column of {n} bytes")
    import tempfile
    spool = tempfile.TemporaryFile()
    left = n
    while left:
        chunk = f.read(min(left, 1 << 20))
        if not chunk:
            spool.close()
            raise ValueError("manifest truncated")
        spool.write(chunk)
        left -= len(chunk)
    spool.seek(0)
    return spool


def _skip(f, n):
    """Read past the next *n* bytes of *f* (a column nobody asked for), a megabyte at a time."""
    if not 0 <= n <= MAX_BYTES:
        raise ValueError(f"manifest damaged: a column of {n} bytes")
    while n:
        chunk = f.read(min(n, 1 << 20))
        if not chunk:
            raise ValueError("manifest truncated")
        n -= len(chunk)


def read_column(f, spool=(), skip=()):
    """``(name, value)`` of the column starting at the current line of *f*. *value* is a list,
    or a dict of the version 2 shape with bytes in place of base64 (see decode_column). The
    bytes of a column named in *spool* go to a temporary file instead of memory (``"spool"``
    in the dict: read a text column with iter_text, once, any column with spooled_array); a
    column named in *skip* is read past, its value None."""
    desc = json.loads(f.readline())
    name = desc.pop("column")
    if "list" in desc:
        return name, desc["list"]
    if name in skip:
        desc.pop("values", None)
        for key in ("codes", "text", "valid"):
            if key in desc:
                _skip(f, desc.pop(key))
        if "lengths" in desc:
            _skip(f, desc.pop("lengths")[1])
        for n in desc.values():  # an integer column: {type: bytes}
            _skip(f, n)
        return name, None
    if "values" in desc:
        if name in spool:
            return name, {"values": desc["values"], "spool": _spooled(f, desc["codes"]),
                          "type": "uint32"}
        return name, {"values": desc["values"], "codes": _exact(f, desc["codes"])}
    if "text" in desc:
        value = ({"spool": _spooled(f, desc["text"])} if name in spool else
                 {"utf8": _exact(f, desc["text"])})
        kind, n = desc["lengths"]
        value["lengths"] = {kind: _exact(f, n)}
        if "valid" in desc:
            value["valid"] = _exact(f, desc["valid"])
        return name, value
    (kind, n), = desc.items()
    if name in spool:
        return name, {"spool": _spooled(f, n), "type": kind}
    return name, {kind: _exact(f, n)}


def spooled_array(value, count=None):
    """The next *count* values (all that are left if None) of a spooled integer or coded
    column (read_column's *spool*) as an array; the codes of a coded one."""
    a = array.array(_TYPECODES[value["type"]])
    data = value["spool"].read(-1 if count is None else count * a.itemsize)
    if len(data) % a.itemsize:
        raise ValueError("manifest damaged: a column cut in a value")
    a.frombytes(data)
    if sys.byteorder == "big":
        a.byteswap()
    return a


def read_blocks(f, stop_after=None, spool=(), skip=()):
    """Yield ``(block name, {column: value})`` for each block from the current position of *f*
    (a version 3 body), stopping after the block named *stop_after* (see read_column for
    *spool* and *skip*)."""
    while line := f.readline():
        if not line.strip():
            continue
        opening = json.loads(line)
        block = opening["block"]
        yield block, dict(read_column(f, spool, skip) for _ in range(opening["columns"]))
        if block == stop_after:
            return


def decode_column(value):
    """A column as a sequence (list or array) from its value as read, whatever its version."""
    if isinstance(value, list):
        return value
    if "spool" in value:
        if "type" not in value:  # text
            return list(iter_text(value))
        value["spool"].seek(0)
        codes = spooled_array(value)
        if "values" not in value:
            return codes
        return [value["values"][c] for c in codes]
    if "lengths" in value:
        return _decode_text(value)
    if "values" in value:
        values = value["values"]
        return [values[c] for c in _unpacked(value["codes"], "uint32")]
    (kind, data), = value.items()
    return _unpacked(data, kind)


# (collections.namedtuple: typing.NamedTuple would load typing on every command's path)
class IntBuffer(namedtuple("IntBuffer", "dtype data")):
    """An integer column's bytes: little-endian values of numpy's type *dtype* (``<i8``, ``<u4``
    or ``<u2``)."""

    __slots__ = ()


class CodedBuffer(namedtuple("CodedBuffer", "values codes")):
    """A repetitive text column: its distinct *values* and one ``<u4`` code (an index into them)
    per row in *codes*."""

    __slots__ = ()


class TextBuffer(namedtuple("TextBuffer", "data lengths_dtype lengths valid")):
    """A text column laid out as Arrow lays strings out: *data* is every value's UTF-8 end to end,
    *lengths* one length per row (numpy type *lengths_dtype*, ``<u2`` or ``<u4``), *valid* the
    validity bits (least significant first), None when no value is missing."""

    __slots__ = ()


_NUMPY_TYPES = {"int64": "<i8", "uint32": "<u4", "uint16": "<u2"}


def column_buffer(value):
    """A column as read (any version), as a list, or for the encoded columns as an IntBuffer,
    CodedBuffer or TextBuffer: the bytes and what they hold, for readers that make arrays of
    them without an object per row (the catalog). Everything else reads decode_column's lists."""
    if isinstance(value, list):
        return value
    if "lengths" in value:
        (kind, packed), = value["lengths"].items()
        valid = raw(value["valid"]) if "valid" in value else None
        return TextBuffer(text_bytes(value), _NUMPY_TYPES[kind], raw(packed), valid)
    if "values" in value:
        return CodedBuffer(value["values"], raw(value["codes"]))
    (kind, data), = value.items()
    return IntBuffer(_NUMPY_TYPES[kind], raw(data))


def member_name(set_name):
    """Name of the manifest's copy inside the last volume."""
    return f"{MEMBER_DIR}{set_name}.manifest.json"


def to_columns(entries):
    return {c: [getattr(e, c) for e in entries] for c in COLUMNS}


def from_columns(columns):
    """Entries from the columns of a manifest (lists, or encoded columns as read)."""
    rows = len(decode_column(columns["path"]))
    cols = [decode_column(columns[c]) if c in columns else [_LATER_COLUMNS[c]] * rows
            for c in COLUMNS]
    return [Entry(*row) for row in zip(*cols)]


def messages_to_columns(messages):
    """The ``messages`` block from ``{path: headers}``, headers a tuple in MESSAGE_COLUMNS order."""
    paths = list(messages)
    cols = {"path": paths}
    for i, c in enumerate(MESSAGE_COLUMNS[1:]):
        cols[c] = [messages[p][i] for p in paths]
    return cols


def messages_from_columns(columns):
    """``{path: headers tuple}`` from a manifest's ``messages`` block (empty if it has none);
    a column older manifests lack is None throughout."""
    if not columns:
        return {}
    paths = decode_column(columns["path"])
    cols = [decode_column(columns[c]) if c in columns else [None] * len(paths)
            for c in MESSAGE_COLUMNS]
    return {row[0]: row[1:] for row in zip(*cols)}


_HEADER_ROW = itemgetter(*MESSAGE_COLUMNS[1:])


def header_row(headers):
    """The tuple kept per message from a parse_headers dict (tuples take a third of the memory)."""
    try:
        return _HEADER_ROW(headers)  # parse_headers gives every field: one C call a message
    except KeyError:
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
    """Bytes of a manifest document (columns as lists or as read): header line, then blocks."""
    header = {k: v for k, v in doc.items() if k not in _BODY_KEYS}
    header["version"] = VERSION
    f = io.BytesIO()
    f.write(_dumps(header) + b"\n")
    for block in _BODY_KEYS:
        if block in doc:
            columns = doc[block]
            _write_block(f, block, {c: list(decode_column(v)) for c, v in columns.items()})
    import gzip
    return gzip.compress(f.getvalue(), 6, mtime=0) if compress else f.getvalue()


def _write_block(f, block, columns):
    open_block(f, block, len(columns))
    for name, values in columns.items():
        write_column(f, name, *encode_column(name, values))


def _dumps(value):
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def write_body(f, entries, messages=None):
    """Write the column blocks of a manifest to the binary file *f*, one column at a time.

    *entries* is a list of Entry or a table.EntryTable; *messages* ``{path: headers tuple}`` or
    a messages.MessageBlock. Only one column's list and bytes are alive at a time, which keeps a
    100k-entry backup's memory flat.
    """
    open_block(f, "entries", len(COLUMNS))
    for c in COLUMNS:
        if not hasattr(entries, "column"):  # a list of Entry
            write_column(f, c, *encode_column(c, list(map(attrgetter(c), entries))))
        elif c in _CODED_COLUMNS:  # a table.EntryTable has them coded already
            write_column(f, c, *coded_column(*entries.coded(c)))
        elif c == "path":  # and its paths as bytes
            write_column(f, c, *text_column(entries.path_lengths(), entries.path_chunks()))
        else:
            write_column(f, c, *encode_column(c, entries.column(c)))
    if hasattr(messages, "write_block"):  # a messages.MessageBlock gathered during the backup
        messages.write_block(f)
    elif messages is not None:
        rows = list(messages.values())
        _write_block(f, "messages", {"path": list(messages), **{
            c: list(map(itemgetter(i), rows)) for i, c in enumerate(MESSAGE_COLUMNS[1:])}})


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


def read_body(f, doc, stop_after=None, spool=(), skip=()):
    """Add the column blocks after the header line in *f* to *doc* (any version; see
    read_column for *spool* and *skip*, which only version 3 heeds)."""
    if doc.get("version", 1) >= 3:
        try:
            doc.update(read_blocks(f, stop_after, spool, skip))
        except (KeyError, TypeError, json.JSONDecodeError) as e:
            raise ValueError(f"manifest damaged: {e!r}") from None
        return doc
    for line in f:  # versions 1 and 2: one JSON line per block
        if line.strip():
            doc.update(json.loads(line))
            if stop_after in doc:
                break
    return doc


def plain(data):
    """The manifest stream held in *data*: inflated if it is gzip; ValueError past MAX_BYTES."""
    if data[:2] == b"\x1f\x8b":
        try:
            return gunzip(data, MAX_BYTES)
        except ValueError as e:
            raise ValueError(f"manifest {e}, more than a manifest may take") from None
    if len(data) > MAX_BYTES:
        raise ValueError(f"manifest of {len(data)} bytes, more than the {MAX_BYTES} a manifest "
                         "may take")
    return data


def decode(data):
    """The whole manifest dict from its bytes (gzip or plain); ValueError if it is not a manifest
    or inflates past MAX_BYTES."""
    f = io.BytesIO(plain(data))
    return read_body(f, _check(json.loads(f.readline())))


def read_manifest(f, stop_after=None, spool=(), skip=()):
    """The manifest from the open binary file *f*, read a column at a time, up to the block
    *stop_after* if given (``"entries"`` skips inflating the messages).

    Unlike ``decode(f.read())`` it never holds the whole inflated stream, nor a copy of it; past
    MAX_BYTES inflated it stops with ValueError. The bytes of the columns named in *spool*
    are kept in temporary files (see read_column): a million paths take 60 MB. The columns named in
    *skip* are read past (None).
    """
    magic = f.read(2)
    f.seek(0)
    if magic == b"\x1f\x8b":
        f = gzip_reader(f, MAX_BYTES)
    return read_body(f, _check(json.loads(f.readline())), stop_after, spool, skip)


def iter_text(value):
    """The values of a text column as read (any version, spooled or not), one at a time."""
    if isinstance(value, list) or "lengths" not in value:
        yield from decode_column(value)
        return
    if "spool" not in value:
        yield from decode_column(value)
        return
    (kind, packed), = value["lengths"].items()
    valid = raw(value["valid"]) if "valid" in value else None
    src = value["spool"]
    buf, pos = b"", 0
    for i, n in enumerate(_unpacked(packed, kind)):
        if pos + n > len(buf):
            buf, pos = buf[pos:] + src.read(max(n, 1 << 20)), 0
        text = buf[pos:pos + n]
        pos += n
        if valid is not None and not valid[i >> 3] >> (i & 7) & 1:
            yield None
        else:
            yield text.decode("utf-8", "surrogateescape")


# A header nearly always fits in the first 64 KiB (an SMB target serves them from its first read).
_HEAD_BYTES = 64 * 1024
_HEAD_INFLATED = 1024 * 1024
# Inflated a step at a time until its line ends: those 64 KiB give up to a megabyte of entries,
# and inflating all of it took 0.45 ms for a header of a few hundred bytes.
_HEAD_STEP = 16 * 1024


def decode_header(f):
    """Only the header of the manifest in the open binary file *f* (reads just its first line).

    The first read is a single one of at most 64 KiB: a buffered file would otherwise fill its
    whole buffer, a network round trip more on SMB for a few kilobytes of header.
    """
    start = f.read1(_HEAD_BYTES) if hasattr(f, "read1") else f.read(_HEAD_BYTES)
    try:
        if start[:2] == b"\x1f\x8b":
            # As much as these bytes give, up to a bound (64 KiB of zeros inflate to 64 MB),
            # and no more once the first line has ended.
            inflater, chunks, size, data = gzip_inflater(), [], 0, start
            while True:
                asked = min(_HEAD_STEP, _HEAD_INFLATED - size)
                chunk = inflater.decompress(data, asked)
                chunks.append(chunk)
                size += len(chunk)
                # Stop at the line's end, at the bound, or when the input gave all it holds.
                if b"\n" in chunk or size >= _HEAD_INFLATED or len(chunk) < asked:
                    break
                data = inflater.unconsumed_tail
            text = b"".join(chunks)
        else:
            text = start
        end = text.find(b"\n")
        if end < 0:  # a longer header (or a short read): read on from the start
            f.seek(0)
            stream = gzip_reader(f, MAX_BYTES) if start[:2] == b"\x1f\x8b" else f
            return _check(json.loads(stream.readline(MAX_BYTES + 1)))
        return _check(json.loads(text[:end]))
    except (OSError, EOFError, *INFLATE_ERRORS) as e:
        raise ValueError(f"manifest unreadable: {e}") from None
