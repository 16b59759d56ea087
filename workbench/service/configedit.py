"""Rewrite single keys and arrays of tables in a TOML config file, keeping everything else.

Used by the schedule commands (and the notebook forms) that change the config an admin wrote: the
rest of the file, comments included, stays as it was. Every rewrite is parsed back before the file
is replaced (atomically), so a rewrite that would break the file is refused instead.
"""

import json
import os
import re
import tempfile
import tomllib

from ..errors import ConfigError

_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-\"' ]+?)\s*\]\]?\s*(#.*)?$")


def toml_value(value):
    """*value* (str, bool, int, float or a list of them) as TOML text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # JSON string escapes are valid TOML
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")


def _segments(lines):
    """[(header kind or None, table name or None, lines)]: the top level, then each table."""
    segs = [[None, None, []]]
    for line in lines:
        m = _HEADER.match(line)
        if m:
            segs.append([m.group(1), m.group(2).strip().strip('"'), [line]])
        else:
            segs[-1][2].append(line)
    return segs


def _key_span(lines, key):
    """(start, end) line indexes of ``key = value`` in *lines* (multi-line values too), or None."""
    pat = re.compile(r"^\s*(?:" + re.escape(key) + r'|"' + re.escape(key) + r'")\s*=')
    for i, line in enumerate(lines):
        if pat.match(line):
            for j in range(i + 1, min(len(lines), i + 1000) + 1):
                try:
                    tomllib.loads("".join(lines[i:j]))
                    return i, j
                except tomllib.TOMLDecodeError:
                    continue
            return i, i + 1
    return None


def _read(path):
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        text = ""
    except UnicodeDecodeError as e:
        from ..config import not_utf8
        raise not_utf8(path, e) from None
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    return lines


def _write(path, lines, check):
    text = "".join(lines)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError("--config", path, f"refusing to rewrite the file: the result would not be "
                          f"valid TOML ({e}); edit it by hand") from None
    if not check(data):
        raise ConfigError("--config", path, "refusing to rewrite the file: its layout is too unusual "
                          "to edit safely; edit it by hand")
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".workbench-", suffix=".toml", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        if os.path.exists(path):
            os.chmod(tmp, os.stat(path).st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def set_key(path, table, key, value):
    """Set ``key = value`` at the top level (*table* None) or in ``[table]``; None removes the key."""
    segs = _segments(_read(path))
    seg = next((s for s in segs if s[0] == "[" and s[1] == table), None) if table else segs[0]
    if seg is None:
        if value is None:
            return
        lines = [line for s in segs for line in s[2]]
        if lines and lines[-1].strip():
            lines.append("\n")
        lines += [f"[{table}]\n", f"{key} = {toml_value(value)}\n"]
    else:
        body = seg[2]
        start = 1 if table else 0
        span = _key_span(body[start:], key)
        new = [] if value is None else [f"{key} = {toml_value(value)}\n"]
        if span:
            body[start + span[0]:start + span[1]] = new
        else:
            # after the last key line of the segment, so trailing comments stay with what follows
            last = max([i for i, line in enumerate(body) if line.strip() and
                        not line.lstrip().startswith("#")] or [start - 1])
            body[last + 1:last + 1] = new
        lines = [line for s in segs for line in s[2]]

    def check(data):
        where = data.get(table, {}) if table else data
        return where.get(key) == value if value is not None else key not in where

    _write(path, lines, check)


def set_tables(path, name, rows):
    """Replace every ``[[name]]`` table of the file with *rows* (a list of dicts), at the end."""
    segs = _segments(_read(path))
    kept = [s for s in segs if not (s[0] == "[[" and s[1] == name)]
    lines = [line for s in kept for line in s[2]]
    while lines and not lines[-1].strip():
        lines.pop()
    for row in rows:
        lines.append("\n")
        lines.append(f"[[{name}]]\n")
        lines += [f"{k} = {toml_value(v)}\n" for k, v in row.items()]

    def check(data):
        return data.get(name, []) == [dict(r) for r in rows]

    _write(path, lines, check)
