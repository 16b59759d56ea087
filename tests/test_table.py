"""The column-wise entry table a backup fills: rows in, the same rows out."""

from array import array

from workbench.archive.table import EntryTable
from workbench.model import Entry

ROWS = [
    ("store/mail/a/u/INBOX/#msgs/1.eml", "message", "a", "u", "INBOX", 10, 1_700_000_000 * 10**9),
    ("mailserver.cfg", "config", None, None, None, 2**40, 1),
    ("store/mail/a/v/Sent Items/#msgs/2.eml", "message", "a", "v", "Sent Items", 0, 2),
]


def filled():
    t = EntryTable()
    for row in ROWS:
        t.append(*row)
    t.update(0, stored_in="F1", crc32=2**32 - 1, volume=1, offset=2**33, csize=7, method=0)
    t.update(2, stored_in="F0", offset=5)
    return t


def test_rows_come_back_as_entries():
    t = filled()
    assert list(t.entries()) == [
        Entry(*ROWS[0], 2**32 - 1, "F1", 1, 2**33, 7, 0),
        Entry(*ROWS[1]),
        Entry(*ROWS[2], 0, "F0", 0, 5, 0, 8)]
    assert [e.path for e in t.entries(stored_in="F1")] == [ROWS[0][0]]
    assert list(t.entries(stored_in="nowhere")) == []
    assert t.count("F1") == (1, 10) and t.count("F0") == (1, 0) and t.count("x") == (0, 0)
    assert t.column("domain") == ["a", None, "a"]
    assert t.column("size") == array("q", [10, 2**40, 0])


def test_drop_unstored_removes_only_rows_stored_nowhere():
    t = filled()
    assert t.drop_unstored() == ["mailserver.cfg"]
    assert [e.path for e in t.entries()] == [ROWS[0][0], ROWS[2][0]]
    assert t.column("size") == array("q", [10, 0]) and t.column("user") == ["u", "v"]
    assert t.drop_unstored() == []
    assert len(t) == 2


def test_coded_columns_match_the_plain_ones():
    t = filled()
    for name in ("kind", "domain", "user", "folder", "stored_in"):
        values, codes = t.coded(name)
        assert [values[c] for c in codes] == t.column(name)
        assert len(set(values)) == len(values)
    t.drop_unstored()  # no value is left that no row uses
    assert t.coded("stored_in")[0] == ["F1", "F0"] and t.coded("domain")[0] == ["a"]


def test_paths_are_kept_as_directory_and_name_bytes():
    t = EntryTable()
    rows = [("store/mail/ä/u/Přijaté/#msgs/1.eml", "message", "ä", "u", "Přijaté", 1, 1),
            ("users.cfg", "config", None, None, None, 2, 2),
            ("store/mail/ä/u/Přijaté/#msgs/\udce9.eml", "message", "ä", "u", "Přijaté", 3, 3)]
    for row in rows:
        t.append(*row)
    first = t.append_run("store/mail/ä/v/INBOX/#msgs", "message", "ä", "v", "INBOX",
                         ["a.eml", "ü.eml"], [4, 5], [6, 7], [0o600, 0o640])
    assert first == 3
    paths = [r[0] for r in rows] + ["store/mail/ä/v/INBOX/#msgs/a.eml",
                                    "store/mail/ä/v/INBOX/#msgs/ü.eml"]
    assert list(t.paths()) == paths and [t.path(i) for i in range(5)] == paths
    encoded = [p.encode("utf-8", "surrogateescape") for p in paths]
    assert b"".join(t.path_chunks()) == b"".join(encoded)
    assert list(t.path_lengths()) == [len(p) for p in encoded]
    assert t.column("mode")[3:] == array("H", [0o600, 0o640])
    assert [e.method for e in t.entries()][3:] == [8, 8]
    t.update(1, stored_in="F")
    t.update(4, stored_in="F")
    assert t.drop_unstored() == [paths[0], paths[2], paths[3]]
    assert list(t.paths()) == [paths[1], paths[4]]


def test_a_table_writes_the_manifest_its_entries_write():
    import io
    from workbench.archive import manifest as mf
    t = filled()
    t.append("store/mail/a/u/Ünïcode/#msgs/3.eml", "message", "a", "u", "Ünïcode", 1, 2)
    a, b = io.BytesIO(), io.BytesIO()
    mf.write_body(a, t)
    mf.write_body(b, list(t.entries()))
    a.seek(0)
    b.seek(0)
    columns = [dict(mf.read_blocks(f))["entries"] for f in (a, b)]
    assert mf.from_columns(columns[0]) == mf.from_columns(columns[1]) == list(t.entries())
    assert columns[0]["path"] == columns[1]["path"]  # the same bytes, made without a list


def test_path_chunks_of_many_directories_and_rows_are_the_paths_end_to_end():
    # Rows of a directory are joined a run at a time: runs of one row, top-level files between
    # them, non-UTF-8 and non-ASCII names, and more rows than one chunk holds.
    t, paths = EntryTable(), []
    for d in range(40):
        directory = f"store/mail/d{d % 3}/ü{d}/#msgs" if d % 5 else ""
        names = [f"{i:08x}.eml" if d % 5 else f"top{d}-{i}.cfg" for i in range(d * 61 % 900)]
        if d == 7:
            names[1:1] = ["\udce9.eml", "é.eml"]
        if names:
            t.append_run(directory, "message", None, None, None, names, [0] * len(names),
                         [0] * len(names), [0] * len(names))
            paths += [f"{directory}/{n}" if directory else n for n in names]
        t.append("mailserver.cfg", "config", None, None, None, 1, 1)
        paths.append("mailserver.cfg")
    assert len(paths) > 8192
    encoded = [p.encode("utf-8", "surrogateescape") for p in paths]
    assert b"".join(t.path_chunks()) == b"".join(encoded)
    assert list(t.path_lengths()) == [len(p) for p in encoded]
    assert list(t.paths()) == paths
