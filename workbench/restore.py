"""Restore a backup, or part of it: whole sets, kmsrecover-style selections, single messages,
point-in-time states, and messages put back into a live store.

A restore first makes a :class:`Plan` (which set, which of its entries, read from which volumes,
written where, and what happens to files already there); ``--dry-run`` only renders it. Carrying the
plan out reads each volume once, in offset order, while worker threads inflate, check the CRC-32 and
write. Every file is written under a temporary name and renamed into place, so a failed entry never
leaves a half-written file. Nothing is written outside the destination (member paths and the
directories on the way are checked, links included) and nothing is ever deleted: an overwrite
replaces only a file the plan names, and a live folder's index is set aside, not removed. A hostile
zip costs only itself: members declaring sizes past ``max_member_size`` or ``max_ratio`` are refused
in the plan, and no member is inflated beyond the size it declares (see archive.reader).

Selections follow Kerio's ``kmsrecover``: ``domain``, ``user``, ``folder`` (the folder *and its
subfolders*, as on disk a subfolder lives inside its parent's directory) narrow the mail; ``mask``
picks parts (``cfg``, ``mail``, ``lists``, ``license``, ``sslca``, ``sslcert``, ``spam``). A
domain, user or folder without a mask means ``mask="mail"``; no selection at all means everything
(``store/archive`` and other files included).
"""

import gc
import logging
import os
import queue
import sqlite3
import stat
import tempfile
import threading
import time
import zlib
from collections import Counter, defaultdict, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone

from .archive import manifest as mf
from .archive.compress import checksum
from .archive.reader import (check_declared, copy_member, copy_payload, inflated_at_once,
                             inflates_whole, read_payload, reads_payload, unpack)
from .config import Config, validate
from .errors import (BadDestination, CorruptVolume, IncompleteSet, MemberTooLarge,
                     NoCompleteBackup, RestoreIncomplete, SelectionError, SetNotFound, UnsafePath,
                     WorkbenchError)
from .headers import normalize_message_id, parse_headers
from .lease import ReadLease, read_lease
from .model import Entry, RestoreResult
from .progress import Meter
from .modes import set_mode
from .naming import index_name, parse_set_name, parse_volume_name
from .sets import (COMPLETE, DAMAGED, INCOMPLETE, base_of, entries_of, find_set, list_sets,
                   read_manifest_of)
from .targets import open_target
from .times import parse_time

log = logging.getLogger("workbench.restore")

CONFLICTS = ("skip", "rename", "overwrite")
MASKS = ("cfg", "mail", "lists", "license", "sslca", "sslcert", "spam")
CONFIG_FILES = ("mailserver.cfg", "users.cfg")
REINDEX_SUFFIX = ".before-restore-"
# What members handed to read_volume's workers may hold in memory: payloads, and what each
# inflates at once (the workers inflate them side by side).
_MAX_INFLIGHT_BYTES = 64 * 1024 * 1024
# Restore hands members to its writer threads in batches of one directory's files: see _Pipeline.
_RESTORE_INFLIGHT_BYTES = 24 * 1024 * 1024
_BATCH_BYTES = 1024 * 1024
_BATCH_FILES = 128
_count_lock = threading.Lock()


# ---------------------------------------------------------------------------------------------
# Selection


def parse_mask(mask):
    """The tuple of mask names from ``"cfg,mail"`` or a list; None for no mask."""
    if mask is None:
        return None
    parts = mask.split(",") if isinstance(mask, str) else list(mask)
    names = tuple(dict.fromkeys(p.strip().lower() for p in parts if p and p.strip()))
    bad = [n for n in names if n not in MASKS]
    if bad or not names:
        raise SelectionError(f"--mask {mask!r}: unknown part {', '.join(bad) or '(empty)'}; "
                             f"use a comma list of {', '.join(MASKS)}")
    return names


def mask_of(path, kind=None):
    """The kmsrecover mask part a server-relative *path* belongs to, or None (restored only
    when no mask is given: ``store/archive``, other ``.cfg`` files, ...)."""
    if path in CONFIG_FILES:
        return "cfg"
    top = path.split("/", 1)[0]
    if top in ("license", "sslca", "sslcert"):
        return top
    if path.startswith("store/mail/"):
        return "mail"
    if path.startswith("store/lists/"):
        return "lists"
    if kind == "spam" or path.startswith(("store/spam", "store/bayes")):
        return "spam"
    return None


@dataclass(frozen=True)
class Selection:
    """What part of a set to restore (all fields optional; nothing given means everything).

    ``paths`` and ``message_ids`` pick single files; they cannot be combined with ``domain``,
    ``user``, ``folder`` or ``mask``.
    """

    domain: str = None
    user: str = None
    folder: str = None
    mask: tuple = None
    paths: tuple = ()
    message_ids: tuple = ()

    def __post_init__(self):
        object.__setattr__(self, "mask", parse_mask(self.mask))
        object.__setattr__(self, "paths", tuple(p.strip().lstrip("./") if p.startswith("./")
                                                else p.strip() for p in self.paths or ()))
        object.__setattr__(self, "message_ids", tuple(self.message_ids or ()))
        if self.folder and not (self.domain and self.user):
            raise SelectionError(f"--folder {self.folder!r} needs --domain and --user (as in "
                                 "kmsrecover)")
        if self.folder is not None:
            object.__setattr__(self, "folder", self.folder.strip("/"))
        if self.single and (self.domain or self.user or self.folder or self.mask):
            raise SelectionError("--path and --message-id pick single messages; they cannot be "
                                 "combined with --domain, --user, --folder or --mask")

    @property
    def single(self):
        return bool(self.paths or self.message_ids)

    @property
    def scoped(self):
        return bool(self.domain or self.user or self.folder)

    @property
    def masks(self):
        if self.mask is not None:
            return self.mask
        return ("mail",) if self.scoped else None

    def describe(self):
        parts = [f"{k}={getattr(self, k)!r}" for k in ("domain", "user", "folder") if getattr(self, k)]
        if self.mask:
            parts.append("mask=" + ",".join(self.mask))
        parts += [f"path={p!r}" for p in self.paths]
        parts += [f"message-id={m!r}" for m in self.message_ids]
        return " ".join(parts) or "everything"

    def matches(self, entry):
        """True if *entry* (a store Entry) is selected (single-message picks aside)."""
        masks = self.masks
        part = mask_of(entry.path, entry.kind)
        if masks is not None and part not in masks:
            return False
        if part == "mail" and self.scoped:
            bits = entry.path.split("/", 4)  # store, mail, domain, owner, rest
            if len(bits) < 5:
                return False
            if self.domain and bits[2].lower() != self.domain.lower():
                return False
            if self.user and bits[3].lower() != self.user.lower():
                return False
            if self.folder and not (bits[4] == self.folder or bits[4].startswith(self.folder + "/")):
                return False
        return True


# ---------------------------------------------------------------------------------------------
# Where the set comes from, and where its files go


def resolve_source(source, target=None):
    """``(target, set name or None)`` from what the user named.

    *source* may be a set name on *target*, a directory (the target itself: its newest complete
    backup is used), or the first volume of a set (``X.zip``: that set, with its chain, from the
    volume's directory). A later volume (``X.1.zip``) is refused.
    """
    if source is None:
        return target, None
    text = str(source)
    if parse_set_name(text) is not None:
        return target, text
    if "://" in text or text.startswith("\\\\"):
        return text, None
    base = os.path.basename(text.rstrip("/"))
    vol = parse_volume_name(base)
    if vol is not None:
        if vol[1] != 0:
            raise SelectionError(f"{text} is volume {vol[1]} of set {vol[0]}; name the set's first "
                                 f"volume {vol[0]}.zip (the others are found beside it)")
        if not os.path.isfile(text):
            raise SetNotFound(f"volume {text} does not exist")
        return os.path.dirname(os.path.abspath(text)), vol[0]
    if os.path.isdir(text):
        return text, None
    raise SetNotFound(f"{text!r} is neither a set name, a backup directory nor a set's first "
                      "volume (X.zip)")


class Layout:
    """Maps member paths to destination paths: ``to`` holds the server directory layout;
    ``store_dir`` (kmsrecover ``-s``) takes the place of ``store/`` and ``cfg_dir`` (``-c``) the
    place of the server directory for everything outside ``store/`` (config, license, certificates).
    """

    def __init__(self, to=None, store_dir=None, cfg_dir=None):
        self.to = os.path.realpath(to) if to else None
        self.store_dir = os.path.realpath(store_dir) if store_dir else None
        self.cfg_dir = os.path.realpath(cfg_dir) if cfg_dir else None
        for given, path, flag in ((to, self.to, "--to"), (store_dir, self.store_dir, "-s/--store"),
                                  (cfg_dir, self.cfg_dir, "-c/--cfgdir")):
            if path and os.path.exists(path) and not os.path.isdir(path):
                raise BadDestination(given, flag)

    @property
    def given(self):
        return bool(self.to or self.store_dir or self.cfg_dir)

    def place(self, path):
        """``(root, relative path)`` for a member path, or None when no destination takes it."""
        in_store = path.startswith("store/")
        if in_store and self.store_dir:
            return self.store_dir, path[len("store/"):]
        if not in_store and self.cfg_dir:
            return self.cfg_dir, path
        if self.to:
            return self.to, path
        return None

    def roots(self):
        return [r for r in (self.to, self.store_dir, self.cfg_dir) if r]


# ---------------------------------------------------------------------------------------------
# The plan


@dataclass
class Item:
    """One file the plan writes: *entry* goes to ``root/rel``; *action* is what the plan expects
    (``create``, ``overwrite``, ``rename`` or ``skip``; checked again when writing)."""

    entry: Entry
    root: str
    rel: str
    action: str

    @property
    def dest(self):
        return os.path.join(self.root, *self.rel.split("/"))


@dataclass
class Plan:
    """What a restore reads and writes.

    Attributes
    ----------
    set : SetInfo
        The set restored (a differential reads its full too).
    sets_used : list of str
        Names of the sets whose volumes are read.
    entries : list of Entry
        The entries selected.
    volumes : dict
        ``(set name, volume index) -> file name`` (None when the volume is missing).
    items : list of Item
        Where each entry goes and what happens there (empty when no destination was given).
    refused : list of (path, reason)
        Entries that will not be restored: unsafe member paths, missing volumes.
    marks : list of str
        Live folders (absolute paths) whose ``index.fld`` is set aside so that the server rebuilds
        it.
    """

    set: object
    sets_used: list
    entries: list
    volumes: dict = field(default_factory=dict)
    items: list = field(default_factory=list)
    refused: list = field(default_factory=list)
    marks: list = field(default_factory=list)
    conflict: str = "skip"
    into_live: bool = False
    selection: Selection = None
    at: datetime = None
    layout: Layout = None
    target: object = None
    lease: object = None  # the ReadLease holding the plan's sets, while restore() runs it

    @property
    def bytes(self):
        return sum(e.size for e in self.entries)

    def counts(self):
        """``{action: number of files}``."""
        return dict(Counter(i.action for i in self.items))

    def volume_reads(self):
        """``[(file name, members read, compressed bytes read)]`` in reading order."""
        reads = defaultdict(lambda: [0, 0])
        for e in self.entries:
            r = reads[(e.stored_in, e.volume)]
            r[0] += 1
            r[1] += e.csize
        return [(self.volumes.get(k) or f"{k[0]} volume {k[1]} (missing)", n, c)
                for k, (n, c) in sorted(reads.items())]

    def render(self, limit=None):
        """The plan as text, one line per file (at most *limit* file lines)."""
        s = self.set
        base = "" if s.name.is_full else f" (differential of {s.base or 'the full before it'})"
        lines = [f"restore plan: set {s.name}{base}, taken {s.name.time:%Y-%m-%d %H:%M:%S} UTC"
                 + (f", the newest at or before {self.at:%Y-%m-%d %H:%M:%S} UTC" if self.at else "")]
        lines.append(f"selection: {self.selection.describe() if self.selection else 'everything'}"
                     + ("; into the live store" if self.into_live else ""))
        lines.append(f"reads {len(self.entries)} files, {self.bytes} bytes, from sets "
                     f"{', '.join(self.sets_used) or '-'}:")
        for fname, n, c in self.volume_reads():
            lines.append(f"  {fname}: {n} members, {c} bytes compressed")
        if self.items:
            counts = self.counts()
            written = sum(i.entry.size for i in self.items if i.action != "skip")
            lines.append(f"writes {written} bytes into {', '.join(self.layout.roots())} "
                         f"(conflict={self.conflict}): "
                         + ", ".join(f"{counts.get(a, 0)} {a}" for a in
                                     ("create", "overwrite", "rename", "skip")))
            for item in self.items[:limit]:
                lines.append(f"  {item.action:<9} {item.entry.size:>10}  {item.dest}"
                             + (f"  (from {item.entry.path})" if item.rel != item.entry.path
                                and not item.dest.endswith(item.entry.path) else ""))
            if limit is not None and len(self.items) > limit:
                lines.append(f"  ... and {len(self.items) - limit} more")
        for folder in self.marks:
            lines.append(f"reindex   {folder}: index.fld is set aside "
                         f"(index.fld{REINDEX_SUFFIX}<time>) so that the server rebuilds it")
        for path, reason in self.refused:
            lines.append(f"refused   {path}: {reason}")
        return "\n".join(lines)

    def __str__(self):
        return self.render()


def check_member_path(path):
    """Raise UnsafePath unless *path* is a relative, '/'-separated path without '..'."""
    if (not path or path.startswith(("/", "\\")) or "\\" in path or "\0" in path
            or (len(path) > 1 and path[1] == ":")):
        raise UnsafePath(f"member {path!r} has an absolute or non-portable path; refused")
    parts = path.split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise UnsafePath(f"member {path!r} contains '..' or empty parts; refused")


def choose(sets, set=None, at=None):
    """The SetInfo to restore: *set* by name, else the newest complete state at or before *at*."""
    if set is not None and at is not None:
        raise SelectionError("give a set or --at, not both")
    if set is not None:
        info = find_set(sets, set)
        if info.status == INCOMPLETE:
            raise IncompleteSet(f"set {info.name} is incomplete (its run was interrupted) and "
                                "cannot be used; the next backup removes it")
        if info.status == DAMAGED:
            log.warning("set %s is damaged (%s); reading it as far as it can be", info.name,
                        info.problem)
        if base_of(sets, info) is None:
            raise NoCompleteBackup(f"set {info.name} is a differential whose full backup is gone; "
                                   "it cannot be restored")
        return info
    from .sets import choose_set
    return choose_set(sets, at=at)


def _load_manifest(target, sets, info):
    """Load *info*'s manifest if it is ours and not loaded yet; check its full is still there."""
    if info.status not in (COMPLETE, DAMAGED) or info._doc is not None:
        return
    info.manifest = read_manifest_of(target, info)
    if base_of(sets, info) is None:
        raise NoCompleteBackup(f"set {info.name} is a differential whose full backup "
                               f"{info.manifest.get('base')} is gone; it cannot be restored")


def _index_file(target, info):
    """A local path of *info*'s SQLite index, or None (foreign set, or no index)."""
    name = index_name(str(info.name))
    local = target.local_path(name)
    if local is not None:
        return local if os.path.isfile(local) else None
    try:
        data = target.read_bytes(name)
    except OSError:
        return None
    fd, tmp = tempfile.mkstemp(suffix=".sqlite")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return tmp


def _single_entries(target, sets, info, selection, progress=None):
    """Entries for ``--path`` / ``--message-id``: from the set's index when it has one (no
    manifest is loaded), else from all entries; SelectionError naming what is not in the set."""
    found, all_entries = [], None
    index = _index_file(target, info) if info.status in (COMPLETE, DAMAGED) else None

    def everything():
        nonlocal all_entries
        if all_entries is None:
            _load_manifest(target, sets, info)
            all_entries = entries_of(target, sets, info)
        return all_entries

    def index_failed(error):
        # The index is only derived from the manifest: a damaged one costs speed, not the restore.
        nonlocal index
        log.warning("index %s of set %s is unreadable (%s): reading its manifest instead",
                    index_name(str(info.name)), info.name, error)
        index = None

    if selection.paths:
        hits = {}
        if index is not None:
            from .archive.index import lookup
            try:
                hits = {e.path: e for e in lookup(index, selection.paths)}
            except sqlite3.Error as e:
                index_failed(e)
        missing = [p for p in selection.paths if p not in hits]
        if missing:  # not in the index (or none): the manifest has the last word
            wanted = set(missing)
            hits.update((e.path, e) for e in everything() if e.path in wanted)
            if index is not None and wanted & hits.keys():
                log.warning("index %s of set %s lacks %s, which its manifest lists",
                            index_name(str(info.name)), info.name,
                            ", ".join(sorted(wanted & hits.keys())))
        missing = [p for p in selection.paths if p not in hits]
        if missing:
            raise SelectionError(f"not in set {info.name}: {', '.join(missing)} (paths are relative "
                                 "to the server directory, e.g. store/mail/<domain>/<user>/INBOX/"
                                 "#msgs/00000001.eml)")
        found += [hits[p] for p in selection.paths]
    if selection.message_ids:
        hits = None
        if index is not None:
            try:
                hits = _indexed_message_ids(index, selection.message_ids)
            except sqlite3.Error as e:
                index_failed(e)
        if hits is None:
            hits = _message_id_entries(target, sets, info, selection.message_ids, everything)
        missing = [m for m in selection.message_ids if not hits.get(normalize_message_id(m))]
        if missing:
            raise SelectionError(f"no message with Message-ID {', '.join(missing)} in set {info.name}")
        for m in selection.message_ids:
            found += hits[normalize_message_id(m)]
    unique = {e.path: e for e in found}
    return list(unique.values())


def _indexed_message_ids(index, ids):
    """``{normalised id: [Entry]}`` from the index's messages table, or None if it has none (an
    index made before headers were indexed)."""
    if not _has_table(index, "messages"):
        return None
    from .archive.index import lookup, lookup_message_id
    out = defaultdict(list)
    for m in {normalize_message_id(m) for m in ids}:
        found = lookup(index, lookup_message_id(index, m))
        if found:
            out[m] = found
    return out


def _manifest_message_ids(target, sets, info, wanted, entries):
    """``{normalised id: [Entry]}`` from the Message-IDs the manifests of a set of ours hold (its
    own for the messages it stores, its full's for the others), or None without such blocks."""
    by_path = {e.path: e for e in entries}
    sources = [info]
    base = base_of(sets, info)
    if base is not None and base is not info:
        sources.append(base)
    out, seen = defaultdict(list), False
    for s in sources:
        _load_manifest(target, sets, s)
        block = (s.manifest or {}).get("messages")
        if not block:
            continue
        seen = True
        name = str(s.name)
        for mid, path in zip(mf.decode_column(block["message_id"]),
                             mf.decode_column(block["path"])):
            e = by_path.get(path)
            if mid is not None and e is not None and e.stored_in == name \
                    and normalize_message_id(mid) in wanted:
                out[normalize_message_id(mid)].append(e)
    return out if seen else None


def _message_id_entries(target, sets, info, ids, everything):
    """``{normalised id: [Entry]}`` without an index: from the manifests' headers for a set of
    ours, else by reading the headers of every message of the set (foreign sets)."""
    wanted = {normalize_message_id(m) for m in ids} - {None}
    entries = everything()
    if info.status == COMPLETE:
        out = _manifest_message_ids(target, sets, info, wanted, entries)
        if out is not None:
            return out
    out = defaultdict(list)
    # A foreign set (or a manifest without headers): read the messages' headers.
    messages = [e for e in entries if e.kind in ("message", "public") and "/#msgs/" in e.path]
    plan_volumes = _volume_files(sets, messages)
    lock = threading.Lock()

    def scan(entry, payload):
        mid = _header_message_id(entry, payload)
        if mid in wanted:
            with lock:
                out[mid].append(entry)

    def scan_big(f, entry):
        f.seek(entry.offset)
        scan(entry, read_payload(f, entry.offset, min(entry.csize, 256 * 1024)))

    by_volume = defaultdict(list)
    for e in messages:
        by_volume[(e.stored_in, e.volume)].append(e)
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        for key in sorted(by_volume):
            if plan_volumes.get(key):
                read_volume(target, plan_volumes[key], by_volume[key], pool, scan, scan_big,
                            lambda e, err: None)
    return out


def _has_table(index_file, table):
    db = sqlite3.connect(f"file:{index_file}?mode=ro", uri=True)
    try:
        return db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                          (table,)).fetchone() is not None
    finally:
        db.close()


def _header_message_id(entry, payload):
    """The Message-ID of a message member as the index holds it (only its header is inflated)."""
    try:
        if entry.method == 8:
            from .archive.compress import decompressor
            head = decompressor().decompress(payload, 256 * 1024)
        else:
            head = payload[:256 * 1024]
    except Exception:  # a damaged member simply does not match
        return None
    return parse_headers(head)["message_id"]


def _volume_files(sets, entries):
    """``(set name, volume) -> file name`` for every volume *entries* read (None if missing)."""
    by_name = {str(s.name): s for s in sets}
    out = {}
    for e in entries:
        key = (e.stored_in, e.volume)
        if key not in out:
            src = by_name.get(e.stored_in)
            out[key] = src.volumes[e.volume][0] if src and e.volume in src.volumes else None
    return out


def make_plan(target, set=None, select=None, *, at=None, selection=None, to=None, store_dir=None,
              cfg_dir=None, conflict="skip", into_live=False, to_user=None, to_folder=None,
              config=None, lease=None):
    """The Plan for restoring *set* (or the state at *at*, or the newest complete backup).

    Parameters
    ----------
    target : Target
    set : str, optional
        Set name; a differential brings in its full.
    select : callable(Entry) -> bool, optional
        Narrows the entries further.
    at : datetime or str, optional
        Restore the newest retained state at or before this time.
    selection : Selection, optional
    to, store_dir, cfg_dir : str, optional
        Destination (see :class:`Layout`); without any, the plan only lists the entries.
    conflict : {"skip", "rename", "overwrite"}
    into_live : bool
        Put messages into the live store at *to* under new names (see :func:`restore`).
    to_user, to_folder : str, optional
        With *into_live*: the mailbox (``user`` or ``user@domain``) and folder to put them in.
    config : Config, optional
        Its ``max_member_size`` and ``max_ratio`` refuse members (listed in ``refused``).
    lease : lease.ReadLease, optional
        Holds the sets the plan reads (and the caller keeps it until the plan is carried out);
        default: a lease of its own, for the time the plan is made.
    """
    cfg = config or Config()
    if lease is None:
        with read_lease(target, cfg.lock_stale_after) as own:
            return make_plan(target, set, select, at=at, selection=selection, to=to,
                             store_dir=store_dir, cfg_dir=cfg_dir, conflict=conflict,
                             into_live=into_live, to_user=to_user, to_folder=to_folder,
                             config=cfg, lease=own)
    if conflict not in CONFLICTS:
        raise WorkbenchError(f"conflict must be one of {', '.join(CONFLICTS)}, not {conflict!r}")
    selection = selection or Selection()
    if (to_user or to_folder) and not into_live:
        raise SelectionError("--to-user and --to-folder need --into-live")
    if into_live and not to:
        raise SelectionError("--into-live needs the live server directory (--to DIR, or 'store' "
                             "in the config)")
    when = parse_time(at, "--at", cfg.timezone) if at is not None else None
    # Manifests are loaded only for the set restored: a single message never needs one.
    sets, info = _choose_held(target, lease, set, when)
    unread = []  # volumes of foreign sets whose directory cannot be read
    if selection.single:
        entries = _single_entries(target, sets, info, selection)
    else:
        _load_manifest(target, sets, info)
        entries = [e for e in entries_of(target, sets, info, on_error=lambda s, v, m: unread.append(
            (f"{v} (every member of it)", m))) if selection.matches(e)]
        if not entries and (selection.scoped or selection.mask):
            raise SelectionError(f"nothing in set {info.name} matches {selection.describe()}")
    if select is not None:
        entries = [e for e in entries if select(e)]
    if into_live:
        entries = [e for e in entries if "/#msgs/" in e.path and e.path.startswith("store/mail/")]
        if not entries:
            raise SelectionError("--into-live restores mailbox messages (store/mail/.../#msgs/) "
                                 "only, and the selection holds none")
    volumes = _volume_files(sets, entries)
    lease.settle({s for s, _ in volumes})  # the sets whose volumes are read: a full, say
    plan = Plan(info, sorted({s for s, _ in volumes}), entries, volumes, conflict=conflict,
                into_live=into_live, selection=selection, at=when)
    plan.refused.extend(unread)
    for e in entries:
        if volumes[(e.stored_in, e.volume)] is None:
            plan.refused.append((e.path, f"volume {e.volume} of set {e.stored_in} is missing"))
            continue
        try:
            check_declared(e, cfg.max_member_size, cfg.max_ratio)
        except MemberTooLarge as err:
            plan.refused.append((e.path, str(err)))
    layout = Layout(to, store_dir, cfg_dir)
    plan.layout = layout
    if into_live:
        _plan_live(plan, layout.to, selection, to_user, to_folder)
    elif layout.given:
        _plan_files(plan, layout)
    return plan


def _choose_held(target, lease, set, when):
    """``(sets, chosen set)``, listed once *lease* holds the chosen set (before any of its
    manifest or volumes is read)."""
    sets = list_sets(target, load=False)
    for _ in range(3):
        info = choose(sets, set, when)
        files = lease.settle([str(info.name)])
        sets = list_sets(target, load=False, files=files)
        info = choose(sets, set, when)  # the choice may have changed meanwhile
        if str(info.name) in lease.names:
            break
    lease.settle([str(info.name)])
    return sets, info


def _unsafe(entry):
    """The reason *entry* must not be restored, or None."""
    try:
        check_member_path(entry.path)
    except UnsafePath as e:
        return str(e)
    if entry.kind == "link":
        return f"member {entry.path!r} is a symbolic link; refused (links are never restored)"
    return None


class _Listing:
    """Names in destination directories, each directory listed once (plan-time conflict checks)."""

    def __init__(self):
        self._dirs = {}

    def names(self, directory):
        names = self._dirs.get(directory)
        if names is None:
            try:
                names = set(os.listdir(directory))
            except (FileNotFoundError, NotADirectoryError):
                names = set()
            self._dirs[directory] = names
        return names

    def exists(self, path):
        return os.path.basename(path) in self.names(os.path.dirname(path))


def _plannable(plan):
    """The plan's entries that may be written: unsafe ones are refused (and recorded), and
    the ones already refused (a missing volume) are left out."""
    missing = {p for p, _ in plan.refused}
    for e in plan.entries:
        reason = _unsafe(e)
        if reason:
            plan.refused.append((e.path, reason))
        elif e.path not in missing:
            yield e


def _plan_files(plan, layout):
    listing = _Listing()
    unplaced = []
    for e in _plannable(plan):
        where = layout.place(e.path)
        if where is None:
            unplaced.append(e.path)
            continue
        item = Item(e, where[0], where[1], "create")
        if listing.exists(item.dest):
            item.action = {"skip": "skip", "rename": "rename", "overwrite": "overwrite"}[plan.conflict]
        plan.items.append(item)
    if unplaced:
        part = "store" if unplaced[0].startswith("store/") else "config"
        raise SelectionError(
            f"{len(unplaced)} selected files ({', '.join(unplaced[:3])}...) have no destination: "
            f"the {part} part needs " + ("-s/--store DIR" if part == "store" else "-c/--cfgdir DIR")
            + " or --to DIR, or narrow the selection with --mask")


def _msg_number(name):
    stem = name[:-4] if name.endswith(".eml") else None
    if stem is None or len(stem) != 8:
        return None
    try:
        return int(stem, 16)
    except ValueError:
        return None


def _plan_live(plan, live, selection, to_user, to_folder):
    """Messages into the live store: new 8-hex names after the highest in each ``#msgs``."""
    listing = _Listing()
    next_number = {}
    if to_user and "@" in to_user:
        to_user, to_domain = to_user.split("@", 1)
    else:
        to_domain = None
    to_folder = to_folder.strip("/") if to_folder else None
    for e in _plannable(plan):
        _, _, domain, owner, rest = e.path.split("/", 4)
        folder, _, _ = rest.rpartition("/#msgs/")
        if to_folder:
            if selection.folder:
                sub = folder[len(selection.folder):].lstrip("/")
            elif selection.single:
                sub = ""
            else:
                sub = folder
            folder = f"{to_folder}/{sub}" if sub else to_folder
        domain = to_domain or domain
        owner = to_user or owner
        mailbox = os.path.join(live, "store", "mail", domain, owner)
        if not os.path.isdir(mailbox):
            raise SelectionError(f"the live store {live} has no mailbox {owner}@{domain} "
                                 f"({mailbox} is missing); check --to-user and --to")
        folder_rel = f"store/mail/{domain}/{owner}/{folder}"
        msgs = os.path.join(live, *folder_rel.split("/"), "#msgs")
        if msgs not in next_number:
            numbers = [n for n in map(_msg_number, listing.names(msgs)) if n is not None]
            next_number[msgs] = max(numbers, default=0) + 1
            folder_dir = os.path.dirname(msgs)
            if os.path.isfile(os.path.join(folder_dir, "index.fld")):
                plan.marks.append(folder_dir)
        name = f"{next_number[msgs]:08x}.eml"
        next_number[msgs] += 1
        plan.items.append(Item(e, live, f"{folder_rel}/#msgs/{name}", "create"))


# ---------------------------------------------------------------------------------------------
# Carrying a plan out


def plan_restore(to=None, set=None, *, at=None, domain=None, user=None, folder=None, mask=None,
                 paths=None, message_ids=None, store_dir=None, cfg_dir=None, conflict="skip",
                 into_live=False, to_user=None, to_folder=None, select=None, config=None,
                 _keep_lease=False, **settings):
    """The :class:`Plan` of a restore, without writing anything (``--dry-run``).

    Takes the arguments of :func:`restore`; ``print(plan.render())`` shows it.
    """
    cfg = validate(settings, config or Config())
    target_url, set = resolve_source(set, cfg.target) if set is not None else (cfg.target, None)
    if target_url is None:
        target_url = cfg.target_or_default
    if into_live and to is None:
        to = cfg.store
    selection = Selection(domain, user, folder, mask, tuple(paths or ()), tuple(message_ids or ()))
    target = open_target(target_url, **getattr(cfg, "target_options", {}))
    lease = ReadLease(target, cfg.lock_stale_after)
    try:
        plan = make_plan(target, set, select, at=at, selection=selection, to=to,
                         store_dir=store_dir, cfg_dir=cfg_dir, conflict=conflict,
                         into_live=into_live, to_user=to_user, to_folder=to_folder, config=cfg,
                         lease=lease)
    except BaseException:
        lease.close()
        raise
    plan.target = target
    if _keep_lease:
        plan.lease = lease
    else:
        lease.close()
    return plan


def restore(to=None, set=None, *, at=None, domain=None, user=None, folder=None, mask=None,
            paths=None, message_ids=None, store_dir=None, cfg_dir=None, conflict="skip",
            into_live=False, to_user=None, to_folder=None, select=None, dry_run=False,
            config=None, progress=None, **settings):
    """Restore a backup, or part of it; return a RestoreResult (a Plan with *dry_run*).

    Parameters
    ----------
    to : str
        Destination directory; the server directory layout (``store/mail/...``,
        ``mailserver.cfg``) is recreated under it. With *into_live*, the live server directory
        (default: the config's ``store``).
    set : str, optional
        Set name, a backup directory (its newest complete backup), or a set's first volume
        (``.../X.zip``). Default: the newest full with its newest differential.
    at : datetime or str, optional
        The newest retained state at or before this time (ISO 8601; a time without a zone is
        in the config's ``timezone``, else the machine's: see workbench.times).
    domain, user, folder : str, optional
        kmsrecover's selection: a folder (``INBOX`` or ``INBOX/Projects``) is restored with its
        subfolders; it needs *domain* and *user*.
    mask : str or list, optional
        Parts to restore: ``cfg`` (mailserver.cfg, users.cfg), ``mail`` (store/mail), ``lists``,
        ``license``, ``sslca``, ``sslcert``, ``spam``.
    paths, message_ids : list of str, optional
        Single messages, by server-relative path or by Message-ID.
    store_dir, cfg_dir : str, optional
        Write ``store/`` into *store_dir* and the rest into *cfg_dir* (kmsrecover ``-s``/``-c``).
    conflict : {"skip", "rename", "overwrite"}
        Existing files: nothing is overwritten unless asked.
    into_live : bool
        Put the selected messages into the live store's folders under new, unused 8-hex names, and
        set each touched folder's ``index.fld`` aside (renamed to
        ``index.fld.before-restore-<time>``) so that Kerio rebuilds it from ``#msgs`` when it next
        opens the folder. Nothing else in the live store is touched.
    to_user, to_folder : str, optional
        With *into_live*: another mailbox (``user`` or ``user@domain``), and a (new) folder such as
        ``"Restored 2026-11-26"`` that receives the messages (subfolders kept below it).
    select : callable(Entry) -> bool, optional
    dry_run : bool
        Return the Plan instead of restoring.
    progress : callable(Progress), optional

    Raises
    ------
    RestoreIncomplete
        If some entries failed (missing or corrupt volume, CRC mismatch, unsafe path); every
        other entry has been restored. ``error.result`` holds the RestoreResult.
    """
    cfg = validate(settings, config or Config())
    plan = plan_restore(to, set, at=at, domain=domain, user=user, folder=folder, mask=mask,
                        paths=paths, message_ids=message_ids, store_dir=store_dir,
                        cfg_dir=cfg_dir, conflict=conflict, into_live=into_live,
                        to_user=to_user, to_folder=to_folder, select=select, config=cfg,
                        _keep_lease=not dry_run)
    if dry_run:
        return plan
    # The lease taken for the plan holds its sets until every file is written.
    try:
        if not plan.layout.given:
            raise SelectionError("no destination: give to=DIR (--to), store_dir (-s) or cfg_dir "
                                 "(-c)")
        return execute_plan(plan.target, plan, progress=progress, lease=plan.lease)
    finally:
        plan.lease.close()
        plan.lease = None


def execute_plan(target, plan, to=None, conflict=None, progress=None, lease=None):
    """Carry out *plan* (see :func:`restore`). *to* and *conflict* are for plans made without a
    destination (they are planned here). *lease* holds the plan's sets (default: a lease of
    its own, taken before the first volume is read)."""
    if lease is None:
        with read_lease(target) as own:
            own.settle(plan.sets_used)
            return execute_plan(target, plan, to, conflict, progress, own)
    started = time.monotonic()
    if to is not None and not plan.items:
        plan.layout = Layout(to)
        plan.conflict = conflict or plan.conflict
        _plan_files(plan, plan.layout)
    for root in plan.layout.roots():
        os.makedirs(root, exist_ok=True)
    roots = plan.layout.roots()
    result = RestoreResult(str(plan.set.name), plan.sets_used, roots[0] if len(roots) == 1
                           else ", ".join(roots))
    result.failures.extend(plan.refused)
    writer = _Writer(plan.conflict, result, live=plan.into_live)
    by_volume = defaultdict(list)
    for item in plan.items:
        by_volume[(item.entry.stored_in, item.entry.volume)].append(item)
    meter = Meter(progress, "restore", len(plan.items), sum(i.entry.size for i in plan.items))
    touched = set()

    def fail(item, err, fname):
        result.failures.append((item.entry.path, _reason(err, fname)))

    # The plan's hundred thousand entries are long-lived: keep the cyclic collector from walking
    # them again and again while the restore allocates payloads.
    gc.freeze()
    pipe = _Pipeline(writer, fail, meter, os.cpu_count() or 2)
    try:
        for key in sorted(by_volume):
            fname = plan.volumes.get(key)
            if fname is None:
                continue  # already refused in the plan
            items = sorted(by_volume[key], key=lambda i: i.entry.offset)
            _restore_volume(target, fname, items, pipe, writer)
        pipe.drain()
    finally:
        pipe.close()
        gc.unfreeze()
    for path, dest in result.placed:
        touched.add(os.path.dirname(os.path.dirname(dest)))
    if plan.into_live:
        result.marked = [_mark_for_reindex(d) for d in plan.marks if d in touched]
        result.marked = [m for m in result.marked if m]
    meter.report(force=True)
    result.duration = time.monotonic() - started
    if result.failures:
        err = RestoreIncomplete(result.failures)
        err.result = result
        raise err
    log.info("restored %d files (%d bytes) from %s into %s", result.files, result.bytes,
             result.set_name, result.destination)
    return result


def _mark_for_reindex(folder_dir):
    """Set a live folder's ``index.fld`` aside (never deleted) so that Kerio rebuilds it."""
    src = os.path.join(folder_dir, "index.fld")
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    for n in range(1000):
        dst = f"{src}{REINDEX_SUFFIX}{stamp}" + (f".{n}" if n else "")
        try:
            os.link(src, dst)  # no-clobber: never replaces an earlier copy
        except FileExistsError:
            continue
        except FileNotFoundError:
            return None  # the server is rebuilding it already
        os.unlink(src)
        log.info("%s set aside as %s: the server rebuilds the folder index", src, dst)
        return dst
    return None


def read_volume(target, fname, items, pool, handle, stream, fail, done=None, key=None):
    """Read the members of *items* from volume *fname*, in offset order, opening it once.

    Members whose payload is small (reader.reads_payload) are read here and handed to
    ``handle(item, payload)`` in *pool*, with what they hold in memory bounded; the others go to
    ``stream(f, item)`` in this thread. Errors go to ``fail(item, error)``, every item (done or
    failed) to ``done(item)``. *key* maps an item to its Entry (default: the item is the Entry).
    Used by restore, verify and Message-ID scans.
    """
    key = key or (lambda x: x)
    done = done or (lambda item: None)
    try:
        f = target.open_read(fname)
    except OSError as e:
        for item in items:
            fail(item, OSError(f"volume {fname} cannot be opened: {e.strerror or e}"))
            done(item)
        return
    pending = deque()
    inflight = 0

    def settle(limit):
        nonlocal inflight
        while pending and (inflight > limit or pending[0][1].done()):
            item, fut = pending.popleft()
            inflight -= _cost(key(item))
            err = fut.exception()
            if err is not None:
                fail(item, err)
            done(item)

    with f:
        for item in items:
            entry = key(item)
            try:
                if not reads_payload(entry):
                    settle(0)
                    stream(f, item)
                    done(item)
                    continue
                payload = read_payload(f, entry.offset, entry.csize)
            except (OSError, ValueError, CorruptVolume, UnsafePath, zlib.error) as e:
                fail(item, e)
                done(item)
                continue
            pending.append((item, pool.submit(handle, item, payload)))
            inflight += _cost(entry)
            settle(_MAX_INFLIGHT_BYTES)
        settle(-1)


def _cost(entry):
    return entry.csize + inflated_at_once(entry)


_READ_ERRORS = (OSError, ValueError, CorruptVolume, UnsafePath, zlib.error)


def _restore_volume(target, fname, items, pipe, writer):
    """Read the members of *items* (Items, in offset order) from volume *fname*, opening it once,
    and hand them to *pipe* in batches of one directory's files (each counted in flight by what
    it holds in memory at its peak: its payloads, and the most one member inflates at once, as a
    batch is written one member after the other); members whose payload is not small
    (reader.reads_payload) are streamed here once the writers are idle."""
    try:
        f = target.open_read(fname)
    except OSError as e:
        for item in items:
            pipe.fail(item, OSError(f"volume {fname} cannot be opened: {e.strerror or e}"), fname)
        return
    batch, nbytes, peak, where = [], 0, 0, None
    with f:
        for item in items:
            entry = item.entry
            here = (item.root, item.rel.rpartition("/")[0])
            if batch and (here != where or nbytes >= _BATCH_BYTES or len(batch) >= _BATCH_FILES):
                pipe.put(where, batch, nbytes + peak, fname)
                batch, nbytes, peak = [], 0, 0
            where = here
            try:
                if not reads_payload(entry):
                    pipe.drain()
                    writer.stream(f, item)
                    pipe.count(item)
                    continue
                payload = read_payload(f, entry.offset, entry.csize)
            except _READ_ERRORS as e:
                pipe.fail(item, e, fname)
                continue
            batch.append((item, payload))
            nbytes += entry.csize
            peak = max(peak, inflated_at_once(entry))
        if batch:
            pipe.put(where, batch, nbytes + peak, fname)


class _Pipeline:
    """Writer threads fed with batches of files, each batch from one directory.

    Creating a file holds its directory's lock in the kernel for the whole inode allocation, so
    two threads creating files in one directory take turns (and the waiter spins on the lock),
    which is why more threads used to make no difference. Here a directory's batches go to the
    thread that still holds one of its batches, a directory not queued anywhere to the least busy
    thread, so the threads create files in different directories, in parallel. What batches
    hold in memory is bounded: each counts its payloads and what they inflate at once.
    """

    def __init__(self, writer, fail, meter, workers, limit=None):
        self.writer, self._fail, self.meter = writer, fail, meter
        self.limit = _RESTORE_INFLIGHT_BYTES if limit is None else limit
        self.cond = threading.Condition()
        self.inflight = 0
        self.load = [0] * workers  # queued work per thread, in files
        self.busy = {}  # directory -> (its thread, batches queued there and not yet written)
        self.aborted = False
        self.files = self.bytes = 0
        self.path = ""
        self.queues = [queue.SimpleQueue() for _ in range(workers)]
        self.threads = [threading.Thread(target=self._run, args=(n,), daemon=True,
                                         name=f"restore-writer-{n}") for n in range(workers)]
        for t in self.threads:
            t.start()

    def put(self, where, batch, nbytes, fname):
        with self.cond:
            while self.inflight and self.inflight + nbytes > self.limit:
                self.cond.wait(0.2)
                self._report()
            worker, queued = self.busy.get(where, (None, 0))
            if worker is None:
                worker = self.load.index(min(self.load))
            self.busy[where] = (worker, queued + 1)
            self.load[worker] += len(batch)
            self.inflight += nbytes
            self._report()
        self.queues[worker].put((where, batch, nbytes, fname))

    def _run(self, n):
        q, write, fail = self.queues[n], self.writer.write, self._fail
        while True:
            job = q.get()
            if job is None:
                return
            where, batch, nbytes, fname = job
            size = 0
            for item, payload in batch:
                if self.aborted:
                    break
                try:
                    write(item, payload)
                except Exception as e:  # the entry fails, the restore goes on
                    fail(item, e, fname)
                size += item.entry.size
            with self.cond:
                self.load[n] -= len(batch)
                worker, queued = self.busy.pop(where)
                if queued > 1:
                    self.busy[where] = (worker, queued - 1)
                self.inflight -= nbytes
                self.files += len(batch)
                self.bytes += size
                self.path = batch[-1][0].entry.path
                self.cond.notify_all()

    def count(self, item):
        with self.cond:
            self.files += 1
            self.bytes += item.entry.size
            self.path = item.entry.path

    def fail(self, item, err, fname):
        self._fail(item, err, fname)
        self.count(item)

    def _report(self):
        self.meter.files, self.meter.bytes = self.files, self.bytes
        self.meter.report(self.path)

    def drain(self):
        """Wait until every batch handed over is written."""
        with self.cond:
            while self.inflight:
                self.cond.wait(0.2)
                self._report()
            self._report()

    def close(self):
        """Stop the threads (after the batches they hold, unless the restore is interrupted)."""
        with self.cond:
            self.aborted = bool(self.inflight)
        for q in self.queues:
            q.put(None)
        for t in self.threads:
            t.join()


def _reason(err, fname):
    if isinstance(err, (CorruptVolume, UnsafePath)):
        return str(err)
    return f"{fname}: {err}"


def _inside(path, root):
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


_OPEN_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(
    os, "O_CLOEXEC", 0)


class _Writer:
    """Writes restored files under their roots, safely (used from several threads)."""

    def __init__(self, conflict, result, live=False):
        self.conflict, self.result, self.live = conflict, result, live
        self._dirs = set()
        self._parents = {}  # (root, relative directory) -> checked directory path
        self._token = f"{os.getpid()}-{threading.get_ident() % 10000}"
        self._n = 0

    def _ensure_dir(self, item):
        """Create the directories to the item's parent, refusing any link that leads outside."""
        key = (item.root, item.rel.rpartition("/")[0])
        done = self._parents.get(key)
        if done is not None:
            return done
        parts = item.rel.split("/")[:-1]
        path = item.root
        for part in parts:
            path = os.path.join(path, part)
            if path in self._dirs:
                continue
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                try:
                    os.mkdir(path)
                except FileExistsError:
                    pass
                st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                real = os.path.realpath(path)
                if not _inside(real, item.root):
                    raise UnsafePath(f"member {item.entry.path!r} would be written outside the "
                                     f"destination (through the link {path} to {real}); refused")
                st = os.stat(path)
            if not stat.S_ISDIR(st.st_mode):
                raise UnsafePath(f"member {item.entry.path!r}: {path} is not a directory; refused")
            self._dirs.add(path)
        self._parents[key] = path
        return path

    def _final_path(self, item, path=None):
        """The path to write, or None to skip; UnsafePath if it would leave the destination."""
        if path is None:
            path = os.path.join(self._ensure_dir(item), item.rel.rsplit("/", 1)[-1])
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return path
        if stat.S_ISLNK(st.st_mode):
            raise UnsafePath(f"member {item.entry.path!r}: the destination {path} is a symbolic "
                             "link; refused")
        if self.live:
            return path  # a clash with new mail is resolved when placing (next free name)
        if self.conflict == "skip":
            with _count_lock:
                self.result.skipped.append(item.entry.path)
            return None
        if self.conflict == "rename":
            n = 1
            while os.path.lexists(f"{path}.restored-{n}"):
                n += 1
            path = f"{path}.restored-{n}"
            with _count_lock:
                self.result.renamed.append(item.entry.path)
        return path

    def write(self, item, payload):
        entry = item.entry
        if not inflates_whole(entry):
            self._stream(item, lambda out: copy_payload(entry, payload, out))
            return
        data = unpack(entry, payload)
        if len(data) != entry.size or checksum(data) != entry.crc32:
            raise CorruptVolume(f"{entry.path}: CRC-32 or size does not match (volume damaged)")
        path = os.path.join(self._ensure_dir(item), item.rel.rsplit("/", 1)[-1])
        if not self.live and self._create(path, entry, data):
            return
        path = self._final_path(item, path)
        if path is None:
            return
        self._place(path, item, lambda fd: _write_all(fd, data))

    def _create(self, path, entry, data):
        """Write checked data straight to a new file; False if the name is taken (or a link).

        The data is whole and its CRC-32 checked before the file is created, so only a killed
        process could leave it short; a temporary name and a rename would double the metadata
        work of a restore, which is mostly small files.
        """
        try:
            fd = os.open(path, _OPEN_FLAGS, 0o600)  # O_EXCL: never replaces, never follows a link
        except FileExistsError:
            return False
        try:
            try:
                _write_all(fd, data)
                _finish(fd, entry)
            finally:
                os.close(fd)
        except BaseException:
            os.unlink(path)
            raise
        with _count_lock:
            self.result.files += 1
            self.result.bytes += entry.size
        return True

    def stream(self, f, item):
        """Write *item* streamed from the volume file *f*, a chunk at a time."""
        self._stream(item, lambda out: copy_member(f, item.entry, out))

    def _stream(self, item, copy):
        """Write *item* through ``copy(out)``, which writes its data and returns the CRC-32."""
        path = self._final_path(item)
        if path is None:
            return
        crc = None

        def fill(fd):
            nonlocal crc
            with open(fd, "wb", closefd=False) as out:
                crc = copy(out)

        self._place(path, item, fill, check=lambda: crc == item.entry.crc32)

    def _tmp_name(self, path):
        with _count_lock:
            self._n += 1
            n = self._n
        return os.path.join(os.path.dirname(path),
                            f".{os.path.basename(path)}.{self._token}-{n}.wb-restore")

    def _place(self, path, item, fill, check=None):
        entry = item.entry
        tmp = self._tmp_name(path)
        fd = os.open(tmp, _OPEN_FLAGS, 0o600)
        try:
            try:
                fill(fd)
                _finish(fd, entry)
            finally:
                os.close(fd)
            if check is not None and not check():
                raise CorruptVolume(f"{entry.path}: CRC-32 does not match (volume damaged)")
            if self.live:
                path = _link_new(tmp, path)
                os.unlink(tmp)
                with _count_lock:
                    self.result.placed.append((entry.path, path))
            else:
                os.replace(tmp, path)
        except BaseException:
            if os.path.lexists(tmp):
                os.unlink(tmp)
            raise
        with _count_lock:
            self.result.files += 1
            self.result.bytes += entry.size


def restored_mode(entry):
    """The permission bits a restored file gets: the store's as the backup recorded them, never
    setuid, setgid or sticky; 0600 where the backup did not record them."""
    return entry.mode & 0o777 or 0o600


def _finish(fd, entry):
    """Give a restored file its recorded mode (exactly, whatever the umask) and its mtime."""
    set_mode(fd, restored_mode(entry))
    os.utime(fd, ns=(entry.mtime_ns, entry.mtime_ns))


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _link_new(tmp, path):
    """Give *tmp* the name *path*, or the next free 8-hex name if new mail took it meanwhile."""
    directory, name = os.path.split(path)
    number = _msg_number(name)
    while True:
        try:
            os.link(tmp, path)
            return path
        except FileExistsError:
            if number is None:
                raise
            number += 1
            path = os.path.join(directory, f"{number:08x}.eml")


def list_entries(set=None, *, at=None, domain=None, user=None, folder=None, mask=None, paths=None,
                 message_ids=None, config=None, **settings):
    """The entries a restore with these arguments would take (``workbench restore --list``)."""
    return plan_restore(None, set, at=at, domain=domain, user=user, folder=folder, mask=mask,
                        paths=paths, message_ids=message_ids, config=config, **settings)


__all__ = ["restore", "plan_restore", "list_entries", "make_plan", "execute_plan", "Plan", "Item",
           "Selection", "Layout", "resolve_source", "parse_time", "parse_mask", "mask_of",
           "check_member_path", "read_volume", "CONFLICTS", "MASKS"]
