"""Manifest encoding: every column round-trips, and the message block gathered during a backup
writes the same bytes as the whole-column encoder."""

import gzip
import io
import json
import os

import pytest

from workbench.archive import manifest as mf
from workbench.archive.messages import MessageBlock

HEADERS = {
    "store/mail/a/b/INBOX/#msgs/00000001.eml": ("<1@x>", "Jan Novák <jan@x>", "b@y", None,
                                                "Přijaté: \"quoted\" \\ back\nslash", 1700000000,
                                                True, "Tue, 14 Nov 2023 22:13:20 +0000"),
    "store/mail/a/b/INBOX/#msgs/00000002.eml": (None, None, None, None, None, None, None, None),
    "store/mail/a/b/INBOX/#msgs/00000003.eml": ("<3@x>", "e\u0301", "", "cc@z", "x" * 70000, None,
                                                False, "Mon, 30 Jun 3609 15:33:50 +0600"),
}


def round_trip(name, values):
    f = io.BytesIO()
    mf.write_column(f, name, *mf.encode_column(name, values))
    f.write(b"next")
    f.seek(0)
    got_name, value = mf.read_column(f)
    assert got_name == name
    assert f.read() == b"next"  # the column read exactly its own bytes
    return list(mf.decode_column(value))


@pytest.mark.parametrize("values", [[], [""], ["a", None, "čř", ""], [None] * 9 + ["x"],
                                    ["x" * 70000, "y"], ["bad\udcff", None, "ž"],
                                    ["line\nbreak", "{\"json\": 1}\n"]])
def test_text_columns_round_trip(values):
    assert round_trip("path", values) == values


@pytest.mark.parametrize("name, values", [("size", [0, -1, 2**63 - 1]), ("crc32", [0, 2**32 - 1]),
                                          ("kind", ["message", "config", "message"]),
                                          ("date", [1700000000, None]), ("kind", [])])
def test_other_columns_round_trip(name, values):
    assert round_trip(name, values) == values


def test_truncated_column_is_a_value_error():
    f = io.BytesIO()
    mf.write_column(f, "size", *mf.encode_column("size", [1, 2, 3]))
    with pytest.raises(ValueError, match="truncated"):
        mf.read_column(io.BytesIO(f.getvalue()[:-1]))


def test_message_block_writes_what_the_column_encoder_writes():
    block = MessageBlock()
    for path, headers in HEADERS.items():
        block.add(path, headers)
    block.flush()
    streamed, whole = io.BytesIO(), io.BytesIO()
    mf.write_body(streamed, [], block)
    mf.write_body(whole, [], HEADERS)
    assert streamed.getvalue() == whole.getvalue()
    doc = mf.decode(b'{"format":"workbench-manifest","version":3}\n' + streamed.getvalue())
    assert mf.messages_from_columns(doc["messages"]) == HEADERS
    assert list(block.index_rows()) == [("<1@x>", "store/mail/a/b/INBOX/#msgs/00000001.eml"),
                                        ("<3@x>", "store/mail/a/b/INBOX/#msgs/00000003.eml")]
    block.close()


def test_index_rows_read_back_across_read_chunks():
    """The spools are read back a megabyte at a time: values straddling a chunk come out whole."""
    block = MessageBlock()
    want = []
    for i in range(40000):
        path = f"store/mail/d/u/INBOX/#msgs/{i:08x}.eml"
        message_id = None if i % 7 == 0 else f"<{i}.{'ž' * (i % 50)}@example.com>"
        block.add(path, (message_id, None, None, None, None, None, None, None))
        if message_id is not None:
            want.append((message_id, path))
    block.add("store/x.eml", ("<big@x>" + "y" * 3_000_000, None, None, None, None, None, None,
                              None))
    want.append(("<big@x>" + "y" * 3_000_000, "store/x.eml"))
    block.flush()
    assert list(block.index_rows()) == want
    block.close()


@pytest.mark.parametrize("pad", [0, 300_000])
@pytest.mark.parametrize("compressed", [True, False])
def test_header_is_read_from_the_first_64k_or_beyond(pad, compressed):
    # A random pad does not compress: past 64 KiB the header is read on from the stream.
    header = {"format": mf.FORMAT, "version": mf.VERSION, "set": "F20261101T000000Z",
              "pad": os.urandom(pad // 2).hex()}
    data = json.dumps(header).encode() + b"\n" + os.urandom(200_000)
    if compressed:
        data = gzip.compress(data)
    for f in (io.BytesIO(data), io.BufferedReader(io.BytesIO(data), 1 << 20)):
        assert mf.decode_header(f) == header


@pytest.mark.parametrize("data", [b"", b"\x1f\x8b\x08\x00junk", b'{"format": "workbench-manif',
                                  gzip.compress(b'{"format": "other"}\n')])
def test_unreadable_header_is_a_value_error(data):
    with pytest.raises(ValueError):
        mf.decode_header(io.BytesIO(data))


def test_messages_of_a_manifest_without_date_raw_read_as_none():
    # Manifests written before the date_raw column: their messages read with it None.
    columns = mf.messages_to_columns(HEADERS)
    del columns["date_raw"]
    f = io.BytesIO()
    mf.write_body(f, [], None)
    mf._write_block(f, "messages", columns)
    doc = mf.decode(b'{"format":"workbench-manifest","version":3}\n' + f.getvalue())
    assert mf.messages_from_columns(doc["messages"]) == {
        p: h[:-1] + (None,) for p, h in HEADERS.items()}


def test_spooled_and_skipped_columns_read_as_the_whole_columns():
    # A differential reads its full's columns from temporary files a window at a time and
    # reads past the ones it does not use: the values are those of the columns read whole.
    from workbench.model import Entry
    entries = [Entry(f"store/mail/d/u/#msgs/{i:08x}.eml", "message", "d", f"u{i % 3}", None,
                     i * 7, 10**18 + i, 2**32 - 1 - i, f"F{i % 2}", i % 4, 2**40 + i, i, 8, 0o600)
               for i in range(5000)]
    body = io.BytesIO()
    mf.write_body(body, entries)
    body.seek(0)
    whole = dict(mf.read_blocks(body))["entries"]
    body.seek(0)
    spool = ("path", "size", "crc32", "stored_in")
    part = dict(mf.read_blocks(body, spool=spool, skip=("kind", "user", "mode")))["entries"]
    assert part["kind"] is None and part["user"] is None and part["mode"] is None
    for name in ("domain", "folder", "mtime_ns", "volume", "offset", "csize", "method"):
        assert list(mf.decode_column(part[name])) == list(mf.decode_column(whole[name]))
    assert list(mf.iter_text(part["path"])) == mf.decode_column(whole["path"])
    for name in ("size", "crc32"):
        expected = list(mf.decode_column(whole[name]))
        got = list(mf.spooled_array(part[name], 4096)) + list(mf.spooled_array(part[name], 4096))
        assert got == expected
        assert list(mf.decode_column(part[name])) == expected  # whole, from the start
    codes = mf.spooled_array(part["stored_in"])
    assert [part["stored_in"]["values"][c] for c in codes] == [e.stored_in for e in entries]
