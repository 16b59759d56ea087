"""Parse the few message headers the catalog indexes, fast enough to run on every message of a backup.

``parse_headers(raw)`` reads only the header block (up to the first blank line) with a small
line parser instead of the ``email`` package (which builds a whole message object, about 20 times
slower), decodes RFC 2047 encoded words, turns ``Date`` into UTC epoch seconds and makes a cheap
attachment check. It never raises on malformed input: what cannot be read comes back as None.
Pure: no I/O, no imports from the rest of workbench.
"""

import base64
import binascii
import calendar
import re

#: Keys of the dict parse_headers returns (the ``messages`` columns of manifests and indexes).
FIELDS = ("message_id", "from", "to", "cc", "subject", "date", "has_attachments")

_WANTED = {"message-id": "message_id", "from": "from", "to": "to", "cc": "cc", "subject": "subject",
           "date": "date", "content-type": "content-type",
           "content-disposition": "content-disposition"}
# A header line we keep, with its folded continuation lines (one C-level scan of the block).
_HEADER_RE = re.compile(
    r"^(message-id|from|to|cc|subject|date|content-type|content-disposition)[ \t]*:"
    r"([^\n]*(?:\n[ \t][^\n]*)*)", re.I | re.M)
_ENCODED_WORD_RE = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_BOUNDARY_RE = re.compile(r'boundary\s*=\s*(?:"([^"]+)"|([^\s;]+))', re.I)
_PART_TYPE_RE = re.compile(rb"^content-type[ \t]*:[ \t]*([^\s;]+)", re.I | re.M)
_PART_DISPOSITION_RE = re.compile(rb"^content-disposition[ \t]*:[ \t]*attachment", re.I | re.M)
_DATE_RE = re.compile(
    r"(\d{1,2})[ \t]+([A-Za-z]{3})[A-Za-z]*\.?[ \t]+(\d{2,4})[ \t]+(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?"
    r"(?:[ \t]*([+-]\d{4}|[A-Za-z]{1,5}))?")
_MONTHS = {m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug",
                                      "sep", "oct", "nov", "dec"), 1)}
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_ZONES = {"ut": 0, "utc": 0, "gmt": 0, "z": 0, "est": -300, "edt": -240, "cst": -360,
          "cdt": -300, "mst": -420, "mdt": -360, "pst": -480, "pdt": -420}
# Headers longer than this without a blank line are not a message (binary junk): stop reading.
_MAX_HEADER = 256 * 1024
# A part's own header block is short; never look further for it.
_MAX_PART_HEADER = 8 * 1024


def empty_headers():
    """The result for a message with no readable headers: every field None."""
    return dict.fromkeys(FIELDS)


def parse_headers(raw):
    """The indexed headers of one message.

    Parameters
    ----------
    raw : bytes
        The message as stored (``.eml``), or at least its beginning; CRLF or LF line ends.

    Returns
    -------
    dict
        ``message_id`` (``<...>`` as in the header), ``from``, ``to``, ``cc``, ``subject``
        (RFC 2047 decoded, unfolded, whitespace collapsed), ``date`` (UTC epoch seconds, int) and
        ``has_attachments`` (bool: a ``multipart/mixed`` message with a part that is an
        attachment by disposition or is not text, or a message whose body is not text). Any
        field that is missing or unreadable is None; the function never raises on bad input.
    """
    try:
        return _parse(bytes(raw))
    except Exception:  # malformed input of any kind must not stop a backup
        return empty_headers()


def _parse(raw):
    out = empty_headers()
    end, body = _header_end(raw)
    head = raw[:end]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        # 8-bit headers that are not UTF-8 are nearly always Latin-1 (or a superset of it).
        text = head.decode("latin-1")
    if "\r" in text:
        text = text.replace("\r", "")
    found = {}
    for m in _HEADER_RE.finditer(text):
        key = _WANTED[m.group(1).lower()]
        if key not in found:
            found[key] = m.group(2)
    mid = found.get("message_id")
    if mid is not None:
        out["message_id"] = _message_id(mid)
    for key in ("from", "to", "cc", "subject"):
        value = found.get(key)
        if value is not None:
            value = _decode_words(" ".join(value.split()))  # unfolded, whitespace collapsed
            out[key] = value or None
    date = found.get("date")
    if date is not None:
        out["date"] = parse_date(date)
    out["has_attachments"] = _has_attachments(found.get("content-type"),
                                              found.get("content-disposition"), raw, body)
    return out


def _header_end(raw):
    """``(end of the header block, start of the body)``; the body is empty without a blank line."""
    end = _blank_line(raw, 0, _MAX_HEADER)
    if end < 0:
        end = min(len(raw), _MAX_HEADER)
        return end, end
    return end + 1, end + (3 if raw[end + 1:end + 2] == b"\r" else 2)


def _blank_line(raw, start, limit):
    """Offset of the newline that ends the last header line before a blank line, or -1."""
    crlf = raw.find(b"\n\r\n", start, start + limit)
    # Search for a bare-LF blank line only before the CRLF one: a CRLF message has none, and
    # scanning the whole limit for it would cost more than all the rest of the parsing.
    lf = raw.find(b"\n\n", start, crlf if crlf >= 0 else start + limit)
    return lf if lf >= 0 else crlf


def _message_id(value):
    value = value.strip()
    left = value.find("<")
    if left >= 0:
        right = value.find(">", left)
        if right > left + 1:
            return "".join(value[left:right + 1].split())
        return None
    value = value.split()[0] if value.split() else ""
    return value or None


def _decode_words(text):
    """Decode RFC 2047 encoded words; adjacent words of one charset are joined before decoding."""
    if "=?" not in text:
        return text
    out = []
    pos = 0
    pending, pending_charset = b"", None
    for m in _ENCODED_WORD_RE.finditer(text):
        gap = text[pos:m.start()]
        if pending_charset is not None and gap.strip():
            out.append(_to_text(pending, pending_charset))
            pending, pending_charset = b"", None
        if pending_charset is None:
            out.append(gap)  # whitespace between two encoded words is dropped (RFC 2047 6.2)
        charset = m.group(1).split("*", 1)[0].lower()
        data = _word_bytes(m.group(2), m.group(3))
        if data is None:  # undecodable word: keep it as written
            if pending_charset is not None:
                out.append(_to_text(pending, pending_charset))
                pending, pending_charset = b"", None
            out.append(m.group(0))
        elif pending_charset is None or charset == pending_charset:
            pending += data
            pending_charset = charset
        else:
            out.append(_to_text(pending, pending_charset))
            pending, pending_charset = data, charset
        pos = m.end()
    if pending_charset is not None:
        out.append(_to_text(pending, pending_charset))
    out.append(text[pos:])
    return "".join(out)


def _word_bytes(encoding, payload):
    try:
        if encoding in "bB":
            payload = payload.encode("ascii")
            return base64.b64decode(payload + b"=" * (-len(payload) % 4))
        return binascii.a2b_qp(payload.encode("ascii"), header=True)
    except (ValueError, binascii.Error, UnicodeEncodeError):
        return None


def _to_text(data, charset):
    try:
        return data.decode(charset, "replace")
    except LookupError:  # unknown charset: Latin-1 keeps every byte visible
        return data.decode("latin-1")


def parse_date(value):
    """UTC epoch seconds of an RFC 5322 date (``Fri, 24 Jul 2026 14:58:18 +0200``), or None."""
    m = _DATE_RE.search(value)
    if m is None:
        return _parse_date_slow(value)
    day, month, year = int(m.group(1)), _MONTHS.get(m.group(2).lower()), int(m.group(3))
    hour, minute, second = int(m.group(4)), int(m.group(5)), int(m.group(6) or 0)
    if month is None:
        return _parse_date_slow(value)
    if year < 100:  # RFC 5322 4.3: two-digit years 00-49 are 20xx, 50-99 are 19xx
        year += 2000 if year < 50 else 1900
    if (not 1 <= day <= _DAYS_IN_MONTH[month - 1] or hour > 23 or minute > 59 or second > 60
            or year < 1900 or (month == 2 and day == 29 and not calendar.isleap(year))):
        return None
    zone = m.group(7)
    if zone is None:
        offset = 0
    elif zone[0] in "+-":
        hours, minutes = int(zone[1:3]), int(zone[3:5])
        if minutes > 59:
            return None
        offset = (hours * 60 + minutes) * (-1 if zone[0] == "-" else 1)
    else:
        offset = _ZONES.get(zone.lower(), 0)  # unknown zone names count as UTC (RFC 5322 4.3)
    return calendar.timegm((year, month, day, hour, minute, min(second, 59))) - offset * 60


def _parse_date_slow(value):
    try:
        from email.utils import parsedate_tz  # only for dates the fast path cannot read
        parts = parsedate_tz(value)
        if parts is None:
            return None
        return calendar.timegm(parts[:6]) - (parts[9] or 0)
    except (TypeError, ValueError, OverflowError, IndexError):
        return None


def _has_attachments(ctype, disposition, raw, body):
    if disposition is not None and disposition.strip().lower().startswith("attachment"):
        return True
    if ctype is None:
        return False  # RFC 2045 default: text/plain
    main = ctype.split(";", 1)[0].strip().lower()
    if not main.startswith("multipart/"):
        return not (main.startswith("text/") or main.startswith("message/") or main == "")
    if main != "multipart/mixed":
        return False
    m = _BOUNDARY_RE.search(ctype)
    if m is None:
        return False
    delimiter = b"\n--" + (m.group(1) or m.group(2)).encode("utf-8", "replace")
    pos = body - 1 if body > 0 else 0
    while True:
        pos = raw.find(delimiter, pos)
        if pos < 0:
            return False
        start = pos + len(delimiter)
        if raw[start:start + 2] == b"--":
            return False  # the closing delimiter
        stop = _blank_line(raw, start, _MAX_PART_HEADER)
        if stop < 0:
            stop = min(len(raw), start + _MAX_PART_HEADER)
        part = raw[start:stop + 1]
        if _PART_DISPOSITION_RE.search(part):
            return True
        t = _PART_TYPE_RE.search(part)
        if t is not None and not t.group(1).lower().startswith((b"text/", b"multipart/")):
            return True
        pos = stop
