"""``workbench catalog {sets,volumes,entries,messages}``: the catalog's frames on the command line.

pandas is imported only when a command runs (through workbench.catalog), so that ``workbench``
starts fast.
"""

from ..errors import ConfigError
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
