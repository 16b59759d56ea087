"""The ``messages`` block of a manifest, gathered as a backup stores messages.

Holding 100k messages' headers as Python strings until the commit took about 55 MB; here each
text column goes to a temporary file as UTF-8, with one length per message kept in an array, so
the block costs a few bytes per message in memory. The bytes written are the same as
``manifest.encode_column`` gives for the whole column at once.
"""

import array
import os
import re
import tempfile
from itertools import chain

from .manifest import MESSAGE_COLUMNS, lengths_field, open_block, write_column

_TEXT = ("path", "message_id", "from", "to", "cc", "subject", "date_raw")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _field(value):
    """The UTF-8 bytes of one text value, or None."""
    if value is None:
        return None
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError:  # headers are informational: never fail on a stray byte
        return _SURROGATE.sub("\ufffd", value).encode("utf-8")


def prepare(path, headers):
    """A message's row as MessageBlock.add_prepared takes it: text fields already escaped.

    Runs in the backup's worker processes, so the process writing the volumes only appends bytes.
    *headers* is a manifest.header_row tuple.
    """
    message_id, sender, to, cc, subject, date, attachments, date_raw = headers
    values = (path, message_id, sender, to, cc, subject, date_raw)
    try:  # one expression for the row, not a _field call a value
        fields = tuple([None if v is None else v.encode("utf-8") for v in values])
    except UnicodeEncodeError:
        fields = tuple(map(_field, values))
    return fields, date, attachments


class MessageRows:
    """Message rows (``prepare``'s) gathered column by column, to be handed over at once: a
    backup worker answers a batch with ``pack()``, which MessageBlock.add_packed takes in a few
    calls instead of a few per message."""

    def __init__(self):
        self.fields = tuple([] for _ in _TEXT)
        self.dates, self.attachments = [], []

    def __len__(self):
        return len(self.dates)

    def add(self, row):
        fields, date, attachments = row
        for column, field in zip(self.fields, fields):
            column.append(field)
        self.dates.append(date)
        self.attachments.append(attachments)

    def pack(self):
        """``(text columns, dates, attachments)``; a text column is ``(UTF-8 of its values end
        to end, array of byte lengths, rows that have no value)``."""
        text = []
        for values in self.fields:
            nulls = [i for i, v in enumerate(values) if v is None]
            if nulls:
                values = [b"" if v is None else v for v in values]
            text.append((b"".join(values), array.array("I", map(len, values)), nulls))
        return tuple(text), self.dates, self.attachments


class _TextColumn:
    def __init__(self):
        self.spool = tempfile.TemporaryFile()
        self.lengths = array.array("I")
        self.valid = bytearray()
        self.nulls = 0

    def add(self, i, field):
        """Add row *i*: _field bytes, or None."""
        if i % 8 == 0:
            self.valid.append(0)
        if field is None:
            self.nulls += 1
            self.lengths.append(0)
            return
        self.valid[-1] |= 1 << (i % 8)
        self.spool.write(field)
        self.lengths.append(len(field))

    def add_packed(self, start, data, lengths, nulls):
        """Add the rows from *start* on given as MessageRows.pack gives a column."""
        self.spool.write(data)
        self.lengths.extend(lengths)
        end = start + len(lengths)
        valid = self.valid
        valid.extend(bytes((end + 7) // 8 - len(valid)))
        for i in range(start, min(end, (start + 7) & ~7)):  # the rest of a started byte
            valid[i >> 3] |= 1 << (i & 7)
        full = ((start + 7) >> 3, end >> 3)
        if full[1] > full[0]:
            valid[full[0]:full[1]] = b"\xff" * (full[1] - full[0])
        for i in range(max(start, end & ~7), end):  # the bits of the last, unfinished byte
            valid[i >> 3] |= 1 << (i & 7)
        for i in nulls:
            i += start
            valid[i >> 3] &= ~(1 << (i & 7))
        self.nulls += len(nulls)

    def values(self):
        """Each row's value as str (None where missing), read back from the spool.

        Reads with pread, so it may run in another thread while ``write`` copies the spool;
        call ``flush`` before either.
        """
        fd, offset, buf, pos = self.spool.fileno(), 0, b"", 0
        for i, n in enumerate(self.lengths):
            if not self.valid[i >> 3] >> (i & 7) & 1:
                yield None
                continue
            if pos + n > len(buf):
                more = os.pread(fd, max(n, 1 << 20), offset)
                offset += len(more)
                buf, pos = buf[pos:] + more, 0
            yield buf[pos:pos + n].decode("utf-8")
            pos += n

    def flush(self):
        self.spool.flush()

    def write(self, f, name):
        kind, lengths = lengths_field(self.lengths)
        desc = {"text": self.spool.tell(), "lengths": [kind, len(lengths)]}
        parts = [lengths]
        if self.nulls:
            desc["valid"] = len(self.valid)
            parts.append(bytes(self.valid))
        self.spool.seek(0)
        write_column(f, name, desc, chain(iter(lambda: self.spool.read(1024 * 1024), b""), parts))

    def close(self):
        self.spool.close()


_NO_DATE = -2**63  # no date (or none that can be read): dates lie within +-2**34 s
_NO_FLAG = 2
_FLAG_WORDS = (b"false", b"true", b"null")


def _date_words(date):
    return b"null" if date == _NO_DATE else str(date).encode()


class MessageBlock:
    """Headers of the messages a set stores, in the order they were added."""

    def __init__(self):
        self.count = 0
        self.text = {c: _TextColumn() for c in _TEXT}
        self._columns = [self.text[c] for c in _TEXT]
        # Dates and attachment flags as arrays (a list held a Python int a message): a missing
        # date is _NO_DATE, a flag 0, 1 or _NO_FLAG.
        self.dates = array.array("q")
        self.attachments = bytearray()

    def add(self, path, headers):
        """Add a message; *headers* is a manifest.header_row tuple."""
        self.add_prepared(prepare(path, headers))

    def add_prepared(self, row):
        """Add a message row made by ``prepare``."""
        fields, date, attachments = row
        for column, field in zip(self._columns, fields):
            column.add(self.count, field)
        self.dates.append(_NO_DATE if date is None else date)
        self.attachments.append(_NO_FLAG if attachments is None else bool(attachments))
        self.count += 1

    def add_packed(self, packed):
        """Add the messages of a MessageRows.pack()."""
        text, dates, attachments = packed
        for column, (data, lengths, nulls) in zip(self._columns, text):
            column.add_packed(self.count, data, lengths, nulls)
        self.dates.extend(_NO_DATE if d is None else d for d in dates)
        self.attachments.extend(_NO_FLAG if a is None else bool(a) for a in attachments)
        self.count += len(dates)

    def __len__(self):
        return self.count

    def flush(self):
        """Make everything added readable by index_rows and write_block (call once, first)."""
        for column in self._columns:
            column.flush()

    def index_rows(self):
        """``(message_id, path)`` of the messages that have a Message-ID, in the order added,
        read back from the spools (holding them in memory took 20 MB for 100k messages)."""
        for message_id, path in zip(self.text["message_id"].values(), self.text["path"].values()):
            if message_id is not None:
                yield message_id, path

    def write_block(self, f):
        """Write the manifest's ``messages`` block."""
        open_block(f, "messages", len(MESSAGE_COLUMNS))
        for name in MESSAGE_COLUMNS:
            if name in self.text:
                self.text[name].write(f, name)
            else:
                # the JSON list encode_column writes, a few thousand values at a time
                words = _date_words if name == "date" else _FLAG_WORDS.__getitem__
                values = self.dates if name == "date" else self.attachments
                f.write(b'{"column":"' + name.encode() + b'","list":[')
                for start in range(0, len(values), 8192):
                    chunk = b",".join(map(words, values[start:start + 8192]))
                    f.write(chunk if start == 0 else b"," + chunk)
                f.write(b"]}\n")

    def close(self):
        for column in self.text.values():
            column.close()
