"""Fleets: several targets read as one, each under its own name and with its own settings.

Every reader takes, in place of one target, a *fleet*: a list of targets, a mapping
``{name: target}`` (a value may also be a table of settings holding its ``target``, as in a fleet
file), or a :class:`Fleet` that :func:`read_fleet` reads from a fleet file::

    keep = 7                       # defaults for every server below (optional)

    [[server]]
    name = "mail1"
    target = "smb://backup@nas1.example.com/kerio/mail1"
    keep = 14
    keep_copies = 3
    capacity = "2TB"

The frames of a fleet have a ``target`` column in front: the servers' names (a plain list: the
targets' URLs). A target that cannot be read (unreachable, missing, a damaged set asked for) is
left out with a :class:`TargetSkipped` warning and becomes a row of the frame's problems
(:func:`problems`); only when no target at all can be read does a reader raise
(FleetUnreadable). A list's targets are named by :func:`target_name` where a name is needed
(the export's partitions): readable and stable, the same target always gets the same name.
"""

import hashlib
import os
import re
import sys
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple, Optional
from urllib.parse import unquote, urlsplit

import numpy as np
import pandas as pd

from ..config import Config, validate
from ..errors import ConfigError, FleetFileError, FleetUnreadable, WorkbenchError
from ..secrets import mask_url
from ..sizes import parse_size
from ..targets import Target, open_target
from .frames import TEXT, concat, text_index
from .settings import settings


#: Keys of a server's table in a fleet file (the same at the top level, as defaults).
SERVER_KEYS = ("name", "target", "keep", "keep_copies", "capacity", "min_free", "smb_user_env",
               "smb_password_env", "network_timeout")

#: The config keys among them (validated as the config validates them).
_CONFIG_KEYS = ("target", "keep", "min_free", "smb_user_env", "smb_password_env",
                "network_timeout")

#: A server's name: what the ``target`` column and the export's ``target=<name>`` partitions
#: show; a path component on every file system.
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")

PROBLEM_COLUMNS = ("target", "error", "message")


class TargetSkipped(UserWarning):
    """A target of a fleet could not be read and was left out; the frame's problems say why."""


class Problem(NamedTuple):
    """Why a target of a fleet was left out: its label, the error's class name and message."""

    target: str
    error: str
    message: str


@dataclass(frozen=True)
class Server:
    """One target of a fleet and its settings.

    Attributes
    ----------
    name : str
        The server's name (a list's target gets :func:`target_name`).
    target : str, os.PathLike or Target
    config : Config
        The config its reads use: ``keep``, ``min_free``, SMB settings.
    keep_copies : int or None
        Copies kept by rotation (None: the config's).
    capacity : int or None
        Bytes its backups may use (None: the target's file system or share).
    named : bool
        False for a target of a plain list: its frames' ``target`` column shows its URL.
    """

    name: str
    target: object
    config: Config = field(repr=False)
    keep_copies: Optional[int] = None
    capacity: Optional[int] = None
    named: bool = True

    def options(self, storage_options=None):
        """Keyword options for ``open_target``: the config's, then *storage_options*."""
        out = dict(self.config.target_options)
        out.update(storage_options or {})
        return out


@dataclass(frozen=True)
class Fleet:
    """Servers read together (see :func:`read_fleet`); pass it wherever a target is taken.

    Attributes
    ----------
    servers : tuple of Server
    source : str or None
        The fleet file it was read from.
    """

    servers: tuple
    source: Optional[str] = None

    @property
    def names(self):
        return [s.name for s in self.servers]

    def __iter__(self):
        return iter(self.servers)

    def __len__(self):
        return len(self.servers)

    def __getitem__(self, name):
        for s in self.servers:
            if s.name == name:
                return s
        raise KeyError(name)


def read_fleet(path, config=None):
    """The Fleet of a fleet file (TOML): one ``[[server]]`` table per server.

    Parameters
    ----------
    path : str or os.PathLike
        The fleet file. Each ``[[server]]`` table has a ``name`` (letters, digits, ``.``, ``_``,
        ``-``; at most 64, unique without regard to case) and a ``target`` (a directory, relative
        to the file, or an ``smb://`` URL without a password), and may set ``keep``,
        ``keep_copies``, ``capacity`` (``"2TB"``), ``min_free``, ``smb_user_env``,
        ``smb_password_env`` and ``network_timeout``; the same keys at the top level (not
        ``name`` or ``target``) are every server's defaults.
    config : Config or str, optional
        The config under the fleet file's settings (default: ``$WORKBENCH_CONFIG``, else the
        defaults).

    Returns
    -------
    Fleet

    Raises
    ------
    FleetFileError
        For a missing file, bad TOML, an unknown or bad key, a missing or repeated name: the
        message names the file, the server and the key.
    """
    import tomllib
    source = os.fspath(path)
    try:
        with open(source, "rb") as f:
            doc = tomllib.load(f)
    except FileNotFoundError:
        raise FleetFileError(None, source, "file not found", source=source) from None
    except tomllib.TOMLDecodeError as e:
        raise FleetFileError(None, source, f"not valid TOML: {e}", source=source) from None
    except UnicodeDecodeError:
        raise FleetFileError(None, source, "not UTF-8 text; save the file as UTF-8",
                             source=source) from None
    tables = doc.pop("server", None)
    if not isinstance(tables, list) or not tables or not all(isinstance(t, dict)
                                                             for t in tables):
        raise FleetFileError("server", tables, "expected one [[server]] table per server, each "
                             "with a name and a target", source=source)
    defaults = {}
    for key, value in doc.items():
        if key in ("name", "target") or key not in SERVER_KEYS:
            raise FleetFileError(key, value, "unknown top-level key; the top level takes "
                                 "defaults for every server: " + ", ".join(SERVER_KEYS[2:])
                                 + " (name and target go in a [[server]] table)",
                                 source=source)
        defaults[key] = value
    base = settings(config)
    here = Path(source).parent
    servers = []
    for i, table in enumerate(tables, start=1):
        name = table.get("name")
        if not isinstance(name, str):
            raise FleetFileError("name", name, f"the [[server]] table number {i} needs a name",
                                 source=source)
        values = {**defaults, **table}
        target = values.get("target")
        if isinstance(target, str) and "://" not in target and not target.startswith("\\\\"):
            values["target"] = str(here / Path(target).expanduser())
        servers.append(_server(name, values, base, source))
    return _fleet(servers, source)


def _server(name, values, base, source=None, named=True):
    """A validated Server from a table of *values* (a fleet file's, or a mapping's)."""
    if named and (not isinstance(name, str) or not NAME_RE.fullmatch(name)):
        raise FleetFileError("name", name, "a server's name is 1 to 64 letters, digits, '.', "
                             "'_' or '-', starting with a letter or digit (it names the "
                             "export's directories)", source=source)
    unknown = [k for k in values if k not in SERVER_KEYS]
    if unknown:
        raise FleetFileError(unknown[0], values[unknown[0]], "unknown key; a server takes "
                             + ", ".join(SERVER_KEYS), server=name, source=source)
    target = values.get("target")
    if target is None:
        raise FleetFileError("target", None, "every server needs a target (a directory or an "
                             "smb:// URL)", server=name, source=source)
    if isinstance(target, os.PathLike):
        target = values["target"] = os.fspath(target)
    cfg = base
    try:
        for key in _CONFIG_KEYS:  # one at a time: a Target object is no config value
            if key in values and not (key == "target" and isinstance(target, Target)):
                cfg = validate({key: values[key]}, cfg)
    except ConfigError as e:
        raise FleetFileError(e.key, e.value, e.reason, server=name, source=source) from None
    keep_copies = _checked(values, "keep_copies",
                           lambda v: validate({"keep_copies": v}).keep_copies, name, source)
    capacity = _checked(values, "capacity", lambda v: parse_size("capacity", v), name, source)
    return Server(name=name, target=target, config=cfg, keep_copies=keep_copies,
                  capacity=capacity, named=named)


def _checked(values, key, check, name, source):
    value = values.get(key)
    if value is None:
        return None
    try:
        return check(value)
    except ConfigError as e:
        raise FleetFileError(key, value, e.reason, server=name, source=source) from None


def _fleet(servers, source=None):
    seen = {}
    for s in servers:
        if s.named and s.name.lower() in seen:
            raise FleetFileError("name", s.name, f"two servers are named {seen[s.name.lower()]!r}"
                                 f" and {s.name!r}; names must differ (not only in case)",
                                 source=source)
        seen[s.name.lower()] = s.name
    return Fleet(servers=tuple(servers), source=source)


def as_fleet(target, cfg):
    """The Fleet of a reader's *target* argument, or None for one target.

    A Fleet is taken as it is; a mapping ``{name: target or table}`` names its servers; a list
    or tuple names them by :func:`target_name`. Settings not given come from *cfg*.
    """
    if isinstance(target, Fleet):
        return target
    if isinstance(target, Mapping):
        servers = []
        for name, value in target.items():
            values = dict(value) if isinstance(value, Mapping) else {"target": value}
            servers.append(_server(name, values, cfg))
        if not servers:
            raise ValueError("target: an empty mapping; give at least one target")
        return _fleet(servers)
    if isinstance(target, (list, tuple)):
        if not target:
            raise ValueError("target: an empty list; give at least one target")
        return Fleet(servers=tuple(Server(name=target_name(t), target=t, config=cfg,
                                          named=False) for t in target))
    return None


def target_name(target):
    """A stable name for *target* (a path, ``smb://`` URL, UNC path or Target): its host, share
    and path as a readable slug plus a short hash of the whole, e.g. ``srv-backup-mail1-3f2a9c01``.

    The hash is of the target's canonical form (an absolute path; an SMB URL without its user,
    host and share in lower case), so the same target always gets the same name and two targets
    whose slugs agree still get two names.
    """
    text = target.url if isinstance(target, Target) else os.fspath(target)
    text = str(text)
    if text.startswith(("smb://", "\\\\", "//")):
        if text.startswith("smb://"):
            parts = urlsplit(text)
            host, port = (parts.hostname or ""), parts.port or 445
            pieces = [unquote(p) for p in parts.path.split("/") if p]
        else:
            pieces = [p for p in re.split(r"[\\/]+", text) if p]
            host, port = (pieces.pop(0) if pieces else ""), 445
        canonical = f"smb://{host}:{port}/" + "/".join(pieces)
        canonical = canonical.lower()
        words = [host, *pieces]
    else:
        if text.startswith("file://"):
            text = text[len("file://"):]
        canonical = os.path.abspath(os.path.expanduser(text))
        words = canonical.split(os.sep)
    slug = re.sub(r"[^a-z0-9]+", "-", "-".join(words).lower()).strip("-")
    slug = slug[-40:].strip("-") or "target"
    return f"{slug}-{hashlib.sha256(canonical.encode()).hexdigest()[:8]}"


def label(server, target=None):
    """What the ``target`` column shows for *server*: its name, or a list's target's URL."""
    if server.named:
        return server.name
    if target is not None:
        return target.url
    return mask_url(str(getattr(server.target, "url", server.target)))


@dataclass
class Reading:
    """What :func:`read_each` read: every server's label in order, the results of those read,
    and the problems of the others."""

    labels: list
    results: list   # (label, server, result)
    problems: list  # Problem

    def problems_frame(self):
        return problems_frame(self.problems, self.labels)


#: What keeps one target of a fleet from being read: our own errors (unreachable, missing,
#: damaged, no complete backup...) and the operating system's (permissions, a vanished mount).
READ_ERRORS = (WorkbenchError, OSError)


def read_each(fleet, storage_options, build):
    """``build(Target, Server)`` for every server of *fleet*; a failing one is a Problem and a
    :class:`TargetSkipped` warning. Raises FleetUnreadable when none could be read."""
    labels, results, problems = [], [], []
    for s in fleet.servers:
        t = None
        try:
            t = open_target(s.target, **s.options(storage_options))
            name = label(s, t)
            result = build(t, s)
        except READ_ERRORS as e:
            name = label(s, t)
            p = Problem(name, type(e).__name__, mask_url(str(e)))
            problems.append(p)
            warnings.warn(f"{p.target} left out: {p.error}: {p.message}", TargetSkipped,
                          stacklevel=_caller_level())
        else:
            results.append((name, s, result))
        labels.append(name)
    if not results:
        raise FleetUnreadable(problems)
    return Reading(list(dict.fromkeys(labels)), results, problems)


def _caller_level():
    """The stacklevel of the first caller outside the catalog (a warning points at its line)."""
    here, level = os.path.dirname(os.path.abspath(__file__)), 1
    frame = sys._getframe(1)  # the caller of this function: the one that warns
    while frame is not None and os.path.dirname(frame.f_code.co_filename) == here:
        frame, level = frame.f_back, level + 1
    return level


def over_targets(target, storage_options, build, cfg=None):
    """``build(Target, Server)`` for one target, or for a fleet one frame with a ``target``
    column in front (the servers' labels in the order given), the problems in its
    ``attrs["problems"]`` (see :func:`problems`).

    *target* None is the config's target (*cfg*, a Config), as on the command line; the
    config's SMB settings (credential sources, timeout) are the defaults of *storage_options*.
    Set-name columns come out with one dtype of all the targets' sets, oldest first.
    """
    cfg = cfg if cfg is not None else settings(None)
    fleet = as_fleet(target, cfg)
    if fleet is None:
        if target is None:
            target = cfg.target_or_default
        server = Server(name=None, target=target, config=cfg, named=False)
        return build(open_target(target, **server.options(storage_options)), server)
    reading = read_each(fleet, storage_options, build)
    return with_target(reading, [r for _, _, r in reading.results])


def with_target(reading, frames):
    """*frames* (one per target read, in the order of ``reading.results``) as one frame with a
    ``target`` column in front, the problems in its attrs."""
    labels = [name for name, _, _ in reading.results]
    dtype = target_dtype(reading.labels)
    codes = np.concatenate([np.full(len(f), reading.labels.index(n), dtype=np.int32)
                            for f, n in zip(frames, labels)])
    out = concat(frames)
    out.insert(0, "target", pd.Categorical.from_codes(codes, dtype=dtype))
    out.attrs["problems"] = tuple(reading.problems)
    return out


def target_dtype(labels):
    """The ``target`` column's dtype: a category of every server's label, in the fleet's order."""
    return pd.CategoricalDtype(text_index(labels))


def problems_frame(found, labels=None):
    """The problems frame of *found* (Problems): ``target`` (category), ``error`` (category: the
    error's class) and ``message`` (str)."""
    found = list(found)
    labels = list(dict.fromkeys(list(labels or []) + [p.target for p in found]))
    return pd.DataFrame({
        "target": pd.Categorical([p.target for p in found], dtype=target_dtype(labels)),
        "error": pd.Categorical([p.error for p in found],
                                dtype=pd.CategoricalDtype(text_index(sorted({p.error
                                                                             for p in found})))),
        "message": pd.Series([p.message for p in found], dtype=TEXT),
    }, columns=list(PROBLEM_COLUMNS))


def problems(result):
    """The targets a fleet read left out: a frame of ``target``, ``error`` (the error's class)
    and ``message``, one row per target; empty when every target was read.

    Parameters
    ----------
    result : DataFrame or a fleet result
        A frame a reader returned for a fleet (its ``attrs["problems"]``), or the result of
        ``recovery_plan``, ``forecast_storage`` or ``export`` for a fleet (their ``problems``).
    """
    if isinstance(result, pd.DataFrame):
        labels = list(result["target"].cat.categories) if "target" in result.columns and \
            isinstance(result["target"].dtype, pd.CategoricalDtype) else []
        return problems_frame(result.attrs.get("problems", ()), labels)
    found = getattr(result, "problems")
    return found.copy() if isinstance(found, pd.DataFrame) else problems_frame(found)


__all__ = ["Fleet", "Server", "read_fleet", "as_fleet", "target_name", "problems",
           "TargetSkipped", "Problem", "PROBLEM_COLUMNS", "over_targets"]
