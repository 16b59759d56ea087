"""Walk a Kerio Connect server directory and classify every path of its store.

The server directory holds ``mailserver.cfg``, ``users.cfg``, ``license/``, ``sslcert/`` (and
``sslca/``) beside ``store/``; mail lives in ``store/mail/<domain>/<user>/<folder>/#msgs/*.eml`` with
per-folder ``*.fld`` files, public folders in ``store/mail/<domain>/#public/``. The walk never enters the
backup target, ``store/backup`` (the manual's default target), or any directory holding backup volumes.
"""

import os
import re
import stat
from operator import attrgetter

from .errors import StoreNotFound
from .records import Record

# Top-level directories of the server directory that are backed up, with the kind of their files.
_TOP_DIRS = {"license": "license", "sslcert": "certificate", "sslca": "certificate", "store": None}
# Directories under store/ that hold no data worth restoring (or are backups themselves).
_SKIPPED_STORE_DIRS = {"backup", "logs", "tmp"}
_SURROGATE = re.compile("[\ud800-\udfff]")
_VOLUME_FILE = re.compile(r"[FDC]\d{8}T\d{6}Z(\.\d+)?\.zip")
_O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


class StoreFile(Record):
    """A regular file found by the walk; ``path`` is relative to the server directory, with ``/``."""

    _fields = __slots__ = ("path", "kind", "domain", "user", "folder", "size", "mtime_ns", "mode")

    def __init__(self, path, kind, domain, user, folder, size, mtime_ns, mode=0):
        self.path = path
        self.kind = kind
        self.domain = domain        # str or None, as are user and folder
        self.user = user
        self.folder = folder
        self.size = size
        self.mtime_ns = mtime_ns
        self.mode = mode            # permission bits (st_mode & 0o7777)


#: Kinds of the files that each hold one message (``<8 hex>.eml``): mailbox, public-folder and
#: archive mail. Their headers are kept in the manifest, and the catalog lists them as messages.
MESSAGE_KINDS = ("message", "public", "archive")
MESSAGE_SUFFIX = ".eml"


def is_message(kind, path):
    """True for a message file: of a :data:`MESSAGE_KINDS` kind, named ``*.eml``."""
    return kind in MESSAGE_KINDS and path.endswith(MESSAGE_SUFFIX)


def classify(path):
    """Return ``(kind, domain, user, folder)`` for a server-relative path.

    >>> classify("store/mail/example.com/jane/INBOX/Projects/#msgs/0000001a.eml")
    ('message', 'example.com', 'jane', 'INBOX/Projects')
    """
    parts = path.split("/")
    top = parts[0]
    if len(parts) == 1:
        return ("config" if top.endswith(".cfg") else "other"), None, None, None
    if top in ("license",):
        return "license", None, None, None
    if top in ("sslcert", "sslca"):
        return "certificate", None, None, None
    if top != "store" or len(parts) < 3:
        return "other", None, None, None
    area = parts[1]
    if area == "mail" and len(parts) >= 4:
        domain, owner = parts[2], parts[3]
        rest = parts[4:]
        if "#msgs" in rest:
            folder = "/".join(rest[:rest.index("#msgs")]) or None
        else:
            folder = "/".join(rest[:-1]) or None
        if owner == "#public":
            return "public", domain, "#public", folder
        if len(rest) == 0:
            return "other", domain, None, None
        kind = "message" if "#msgs" in rest else "folder"
        return kind, domain, owner, folder
    if area == "archive":
        return "archive", (parts[2] if len(parts) > 3 else None), None, None
    if area == "lists":
        return "lists", (parts[2] if len(parts) > 3 else None), None, None
    if area.startswith("spam") or area == "bayes":
        return "spam", None, None, None
    return "other", None, None, None


def unsafe_member_path(path):
    """Why a member path must never be written, or None for a safe one: the one rule of what a
    restore writes and a verify accepts. Safe is relative, ``/``-separated, without ``..``,
    ``.`` or empty parts, backslashes, a drive letter or a NUL.

    >>> unsafe_member_path("store/mail/a/b/#msgs/00000001.eml") is None, unsafe_member_path("/x")
    (True, "member '/x' has an absolute or non-portable path")
    """
    if (not path or path.startswith(("/", "\\")) or "\\" in path or "\0" in path
            or (len(path) > 1 and path[1] == ":")):
        return f"member {path!r} has an absolute or non-portable path"
    if any(p in ("", ".", "..") for p in path.split("/")):
        return f"member {path!r} contains '..' or empty parts"
    return None


def _same_dir(a, b):
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


class StoreRun(Record):
    """Files of one directory that the walk finds one after the other (a directory's files come
    in several runs when subdirectories sort between them). ``directory`` is relative to the
    server directory ("" for its own files) and classifies every file of the run alike."""

    _fields = __slots__ = ("directory", "kind", "domain", "user", "folder", "names", "sizes",
                           "mtimes", "modes")

    def __init__(self, directory, kind, domain, user, folder, names, sizes, mtimes, modes):
        self.directory = directory
        self.kind = kind
        self.domain = domain        # str or None, as are user and folder
        self.user = user
        self.folder = folder
        self.names = names
        self.sizes = sizes
        self.mtimes = mtimes
        self.modes = modes          # permission bits (st_mode & 0o7777)

    def path(self, i):
        return f"{self.directory}/{self.names[i]}" if self.directory else self.names[i]


def walk_store(server_dir, exclude=(), on_error=None):
    """Yield a StoreFile for every regular file of the server directory that a backup takes.

    Parameters
    ----------
    server_dir : str
        The server directory (the one holding ``store/`` and ``mailserver.cfg``).
    exclude : iterable of str
        Directories never entered (the backup target, when it lies inside the server directory).
    on_error : callable(path, message), optional
        Called for every unreadable directory or file; the walk goes on.

    Files are yielded in a stable order (sorted by name, depth first) so volumes come out the same
    for the same store. Symbolic links are not followed and not backed up (reported through on_error).
    """
    for run in walk_store_runs(server_dir, exclude, on_error):
        for i, name in enumerate(run.names):
            yield StoreFile(run.path(i), run.kind, run.domain, run.user, run.folder,
                            run.sizes[i], run.mtimes[i], run.modes[i])


def walk_store_runs(server_dir, exclude=(), on_error=None):
    """The walk of walk_store, as StoreRun objects: the same files in the same order, without an
    object per file (a backup of a million files appends them to its table a run at a time)."""
    return _walk_runs(server_dir, walk_excluded(server_dir, exclude),
                      on_error or (lambda path, message: None))


def walk_excluded(server_dir, exclude):
    """The directories of *exclude* that a walk of *server_dir* leaves out (those that exist);
    StoreNotFound unless *server_dir* is a server directory."""
    if not os.path.isdir(server_dir):
        raise StoreNotFound(f"store directory {server_dir} does not exist; set 'store' to the "
                            "server directory (the one holding store/ and mailserver.cfg)")
    if not os.path.isdir(os.path.join(server_dir, "store")) and not os.path.isfile(
            os.path.join(server_dir, "mailserver.cfg")):
        raise StoreNotFound(f"{server_dir} holds neither store/ nor mailserver.cfg; set 'store' to "
                            "the server directory (Kerio's installation directory)")
    return [e for e in exclude if e and os.path.isdir(e)]


def _walk_runs(server_dir, excluded, report):
    def listing(rel):
        """``(descriptor, sorted entries)`` of directory *rel*, or None if it is unreadable or
        holds backups. Entries are listed by descriptor, so that each one's stat resolves only
        its own name (not the whole path again)."""
        full = os.path.join(server_dir, rel) if rel else server_dir
        try:
            fd = os.open(full, os.O_RDONLY | _O_DIRECTORY | _O_CLOEXEC)
        except OSError as e:
            report(rel, f"cannot read directory: {e.strerror or e}")
            return None
        try:
            with os.scandir(fd) as it:
                items = sorted(it, key=_NAME)
        except OSError as e:
            os.close(fd)
            report(rel, f"cannot read directory: {e.strerror or e}")
            return None
        # Whether a name ends in ".zip", for all names at once (no Python work per file).
        if rel and ".zip\0" in "\0".join(map(_NAME, items)) + "\0" and any(
                d.name.endswith(".zip") and _VOLUME_FILE.fullmatch(d.name) for d in items):
            os.close(fd)
            report(rel, "skipped: holds backup volumes")
            return None
        return fd, items

    # Depth first with an explicit stack: a recursive generator would pass every file up
    # through each level of ``yield from``, which cost a third of the walk.
    top = listing("")
    if top is None:
        return
    stack = [(top[0], "", iter(top[1]), None)]  # (descriptor, rel, entries, run being gathered)
    try:
        while stack:
            fd, rel, items, run = stack[-1]
            d = next(items, None)
            if d is None:
                stack.pop()
                os.close(fd)
                if run is not None and run.names:
                    yield run
                continue
            name = d.name
            if not name.isascii() and _SURROGATE.search(name):
                # Zip names, the manifest and the index all carry UTF-8: say so rather than crash.
                report(f"{rel}/{name}" if rel else name,
                       "file name is not valid UTF-8; not backed up")
                continue
            try:
                st = d.stat(follow_symlinks=False)
            except OSError as e:
                report(f"{rel}/{name}" if rel else name, f"cannot stat: {e.strerror or e}")
                continue
            mode = st.st_mode
            if stat.S_ISREG(mode):
                if not rel and not name.endswith(".cfg"):
                    continue
                if run is None:
                    # Every file of a directory classifies alike: work it out once.
                    run = StoreRun(rel, *(classify(f"{rel}/_") if rel else classify(name)),
                                   [], [], [], [])
                    stack[-1] = (fd, rel, items, run)
                run.names.append(name)
                run.sizes.append(st.st_size)
                run.mtimes.append(st.st_mtime_ns)
                run.modes.append(mode & 0o7777)
            elif stat.S_ISDIR(mode):
                if not rel and name not in _TOP_DIRS:
                    continue
                if rel == "store" and name in _SKIPPED_STORE_DIRS:
                    continue
                child = f"{rel}/{name}" if rel else name
                if excluded and any(_same_dir(os.path.join(server_dir, child), e)
                                    for e in excluded):
                    continue
                sub = listing(child)
                if sub is not None:
                    if run is not None and run.names:  # the files so far come first
                        yield run
                        stack[-1] = (fd, rel, items, StoreRun(
                            rel, run.kind, run.domain, run.user, run.folder, [], [], [], []))
                    stack.append((sub[0], child, iter(sub[1]), None))
            elif stat.S_ISLNK(mode):
                report(f"{rel}/{name}" if rel else name, "skipped: symbolic link")
    finally:
        for fd, _, _, _ in stack:
            os.close(fd)


_NAME = attrgetter("name")
