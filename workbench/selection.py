"""What part of a backup a restore takes: Kerio ``kmsrecover``'s selections, the one home of
their rule.

``domain``, ``user`` and ``folder`` narrow the mail to a domain, a mailbox, a folder *and its
subfolders* (on disk a subfolder lives inside its parent's directory; domain and user compare
without case, as Kerio's names do); ``mask`` picks parts (``cfg``, ``mail``, ``lists``,
``license``, ``sslca``, ``sslcert``, ``spam``). A domain, user or folder without a mask means
``mask="mail"``; no selection at all means everything. Restore (workbench.restorer) applies
:meth:`Selection.matches` to each entry; the catalog's recovery plan applies the same field tests
to its columns. A leaf module: it imports only workbench.errors.
"""

from .errors import SelectionError
from .records import FrozenRecord


MASKS = ("cfg", "mail", "lists", "license", "sslca", "sslcert", "spam")
CONFIG_FILES = ("mailserver.cfg", "users.cfg")


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


class Selection(FrozenRecord):
    """What part of a set to restore (all fields optional; nothing given means everything).

    ``paths`` and ``message_ids`` pick single files; they cannot be combined with ``domain``,
    ``user``, ``folder`` or ``mask``.
    """

    _fields = ("domain", "user", "folder", "mask", "paths", "message_ids")

    def __init__(self, domain=None, user=None, folder=None, mask=None, paths=(), message_ids=()):
        mask = parse_mask(mask)
        paths = tuple(p.strip().lstrip("./") if p.startswith("./") else p.strip()
                      for p in paths or ())
        if folder and not (domain and user):
            raise SelectionError(f"--folder {folder!r} needs --domain and --user (as in "
                                 "kmsrecover)")
        if folder is not None:
            folder = folder.strip("/")
        self.__dict__.update(domain=domain, user=user, folder=folder, mask=mask, paths=paths,
                             message_ids=tuple(message_ids or ()))
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
        """True if *entry* (an Entry) is selected (single-message picks aside)."""
        masks = self.masks
        part = mask_of(entry.path, entry.kind)
        if masks is not None and part not in masks:
            return False
        if part == "mail" and self.scoped:
            return self.in_scope(entry.domain, entry.user, entry.folder)
        return True

    # The scope test, field by field: the catalog applies each to the distinct values of its
    # columns (workbench.catalog.recovery), restore to each entry, so both follow one rule.

    def domain_matches(self, domain):
        """True if a file of *domain* (as store.classify names it) is in the scope's domain."""
        return not self.domain or (domain is not None and domain.lower() == self.domain.lower())

    def user_matches(self, user):
        """True if a file of mailbox *user* is in scope; a mail file outside any mailbox (user
        None) never is, once the selection is scoped."""
        return user is not None and (not self.user or user.lower() == self.user.lower())

    def folder_matches(self, folder):
        """True if a file of *folder* is in the scope's folder or one of its subfolders."""
        return not self.folder or (folder is not None and (
            folder == self.folder or folder.startswith(self.folder + "/")))

    def in_scope(self, domain, user, folder):
        """True if a mail file of this place (store.classify's domain, user and folder) is in
        the scope of ``domain``, ``user`` and ``folder``."""
        return (self.domain_matches(domain) and self.user_matches(user)
                and self.folder_matches(folder))


__all__ = ["Selection", "parse_mask", "mask_of", "MASKS", "CONFIG_FILES"]
