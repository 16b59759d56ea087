"""The ``messages`` block of a manifest, gathered as a backup stores messages.

Holding 100k messages' headers as Python strings until the commit took about 55 MB; here each
text column goes to a temporary file as JSON-escaped text, with one length per message kept in an
array, so the block costs a few bytes per message in memory. The bytes written are the same as
``manifest.encode_column`` gives for the whole column at once.
"""

import array
import re
import tempfile
from json.encoder import encode_basestring

from .manifest import MESSAGE_COLUMNS, _b64, _dumps, _packed

_TEXT = ("path", "message_id", "from", "to", "cc", "subject")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _field(value):
    """``(JSON-escaped UTF-8 bytes, length in UTF-8 bytes)`` of one text value, or None."""
    if value is None:
        return None
    try:
        raw = value.encode("utf-8")
    except UnicodeEncodeError:  # headers are informational: never fail on a stray byte
        value = _SURROGATE.sub("\ufffd", value)
        raw = value.encode("utf-8")
    escaped = raw if value.isalnum() else encode_basestring(value)[1:-1].encode("utf-8")
    return escaped, len(raw)


def prepare(path, headers):
    """A message's row as MessageBlock.add_prepared takes it: text fields already escaped.

    Runs in the backup's worker processes, so the process writing the volumes only appends bytes.
    *headers* is a manifest.header_row tuple.
    """
    message_id, sender, to, cc, subject, date, attachments = headers
    return (tuple(map(_field, (path, message_id, sender, to, cc, subject))), date, attachments,
            message_id, path)


class _TextColumn:
    def __init__(self):
        self.spool = tempfile.TemporaryFile()
        self.lengths = array.array("I")
        self.valid = bytearray()
        self.nulls = 0

    def add(self, i, field):
        """Add row *i*: a _field pair, or None."""
        if i % 8 == 0:
            self.valid.append(0)
        if field is None:
            self.nulls += 1
            self.lengths.append(0)
            return
        self.valid[-1] |= 1 << (i % 8)
        self.spool.write(field[0])
        self.lengths.append(field[1])

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
        self._columns = [self.text[c] for c in _TEXT]
        self.dates = []
        self.attachments = []
        self.ids = []  # (message_id, path): the index's messages table

    def add(self, path, headers):
        """Add a message; *headers* is a manifest.header_row tuple."""
        self.add_prepared(prepare(path, headers))

    def add_prepared(self, row):
        """Add a message row made by ``prepare``."""
        fields, date, attachments, message_id, path = row
        for column, field in zip(self._columns, fields):
            column.add(self.count, field)
        self.dates.append(date)
        self.attachments.append(attachments)
        if message_id is not None:
            self.ids.append((message_id, path))
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
