"""``workbench backup``, ``sets``, ``ls`` and ``rotate``: making sets and looking at them."""

import json
import sys

from ..errors import FinishedWithWarnings, WorkbenchError
from ..lock import target_lock
from ..model import skip_text
from ..naming import kind_name
from ..sizes import human_size
from ..removal import resume_removals
from ..rotation import apply_rotation, plan_rotation
from ..sets import FOREIGN, entries_of, find_set, list_sets, skipped_entries
from ..targets import open_target
from .common import (config_from_args, engine_options, json_option, keep_options, print_entries,
                     progress_bar, quiet_option, target_options)


def add_commands(sub):
    """Add ``backup``, ``sets``, ``ls`` and ``rotate`` to the ``workbench`` parser."""
    p = sub.add_parser(
        "backup", help="make a full, differential or copy backup",
        description="Back up the mail server's store and configuration to the target as zip "
        "volumes: full (everything), differential (what changed since the last full) or copy (a "
        "full beside the chains, as Kerio's Start now makes). After the new set is committed, "
        "the differential it replaces and the backups beyond the rotation limits are removed, "
        "and each removal is named.")
    p.add_argument("kind", choices=["full", "differential", "copy"])
    engine_options(p)
    p.add_argument("--encrypt", action="store_true", default=None, help="encrypt the set (as "
                   "the config key encrypt = true): AES-256 zip volumes that 7-Zip opens with "
                   "the password, sealed manifest and index; the password comes from "
                   "$WORKBENCH_PASSWORD (config password_env), the keyring or a prompt")
    p.add_argument("--scheduled", action="store_true", help="run as the scheduler runs a task "
                   "(for cron or a systemd timer): refused with exit code 41 while scheduled "
                   "backups are off (enabled = false), at lower priority when low_priority is "
                   "on, waiting up to grace_time for another backup to finish")
    quiet_option(p)
    json_option(p, "print the result as JSON")
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser("sets", help="list the backup sets on the target",
                       description="List the backup sets on the target, oldest first, with "
                       "their status (complete, incomplete, damaged or unsupported) and what is "
                       "wrong with those that are not complete.")
    target_options(p)
    json_option(p, "one JSON object per set")
    p.set_defaults(func=cmd_sets)

    p = sub.add_parser("ls", help="list the files a set holds",
                       description="List the files of one backup set: size, time, the set that "
                       "holds the data, and path; files skipped at backup are listed as not in "
                       "the backup.")
    p.add_argument("set", metavar="SET", help="the set's name, e.g. F20261126T010000Z")
    target_options(p)
    json_option(p, "one JSON object per file")
    p.set_defaults(func=cmd_ls)

    p = sub.add_parser("rotate", help="apply rotation (keep at most N complete backups)",
                       description="Remove the backups beyond the rotation limits: at most "
                       "--keep complete backups (a full with its differentials) and --keep-copies "
                       "copies. Damaged, unsupported and foreign sets that are not whole are "
                       "kept; a set being read is removed later.")
    target_options(p)
    keep_options(p)
    p.add_argument("--dry-run", action="store_true", help="show what is kept or removed and "
                   "why; remove nothing")
    p.set_defaults(func=cmd_rotate)


def cmd_backup(args):
    if getattr(args, "scheduled", False) and args.kind == "copy":
        raise WorkbenchError("--scheduled runs a scheduled task, a full or a differential; a copy "
                             "is made on demand (Start now), without it")
    cfg = config_from_args(args)
    callback, close = progress_bar(args, args.kind)
    try:
        # through the runner: status file, log file, after_backup and status e-mail, as for
        # scheduled runs (workbench.service.runner)
        from ..service.runner import run_backup
        r = run_backup(args.kind, config=cfg, progress=callback,
                       trigger="schedule" if getattr(args, "scheduled", False) else "manual")
    finally:
        close()
    warnings = list(getattr(getattr(r, "report", None), "warnings", None) or ())
    outcome = FinishedWithWarnings(r.set_name, warnings) if warnings else None
    if args.json:
        print(json.dumps({**_result_json(r), "warnings": warnings}))
        return _warned(outcome)
    print(f"{r.set_name}: {kind_name(r.kind)} backup, {r.files} files, {r.stored} stored, "
          f"{human_size(r.bytes_in)} in, {human_size(r.bytes_out)} out, {len(r.volumes)} "
          f"volumes, {r.duration:.1f} s")
    if r.note:
        print(f"note: {r.note}")
    for s in r.skipped:
        print(f"skipped {s['path']} ({human_size(s['size'])}): not in the backup, "
              f"{skip_text(s['reason'])}")
    for u in r.unreadable:
        print(f"unreadable {u['path']}: {u['error']}")
    for d in r.removed:
        print(f"removed {d['set']}: {d['reason']}")
    for d in r.postponed:
        print(f"postponed removal of {d['set']}: {d['reason']}")
    return _warned(outcome)


def _warned(outcome):
    """The exit status of a committed backup: 0, or FinishedWithWarnings' (said on stderr)."""
    if outcome is None:
        return 0
    print(f"workbench: warning: {outcome}", file=sys.stderr)
    return outcome.exit_code


def _result_json(r):
    return {"set": r.set_name, "kind": r.kind, "requested": r.requested, "base": r.base,
            "started": r.started.isoformat(), "finished": r.finished.isoformat(),
            "files": r.files, "stored": r.stored, "bytes_in": r.bytes_in,
            "bytes_out": r.bytes_out, "volumes": r.volumes, "skipped": r.skipped,
            "unreadable": r.unreadable, "removed": r.removed, "postponed": r.postponed,
            "note": r.note, "compression_level": r.compression_level,
            "compression_chosen": r.compression_chosen}


def set_record(s):
    """The JSON record of one set, as ``workbench sets --json`` prints it."""
    m = s.header or {}
    stats = m.get("stats", {})
    return {
        # base: a differential's full, null for a full or copy (as catalog.read_sets says)
        "name": str(s.name), "kind": s.name.kind,
        "base": (s.base if s.usable else m.get("base")) if s.name.kind == "D" else None,
        "started": m.get("started") or s.name.time.isoformat(), "finished": m.get("finished"),
        "status": s.shown_status, "foreign": s.status == FOREIGN,
        "files": stats.get("files"), "bytes_in": stats.get("bytes_in"),
        "bytes_out": sum(size for _, size in s.volumes.values()),
        "volumes": len(s.volumes), "skipped": [x["path"] for x in m.get("skipped", [])],
        "problem": s.problem, "other_files": sorted(s.strays),
        # an encrypted set whose manifest this password (or none) does not open: listed from
        # its files alone
        "encrypted": s.encrypted, "locked": s.locked or None,
    }


def cmd_sets(args):
    cfg = config_from_args(args)
    target = open_target(cfg.target_or_default, **cfg.target_options)
    records = [set_record(s) for s in list_sets(target)]
    if args.json:
        for r in records:
            print(json.dumps(r))
        return 0
    print(f"{'name':<18} {'status':<11} {'base':<18} {'files':>8} {'bytes_out':>14} {'volumes':>7}"
          "  problem")
    for r in records:
        notes = [r["problem"]] * bool(r["problem"]) + [
            f"encrypted ({r['locked']}): the manifest cannot be read"] * bool(r["locked"]) + [
            f"also on the target, not part of it (left alone): {', '.join(r['other_files'])}"
        ] * bool(r["other_files"])
        print(f"{r['name']:<18} {r['status']:<11} {r['base'] or '-':<18} "
              f"{r['files'] if r['files'] is not None else '-':>8} {r['bytes_out']:>14} "
              f"{r['volumes']:>7}" + (f"  {'; '.join(notes)}" if notes else ""))
    return 0


def cmd_ls(args):
    cfg = config_from_args(args)
    target = open_target(cfg.target_or_default, **cfg.target_options)
    sets = list_sets(target)
    info = find_set(sets, args.set)
    print_entries(entries_of(target, sets, info) + skipped_entries(info), args.json)
    return 0


def cmd_rotate(args):
    cfg = config_from_args(args)
    target = open_target(cfg.target_or_default, **cfg.target_options)
    if args.dry_run:
        for d in plan_rotation(list_sets(target), cfg.keep, cfg.keep_copies):
            print(f"{d.set}  {d.action:<6}  {d.reason}")
        return 0
    with target_lock(target, cfg.lock_stale_after):
        resume_removals(target, list_sets(target))
        for d in apply_rotation(target, cfg.keep, stale_after=cfg.lock_stale_after,
                                keep_copies=cfg.keep_copies):
            print(f"{d.set}  {'deleted' if d.action == 'delete' else 'postponed'}  {d.reason}")
    return 0
