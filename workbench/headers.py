"""Parse the few message headers the catalog indexes, fast enough to run on every message of a backup.

``parse_headers(raw)`` reads only the header block (up to the first blank line) with a small
line parser instead of the ``email`` package (which builds a whole message object, about 20 times
slower), decodes RFC 2047 encoded words, turns ``Date`` into UTC epoch seconds and makes a cheap
attachment check. One regular-expression pass over the raw bytes finds the header lines it keeps
and the blank line that ends the block; nothing else of the block is decoded (relayed mail
carries 10-100 KB of ``Received:`` and signature lines that the index never needs). It reads mail
the way mail clients do, twenty years of it:

- header names are ASCII, matched without regard to case; each kept value is decoded as UTF-8;
  only a header whose bytes are not UTF-8 is read
  again on its own, in the charset its encoded words or the message's ``Content-Type`` declare,
  else in windows-1252 (or windows-1251 / KOI8-R when the bytes are plainly Cyrillic), so one
  stray byte never turns the other headers to mojibake;
- encoded words are decoded in their declared charset even when their payload carries raw 8-bit
  bytes (as Eudora wrote them); charset labels mean what the WHATWG Encoding Standard says
  (``iso-8859-1`` is windows-1252, ``gb2312`` is GBK, ...), as in browsers and mail clients;
- folded values are unfolded before anything else (a Date folded before its zone keeps it), and
  the obsolete ``Name :`` form (RFC 5322 4.5) is read;
- a Date outside what pandas can hold (1677-09-21 to 2262-04-11) or that cannot be parsed gives
  None, with the text kept in ``date_raw``.

It never raises on malformed input: what cannot be read comes back as None. Pure: no I/O, no
imports from the rest of workbench. ``normalize_message_id`` is the product's one rule for the
form of a Message-ID.
"""

import binascii
import re

#: Keys of the dict parse_headers returns (the ``messages`` columns of manifests and indexes).
FIELDS = ("message_id", "from", "to", "cc", "subject", "date", "date_raw", "has_attachments")

# What a header line we keep is called in the result (the last two only for has_attachments).
_WANTED = {b"message-id": "message_id", b"from": "from", b"to": "to", b"cc": "cc",
           b"subject": "subject", b"date": "date", b"content-type": "content-type",
           b"content-disposition": "content-disposition"}
# The same for the names as mail programs spell them, so most lines need no lower().
_WANTED_AS_WRITTEN = {b"Message-ID": "message_id", b"Message-Id": "message_id", b"From": "from",
                      b"To": "to", b"Cc": "cc", b"CC": "cc", b"Subject": "subject",
                      b"Date": "date", b"Content-Type": "content-type",
                      b"Content-Disposition": "content-disposition"}
# A header line we keep, with its folded continuation lines. Names are ASCII (RFC 5322 3.6.8),
# matched without regard to case; whitespace before the colon is the obsolete syntax of RFC 5322
# 4.5. The scan runs over the raw bytes once: each match starts at a line end, and is either a
# line we keep or the blank line that ends the block, so the rest of the block is never decoded.
_LINE = (rb"(message-id|from|to|cc|subject|date|content-type|content-disposition)[ \t]*:"
         rb"([^\n]*(?:\n[ \t][^\n]*)*)")
# The patterns, compiled on first use (parse_headers, parse_date): compiling them took more time
# than all the rest of importing this module, which the index and a restore load for
# normalize_message_id alone.
_SOURCES = {
    "_FIRST_LINE_RE": (_LINE, re.I),
    # The lookahead turns away at their first letter the lines we do not keep (most of a block:
    # Received, X-, ARC- and DKIM lines), before the names are tried one by one: half the scan.
    "_NEXT_LINE_RE": (rb"\n(?=[cdfmst\r\n])(?:" + _LINE + rb"|\r?\n)", re.I),
    # The payload may hold spaces (broken encoders; every client decodes such words) but never
    # a "?", so a word can never run into the next one. A word without a charset is guessed.
    "_ENCODED_WORD_RE": (r"=\?([^?\s]*)\?([bBqQ])\?([^?]*)\?=",),
    "_BOUNDARY_RE": (r'boundary\s*=\s*(?:"([^"]+)"|([^\s;]+))', re.I),
    "_ANGLE_RE": (rb"<[^<>]*>",),
    "_MIXED_WORD_RE": (rb"[\xc0-\xff][A-Za-z]|[A-Za-z][\xc0-\xff]",),
    "_CHARSET_RE": (r'charset\s*=\s*"?([^"\s;]+)', re.I),
    "_PART_TYPE_RE": (rb"^content-type[ \t]*:[ \t]*([^\s;]+)", re.I | re.M),
    "_PART_DISPOSITION_RE": (rb"^content-disposition[ \t]*:[ \t]*attachment", re.I | re.M),
    # Bytes that are not UTF-8 come out of the block's decoding as these surrogate escapes.
    "_ESCAPE_RE": ("[\udc80-\udcff]",),
    "_SURROGATE_RE": ("[\ud800-\udfff]",),
    "_NOT_BASE64_RE": (rb"[^A-Za-z0-9+/]+",),
    "_CLEAN_BASE64_RE": (r"[A-Za-z0-9+/]*={0,2}",),
    "_DATE_RE": (r"(\d{1,2})\s+([A-Za-z]{3})[A-Za-z]*\.?\s+(\d{2,4})\s+(\d{1,2}):(\d{1,2})"
                 r"(?::(\d{1,2}))?(?:\s*([+-]\d\d:?\d\d|[A-Za-z]{1,5}))?",),
}
_FIRST_LINE_RE = _NEXT_LINE_RE = _ENCODED_WORD_RE = _BOUNDARY_RE = _ANGLE_RE = None
_MIXED_WORD_RE = _CHARSET_RE = _PART_TYPE_RE = _PART_DISPOSITION_RE = _ESCAPE_RE = None
_SURROGATE_RE = _NOT_BASE64_RE = _CLEAN_BASE64_RE = _DATE_RE = None


def _compile():
    """Compile the patterns of _SOURCES into this module's globals (once)."""
    globals().update({name: re.compile(*args) for name, args in _SOURCES.items()})


_MONTHS = {m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug",
                                      "sep", "oct", "nov", "dec"), 1)}
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_ZONES = {"ut": 0, "utc": 0, "gmt": 0, "z": 0, "est": -300, "edt": -240, "cst": -360,
          "cdt": -300, "mst": -420, "mdt": -360, "pst": -480, "pdt": -420}
# The whole seconds pandas' datetime64[ns] holds (1677-09-21T00:12:44Z to 2262-04-11T23:47:16Z).
_MIN_EPOCH, _MAX_EPOCH = -9223372036, 9223372036
# Headers longer than this without a blank line are not a message (binary junk): stop reading.
_MAX_HEADER = 256 * 1024
# A part's own header block is short; never look further for it.
_MAX_PART_HEADER = 8 * 1024

# Charset labels as the WHATWG Encoding Standard reads them (what browsers and mail clients do):
# a label names the superset its senders really used, e.g. Outlook's curly quotes (0x93, 0x94)
# in mail labelled iso-8859-1.
_ALIASES = dict.fromkeys(("us-ascii", "ascii", "ansi_x3.4-1968", "iso-8859-1", "iso8859-1",
                          "iso_8859-1", "latin1", "latin-1", "l1", "cp819", "ibm819",
                          "windows-1252", "x-cp1252"), "cp1252")
_ALIASES.update(dict.fromkeys(("iso-8859-9", "iso8859-9", "latin5", "l5", "windows-1254"),
                              "cp1254"))
_ALIASES.update(dict.fromkeys(("iso-8859-11", "tis-620", "windows-874"), "cp874"))
_ALIASES.update(dict.fromkeys(("gb2312", "gb_2312-80", "euc-cn", "x-gbk", "cp936", "chinese"),
                              "gbk"))
_ALIASES.update(dict.fromkeys(("euc-kr", "ks_c_5601-1987", "ks_c_5601-1989", "ksc5601",
                               "korean", "windows-949"), "cp949"))
_ALIASES.update(dict.fromkeys(("shift_jis", "shift-jis", "sjis", "x-sjis", "ms_kanji",
                               "windows-31j", "csshiftjis"), "cp932"))
_ALIASES.update(dict.fromkeys(("big5", "big5-hkscs", "cn-big5", "x-x-big5", "csbig5"),
                               "big5hkscs"))
_ALIASES.update({"x-mac-cyrillic": "mac-cyrillic", "x-mac-roman": "mac-roman",
                 "macintosh": "mac-roman", "unicode-1-1-utf-8": "utf-8"})

# Codecs Python has that are no charsets: escapes, and punycode's decoding is quadratic.
_NOT_CHARSETS = {"punycode", "idna", "unicode_escape", "raw_unicode_escape", "undefined"}
_CODECS = {}  # label as written -> _codec's answer
_OFFSETS = {}  # a Date's zone as written -> _zone_offset's answer (its ints cost a sixth of a date)
# windows-1252 leaves five bytes undefined; WHATWG (and every browser) reads them as Latin-1.
_CP1252_HOLES = {0xDC00 + b: b for b in (0x81, 0x8D, 0x8F, 0x90, 0x9D)}
# Deletion tables: what remains is the bytes 0xC0-0xFF, the bytes 0x80-0xBF, ASCII letters.
_KEEP_UPPER = bytes(range(0xC0))
_KEEP_MIDDLE = bytes(range(0x80)) + bytes(range(0xC0, 0x100))
_KEEP_LETTERS = bytes(b for b in range(256) if not (65 <= b <= 90 or 97 <= b <= 122))
# Russian letter frequencies (per cent, the most common ones): a Cyrillic text read in the right
# one of windows-1251 and KOI8-R scores well above the same bytes read in the other.
_RUSSIAN = {"о": 11.0, "е": 8.5, "а": 8.0, "и": 7.4, "н": 6.7, "т": 6.3, "с": 5.5, "р": 4.7,
            "в": 4.5, "л": 4.4, "к": 3.5, "м": 3.2, "д": 3.0, "п": 2.8, "у": 2.6, "я": 2.0,
            "ы": 1.9, "ь": 1.7, "г": 1.7, "з": 1.6, "б": 1.6, "ч": 1.4, "й": 1.2}


def empty_headers():
    """The result for a message with no readable headers: every field None."""
    return dict.fromkeys(FIELDS)


def parse_headers(raw):
    """The indexed headers of one message.

    Parameters
    ----------
    raw : bytes
        The message as stored (``.eml``), or at least its beginning; CRLF, LF or CR line ends.

    Returns
    -------
    dict
        ``message_id`` (normalize_message_id's form, ``<id@host>``), ``from``, ``to``, ``cc``,
        ``subject`` (RFC 2047 decoded, unfolded, whitespace collapsed), ``date`` (UTC epoch
        seconds, int; None if unparseable or outside what pandas can hold), ``date_raw`` (the
        Date header's text, unfolded; None if there is none) and ``has_attachments`` (bool: a
        ``multipart/mixed`` message with a part that is an attachment by disposition or is not
        text, or a message whose body is not text). When a header appears twice, the first one counts (a missing
        or duplicated Message-ID included). Any field that is missing or unreadable is None;
        the function never raises on bad input.
    """
    if raw is None:
        return empty_headers()
    try:
        return _parse(bytes(raw))
    except Exception:  # a safety net only: malformed input of any kind must not stop a backup
        return empty_headers()


def normalize_message_id(message_id):
    """The one form of a Message-ID in workbench: ``<id@host>``, no whitespace inside.

    Parameters
    ----------
    message_id : str
        A Message-ID header's value (the first ``<...>`` in it counts; comments, folding and
        spaces go) or an id as a user types it, with or without its angle brackets (an id
        without them is all the text but its comments).

    Returns
    -------
    str or None
        ``<id@host>``; None if *message_id* is None or holds no id (``""``, ``"<>"``).
    """
    if message_id is None:
        return None
    text = message_id if type(message_id) is str else str(message_id)
    left = text.find("<")
    if left >= 0:
        right = text.find(">", left + 1)
        if right > left + 1:
            mid = "".join(text[left:right + 1].split())
            if mid.count("<") == 1:
                return mid if len(mid) > 2 else None
        inner = text[left + 1:right] if right >= 0 else text[left + 1:]
    else:  # a bare id, maybe beside a comment
        inner = re.sub(r"\([^()]*\)", "", text) if "(" in text else text
    inner = "".join(inner.replace("<", " ").replace(">", " ").split())
    return f"<{inner}>" if inner else None


def _parse(raw):
    if _DATE_RE is None:
        _compile()
    out = empty_headers()
    if raw[:1] == b"\n" or raw[:2] == b"\r\n":  # a blank first line: no headers, all body
        out["has_attachments"] = False
        return out
    found, end, body = _scan(raw, _MAX_HEADER)
    if end and raw.find(b"\n", 0, end) < 0 and raw.find(b"\r", 0, end) >= 0:  # no copy
        # Bare CR line ends (classic Mac OS), as the email package reads them; CRs stay
        # elsewhere: the values' whitespace is collapsed below, which takes them.
        found = _scan(raw[:end].replace(b"\r", b"\n"), end)[0]
    # (text, escaped) by key: UTF-8, else with surrogate escapes (a loop, not a call a value)
    texts, escapes = {}, False
    for key, value in found.items():
        try:
            texts[key] = value.decode("utf-8"), False
        except UnicodeDecodeError:
            texts[key] = value.decode("utf-8", "surrogateescape"), True
            escapes = True
    charset = None
    if escapes:
        # Bytes that are not UTF-8 became surrogate escapes: each header that holds some is
        # read again from its own bytes (_redecode), the others stay as they are.
        ctype = texts.get("content-type", (None,))[0]
        c = _CHARSET_RE.search(ctype) if ctype else None
        charset = c.group(1) if c else None
    for key in ("from", "to", "cc", "subject"):
        value, escaped = texts.get(key, (None, False))
        if value is not None:
            value = " ".join(value.split())  # unfolded, whitespace collapsed
            if escaped and _ESCAPE_RE.search(value):
                value = " ".join(_redecode(value, charset).split())
            if "\x1b" in value:  # 7-bit ISO-2022-JP written raw into headers (old Japanese mail)
                value = " ".join(_iso2022(value).split())
            if "=?" in value:
                value = _decode_words(value)
            out[key] = value or None
    date, escaped = texts.get("date", (None, False))
    if date is not None:
        date = " ".join(date.split())
        if escaped and _ESCAPE_RE.search(date):
            date = " ".join(_redecode(date, charset, words=False).split())
        if date:
            out["date_raw"] = date
            out["date"] = parse_date(date)
    mid, escaped = texts.get("message_id", (None, False))
    if mid is not None:
        if escaped and _ESCAPE_RE.search(mid):
            mid = _redecode(mid, charset, words=False)  # normalize_message_id drops spaces
        out["message_id"] = normalize_message_id(mid)
    out["has_attachments"] = _has_attachments(texts.get("content-type", (None,))[0],
                                              texts.get("content-disposition", (None,))[0],
                                              raw, body)
    return out


def _scan(raw, limit):
    """``(found, end, body)``: the first value (bytes) of each header line we keep, by key; the
    end of the header block (its last newline included) and the start of the body (``end``
    without a blank line in the first *limit* bytes). One pass over the block."""
    found = {}
    m = _FIRST_LINE_RE.match(raw, 0, limit)
    if m is not None:
        found[_WANTED[m.group(1).lower()]] = m.group(2)
    wanted = _WANTED_AS_WRITTEN
    for m in _NEXT_LINE_RE.finditer(raw, m.end() if m is not None else 0, limit):
        name, value = m.groups()
        if name is None:  # the blank line
            return found, m.start() + 1, m.end()
        key = wanted.get(name)
        if key is None:
            key = _WANTED[name.lower()]
        if key not in found:
            found[key] = value
    end = min(len(raw), limit)
    return found, end, end


def _blank_line(raw, start, limit):
    """Offset of the newline that ends the last header line before a blank line, or -1."""
    crlf = raw.find(b"\n\r\n", start, start + limit)
    # Search for a bare-LF blank line only before the CRLF one: a CRLF message has none, and
    # scanning the whole limit for it would cost more than all the rest of the parsing.
    lf = raw.find(b"\n\n", start, crlf if crlf >= 0 else start + limit)
    return lf if lf >= 0 else crlf


# ---------------------------------------------------------------------------------------------
# Charsets


def _codec(label):
    """The Python codec name for a charset label: WHATWG's reading of it, RFC 2231 language
    suffix dropped; "" (unknown) for codecs that are not charsets and cost quadratic time."""
    name = _CODECS.get(label)
    if name is None:
        key = label.split("*", 1)[0].strip().lower()
        name = _ALIASES.get(key, key)
        if name.replace("-", "_").replace(" ", "_") in _NOT_CHARSETS:
            name = ""
        if len(_CODECS) < 512:  # a handful of labels in real mail; hostile mail cannot grow it
            _CODECS[label] = name
    return name


def _decode_strict(data, label):
    """*data* in the charset *label*, or None if it is unknown or does not fit."""
    if not label:
        return None
    try:
        return data.decode(_codec(label))
    except (LookupError, UnicodeError, ValueError):
        return None


def _cp1252(data):
    """windows-1252 as WHATWG defines it: never fails, its five holes read as Latin-1."""
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("cp1252", "surrogateescape").translate(_CP1252_HOLES)


def _guess_codec(data):
    """The charset of bytes that declare none and are not UTF-8: ``cp1251`` or ``koi8_r`` if
    they look Cyrillic, else ``cp1252`` (Western mail, by far the most common)."""
    upper = len(data.translate(None, _KEEP_UPPER))
    # Cyrillic words are runs of bytes 0xC0-0xFF that outnumber the ASCII letters (those of
    # <addresses> aside) and never touch one; Western accented letters sit inside words of
    # ASCII letters, and double-byte CJK text puts about as many bytes in 0x80-0xBF, where
    # Russian has hardly any.
    if b"<" in data:
        data = _ANGLE_RE.sub(b"", data)
    if (upper < 3 or upper <= len(data.translate(None, _KEEP_LETTERS))
            or len(data.translate(None, _KEEP_MIDDLE)) * 2 > upper
            or len(_MIXED_WORD_RE.findall(data)) * 8 > upper):
        return "cp1252"
    # Russian text read in the right one of the two scores 5-6 a letter with _RUSSIAN, read in
    # the wrong one (or any other text read in either) 1-4.
    best, score = "cp1252", 4.5 * upper
    for codec in ("cp1251", "koi8_r"):
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        s = sum(_RUSSIAN.get(c, 0.0) for c in text.lower())
        if s > score:
            best, score = codec, s
    return best


def _decode_8bit(data, codec):
    """*data* in *codec* (a _guess_codec answer or a charset that fits), never failing."""
    return _cp1252(data) if codec == "cp1252" else data.decode(codec, "replace")


def _guess(data):
    """Bytes in no declared (or an unknown) charset: UTF-8 if valid, else as _guess_codec says."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return _decode_8bit(data, _guess_codec(data))


def _unescape(text):
    """The original bytes of text decoded with surrogate escapes."""
    return text.encode("utf-8", "surrogateescape")


def _redecode(value, charset, words=True):
    """A header value whose bytes are not all UTF-8, read from its bytes again.

    With *words*, the text outside encoded words is what changes (the words' payloads keep
    their escapes until _decode_words turns them back into bytes). A value that is UTF-8 but
    for a few stray bytes keeps its UTF-8 text and reads each stray byte as windows-1252.
    Otherwise its bytes are read in the first charset that fits them of: its encoded words'
    charset, the message's (*charset*, from Content-Type), and _guess_codec's.
    """
    found = list(_ENCODED_WORD_RE.finditer(value)) if words and "=?" in value else []
    spans, pos = [], 0
    for w in found:
        spans.append((pos, w.start()))
        pos = w.end()
    spans.append((pos, len(value)))
    plain = "".join(value[a:b] for a, b in spans) if found else value
    stray = len(_ESCAPE_RE.findall(plain))
    if not stray:
        return value  # the 8-bit bytes are all inside encoded words
    wide = len(plain) - len(plain.encode("ascii", "ignore")) - stray
    if wide > stray:
        def read(s):
            return _ESCAPE_RE.sub(lambda m: _cp1252(_unescape(m.group())), s)
    else:
        data = _unescape(plain)
        codec = None
        for label in ((found[0].group(1) if found else None), charset):
            if _decode_strict(data, label) is not None:
                codec = _codec(label)
                break
        if codec is None:
            codec = _guess_codec(data)

        def read(s):
            return _decode_8bit(_unescape(s), codec)
    if not found:
        return read(value)
    out = []
    for i, (a, b) in enumerate(spans):
        out.append(read(value[a:b]))
        if i < len(found):
            out.append(found[i].group(0))
    return "".join(out)


def _iso2022(value):
    """Raw ISO-2022-JP (escape sequences in a 7-bit header) decoded; the value if it is not."""
    try:
        return value.encode("ascii").decode("iso2022_jp")
    except (UnicodeError, ValueError):
        return value


# ---------------------------------------------------------------------------------------------
# Encoded words (RFC 2047)


def _decode_words(text):
    """Decode RFC 2047 encoded words in *text* (whitespace collapsed) and collapse the result's
    whitespace again; adjacent words of one charset are joined before decoding."""
    # One C call cuts the text into gap, charset, encoding, payload, gap, ...: a long To or Cc
    # holds dozens of words, and the per-word Python work is what such a header costs.
    parts = _ENCODED_WORD_RE.split(text)
    out = [parts[0]]
    decoded = []
    pending, pending_charset = b"", None
    for i in range(1, len(parts), 4):
        label, encoding, payload, gap = parts[i:i + 4]
        charset = _CODECS.get(label)
        if charset is None:
            charset = _codec(label)
        # Nearly every word is well-formed base64 or plain-ASCII Q: decoded here, without a
        # call of _word_bytes (a long To or Cc holds dozens of words); binascii takes the
        # ASCII text as it is.
        if encoding in "bB":
            if len(payload) % 4 == 0 and _CLEAN_BASE64_RE.fullmatch(payload):
                data = binascii.a2b_base64(payload)  # no stripping or padding to do
            else:
                data = _word_bytes(encoding, payload)
        elif payload.isascii():
            data = binascii.a2b_qp(payload, header=True)
        else:
            data = _word_bytes(encoding, payload)
        if data is None:  # undecodable word: keep it as written
            if pending_charset is not None:
                decoded.append(_to_text(pending, pending_charset))
                out.append(decoded[-1])
                pending, pending_charset = b"", None
            out.append(f"=?{label}?{encoding}?{payload}?=")
        elif pending_charset is None or charset == pending_charset:
            pending += data
            pending_charset = charset
        else:
            decoded.append(_to_text(pending, pending_charset))
            out.append(decoded[-1])
            pending, pending_charset = data, charset
        if pending_charset is not None and gap.strip():
            # the run of words ends: whitespace between two encoded words is dropped
            # (RFC 2047 6.2), any other gap is kept
            decoded.append(_to_text(pending, pending_charset))
            out.append(decoded[-1])
            pending, pending_charset = b"", None
        if pending_charset is None:
            out.append(gap)
    if pending_charset is not None:  # the text ends with a run of words
        decoded.append(_to_text(pending, pending_charset))
        out.append(decoded[-1])
        out.append(parts[-1])
    result = "".join(out)
    # Only decoded text can bring whitespace runs, line breaks, spaces at either end, or lone
    # surrogates (UTF-7 makes them).
    for t in decoded:
        if not t or t[0] == " " or t[-1] == " " or "  " in t or not t.isprintable():
            return " ".join(_SURROGATE_RE.sub("\ufffd", result).split())
    return result


def _word_bytes(encoding, payload):
    """The bytes an encoded word's payload stands for; raw 8-bit bytes in it (surrogate
    escapes, or UTF-8 text) are taken as they are. (_decode_words decodes well-formed base64
    and plain-ASCII Q words itself.)"""
    data = payload.encode("ascii") if payload.isascii() else _unescape(payload)
    try:
        if encoding in "bB":
            data = _NOT_BASE64_RE.sub(b"", data)
            if len(data) % 4 == 1:  # a stray last character: read what comes before it
                data = data[:-1]
            return binascii.a2b_base64(data + b"=" * (-len(data) % 4))  # base64.b64decode's
        return binascii.a2b_qp(data, header=True)
    except (ValueError, binascii.Error):
        return None


def _to_text(data, codec):
    """An encoded word's bytes in its charset; an unknown charset is guessed like raw bytes."""
    try:
        return _cp1252(data) if codec == "cp1252" else data.decode(codec, "replace")
    except (LookupError, UnicodeError, ValueError):
        return _guess(data)


# ---------------------------------------------------------------------------------------------
# Dates


def parse_date(value):
    """UTC epoch seconds of an RFC 5322 date (``Fri, 24 Jul 2026 14:58:18 +0200``), or None.

    None also for a date outside what pandas' datetime64[ns] holds (before 1677-09-21T00:12:44Z
    or after 2262-04-11T23:47:16Z). Two-digit years 00-49 are 20xx, 50-99 19xx, three-digit
    years have 1900 added (RFC 5322 4.3); zone names other than UT, GMT and the US ones count
    as UTC.
    """
    if _DATE_RE is None:
        _compile()
    m = _DATE_RE.search(value)
    if m is None:
        return _parse_date_slow(value)
    day, month, year, hour, minute, second, zone = m.groups()
    month = _MONTHS.get(month.lower())
    if month is None:
        return _parse_date_slow(value)
    digits = len(year)
    day, year, hour, minute = int(day), int(year), int(hour), int(minute)
    second = int(second) if second else 0
    if digits == 2:  # RFC 5322 4.3: 00-49 are 20xx, 50-99 19xx; three digits add 1900
        year += 2000 if year < 50 else 1900
    elif digits == 3:
        year += 1900
    elif year < 1:
        return None
    if (not 1 <= day <= _DAYS_IN_MONTH[month - 1] or hour > 23 or minute > 59 or second > 60
            or (month == 2 and day == 29 and not _leap(year))):
        return None
    if zone is None:
        offset = 0
    else:
        offset = _OFFSETS.get(zone)
        if offset is None:
            offset = _zone_offset(zone)
            if len(_OFFSETS) < 512:  # a few dozen zones in real mail; hostile mail cannot grow it
                _OFFSETS[zone] = offset
        if offset is False:
            return None
    seconds = (_days(year, month, day) * 86400 + hour * 3600 + minute * 60 + min(second, 59)
               - offset * 60)
    return seconds if _MIN_EPOCH <= seconds <= _MAX_EPOCH else None


def _zone_offset(zone):
    """Minutes east of UTC of a zone as _DATE_RE reads it (``+hhmm``, ``+hh:mm`` or a name);
    False if it is no zone (minutes past 59)."""
    if zone[0] in "+-":
        if len(zone) == 6:  # +hh:mm
            zone = zone[:3] + zone[4:]
        hours, minutes = int(zone[1:3]), int(zone[3:5])
        if minutes > 59:
            return False
        return (hours * 60 + minutes) * (-1 if zone[0] == "-" else 1)
    return _ZONES.get(zone.lower(), 0)  # unknown zone names count as UTC (RFC 5322 4.3)


def _leap(year):
    """calendar.isleap (calendar loads locale: only 29 February asks)."""
    import calendar
    return calendar.isleap(year)


def _days(year, month, day):
    """Days from 1970-01-01 to a proleptic Gregorian date (calendar.timegm's arithmetic
    without its datetime objects, a fifth of the date parsing)."""
    if month <= 2:
        year -= 1
    era = year // 400
    yoe = year - era * 400
    doy = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    return era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468


def _in_range(seconds):
    return seconds if _MIN_EPOCH <= seconds <= _MAX_EPOCH else None


def _parse_date_slow(value):
    try:
        import calendar
        from email.utils import parsedate_tz  # only for dates the fast path cannot read
        parts = parsedate_tz(value)
        if parts is None or not 1 <= parts[0] <= 9999:
            return None
        return _in_range(calendar.timegm(parts[:6]) - (parts[9] or 0))
    except (TypeError, ValueError, OverflowError, IndexError):
        return None


# ---------------------------------------------------------------------------------------------
# Attachments


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
    delimiter = b"\n--" + _unescape(m.group(1) or m.group(2))
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
