"""Single files of a set for ``--path`` and ``--message-id``, found without reading more than they
need: the set's SQLite index when it has one (no manifest is loaded), else the Message-IDs its
manifests hold, else (a foreign set) the headers of its messages, read from the volumes.

Message-IDs are compared in workbench.headers' one normal form; headers are parsed by
workbench.headers alone.
"""

import os
import sqlite3
import threading
from collections import defaultdict

from ..archive import manifest as mf
from ..archive.compress import decompressor
from ..archive.crypt import is_sealed, unseal_to
from ..archive.index import lookup, lookup_message_id
from ..archive.reader import read_payload, read_volume
from ..errors import SealedFileDamaged, SelectionError
from ..headers import normalize_message_id, parse_headers
from ..lazylog import get_logger
from ..naming import index_name
from ..sets import COMPLETE, DAMAGED, base_of, entries_of
from .source import load_manifest, volume_files

log = get_logger("workbench.restore")


def _index_file(target, info):
    """A local path of *info*'s SQLite index, or None (foreign set, or no index)."""
    name = index_name(str(info.name))
    local = target.local_path(name)
    if local is not None and not _sealed(local):
        return local if os.path.isfile(local) else None
    if local is not None or info.encrypted:
        return _unsealed_index(target, name)
    try:
        data = target.read_bytes(name)
    except OSError:
        return None
    import tempfile
    fd, tmp = tempfile.mkstemp(suffix=".sqlite")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return tmp


def _sealed(path):
    try:
        with open(path, "rb") as f:
            return is_sealed(f.read(8))
    except OSError:
        return False


def _unsealed_index(target, name):
    """A local temporary copy of a sealed index, decrypted (the password is checked first:
    WrongPassword before anything is restored); None if it is missing or damaged."""
    import tempfile
    fd, tmp = tempfile.mkstemp(suffix=".sqlite")
    os.close(fd)
    try:
        unseal_to(target, name, tmp, f"the index {name}")
    except (OSError, SealedFileDamaged):
        os.unlink(tmp)
        return None
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp


def single_entries(target, sets, info, selection, skipped=()):
    """Entries for ``--path`` / ``--message-id``: from the set's index when it has one (no
    manifest is loaded), else from all entries; SelectionError naming what is not in the set.
    A path among *skipped* (entries the set recorded without storing them) is not an error:
    the plan reports it as not in the backup."""
    found, all_entries = [], None
    index = _index_file(target, info) if info.status in (COMPLETE, DAMAGED) else None

    def everything():
        nonlocal all_entries
        if all_entries is None:
            load_manifest(target, sets, info)
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
            try:
                hits = {e.path: e for e in lookup(index, selection.paths)}
            except sqlite3.Error as e:
                index_failed(e)
        recorded = {e.path for e in skipped}  # not stored: no need to look further
        missing = [p for p in selection.paths if p not in hits and p not in recorded]
        if missing:  # not in the index (or none): the manifest has the last word
            wanted = set(missing)
            hits.update((e.path, e) for e in everything() if e.path in wanted)
            if index is not None and wanted & hits.keys():
                log.warning("index %s of set %s lacks %s, which its manifest lists",
                            index_name(str(info.name)), info.name,
                            ", ".join(sorted(wanted & hits.keys())))
        missing = [p for p in selection.paths if p not in hits and p not in recorded]
        if missing:
            raise SelectionError(f"not in set {info.name}: {', '.join(missing)} (paths are relative "
                                 "to the server directory, e.g. store/mail/<domain>/<user>/INBOX/"
                                 "#msgs/00000001.eml)")
        found += [hits[p] for p in selection.paths if p in hits]
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
        load_manifest(target, sets, s)
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
    plan_volumes = volume_files(sets, messages)
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
    from concurrent.futures import ThreadPoolExecutor  # foreign sets only
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
            head = decompressor().decompress(payload, 256 * 1024)
        else:
            head = payload[:256 * 1024]
    except Exception:  # a damaged member simply does not match
        return None
    return parse_headers(head)["message_id"]
