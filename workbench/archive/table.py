"""The entries of a set being written, held column-wise.

A backup keeps one row per file until the manifest is written: a million rows for a large
server. As Entry objects a row took about 450 bytes, and as a Python string its path alone about
110; here a row takes about 80 bytes of arrays: the path as the code of its directory (every
file of a ``#msgs`` folder shares one) and its name's UTF-8 bytes, the integer columns as the
manifest writes them.
"""

from array import array
from itertools import accumulate, chain, compress, groupby, islice
from operator import add, sub

from ..model import Entry

# The manifest's integer types (see manifest._INT_COLUMNS), so they are written as they are.
INT_TYPES = {"size": "q", "mtime_ns": "q", "crc32": "I", "volume": "q", "offset": "q", "csize": "q",
         "method": "q", "mode": "H"}
# Every file of a directory has the same kind, domain, user and folder: one code for the four.
_PLACE = ("kind", "domain", "user", "folder")
# How many rows a chunk of paths holds (path_chunks).
_CHUNK_ROWS = 8192


def _utf8(text):
    # surrogateescape gives back the original bytes of names that are not UTF-8.
    return text.encode("utf-8", "surrogateescape")


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
        self._dirs = _Coded()          # a path up to its last "/" ("" for top-level files)
        self._dir_bytes = []           # the UTF-8 of each directory, with its "/"
        self._names = bytearray()      # the UTF-8 of each row's last path part, end to end
        self._ends = array("q")        # where each row's name ends in _names
        self._place = _Coded()
        self._set = _Coded()
        self._ints = {name: array(code) for name, code in INT_TYPES.items()}

    def __len__(self):
        return len(self._ends)

    def _dir_code(self, directory):
        code = self._dirs.code_of.get(directory)
        if code is None:
            code = self._dirs.code(directory)
            self._dir_bytes.append(_utf8(directory) + b"/" if directory else b"")
        return code

    def append(self, path, kind, domain, user, folder, size, mtime_ns, crc32=0, stored_in="",
               volume=0, offset=0, csize=0, method=8, mode=0):
        """Add a row; return its number. (Called once per file: kept to plain statements.)"""
        place, st, ints = self._place, self._set, self._ints
        directory, _, name = path.rpartition("/")
        code = self._dirs.code_of.get(directory)
        self._dirs.codes.append(self._dir_code(directory) if code is None else code)
        self._names += _utf8(name)
        self._ends.append(len(self._names))
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
        return len(self._ends) - 1

    def append_run(self, directory, kind, domain, user, folder, names, sizes, mtimes, modes):
        """Add a row for each file *names* of *directory* (a store.StoreRun's lists), in order,
        not yet stored; return the first row's number."""
        first, count = len(self._ends), len(names)
        code = self._dirs.code_of.get(directory)
        self._dirs.codes.extend(array("I", [self._dir_code(directory) if code is None else code])
                                * count)
        text = "".join(names)
        if text.isascii():
            data, lengths = text.encode("ascii"), map(len, names)
        else:
            encoded = [_utf8(n) for n in names]
            data, lengths = b"".join(encoded), map(len, encoded)
        self._ends.extend(islice(accumulate(lengths, initial=len(self._names)), 1, None))
        self._names += data
        self._place.codes.extend(array("I", [self._place.code((kind, domain, user, folder))])
                                 * count)
        self._set.codes.extend(array("I", [self._set.code("")]) * count)
        ints = self._ints
        ints["size"].extend(sizes)
        ints["mtime_ns"].extend(mtimes)
        ints["mode"].extend(modes)
        for name in ("crc32", "volume", "offset", "csize"):
            ints[name].frombytes(bytes(ints[name].itemsize * count))
        ints["method"].extend(array("q", [8]) * count)
        return first

    def path(self, row):
        """The path of row *row*."""
        start = self._ends[row - 1] if row else 0
        name = self._names[start:self._ends[row]].decode("utf-8", "surrogateescape")
        directory = self._dirs[row]
        return f"{directory}/{name}" if directory else name

    def paths(self):
        """Every row's path, in order (made one at a time)."""
        for chunk, lengths in self._path_chunks():
            pos = 0
            for n in lengths:
                yield chunk[pos:pos + n].decode("utf-8", "surrogateescape")
                pos += n

    def path_lengths(self):
        """The UTF-8 length of every row's path (an array)."""
        # A directory's length (with its "/") plus the name's, by C-level maps over the columns:
        # this runs for every row of every manifest.
        ends = self._ends
        dir_lengths = list(map(len, self._dir_bytes))
        return array("I", map(add, map(dir_lengths.__getitem__, self._dirs.codes),
                              map(sub, ends, chain((0,), ends))))

    def path_chunks(self):
        """The UTF-8 of the paths end to end, a few thousand rows a chunk (bytes)."""
        names, ends, dirs = self._names, self._ends, self._dir_bytes
        parts, rows, first = [], 0, 0
        # Rows of one directory follow one another: each such run is joined at once, its
        # directory's bytes put before every name by a join (no Python work per row).
        for code, group in groupby(self._dirs.codes):
            count = len(list(group))
            last = first + count
            start = ends[first - 1] if first else 0
            d = dirs[code]
            if d:
                starts = chain((start,), ends[first:last - 1])
                parts.append(d + d.join(map(names.__getitem__,
                                            map(slice, starts, ends[first:last]))))
            else:
                parts.append(bytes(names[start:ends[last - 1]]))
            first = last
            rows += count
            if rows >= _CHUNK_ROWS:
                yield b"".join(parts)
                parts, rows = [], 0
        if parts:
            yield b"".join(parts)

    def _path_chunks(self):
        """``(chunk, lengths)``: path_chunks' chunks, each with its paths' lengths (an array)."""
        lengths = self.path_lengths()
        pos = 0
        for chunk in self.path_chunks():
            out, size = array("I"), 0
            while size < len(chunk):
                size += lengths[pos]
                out.append(lengths[pos])
                pos += 1
            yield chunk, out

    def get(self, row, name):
        if name in _PLACE:
            return self._place[row][_PLACE.index(name)]
        if name == "stored_in":
            return self._set[row]
        return self.path(row) if name == "path" else self._ints[name][row]

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
        return list(self.paths()) if name == "path" else self._ints[name]

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
        columns = (self._place.codes, self._set.codes, ints["size"], ints["mtime_ns"],
                   ints["crc32"], ints["volume"], ints["offset"], ints["csize"], ints["method"],
                   ints["mode"])
        if stored_in is None:
            selected = zip(self.paths(), *columns)
        else:
            wanted = self._set.code_of.get(stored_in)
            rows = [r for r, c in enumerate(self._set.codes) if c == wanted]
            selected = ((self.path(r), *(col[r] for col in columns)) for r in rows)
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
        dropped = [self.path(r) for r, k in enumerate(keep) if not k]
        names, ends = self._names, self._ends
        kept_names, kept_ends, start = bytearray(), array("q"), 0
        for row, k in enumerate(keep):
            end = ends[row]
            if k:
                kept_names += names[start:end]
                kept_ends.append(len(kept_names))
            start = end
        self._names, self._ends = kept_names, kept_ends
        for coded in (self._dirs, self._place, self._set):
            coded.codes = array("I", compress(coded.codes, keep))
        for name, col in self._ints.items():
            self._ints[name] = array(col.typecode, compress(col, keep))
        return dropped
