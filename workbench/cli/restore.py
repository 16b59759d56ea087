"""``workbench restore`` and ``workbench verify`` (thin layers over workbench.restorer and
workbench.verify).

``restore`` takes kmsrecover's flags. Its ``-s/--store DIR`` is kmsrecover's "write the store to
DIR", so this command does not take the shared option ``--store`` (the server directory that
backups read): the live server directory of ``--into-live`` is ``--to DIR`` or the config's
``store``.
"""

import json
import sys

from ..model import not_in_backup_text, skip_text
from ..restorer import CONFLICTS
from ..sizes import human_size
from ..selection import MASKS
from .common import (config_from_args, config_option, json_option, print_entries, progress_bar,
                     quiet_option, target_options)


def add_commands(sub):
    """Add ``restore`` and ``verify`` to the ``workbench`` parser."""
    p = sub.add_parser(
        "restore", help="restore a backup, part of it, or single messages",
        description="Restore from the newest complete backup (a copy, or a full with its "
        "newest differential), or SOURCE, or the state --at a time. SOURCE is a set name, a "
        "backup directory (its newest complete backup) or a set's first volume X.zip (that set "
        "with its chain). A damaged or incomplete set is never chosen by itself: the restore "
        "says which it passed over. Nothing is overwritten unless --conflict overwrite; nothing "
        "is ever deleted.")
    p.add_argument("source", nargs="?", metavar="SOURCE",
                   help="set name, backup directory, or first volume (X.zip)")
    p.add_argument("--to", help="destination directory (gets the server directory layout); with "
                   "--into-live, the live server directory (default: 'store' of the config)")
    p.add_argument("-s", "--store", dest="store_dir", metavar="DIR",
                   help="write the store (store/...) into DIR, as kmsrecover -s")
    p.add_argument("-c", "--cfgdir", dest="cfg_dir", metavar="DIR",
                   help="write the configuration (mailserver.cfg, users.cfg, license/, sslcert/, "
                   "sslca/) into DIR, as kmsrecover -c")
    p.add_argument("-d", "--domain", help="only this domain's mail")
    p.add_argument("-u", "--user", help="only this user's mail (user name, as in the store)")
    p.add_argument("-f", "--folder", help="only this folder and its subfolders, e.g. INBOX or "
                   "INBOX/Projects (needs -d and -u)")
    p.add_argument("-m", "--mask", help="comma list of parts: " + ", ".join(MASKS))
    p.add_argument("-l", "--list", action="store_true", help="list what the backup holds (with "
                   "the selection applied) instead of restoring")
    p.add_argument("--at", metavar="TIME", help="the newest state at or before TIME (ISO 8601 or "
                   "'YYYY-MM-DD HH:MM'; without a zone, in the config's timezone, else local "
                   "time)")
    p.add_argument("--path", action="append", dest="paths", metavar="PATH",
                   help="a single file by server-relative path (repeatable)")
    p.add_argument("--message-id", action="append", dest="message_ids", metavar="ID",
                   help="a single message by Message-ID (repeatable)")
    p.add_argument("--dry-run", action="store_true", help="print the plan; write nothing")
    p.add_argument("--conflict", choices=list(CONFLICTS), default="skip",
                   help="existing files: skip (default), rename or overwrite")
    p.add_argument("--into-live", action="store_true", help="put messages into the live store's "
                   "folders under new names and mark the folders for reindexing")
    p.add_argument("--to-user", help="with --into-live: into this mailbox (user or user@domain)")
    p.add_argument("--to-folder", help="with --into-live: into this (new) folder, e.g. "
                   "'Restored 2026-11-26'")
    config_option(p)
    p.add_argument("--target", metavar="DIR_OR_URL", help="the backup directory or an smb:// URL "
                   "(default: the config's target, else <store>/store/backup of its store)")
    json_option(p, "with --list: one JSON object per file")
    quiet_option(p)
    p.set_defaults(func=cmd_restore)

    p = sub.add_parser("verify", help="check that sets can be restored",
                       description="Check that the sets on the target (or SET) can be "
                       "restored, and name every problem: 'catalog' checks the manifests, the "
                       "volumes and their sizes, and the member names a restore would refuse; "
                       "'data' also reads every member and checks its CRC-32; 'sample=P' does so "
                       "for a random P percent of them. Exit code 51 when anything is wrong.")
    p.add_argument("set", nargs="?", metavar="SET", help="set name, backup directory or X.zip "
                   "(default: every set on the target)")
    p.add_argument("--level", default="data", help="catalog, data (default) or sample=P")
    target_options(p)
    quiet_option(p)
    json_option(p, "one JSON object per problem")
    p.set_defaults(func=cmd_verify)


def cmd_restore(args):
    from ..errors import RestoreIncomplete, SelectionError
    from ..restorer import plan_restore, restore
    cfg = config_from_args(args)  # restore's -s/--store is not the engine's --store
    selection = dict(at=args.at, domain=args.domain, user=args.user, folder=args.folder,
                     mask=args.mask, paths=args.paths, message_ids=args.message_ids)
    if args.list:
        plan = plan_restore(None, args.source, config=cfg, **selection)
        _print_list(plan, args.json)
        return 0
    if not (args.to or args.store_dir or args.cfg_dir or args.into_live):
        raise SelectionError("where to? give --to DIR, -s/--store DIR and/or -c/--cfgdir DIR, "
                             "or --into-live (or --list to see what the backup holds)")
    where = dict(store_dir=args.store_dir, cfg_dir=args.cfg_dir, conflict=args.conflict,
                 into_live=args.into_live, to_user=args.to_user, to_folder=args.to_folder)
    if args.dry_run:
        plan = plan_restore(args.to, args.source, config=cfg, **where, **selection)
        print(plan.render())
        return 0
    callback, close = progress_bar(args, "restore")
    try:
        r = restore(args.to, args.source, config=cfg, progress=callback, **where, **selection)
    except RestoreIncomplete as e:
        close()
        _print_result(e.result)
        for path, reason in e.failures:
            print(f"failed {path}: {reason}", file=sys.stderr)
        raise
    finally:
        close()
    _print_result(r)
    return 0


def _say_passed_over(passed_over, chosen):
    """Say on stderr which newer sets the default choice did not use, and why."""
    for name, why in passed_over:
        print(f"note: {name} not used: {why}; {chosen}, the newest usable backup, is used instead",
              file=sys.stderr)


def _say_not_in_backup(entries):
    """Name the selected files the backup skipped: no restore can bring them back."""
    if entries:
        print(not_in_backup_text(e.skipped for e in entries) + ":")
        for e in entries:
            print(f"  {e.path} ({human_size(e.size)})")


def _print_result(r):
    _say_passed_over(r.passed_over, r.set_name)
    print(f"restored {r.files} files ({human_size(r.bytes)}) of {r.set_name} from "
          f"{', '.join(r.sets_used)} into {r.destination} in {r.duration:.2f} s"
          + (f"; {len(r.skipped)} existing files skipped" if r.skipped else "")
          + (f"; {len(r.renamed)} written beside existing ones" if r.renamed else ""))
    _say_not_in_backup(r.not_in_backup)
    for src, dest in r.placed:
        print(f"placed {src} as {dest}")
    for m in r.marked:
        print(f"index set aside for rebuild: {m}")


def _print_list(plan, as_json):
    _say_passed_over(plan.passed_over, plan.set.name)
    print(f"# set {plan.set.name}: {len(plan.entries)} files, {human_size(plan.bytes)}"
          + (f"; {not_in_backup_text(e.skipped for e in plan.not_in_backup)}"
             if plan.not_in_backup else ""), file=sys.stderr)
    print_entries(plan.entries + plan.not_in_backup, as_json)
    for path, reason in plan.refused:
        print(f"unreadable {path}: {reason}", file=sys.stderr)


def cmd_verify(args):
    from ..errors import VerifyFailed
    from ..verify import verify
    cfg = config_from_args(args)
    callback, close = progress_bar(args, "verify")
    skipped = []
    try:
        problems = verify(args.set, level=args.level, config=cfg, progress=callback,
                          skipped=skipped)
    finally:
        close()
    for p in problems:
        if args.json:
            print(json.dumps(p.as_dict()))
        else:
            print(f"{p.set or '-'} {p.volume or '-'} {p.path or '-'} "
                  f"{('(' + p.user + ') ') if p.user else ''}{p.problem}")
    for name, e in skipped:  # not problems of the sets, but no restore can bring them back
        print(f"note: {name}: {e.path} ({human_size(e.size)}) is not in the backup: "
              f"{skip_text(e.skipped)}", file=sys.stderr)
    if problems:
        raise VerifyFailed(problems)
    print(f"verify --level {args.level}: no problems"
          + (f" ({not_in_backup_text(e.skipped for _, e in skipped)})" if skipped else ""),
          file=sys.stderr)
    return 0
