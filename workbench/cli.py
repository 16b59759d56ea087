"""The ``workbench`` command: a thin layer over the library.

Each error class has its own exit code (see errors.py); 1 means an unexpected error (one line,
the traceback too with ``-v``); 3 a backup that finished with warnings (files it could not read).
"""

import argparse
import importlib
import json
import logging
import sys
import traceback
from datetime import datetime, timezone

from .config import load_config
from .errors import FinishedWithWarnings, WorkbenchError
from .lock import target_lock
from .naming import kind_name
from .removal import resume_removals
from .rotation import apply_rotation, plan_rotation
from .secrets import attach_mask, mask_url
from .sets import COMPLETE, DAMAGED, FOREIGN, INCOMPLETE, entries_of, find_set, list_sets
from .targets import open_target


def _engine_options(p):
    """Options shared by every command that reads or writes sets."""
    p.add_argument("--config", help="TOML config file (default: $WORKBENCH_CONFIG)")
    p.add_argument("--store", help="server directory (holds store/, mailserver.cfg, users.cfg)")
    p.add_argument("--target", help="backup directory or smb:// URL (default: <store>/store/backup)")
    p.add_argument("--volume-size", dest="volume_size", help="largest volume, e.g. 2GiB, 500MB")
    p.add_argument("--keep", type=int, help="complete backups to keep")
    p.add_argument("--min-free", dest="min_free", help="free space required on the target")
    p.add_argument("--differentials", choices=["latest", "all"])
    p.add_argument("--oversize", choices=["skip", "own-volume"])
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def build_parser():
    parser = argparse.ArgumentParser(prog="workbench", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("backup", help="make a full, differential or copy backup")
    p.add_argument("kind", choices=["full", "differential", "copy"])
    _engine_options(p)
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser("sets", help="list the backup sets on the target")
    _engine_options(p)
    p.add_argument("--json", action="store_true", help="one JSON object per set")
    p.set_defaults(func=cmd_sets)

    p = sub.add_parser("ls", help="list the files a set holds")
    p.add_argument("set")
    _engine_options(p)
    p.add_argument("--json", action="store_true", help="one JSON object per file")
    p.set_defaults(func=cmd_ls)

    p = sub.add_parser("rotate", help="apply rotation (keep at most N complete backups)")
    _engine_options(p)
    p.add_argument("--dry-run", action="store_true", help="show keep/delete and why; delete nothing")
    p.set_defaults(func=cmd_rotate)

    for module in COMMAND_MODULES:
        importlib.import_module(module).add_commands(sub, _engine_options)
    return parser


# Modules that add their own subcommands: each has ``add_commands(sub, engine_options)`` and imports
# its heavy dependencies (pandas, APScheduler, ...) inside the command functions, so that
# ``workbench`` starts fast.
COMMAND_MODULES = ("workbench.restore_cli", "workbench.schedule", "workbench.status", "workbench.notify",
                   "workbench.logsetup", "workbench.catalog_cli",
                   "workbench.lab_cli")


def _config(args):
    overrides = {k: getattr(args, k, None) for k in
                 ("store", "target", "volume_size", "keep", "min_free", "differentials", "oversize")}
    return load_config(args.config, **overrides)


def _progress(args, unit_label):
    """A tqdm-backed progress callback (None when quiet or not on a terminal), and its closer."""
    if args.quiet or not sys.stderr.isatty():
        return None, lambda: None
    from tqdm import tqdm
    bar = tqdm(total=0, unit="B", unit_scale=True, unit_divisor=1024, desc=unit_label,
               file=sys.stderr, dynamic_ncols=True)

    def update(p):
        bar.total = p.bytes_total
        bar.n = p.bytes_done
        bar.set_postfix_str(f"{p.files_done}/{p.files_total} files", refresh=False)
        bar.refresh()

    return update, bar.close


def cmd_backup(args):
    cfg = _config(args)
    callback, close = _progress(args, args.kind)
    try:
        # through the runner: status file, log file, after_backup and status e-mail, as for
        # scheduled runs (workbench/runner.py)
        from .runner import run_backup
        r = run_backup(args.kind, config=cfg, progress=callback)
    finally:
        close()
    warnings = list(getattr(getattr(r, "report", None), "warnings", None) or ())
    outcome = FinishedWithWarnings(r.set_name, warnings) if warnings else None
    if args.json:
        print(json.dumps({**_result_json(r), "warnings": warnings}))
        return _warned(outcome)
    print(f"{r.set_name}: {kind_name(r.kind)} backup, {r.files} files, {r.stored} stored, "
          f"{r.bytes_in} bytes in, {r.bytes_out} bytes out, {len(r.volumes)} volumes, "
          f"{r.duration:.1f} s")
    if r.note:
        print(f"note: {r.note}")
    for s in r.skipped:
        print(f"skipped {s['path']} ({s['size']} bytes): {s['reason']}")
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
            "note": r.note}


def set_record(s):
    """The JSON record of one set, as ``workbench sets --json`` prints it."""
    m = s.header or {}
    stats = m.get("stats", {})
    return {
        "name": str(s.name), "kind": s.name.kind, "base": s.base if s.usable else m.get("base"),
        "started": m.get("started") or s.name.time.isoformat(), "finished": m.get("finished"),
        "status": _status(s), "foreign": s.status == FOREIGN,
        "files": stats.get("files"), "bytes_in": stats.get("bytes_in"),
        "bytes_out": sum(size for _, size in s.volumes.values()),
        "volumes": len(s.volumes), "skipped": [x["path"] for x in m.get("skipped", [])],
        "problem": s.problem,
    }


def _status(s):
    """complete, incomplete or damaged (a foreign set with a problem is damaged too)."""
    if s.status in (INCOMPLETE, DAMAGED):
        return s.status
    return DAMAGED if s.problem else COMPLETE


def cmd_sets(args):
    cfg = _config(args)
    target = open_target(cfg.target_or_default, **cfg.target_options)
    records = [set_record(s) for s in list_sets(target)]
    if args.json:
        for r in records:
            print(json.dumps(r))
        return 0
    print(f"{'name':<18} {'status':<10} {'base':<18} {'files':>8} {'bytes_out':>14} {'volumes':>7}"
          "  problem")
    for r in records:
        print(f"{r['name']:<18} {r['status']:<10} {r['base'] or '-':<18} "
              f"{r['files'] if r['files'] is not None else '-':>8} {r['bytes_out']:>14} "
              f"{r['volumes']:>7}" + (f"  {r['problem']}" if r["problem"] else ""))
    return 0


def cmd_ls(args):
    cfg = _config(args)
    target = open_target(cfg.target_or_default, **cfg.target_options)
    sets = list_sets(target)
    entries = entries_of(target, sets, find_set(sets, args.set))
    for e in sorted(entries, key=lambda e: e.path):
        mtime = datetime.fromtimestamp(e.mtime_ns / 1e9, timezone.utc).isoformat(timespec="seconds")
        if args.json:
            print(json.dumps({"path": e.path, "kind": e.kind, "domain": e.domain, "user": e.user,
                              "folder": e.folder, "size": e.size, "mtime": mtime,
                              "crc32": e.crc32, "stored_in": e.stored_in, "volume": e.volume}))
        else:
            print(f"{e.size:>12} {mtime} {e.stored_in} {e.path}")
    return 0


def cmd_rotate(args):
    cfg = _config(args)
    target = open_target(cfg.target_or_default, **cfg.target_options)
    if args.dry_run:
        for d in plan_rotation(list_sets(target), cfg.keep):
            print(f"{d.set}  {d.action:<6}  {d.reason}")
        return 0
    with target_lock(target, cfg.lock_stale_after):
        resume_removals(target, list_sets(target))
        for d in apply_rotation(target, cfg.keep, stale_after=cfg.lock_stale_after):
            print(f"{d.set}  {'deleted' if d.action == 'delete' else 'postponed'}  {d.reason}")
    return 0


def main(argv=None):
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s", stream=sys.stderr)
    for handler in logging.getLogger().handlers:
        attach_mask(handler)  # no URL password on the console, whoever logs it
    try:
        return args.func(args)
    except WorkbenchError as e:
        print(f"workbench: error: {mask_url(str(e))}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("workbench: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # a bug or an unforeseen condition: one line, unless asked for more
        line = f"workbench: unexpected error: {type(e).__name__}: {mask_url(str(e))}"
        if args.verbose:
            traceback.print_exc()
            print(line, file=sys.stderr)
        else:
            print(f"{line}; run with -v for the details", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
