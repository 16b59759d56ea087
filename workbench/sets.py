"""The sets on a target: find them, tell what each is from facts, load their entries.

Statuses:

- ``complete``: our manifest file is present, its header reads, and every volume it names is
  on the target with the size it records (a listing's sizes: nothing else is read). ``list_sets``
  without ``load`` takes a present manifest file for complete, unread; ``judge`` reads its header
  and checks its volumes when a reader needs the claim (choose_set does);
- ``incomplete``: an interrupted run of ours, proven: no manifest file, every volume carries our
  marker for this set and volume number, none is missing, and the last one holds no manifest
  copy (the manifest is published last, the copy is the last member of the last volume). Only
  such sets, and our temporary files, are ever removed by cleanup (``leftover_files``);
- ``damaged``: committed, but something is wrong: a volume the manifest names is missing or has
  another size, the manifest file is unreadable or missing while the volumes are ours (with the
  copy in the last volume, the set stays restorable when named), or the volumes are not what an
  interrupted run leaves. Kept and reported, never removed on its own, never chosen by itself;
- ``foreign``: volumes without our marker, written by Kerio Connect itself: read from the zips'
  central directories (a differential's full is the newest full before it). Cleanup never
  removes them; ``problem`` says when one is not whole (a volume missing or unreadable), and such
  a set is shown as damaged (``SetInfo.shown_status``);
- ``unsupported``: a layout workbench cannot read, such as a spanned or split archive (Info-ZIP's
  ``zip -s``: ``X.z01``, ``X.z02``, ``X.zip``; 7-Zip's ``X.zip.001``): ``problem`` says why.
  Never complete, never restored (UnsupportedSet), never removed.

Every file on the target whose name starts with a set's name belongs to that set: its volumes,
manifest and index, our temporary files and removal markers, the parts of a split archive, and
strays (any other name, a ``F....zip.partial`` of another tool, say: listed, never deleted, never
a sign of an interrupted run).

Ours is proven per file: a volume is ours only if its own zip comment names the set and its
number; the index only if it is an SQLite file of ours naming the set; a temporary file only if
its name says so (``<name>.wb-<token>.partial``).
"""

import os
from contextlib import contextmanager

from .archive import manifest as mf
from .archive.crypt import file_is_sealed, is_sealed, plain_bytes, source_of
from .archive.compress import INFLATE_ERRORS
from .archive.index import index_set_name
from .archive.reader import list_zip, open_manifest_copy, read_manifest_copy, read_volume_end
from .archive.volume import read_marker
from .errors import (CorruptVolume, DamagedSet, IncompleteSet, NoCompleteBackup,
                     PasswordMissing, SealedFileDamaged, SelectionError, SetNotFound,
                     UnsupportedSet, WrongPassword)
from .model import Entry
from .records import Record
from .store import classify, unsafe_member_path
from .times import as_utc
from .naming import (LOCK_NAME, index_name, manifest_name, parse_partial_name,
                     parse_removal_marker, parse_set_name, parse_split_part, parse_volume_name,
                     set_name_prefix, volume_name)

COMPLETE, INCOMPLETE, DAMAGED, FOREIGN = "complete", "incomplete", "damaged", "foreign"
UNSUPPORTED = "unsupported"
# The statuses of sets whose data is there to be read (a differential's full may be damaged:
# the differential needs the full's volumes, not its manifest).
READABLE = (COMPLETE, DAMAGED, FOREIGN)


# What reading a damaged manifest raises: bad JSON or columns, a truncated or corrupt gzip.
MANIFEST_ERRORS = (ValueError, OSError, EOFError, SealedFileDamaged, *INFLATE_ERRORS)



def _BadZipFile():
    import zipfile  # only for volumes read through zipfile (foreign sets, the manifest copy)
    return zipfile.BadZipFile


def _copy_errors():
    """What reading the copy in a volume raises besides a damaged manifest: a bad zip, a missing
    member, a wrong CRC."""
    return MANIFEST_ERRORS + (_BadZipFile(), KeyError)

def unreadable_manifest(set_name, error):
    """The DamagedSet error for a set whose manifest cannot be read (*error* says why)."""
    return DamagedSet(f"set {set_name}: manifest unreadable ({error}); it cannot be used")


class SetInfo(Record):
    """One set on a target.

    ``header`` is the manifest's header (kind, base, times, volumes, stats) of a set of ours;
    ``manifest`` is the whole manifest, entries included, read on first use and kept. ``copy``
    names the volume whose manifest copy stands in for a damaged or missing manifest file;
    ``has_manifest`` says the manifest file is there and, as far as it was read, readable.
    """

    _fields = ("name", "volumes", "status", "header", "leftovers", "strays", "ours", "markers",
               "parts", "copy", "has_manifest", "problem", "encrypted", "locked", "lock_error",
               "target", "_doc")
    _repr = _compare = _fields[:-3]  # not lock_error, target, _doc

    def __init__(self, name, volumes=None, status=INCOMPLETE, header=None, leftovers=None,
                 strays=None, ours=None, markers=None, parts=None, copy=None, has_manifest=False,
                 problem="", encrypted=False, locked="", lock_error=None, target=None, _doc=None):
        self.name = name
        self.volumes = {} if volumes is None else volumes  # volume index -> (file name, bytes)
        self.status = status
        self.header = header                               # dict or None
        self.leftovers = [] if leftovers is None else leftovers  # our temporary files of this set
        self.strays = [] if strays is None else strays     # other files of this set name: not ours
        self.ours = [] if ours is None else ours           # files cleanup may remove (incomplete)
        self.markers = [] if markers is None else markers  # removal markers (see removal.py)
        self.parts = [] if parts is None else parts        # parts of a split archive (X.z01 ...)
        self.copy = copy                                   # str or None
        self.has_manifest = has_manifest
        self.problem = problem
        # An encrypted set (sealed manifest): ``locked`` says why its manifest could not be read
        # (no password, or not this one); its header is then None and its status the listing's.
        self.encrypted = encrypted
        self.locked = locked
        self.lock_error = lock_error                       # the Exception, or None
        self.target = target
        self._doc = _doc                                   # dict or None

    @property
    def manifest(self):
        """The whole manifest (None for foreign and incomplete sets, and before it is loaded)."""
        if self._doc is None:
            if self.header is None and self.copy is None and not self.has_manifest:
                return None
            self.manifest = read_manifest_of(self.target, self)
        return self._doc

    @manifest.setter
    def manifest(self, doc):
        self._doc = doc
        self.header = None if doc is None else {k: v for k, v in doc.items()
                                                 if k not in ("entries", "messages")}

    def unlocked(self):
        """This set, or the PasswordMissing or WrongPassword that kept its manifest closed."""
        if self.lock_error is not None:
            raise self.lock_error
        return self

    @property
    def base(self):
        """Name of the full this set belongs to (itself for a full or copy)."""
        if self.header is not None:
            return self.header.get("base") or str(self.name)
        return None if self.name.kind == "D" else str(self.name)

    @property
    def usable(self):
        """Complete, or foreign and whole: a set a recovery may choose by itself."""
        return self.status == COMPLETE or (self.status == FOREIGN and not self.problem)

    @property
    def shown_status(self):
        """What the set is said to be (``workbench sets``, the catalog): complete, incomplete,
        damaged or unsupported; a foreign set that is not whole is damaged."""
        if self.status == FOREIGN:
            return DAMAGED if self.problem else COMPLETE
        return self.status

    @property
    def files(self):
        """Every file of this set name on the target that belongs to it (strays left out)."""
        name = str(self.name)
        return ([manifest_name(name), index_name(name)] + [f for f, _ in self.volumes.values()]
                + self.leftovers)

    def __str__(self):
        return str(self.name)


def list_sets(target, load=True, files=None):
    """All sets on *target*, oldest first, with their status (and manifest headers when *load*).

    *files* is ``target.list()`` when the caller has it already (a round trip saved on SMB).
    Without *load*, a manifest file is taken as complete unread, and of a set without our
    marker only the first volume is read; with it, every volume of a foreign set is checked
    to be a readable zip (rotation deletes only whole foreign sets).
    """
    files = target.list() if files is None else files
    sets = {}
    for fname, size in files.items():
        text = set_name_prefix(fname)
        if text is None:
            continue
        info = sets.get(text)
        if info is None:
            info = sets[text] = SetInfo(parse_set_name(text), target=target)
        vol = parse_volume_name(fname)
        if parse_partial_name(fname) is not None:
            info.leftovers.append(fname)
        elif parse_removal_marker(fname) is not None:
            info.markers.append(fname)
        elif vol is not None:
            info.volumes[vol[1]] = (fname, size)
        elif parse_split_part(fname) is not None:
            info.parts.append(fname)
        elif fname not in (manifest_name(text), index_name(text)):
            info.strays.append(fname)
    out = []
    for text, info in sets.items():
        has_index = index_name(text) in files
        if not (info.volumes or info.leftovers or info.markers or info.parts or has_index
                or manifest_name(text) in files):
            continue  # only files of other tools: not a set
        if manifest_name(text) in files and _read_header(target, info, load):
            pass
        else:
            _judge_without_manifest(target, info, has_index, load)
        out.append(info)
    out.sort(key=lambda s: s.name)
    if load:
        protect_bases(out)
    return out


def _read_header(target, info, load):
    """Set *info* complete (or damaged) from its manifest file and its volumes; False if the file
    vanished."""
    info.status, info.has_manifest = COMPLETE, True
    if not load:
        return True
    name = str(info.name)
    try:
        with target.open_read(manifest_name(name)) as raw:
            f = _unsealed(raw, target, info)
            info.header = mf.decode_header(f)
    except FileNotFoundError:
        info.has_manifest = False
        return False  # removed since the listing: judged from the other files
    except (PasswordMissing, WrongPassword) as e:
        # Listed by its files, as far as they tell without the password: never an error.
        mark_locked(info, e)
        return True
    except MANIFEST_ERRORS as e:
        set_damaged(target, info, f"manifest file unreadable ({e})", load)
        return True
    check_volumes(info)
    return True


def mark_locked(info, error):
    """Note on *info* that its sealed manifest stays closed for *error* (PasswordMissing or
    WrongPassword): the set is listed from its files, and reading it raises *error* again."""
    info.encrypted, info.lock_error = True, error
    info.locked = ("no password given" if isinstance(error, PasswordMissing)
                   else "the password given does not open it")


def _unsealed(f, target, info):
    """*f* (a set's manifest file) as plaintext, noting on *info* whether it is sealed."""
    from .archive.crypt import unsealed
    plain = unsealed(f, target, f"the manifest of {info.name}")
    if plain is not f:
        info.encrypted = True
    return plain


def check_volumes(info):
    """Mark a set of ours damaged unless every volume its manifest header names is on the target
    with the size the header records (the listing's sizes: nothing is read). A header read from
    the copy in the last volume lacks that last volume, which holds it."""
    if info.header is None:
        return
    present = {fname: size for fname, size in info.volumes.values()}
    wrong = []
    for v in info.header.get("volumes") or ():
        size = present.get(v.get("name"))
        if size is None:
            wrong.append(f"volume {v.get('name')} is missing")
        elif v.get("bytes") is not None and size != v["bytes"]:
            wrong.append(f"volume {v['name']} is {size} bytes, the manifest says {v['bytes']}")
    if not wrong:
        return
    info.status = DAMAGED
    info.problem = "; ".join([info.problem] * bool(info.problem) + wrong)


def judge(info):
    """Read the manifest header of a set taken for complete unread (``list_sets`` without
    ``load``) and check its volumes, so that its status is a fact; a no-op for other sets."""
    if info.status != COMPLETE or info.header is not None or info.target is None:
        return info
    if not _read_header(info.target, info, True):
        info.status = DAMAGED
        info.problem = "its manifest file is gone since the target was listed (being removed?)"
    return info


def set_damaged(target, info, problem, load=False):
    """Mark *info* damaged for *problem* with its manifest file (unreadable or missing); the copy
    in its last volume stands in when there."""
    info.status, info.problem, info.has_manifest = DAMAGED, problem, False
    info.copy = find_copy(target, info)
    if info.copy is None:
        info.problem += "; no manifest copy in its last volume either: it cannot be restored"
        return
    info.problem += f"; restorable by name from the manifest copy in {info.copy}"
    if load:
        try:
            with open_copy(target, info.copy, str(info.name)) as f:
                info.header = mf.decode_header(f)
        except (PasswordMissing, WrongPassword) as e:
            mark_locked(info, e)
        except _copy_errors() as e:
            info.problem += f" (that copy is unreadable too: {e})"
            info.copy = None


def _tail(target, fname):
    """``(marker, last member, disk)`` of a volume file, or None if it is not a readable zip."""
    try:
        with target.open_read(fname) as f:
            end = read_volume_end(f)
    except (OSError, ValueError):
        return None
    return read_marker(end.comment), end.last_member, end.disk


def _ours(tail, name, index):
    marker = tail[0] if tail else None
    return bool(marker) and marker.get("set") == name and marker.get("volume") == index


def find_copy(target, info):
    """The file name of *info*'s last volume if it is ours and ends with the manifest copy."""
    if not info.volumes:
        return None
    last = max(info.volumes)
    tail = _tail(target, info.volumes[last][0])
    if _ours(tail, str(info.name), last) and tail[1] == mf.member_name(str(info.name)):
        return info.volumes[last][0]
    return None


def _unsupported(info, tail=None):
    """Mark *info* a spanned or split archive: its parts cannot be read as standalone volumes."""
    name = str(info.name)
    files = sorted(info.parts) + [f for f, _ in sorted(info.volumes.values())]
    info.status = UNSUPPORTED
    if tail is not None and tail[2]:
        what = (f"a spanned (split) zip archive: {volume_name(name, 0)} is disk {tail[2] + 1} of "
                f"a multi-part archive")
    else:
        what = "a spanned (split) zip archive"
    info.problem = (f"{what} ({', '.join(files)}), which workbench cannot read; join the parts "
                    f"into one zip elsewhere (Info-ZIP: zip -s 0 {volume_name(name, 0)} --out "
                    f"DIR/{volume_name(name, 0)}) and put it here in their place")


def _judge_without_manifest(target, info, has_index, load):
    """The status of a set without a manifest file, from its volumes and index."""
    name = str(info.name)
    if info.parts and not info.volumes:
        _unsupported(info)
        return
    if not info.volumes:
        if has_index and _index_is_ours(target, name):
            info.status = DAMAGED
            info.problem = "only its index is left (no volumes, no manifest)"
        elif has_index:
            info.status, info.problem = FOREIGN, "no volumes"
        else:  # temporary files only: a run interrupted before its first volume
            info.status, info.ours = INCOMPLETE, list(info.leftovers)
        return
    last = max(info.volumes)
    missing = [i for i in range(last + 1) if i not in info.volumes]
    first = min(info.volumes)
    tails = {first: _tail(target, info.volumes[first][0])}
    if info.parts or (tails[first] is not None and tails[first][2]):
        _unsupported(info, tails[first])
        return
    if not _ours(tails[first], name, first):
        info.status = FOREIGN
        for i in sorted(info.volumes) if load else ():
            if i not in tails:
                tails[i] = _tail(target, info.volumes[i][0])
        info.problem = "; ".join(
            [f"volume {i} is missing" for i in missing]
            + [f"{info.volumes[i][0]} is not a readable zip" for i in sorted(tails)
               if tails[i] is None])
        return
    for i, (fname, _) in info.volumes.items():
        if i not in tails:
            tails[i] = _tail(target, fname)
    not_ours = [info.volumes[i][0] for i in sorted(info.volumes) if not _ours(tails[i], name, i)]
    if tails[last] is not None and tails[last][1] == mf.member_name(name) and not not_ours:
        set_damaged(target, info, "its manifest file is missing", load)
        return
    if not missing and not not_ours and tails[last][1] is not None:
        # The proof of an interrupted run of ours: every volume is ours, none is missing, and
        # the last one was published before the manifest copy was written.
        info.status = INCOMPLETE
        info.ours = ([f for f, _ in info.volumes.values()] + info.leftovers
                     + ([index_name(name)] if has_index and _index_is_ours(target, name) else []))
        return
    info.status = DAMAGED
    info.problem = "; ".join(
        ["its manifest file is missing"] + [f"volume {i} is missing" for i in missing]
        + [f"{f} does not carry this set's marker, or is not a readable zip" for f in not_ours])


def _index_is_ours(target, name):
    """True if the index file of set *name* is an SQLite index of ours naming that set."""
    fname = index_name(name)
    try:
        if file_is_sealed(target, fname):
            # Our own format, under the index's name of a set whose volumes are ours: an index
            # of ours (which set it names is sealed too).
            return True
    except OSError:
        return False
    local = target.local_path(fname)
    if local is not None:
        return index_set_name(local) == name
    import shutil
    import tempfile
    fd, tmp = tempfile.mkstemp(suffix=".sqlite")
    try:
        with os.fdopen(fd, "wb") as out, target.open_read(fname) as src:
            shutil.copyfileobj(src, out, 4 * 1024 * 1024)
        return index_set_name(tmp) == name
    except OSError:
        return False
    finally:
        os.unlink(tmp)


def protect_bases(sets):
    """A set named as base by a committed differential was committed itself: never incomplete.

    Without this, a full whose manifest and last volume were both lost would look like an
    interrupted run, and cleanup would delete the volumes its differentials need.
    """
    by_name = {str(s.name): s for s in sets}
    for s in sets:
        base = by_name.get((s.header or {}).get("base") or "")
        if s.status in (COMPLETE, DAMAGED) and base is not None and base.status == INCOMPLETE:
            base.status, base.ours = DAMAGED, []
            base.problem = (f"its manifest file is missing, and it is the full of {s.name}, "
                            "which needs its volumes")


@contextmanager
def open_copy(target, volume_file, set_name):
    """The manifest copy in *volume_file* on *target*, open for reading (see
    archive.reader.open_manifest_copy: bounded, its CRC-32 checked at its end)."""
    with target.open_read(volume_file) as f, \
            open_manifest_copy(f, set_name, source_of(target)) as member:
        yield member


def read_manifest_of(target, info):
    """The whole manifest of a set of ours: from its file, else from the copy in its last volume
    (a set whose file turns out unreadable becomes damaged, and says so)."""
    name = str(info.name)
    if info.has_manifest:
        try:
            data = target.read_bytes(manifest_name(name))
            doc = mf.decode(plain_bytes(data, target, f"the manifest of {name}"))
            info.encrypted = info.encrypted or is_sealed(data)
            return doc
        except MANIFEST_ERRORS as e:
            set_damaged(target, info, f"manifest file unreadable ({e})", load=False)
            if info.copy is None:
                raise unreadable_manifest(name, e) from None
    if info.status != DAMAGED or info.copy is None:
        raise DamagedSet(f"set {name} is {info.status} ({info.problem or 'no manifest'}) and "
                         "cannot be read; `workbench sets` shows its problem")
    try:
        with target.open_read(info.copy) as f:
            return read_manifest_copy(f, name, source_of(target))
    except _copy_errors() as e:
        raise unreadable_manifest(name, f"the copy in {info.copy} is unreadable: {e}") from None


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


def find_set(sets, name):
    """The SetInfo named *name* (text or SetName) in *sets*; SetNotFound otherwise."""
    for s in sets:
        if str(s.name) == str(name):
            return s
    raise SetNotFound(f"no set named {name} on this target; `workbench sets` lists them")


def base_of(sets, info):
    """The full that *info* depends on (itself for a full or copy), or None if it is gone."""
    if info.name.is_full:
        return info
    if info.header is not None:
        try:
            base = find_set(sets, info.header["base"])
        except SetNotFound:
            return None
        return base if base.status in READABLE else None
    # Kerio's differential: the newest full before it (a copy is outside the chains; whether
    # that full is whole is for the caller to judge: see unusable).
    fulls = [s for s in sets if s.name.kind == "F" and s.status in READABLE
             and s.name.time <= info.name.time]
    return fulls[-1] if fulls else None


def unsupported_set(info):
    """The UnsupportedSet error for an unsupported set (its problem says why)."""
    return UnsupportedSet(f"set {info.name} cannot be read: it is {info.problem}")


def entries_of(target, sets, info, on_error=None):
    """Every entry of the store as *info* recorded it, each with the set and volume holding it.

    For a foreign set, a volume whose central directory cannot be read (or a gap in the
    volumes' numbering) raises CorruptVolume, or, given *on_error*, is reported as
    ``on_error(set name, volume file, message)`` and left out (so a restore can still take what
    the other volumes hold). A path a set lists twice is returned twice (see ``refusal``).
    """
    if info.status == INCOMPLETE:
        raise IncompleteSet(f"set {info.name} is incomplete (its run was interrupted) and cannot be "
                            "used; the next backup removes it")
    if info.status == UNSUPPORTED:
        raise unsupported_set(info)
    if info.status == DAMAGED and info.manifest is None:
        raise DamagedSet(f"set {info.name} is damaged ({info.problem}) and cannot be read")
    if info.manifest is not None:
        return mf.from_columns(info.manifest["entries"])
    return _foreign_entries(target, sets, info, on_error)


def _foreign_entries(target, sets, info, on_error=None):
    own, twice = {}, []
    last = max(info.volumes, default=-1)
    for index in range(last + 1):
        if index not in info.volumes:
            # A gap in the numbering: a lost volume of a set that Kerio wrote.
            message = f"volume {index} is missing (later volumes are present)"
            if on_error is None:
                raise CorruptVolume(f"set {info.name}: {message}; `workbench verify` names what "
                                    "it held")
            on_error(str(info.name), volume_name(str(info.name), index), message)
            continue
        fname = info.volumes[index][0]
        try:
            with target.open_read(fname) as f:
                entries, _ = list_zip(f, str(info.name), index)
        except (_BadZipFile(), OSError, ValueError, EOFError) as e:
            if on_error is None:
                raise CorruptVolume(f"cannot read the directory of volume {fname}: {e}") from None
            on_error(str(info.name), fname, f"cannot read the volume's directory: {e}")
            continue
        for e in entries:
            if e.path in own:
                twice.append(e)  # the same name twice in one set: which is meant is not known
            else:
                own[e.path] = e
    if info.name.kind == "D":
        base = base_of(sets, info)
        if base is not None:
            inherited = {e.path: e for e in _foreign_entries(target, sets, base, on_error)}
            inherited.update(own)
            own = inherited
    return list(own.values()) + twice


def skipped_entries(info):
    """The files *info* recorded without storing them (too large for a volume, say), as Entry
    objects with ``stored_in`` "" and ``skipped`` set to the reason: the manifest header's
    ``skipped`` list (every manifest has one; ``mtime_ns`` and ``mode`` are 0 in those made
    before they were recorded). A differential records its own (it checks such files again), so
    only *info*'s are returned; a set without a manifest (Kerio's) has none."""
    out = []
    for s in (info.header or {}).get("skipped") or ():
        path = s.get("path")
        if not isinstance(path, str):
            continue
        out.append(Entry(path, *classify(path), int(s.get("size") or 0),
                         int(s.get("mtime_ns") or 0), 0, "", 0, 0, 0, 0,
                         int(s.get("mode") or 0), str(s.get("reason") or "oversize")))
    return out


def refusal(entry):
    """Why a restore refuses to write *entry*, or None: an unsafe path (store.unsafe_member_path)
    or a symbolic link. The one rule that restore applies and verify reports."""
    reason = unsafe_member_path(entry.path)
    if reason is not None:
        return f"{reason}; refused"
    if entry.kind == "link":
        return f"member {entry.path!r} is a symbolic link; refused (links are never restored)"
    return None


def listed_twice(entries):
    """The paths *entries* list more than once (a hostile or damaged set): a restore refuses
    them, since which copy is meant cannot be told, and verify names them."""
    seen, twice = set(), set()
    for e in entries:
        if e.path in seen:
            twice.add(e.path)
        seen.add(e.path)
    return twice


def twice_reason(path):
    return (f"member {path!r} is listed more than once in the set; refused (which copy is meant "
            "cannot be told)")


def leftover_files(sets):
    """Files of interrupted runs of ours: our temporary files, and the files proven ours of
    incomplete sets. Only a run holding the lock may remove them (no run of ours is writing)."""
    out = []
    for s in sets:
        out.extend(s.leftovers)
        if s.status == INCOMPLETE:
            out.extend(f for f in s.ours if f not in s.leftovers)
    return out


def remove_set(target, info):
    """Delete the files of a set: the manifest first. Only removal.py and cleanup call this, once
    they have proved the set may go; of an incomplete set only the files proven ours go."""
    if info.status == INCOMPLETE:
        names = list(info.ours)
    else:
        names = info.files
    for fname in names:
        target.remove(fname)


__all__ = ["SetInfo", "list_sets", "find_set", "base_of", "choose_set", "unusable", "judge",
           "check_volumes", "entries_of", "skipped_entries", "refusal", "listed_twice", "twice_reason",
           "resolve_source", "leftover_files", "remove_set", "read_manifest_of", "open_copy",
           "mark_locked",
           "find_copy", "protect_bases", "set_damaged", "unsupported_set", "COMPLETE",
           "INCOMPLETE", "DAMAGED", "FOREIGN", "UNSUPPORTED", "READABLE", "LOCK_NAME"]


def unusable(sets, s):
    """Why a recovery may not choose *s* by itself, or None: it is not complete (incomplete,
    damaged, unsupported, a Kerio set that is not whole), it is being removed, or its full is
    gone or not whole. Reads the manifest headers it needs (``judge``)."""
    judge(s)
    if not s.usable:
        return f"{s.shown_status}" + (f" ({s.problem})" if s.problem else "")
    if s.markers:
        return "being removed by a backup"
    base = base_of(sets, s)
    if base is None:
        return "a differential whose full backup is gone"
    if base is not s and not judge(base).usable:
        return (f"a differential of {base.name}, which is {base.shown_status}"
                + (f" ({base.problem})" if base.problem else ""))
    return None


def choose_set(sets, at=None, passed_over=None):
    """The set a recovery at time *at* uses: the newest restorable set started at or before *at*.

    Restorable means complete (or foreign, as Kerio wrote it, and whole) with its full present
    and whole: an incomplete, damaged or unsupported set is never chosen (a damaged one is
    restored only when named), nor a differential whose full is gone or damaged, nor a set being
    removed. A copy is a full for recovery: the newest of a copy or a full with its newest
    differential is chosen. For a differential the recovery reads its full too (``base_of``);
    with ``differentials = "all"`` each kept differential is a time that can be chosen.

    Parameters
    ----------
    sets : list of SetInfo
        As list_sets returns them.
    at : datetime, optional
        The time to recover to (naive: in the machine's zone, see workbench.times); default:
        the newest restorable set.
    passed_over : list, optional
        Gets ``(set name, why)`` for each newer set not chosen, newest first, so that callers
        can say what they fell back from.

    Returns
    -------
    SetInfo

    Raises
    ------
    NoCompleteBackup
        If no restorable set was started at or before *at*.
    """
    if at is not None:
        at = as_utc(at)
    skipped = []
    for s in sorted(sets, key=lambda s: s.name, reverse=True):
        if at is not None and s.name.time > at:
            continue
        why = unusable(sets, s)
        if why is None:
            if passed_over is not None:
                passed_over.extend(skipped)
            return s
        skipped.append((str(s.name), why))
    when = f" at or before {at.isoformat()}" if at is not None else ""
    not_used = "".join(f"; {n} is {why}" for n, why in skipped[:5])
    raise NoCompleteBackup(f"the target holds no complete backup{when} to restore from{not_used}"
                           "; `workbench sets` lists the sets and their status (a damaged set "
                           "can be restored by name, as far as it can be read)")
