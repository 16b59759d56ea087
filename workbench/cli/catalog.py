"""``workbench catalog {sets,volumes,entries,messages}``: the catalog's frames on the command line;
``workbench catalog export``: every set of a fleet as partitioned Parquet (catalog.export).

pandas is imported only when a command runs (through workbench.catalog), so that ``workbench``
starts fast.
"""

import sys

from ..errors import ConfigError, FinishedWithWarnings
from .common import config_from_args, keep_options, target_options

FORMATS = ("table", "csv", "json", "parquet")
_WHAT = {"sets": "backup sets (one row each, with status, problem and rotation)",
         "volumes": "volume files (one row each)",
         "entries": "files of a set (one row each: stored, inherited, deleted or skipped)",
         "messages": "messages of a set (one row each, with their headers)"}
_READERS = {"sets": "read_sets", "volumes": "read_volumes", "entries": "read_entries",
            "messages": "read_messages"}


def add_commands(sub):
    """Add ``catalog`` and its subcommands to the ``workbench`` parser."""
    p = sub.add_parser("catalog", help="the catalog as tables: sets, volumes, entries, messages",
                       description="Print or write one table of the catalog: the sets, their "
                       "volume files, the files of a set, or its messages.")
    what = p.add_subparsers(dest="catalog_command", required=True, metavar="TABLE")
    helps = {"sets": "one row per backup set", "volumes": "one row per volume file",
             "entries": "one row per file of a set", "messages": "one row per message of a set"}
    for name, help_text in helps.items():
        q = what.add_parser(name, help=help_text, description=f"The catalog's table of "
                            f"{_WHAT[name]}, as a table, CSV, JSON lines or Parquet.")
        if name in ("entries", "messages"):
            q.add_argument("--set", help="set name (default: the one a recovery now would use)")
        elif name == "volumes":
            q.add_argument("--set", action="append",
                           help="only this set (repeat for more; default: every set)")
        target_options(q)
        if name == "sets":  # the rotation column says what rotation would do under these
            keep_options(q)
        q.add_argument("--format", choices=FORMATS, default="table",
                       help="table (default), csv, json (one object per line) or parquet")
        q.add_argument("--out", help="write to this file instead of standard output (required "
                                     "for parquet)")
        q.set_defaults(func=cmd_catalog, catalog_table=name)
    q = what.add_parser("export", help="every set of one or more targets as Parquet for DuckDB "
                                       "or Dask (hive partitions: target=, set=)",
                        description="Write the sets, volumes, entries and messages of every set "
                        "of one or more targets (or of a fleet file's servers) as Parquet "
                        "partitioned by target and set, for DuckDB (catalog.connect) or Dask. "
                        "A second export into the same directory writes only the new sets and "
                        "removes those that are gone.")
    q.add_argument("--target", action="append", default=[],
                   help="backup directory or smb:// URL (repeat for more; each is named by a "
                        "slug of its path and a short hash)")
    q.add_argument("--fleet", help="fleet file: one [[server]] table per server with its name, "
                                   "target and settings (docs/catalog.md)")
    q.add_argument("--out", required=True, help="export directory (new, empty, or an earlier "
                                                "export, which is brought up to date)")
    q.add_argument("--config", help="TOML config file (default: $WORKBENCH_CONFIG): SMB "
                                    "settings, keep, min_free; the config's target if none given")
    q.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    q.set_defaults(func=cmd_export)


def cmd_catalog(args):
    """Print (or write) one catalog table."""
    if args.format == "parquet" and not args.out:
        raise ConfigError("--out", None, "parquet output needs a file: add --out FILE.parquet")
    cfg = config_from_args(args)
    from .. import catalog
    from ..targets import open_target
    target = open_target(cfg.target_or_default, **cfg.target_options)
    reader = getattr(catalog, _READERS[args.catalog_table])
    if args.catalog_table == "sets":
        df = reader(target, config=cfg)  # rotation under the config's keep
    elif args.catalog_table == "volumes":
        df = reader(target, sets=args.set, config=cfg)
    else:
        df = reader(target, set=args.set, config=cfg)
    from ..catalog.frames import write_frame
    write_frame(df, args.format, args.out)
    return 0


def cmd_export(args):
    """Export the fleet's catalog; exit 3 when some target could not be read (the others were
    exported, and it keeps what the last export wrote of it)."""
    if args.fleet and args.target:
        raise ConfigError("--fleet", args.fleet, "give either --fleet or --target, not both")
    from ..config import load_config
    cfg = load_config(args.config)  # --target here is a list: the targets, not a config key
    from .. import catalog
    if args.fleet:
        targets = catalog.read_fleet(args.fleet, config=cfg)
    elif args.target:
        targets = list(args.target)
    else:
        targets = None  # the config's target
    update, close = _sets_bar(args)
    try:
        result = catalog.export(targets, args.out, config=cfg, progress=update)
    finally:
        close()
    for row in result.problems.itertuples():
        print(f"workbench: warning: {row.target}: {row.error}: {row.message}", file=sys.stderr)
    print(f"exported {len(result.targets)} target{'s' * (len(result.targets) != 1)} to "
          f"{result.out}: {result.written} sets written, {result.unchanged} unchanged, "
          f"{result.removed} removed ({result.seconds:.1f} s)")
    return FinishedWithWarnings.exit_code if len(result.problems) else 0


def _sets_bar(args):
    """A tqdm bar counting the sets written (None when quiet or not on a terminal)."""
    if args.quiet or not sys.stderr.isatty():
        return None, lambda: None
    from tqdm import tqdm
    bar = tqdm(total=0, unit="set", desc="export", file=sys.stderr, dynamic_ncols=True)

    def update(p):
        bar.total, bar.n = p.files_total, p.files_done
        bar.set_postfix_str(p.path, refresh=False)
        bar.refresh()

    return update, bar.close
