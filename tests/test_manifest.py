"""Manifest encoding: every column round-trips, and the message block gathered during a backup
writes the same bytes as the whole-column encoder."""

import io

import pytest

from workbench.archive import manifest as mf
from workbench.archive.messages import MessageBlock

HEADERS = {
    "store/mail/a/b/INBOX/#msgs/00000001.eml": ("<1@x>", "Jan Novák <jan@x>", "b@y", None,
                                                "Přijaté: \"quoted\" \\ back\nslash", 1700000000,
                                                True),
    "store/mail/a/b/INBOX/#msgs/00000002.eml": (None, None, None, None, None, None, None),
    "store/mail/a/b/INBOX/#msgs/00000003.eml": ("<3@x>", "e\u0301", "", "cc@z", "x" * 70000, 0,
                                                False),
}


@pytest.mark.parametrize("values", [[], [""], ["a", None, "čř", ""], [None] * 9 + ["x"],
                                    ["x" * 70000, "y"], ["bad\udcff", None, "ž"]])
def test_text_columns_round_trip(values):
    assert mf.decode_column(mf.encode_column("path", values)) == values


def test_message_block_writes_what_the_column_encoder_writes():
    block = MessageBlock()
    for path, headers in HEADERS.items():
        block.add(path, headers)
    streamed, whole = io.BytesIO(), io.BytesIO()
    mf.write_body(streamed, [], block)
    mf.write_body(whole, [], HEADERS)
    block.close()
    assert streamed.getvalue() == whole.getvalue()
    doc = mf.decode(b'{"format":"workbench-manifest","version":2}\n' + streamed.getvalue())
    assert mf.messages_from_columns(doc["messages"]) == HEADERS
    assert block.index_rows() == [("<1@x>", "store/mail/a/b/INBOX/#msgs/00000001.eml"),
                                  ("<3@x>", "store/mail/a/b/INBOX/#msgs/00000003.eml")]
