"""Restore a backup, or part of it: whole sets, kmsrecover-style selections, single messages,
point-in-time states, and messages put back into a live store.

A restore first makes a plan (``plan.py``: which set, which of its entries, read from which
volumes, written where, and what happens to files already there); ``--dry-run`` only renders it.
Single messages are found by ``single.py``; ``write.py`` carries the plan out. Selections follow
Kerio's ``kmsrecover`` (workbench.selection): ``domain``, ``user``, ``folder`` (the folder *and its
subfolders*) narrow the mail; ``mask`` picks parts (``cfg``, ``mail``, ``lists``, ``license``,
``sslca``, ``sslcert``, ``spam``). A domain, user or folder without a mask means ``mask="mail"``; no
selection at all means everything (``store/archive`` and other files included).

The package is not named ``restore``: ``workbench.restore`` is the public function.
"""

from ..config import Config, validate
from ..errors import SelectionError
from ..lease import ReadLease
from ..selection import Selection
from ..sets import resolve_source
from ..targets import open_target
from .plan import CONFLICTS, Item, Layout, Plan, check_member_path, make_plan
from .write import execute_plan


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
    target = open_target(target_url, **cfg.target_options)
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
    CorruptVolume, UnsafePath, MemberTooLarge
        If the restore of single files (*paths*, *message_ids*) failed for its one file: its
        volume is missing or damaged, its name unsafe, or its declared size refused
        (``error.result`` holds the RestoreResult).
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


__all__ = ["restore", "plan_restore", "make_plan", "execute_plan", "Plan", "Item",
           "Layout", "check_member_path", "CONFLICTS"]
