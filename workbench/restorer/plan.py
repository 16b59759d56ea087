"""The plan of a restore: which set, which of its entries, read from which volumes, written where,
and what happens to files already there (``--dry-run`` renders it; workbench.restorer.write
carries it out).

A set is chosen by name, by ``--at`` (the newest retained state at or before that time) or as the
newest complete backup (workbench.sets.choose_set). Nothing is written outside the destination:
unsafe member paths and links are refused in the plan, and members declaring sizes past
``max_member_size`` or ``max_ratio`` are listed as refused (see archive.reader).
"""

import os
from collections import Counter, defaultdict

from ..archive.reader import check_declared
from ..config import Config
from ..errors import (BadDestination, CorruptVolume, IncompleteSet, MemberTooLarge,
                      NoCompleteBackup, SelectionError, UnsafePath, WorkbenchError)
from ..lazylog import get_logger
from ..lease import read_lease
from ..model import not_in_backup_text
from ..records import Record
from ..selection import Selection
from ..sets import (DAMAGED, INCOMPLETE, UNSUPPORTED, base_of, choose_set, entries_of, find_set,
                    judge, list_sets, listed_twice, refusal, skipped_entries, twice_reason,
                    unsupported_set)
from ..sizes import human_size
from ..store import unsafe_member_path
from ..times import parse_time
from .single import single_entries
from .source import load_manifest, volume_files


log = get_logger("workbench.restore")


CONFLICTS = ("skip", "rename", "overwrite")
# What a live folder's index.fld is renamed to (plus a time) so that the server rebuilds it.
REINDEX_SUFFIX = ".before-restore-"


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


class Item(Record):
    """One file the plan writes: *entry* (an Entry) goes to ``root/rel``; *action* is what the
    plan expects (``create``, ``overwrite``, ``rename`` or ``skip``; checked again when
    writing)."""

    _fields = ("entry", "root", "rel", "action")

    def __init__(self, entry, root, rel, action):
        self.entry = entry
        self.root = root
        self.rel = rel
        self.action = action

    @property
    def dest(self):
        return os.path.join(self.root, *self.rel.split("/"))


class Plan(Record):
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
    passed_over : list of (set name, why)
        Newer sets the default choice (or ``--at``) did not use, newest first: damaged,
        incomplete, unsupported, or a differential whose full is gone or damaged.
    not_in_backup : list of Entry
        Selected files the backup recorded but did not store (``Entry.skipped`` says why, e.g.
        larger than the volume size): nothing can restore them, and the plan says so.
    causes : dict
        ``path -> error`` of the refused entries, for a restore of single files to fail with the
        error of its one file (see restore).
    """

    _fields = ("set", "sets_used", "entries", "volumes", "items", "refused", "marks",
               "passed_over", "not_in_backup", "causes", "conflict", "into_live", "selection",
               "at", "layout", "target", "lease")

    def __init__(self, set, sets_used, entries, volumes=None, items=None, refused=None,
                 marks=None, passed_over=None, not_in_backup=None, causes=None, conflict="skip",
                 into_live=False, selection=None, at=None, layout=None, target=None, lease=None):
        self.set = set
        self.sets_used = sets_used
        self.entries = entries
        self.volumes = {} if volumes is None else volumes
        self.items = [] if items is None else items
        self.refused = [] if refused is None else refused
        self.marks = [] if marks is None else marks
        self.passed_over = [] if passed_over is None else passed_over
        self.not_in_backup = [] if not_in_backup is None else not_in_backup
        self.causes = {} if causes is None else causes
        self.conflict = conflict
        self.into_live = into_live
        self.selection = selection  # Selection
        self.at = at                # datetime
        self.layout = layout        # Layout
        self.target = target
        self.lease = lease  # the ReadLease holding the plan's sets, while restore() runs it

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
        for name, why in self.passed_over:
            lines.append(f"not used: {name}, {why}; the newest usable backup is restored instead")
        lines.append(f"selection: {self.selection.describe() if self.selection else 'everything'}"
                     + ("; into the live store" if self.into_live else ""))
        lines.append(f"reads {len(self.entries)} files, {human_size(self.bytes)}, from sets "
                     f"{', '.join(self.sets_used) or '-'}:")
        for fname, n, c in self.volume_reads():
            lines.append(f"  {fname}: {n} members, {human_size(c)} compressed")
        if self.not_in_backup:
            lines.append(not_in_backup_text(e.skipped for e in self.not_in_backup) + ":")
            for e in self.not_in_backup[:limit]:
                lines.append(f"  not in backup {e.size:>10}  {e.path}")
            if limit is not None and len(self.not_in_backup) > limit:
                lines.append(f"  ... and {len(self.not_in_backup) - limit} more")
        if self.items:
            counts = self.counts()
            written = sum(i.entry.size for i in self.items if i.action != "skip")
            lines.append(f"writes {human_size(written)} into {', '.join(self.layout.roots())} "
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
    """Raise UnsafePath unless *path* is a relative, '/'-separated path without '..' (the rule
    of workbench.store.unsafe_member_path)."""
    reason = unsafe_member_path(path)
    if reason is not None:
        raise UnsafePath(f"{reason}; refused")


def choose(sets, set=None, at=None, passed_over=None):
    """The SetInfo to restore: *set* by name, else the newest complete state at or before *at*
    (the newer sets not used go to *passed_over*, see sets.choose_set)."""
    if set is not None and at is not None:
        raise SelectionError("give a set or --at, not both")
    if set is not None:
        info = judge(find_set(sets, set))
        if info.status == UNSUPPORTED:
            raise unsupported_set(info)
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
    return choose_set(sets, at=at, passed_over=passed_over)


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
    _check_live_names(to_user, to_folder)
    when = parse_time(at, "--at", cfg.timezone) if at is not None else None
    # Manifests are loaded only for the set restored: a single message never needs one.
    sets, info, passed_over = _choose_held(target, lease, set, when)
    unread = []  # volumes of foreign sets whose directory cannot be read
    if info.header is None and info.has_manifest:
        judge(info)  # its header names the files it skipped
    skipped = skipped_entries(info)
    if selection.single:
        entries = single_entries(target, sets, info, selection, skipped)
        wanted = {*selection.paths}
        not_in_backup = [e for e in skipped if e.path in wanted]
    else:
        load_manifest(target, sets, info)
        entries = [e for e in entries_of(target, sets, info, on_error=lambda s, v, m: unread.append(
            (f"{v} (every member of it)", m))) if selection.matches(e)]
        not_in_backup = [e for e in skipped if selection.matches(e)]
        if not entries and not not_in_backup and (selection.scoped or selection.mask):
            raise SelectionError(f"nothing in set {info.name} matches {selection.describe()}")
    if select is not None:
        entries = [e for e in entries if select(e)]
        not_in_backup = [e for e in not_in_backup if select(e)]
    if into_live:
        entries = [e for e in entries if "/#msgs/" in e.path and e.path.startswith("store/mail/")]
        not_in_backup = [e for e in not_in_backup if "/#msgs/" in e.path]
        if not entries and not not_in_backup:
            raise SelectionError("--into-live restores mailbox messages (store/mail/.../#msgs/) "
                                 "only, and the selection holds none")
    volumes = volume_files(sets, entries)
    lease.settle({s for s, _ in volumes})  # the sets whose volumes are read: a full, say
    plan = Plan(info, sorted({s for s, _ in volumes}), entries, volumes, conflict=conflict,
                into_live=into_live, selection=selection, at=when, passed_over=passed_over,
                not_in_backup=not_in_backup)
    for name, why in passed_over:
        log.warning("set %s not used: %s; restoring %s, the newest usable backup", name, why,
                    info.name)
    plan.refused.extend(unread)
    for e in entries:
        if volumes[(e.stored_in, e.volume)] is None:
            plan.refused.append((e.path, f"volume {e.volume} of set {e.stored_in} is missing"))
            plan.causes[e.path] = CorruptVolume(f"{e.path}: volume {e.volume} of set "
                                                f"{e.stored_in} is missing")
            continue
        try:
            check_declared(e, cfg.max_member_size, cfg.max_ratio)
        except MemberTooLarge as err:
            plan.refused.append((e.path, str(err)))
            plan.causes[e.path] = err
    layout = Layout(to, store_dir, cfg_dir)
    plan.layout = layout
    if into_live:
        _plan_live(plan, layout.to, selection, to_user, to_folder)
    elif layout.given:
        plan_files(plan, layout)
    return plan


def _check_live_names(to_user, to_folder):
    """UnsafePath if ``--to-user`` or ``--to-folder`` would lead out of the mailbox (``..``, an
    absolute path, a backslash): they become parts of the paths written into the live store."""
    user = (to_user or "").split("@", 1)[0]
    for flag, value, problem in (
            ("--to-user", to_user, user and (unsafe_member_path(user) or "/" in user)),
            ("--to-folder", to_folder, to_folder and unsafe_member_path(to_folder.strip("/")))):
        if problem:
            raise UnsafePath(f"{flag} {value!r} would put messages outside the mailbox's folders "
                             "(it holds '..', '/', '\\' or a drive letter); refused, nothing was "
                             "written")


def _choose_held(target, lease, set, when):
    """``(sets, chosen set, newer sets passed over)``, listed once *lease* holds the chosen set
    (before any of its manifest or volumes is read)."""
    sets = list_sets(target, load=False)
    for _ in range(3):
        info = choose(sets, set, when)
        files = lease.settle([str(info.name)])
        sets = list_sets(target, load=False, files=files)
        passed_over = []
        info = choose(sets, set, when, passed_over)  # the choice may have changed meanwhile
        if str(info.name) in lease.names:
            break
    lease.settle([str(info.name)])
    return sets, info, passed_over


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
    """The plan's entries that may be written: unsafe ones and paths listed twice are refused
    (and recorded: sets.refusal), and the ones already refused (a missing volume) are left
    out."""
    missing = {p for p, _ in plan.refused}
    twice = listed_twice(plan.entries)
    for e in plan.entries:
        reason = refusal(e)
        if reason is None and e.path in twice:
            if e.path in missing:
                continue  # refused once already
            reason = twice_reason(e.path)
            missing.add(e.path)
        if reason:
            plan.refused.append((e.path, reason))
            plan.causes[e.path] = UnsafePath(reason)
        elif e.path not in missing:
            yield e


def plan_files(plan, layout):
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


def msg_number(name):
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
            numbers = [n for n in map(msg_number, listing.names(msgs)) if n is not None]
            next_number[msgs] = max(numbers, default=0) + 1
            folder_dir = os.path.dirname(msgs)
            if os.path.isfile(os.path.join(folder_dir, "index.fld")):
                plan.marks.append(folder_dir)
        name = f"{next_number[msgs]:08x}.eml"
        next_number[msgs] += 1
        plan.items.append(Item(e, live, f"{folder_rel}/#msgs/{name}", "create"))
