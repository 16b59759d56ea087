"""The entries of a set being written, held column-wise.

A backup of a 100k-file store keeps one row per file until the manifest is written. As Entry
objects a row took about 450 bytes (the object, its path and five large ints); here it takes the
path plus about 70 bytes of arrays, and the manifest writes the integer columns straight from
the arrays.
"""

from array import array
from itertools import compress

from ..model import Entry

# The manifest's integer types (see manifest._INT_COLUMNS), so they are written as they are.
_INTS = {"size": "q", "mtime_ns": "q", "crc32": "I", "volume": "q", "offset": "q", "csize": "q",
         "method": "q", "mode": "H"}
# Every file of a directory has the same kind, domain, user and folder: one code for the four.
_PLACE = ("kind", "domain", "user", "folder")


class _Coded:
    """Repetitive values (a place, a set name): the distinct values and a code per row."""

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

    def to_list(self):
        return list(map(self.values.__getitem__, self.codes))


def _used(values, codes):
    """*values* and *codes* without the values no row uses (those of dropped rows)."""
    used = sorted(set(codes))
    if len(used) == len(values):
        return values, codes
    new = dict(zip(used, range(len(used))))
    translate = [new.get(c, 0) for c in range(len(values))]
    return [values[c] for c in used], array("I", map(translate.__getitem__, codes))


class EntryTable:
    """Rows of Entry fields (see model.Entry), appended by the walk and filled in as files are
    stored. ``stored_in`` is "" for a row whose data is not (yet) in any set."""

    def __init__(self):
        self.path = []
        self._place = _Coded()
        self._set = _Coded()
        self._ints = {name: array(code) for name, code in _INTS.items()}

    def __len__(self):
        return len(self.path)

    def append(self, path, kind, domain, user, folder, size, mtime_ns, crc32=0, stored_in="",
               volume=0, offset=0, csize=0, method=8, mode=0):
        """Add a row; return its number. (Called once per file: kept to plain statements.)"""
        place, st, ints = self._place, self._set, self._ints
        key = (kind, domain, user, folder)
        code = place.code_of.get(key)
        place.codes.append(place.code(key) if code is None else code)
        code = st.code_of.get(stored_in)
        st.codes.append(st.code(stored_in) if code is None else code)
        ints["size"].append(size)
        ints["mtime_ns"].append(mtime_ns)
        ints["crc32"].append(crc32)
        ints["volume"].append(volume)
        ints["offset"].append(offset)
        ints["csize"].append(csize)
        ints["method"].append(method)
        ints["mode"].append(mode)
        self.path.append(path)
        return len(self.path) - 1

    def get(self, row, name):
        if name in _PLACE:
            return self._place[row][_PLACE.index(name)]
        if name == "stored_in":
            return self._set[row]
        return self.path[row] if name == "path" else self._ints[name][row]

    def update(self, row, **values):
        """Set fields of a row (not its path or place)."""
        for name, value in values.items():
            if name == "stored_in":
                self._set[row] = value
            else:
                self._ints[name][row] = value

    def fill(self, rows, columns, stored_in, failed=()):
        """Fill in the rows *rows* (row numbers, ascending) from *columns*, ``{name: array}``
        of integer columns in row order with this table's types, and set ``stored_in`` of all
        of them but the positions *failed* (into *rows*). Rows in one run are filled by slice."""
        ints = self._ints
        first, last = rows[0], rows[-1]
        run = last - first + 1 == len(rows)
        for name, values in columns.items():
            column = ints[name]
            if run:
                column[first:last + 1] = values
            else:
                for row, value in zip(rows, values):
                    column[row] = value
        code = self._set.code(stored_in)
        codes = self._set.codes
        if run and not failed:
            codes[first:last + 1] = array("I", [code]) * len(rows)
            return
        skip = set(failed)
        for i, row in enumerate(rows):
            if i not in skip:
                codes[row] = code

    def column(self, name):
        """The values of one column: a list, or an array for the integer columns."""
        if name in _PLACE:
            i = _PLACE.index(name)
            values = [v[i] for v in self._place.values]
            return list(map(values.__getitem__, self._place.codes))
        if name == "stored_in":
            return self._set.to_list()
        return self.path if name == "path" else self._ints[name]

    def coded(self, name):
        """``(distinct values, uint32 code per row)`` of a repetitive column (kind, domain, user,
        folder, stored_in), as the manifest stores it, without a list of every row's value."""
        if name == "stored_in":
            return _used(self._set.values, self._set.codes)
        i = _PLACE.index(name)
        values, codes = _used(self._place.values, self._place.codes)
        distinct = list(dict.fromkeys(v[i] for v in values))
        code_of = {v: c for c, v in enumerate(distinct)}
        translate = [code_of[v[i]] for v in values]
        return distinct, array("I", map(translate.__getitem__, codes))

    def rows(self, stored_in=None):
        """Each row as a tuple in manifest.COLUMNS order (only those stored in *stored_in* if given)."""
        places, sets, ints = self._place.values, self._set.values, self._ints
        columns = (self.path, self._place.codes, self._set.codes, ints["size"], ints["mtime_ns"],
                   ints["crc32"], ints["volume"], ints["offset"], ints["csize"], ints["method"],
                   ints["mode"])
        if stored_in is None:
            selected = zip(*columns)
        else:
            wanted = self._set.code_of.get(stored_in)
            rows = [r for r, c in enumerate(self._set.codes) if c == wanted]
            selected = (tuple(col[r] for col in columns) for r in rows)
        for (path, place, code, size, mtime_ns, crc32, volume, offset, csize, method,
             mode) in selected:
            yield (path, *places[place], size, mtime_ns, crc32, sets[code], volume, offset, csize,
                   method, mode)

    def entries(self, stored_in=None):
        """Rows as Entry objects, made one at a time."""
        return (Entry(*row) for row in self.rows(stored_in))

    def count(self, stored_in):
        """How many rows are stored in *stored_in*, and their bytes."""
        code = self._set.code_of.get(stored_in)
        if code is None:
            return 0, 0
        mine = [c == code for c in self._set.codes]
        return sum(mine), sum(compress(self._ints["size"], mine))

    def drop_unstored(self):
        """Remove the rows stored nowhere (files that vanished or could not be read); return
        their paths."""
        missing = self._set.code_of.get("")
        if missing is None or missing not in self._set.codes:
            return []
        keep = [c != missing for c in self._set.codes]
        dropped = [p for p, k in zip(self.path, keep) if not k]
        self.path = list(compress(self.path, keep))
        for coded in (self._place, self._set):
            coded.codes = array("I", compress(coded.codes, keep))
        for name, col in self._ints.items():
            self._ints[name] = array(col.typecode, compress(col, keep))
        return dropped
