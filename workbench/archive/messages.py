"""The ``messages`` block of a manifest, gathered as a backup stores messages.

Holding 100k messages' headers as Python strings until the commit took about 55 MB; here each
text column goes to a temporary file as JSON-escaped text, with one length per message kept in an
array, so the block costs a few bytes per message in memory. The bytes written are the same as
``manifest.encode_column`` gives for the whole column at once.
"""

import array
import json
import re
import tempfile

from .manifest import MESSAGE_COLUMNS, _b64, _dumps, _packed

_TEXT = ("path", "message_id", "from", "to", "cc", "subject")
_SURROGATE = re.compile("[\ud800-\udfff]")


class _TextColumn:
    def __init__(self):
        self.spool = tempfile.TemporaryFile()
        self.lengths = array.array("I")
        self.valid = bytearray()
        self.nulls = 0

    def add(self, i, value):
        if i % 8 == 0:
            self.valid.append(0)
        if value is None:
            self.nulls += 1
            self.lengths.append(0)
            return
        if _SURROGATE.search(value):  # headers are informational: never fail on a stray byte
            value = _SURROGATE.sub("\ufffd", value)
        self.valid[-1] |= 1 << (i % 8)
        self.lengths.append(len(value.encode("utf-8")))
        self.spool.write(json.dumps(value, ensure_ascii=False)[1:-1].encode("utf-8"))

    def write_json(self, f):
        kind = "uint16" if max(self.lengths, default=0) < 65536 else "uint32"
        f.write(b'{"text":"')
        self.spool.seek(0)
        while chunk := self.spool.read(1024 * 1024):
            f.write(chunk)
        f.write(b'","lengths":{"%s":"%s"}' % (kind.encode(), _packed(self.lengths, kind).encode()))
        if self.nulls:
            f.write(b',"valid":"%s"' % _b64(bytes(self.valid)).encode())
        f.write(b"}")

    def close(self):
        self.spool.close()


class MessageBlock:
    """Headers of the messages a set stores, in the order they were added."""

    def __init__(self):
        self.count = 0
        self.text = {c: _TextColumn() for c in _TEXT}
        self.dates = []
        self.attachments = []
        self.ids = []  # (message_id, path): the index's messages table

    def add(self, path, headers):
        """Add a message; *headers* is a manifest.header_row tuple."""
        row = dict(zip(MESSAGE_COLUMNS, (path,) + tuple(headers)))
        for name, column in self.text.items():
            column.add(self.count, row[name])
        self.dates.append(row["date"])
        self.attachments.append(row["has_attachments"])
        if row["message_id"] is not None:
            self.ids.append((row["message_id"], path))
        self.count += 1

    def __len__(self):
        return self.count

    def index_rows(self):
        """``(message_id, path)`` rows sorted by key, for the SQLite index."""
        return sorted(self.ids)

    def write_line(self, f):
        """Write the ``{"messages": {...}}`` line, newline included."""
        f.write(b'{"messages":{')
        for i, name in enumerate(MESSAGE_COLUMNS):
            f.write(b'%s"%s":' % (b"," if i else b"", name.encode()))
            if name in self.text:
                self.text[name].write_json(f)
            else:
                f.write(_dumps(self.dates if name == "date" else self.attachments))
        f.write(b"}}\n")

    def close(self):
        for column in self.text.values():
            column.close()
