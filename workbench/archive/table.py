"""The entries of a set being written, held column-wise.

A backup of a 100k-file store keeps one row per file until the manifest is written. As Entry
objects a row took about 450 bytes (the object, its path and five large ints); here it takes the
path plus about 70 bytes of arrays, and the manifest writes the integer columns straight from
the arrays.
"""

from array import array
from itertools import compress

from ..model import Entry
from .manifest import COLUMNS

# The manifest's integer types (see manifest._INT_COLUMNS), so they are written as they are.
_INTS = {"size": "q", "mtime_ns": "q", "crc32": "I", "volume": "q", "offset": "q", "csize": "q",
         "method": "q"}
_CODED = ("kind", "domain", "user", "folder", "stored_in")


class _Coded:
    """Repetitive text (kind, domain, user, folder, set name): distinct values and a code per row."""

    def __init__(self):
        self.values, self.code_of, self.codes = [], {}, array("I")

    def code(self, value):
        code = self.code_of.get(value)
        if code is None:
            code = self.code_of[value] = len(self.values)
            self.values.append(value)
        return code

    def __getitem__(self, row):
        return self.values[self.codes[row]]

    def __setitem__(self, row, value):
        self.codes[row] = self.code(value)

    def append(self, value):
        self.codes.append(self.code(value))

    def to_list(self):
        return list(map(self.values.__getitem__, self.codes))


class EntryTable:
    """Rows of Entry fields (see model.Entry), appended by the walk and filled in as files are
    stored. ``stored_in`` is "" for a row whose data is not (yet) in any set."""

    def __init__(self):
        self.path = []
        self._columns = {"path": self.path}
        for name in _CODED:
            self._columns[name] = _Coded()
        for name, code in _INTS.items():
            self._columns[name] = array(code)

    def __len__(self):
        return len(self.path)

    def append(self, path, kind, domain, user, folder, size, mtime_ns, crc32=0, stored_in="",
               volume=0, offset=0, csize=0, method=8):
        """Add a row; return its number."""
        for name, value in zip(COLUMNS, (path, kind, domain, user, folder, size, mtime_ns, crc32,
                                         stored_in, volume, offset, csize, method)):
            self._columns[name].append(value)
        return len(self.path) - 1

    def get(self, row, name):
        return self._columns[name][row]

    def update(self, row, **values):
        for name, value in values.items():
            self._columns[name][row] = value

    def column(self, name):
        """The values of one column: a list, or an array for the integer columns."""
        col = self._columns[name]
        return col.to_list() if isinstance(col, _Coded) else col

    def rows(self, stored_in=None):
        """Each row as a tuple in COLUMNS order (only those stored in *stored_in* if given)."""
        cols = [self._columns[name] for name in COLUMNS]
        wanted = None
        if stored_in is not None:
            wanted = self._columns["stored_in"].code_of.get(stored_in)
            if wanted is None:
                return
        codes = self._columns["stored_in"].codes
        for row in range(len(self.path)):
            if wanted is None or codes[row] == wanted:
                yield tuple(col[row] for col in cols)

    def entries(self, stored_in=None):
        """Rows as Entry objects, made one at a time."""
        return (Entry(*row) for row in self.rows(stored_in))

    def count(self, stored_in):
        """How many rows are stored in *stored_in*, and their bytes."""
        code = self._columns["stored_in"].code_of.get(stored_in)
        if code is None:
            return 0, 0
        mine = [c == code for c in self._columns["stored_in"].codes]
        return sum(mine), sum(compress(self._columns["size"], mine))

    def drop_unstored(self):
        """Remove the rows stored nowhere (files that vanished or could not be read); return
        their paths."""
        missing = self._columns["stored_in"].code_of.get("")
        codes = self._columns["stored_in"].codes
        if missing is None or missing not in codes:
            return []
        keep = [c != missing for c in codes]
        dropped = [p for p, k in zip(self.path, keep) if not k]
        for name, col in list(self._columns.items()):
            if isinstance(col, _Coded):
                col.codes = array(col.codes.typecode, compress(col.codes, keep))
            elif isinstance(col, array):
                self._columns[name] = array(col.typecode, compress(col, keep))
            else:
                self._columns[name] = list(compress(col, keep))
        self.path = self._columns["path"]
        return dropped
