"""What every command group of the ``workbench`` command shares: the engine options, the config
from the command line, the tqdm progress bar, and the records that ``ls`` and ``restore -l``
print."""

import json
import sys
from datetime import datetime, timezone

from ..config import load_config
from ..model import skip_text

# The flags that override config keys of the same names (a command has only those it uses).
ENGINE_KEYS = ("store", "target", "volume_size", "keep", "keep_copies", "min_free", "differentials",
               "oversize", "encrypt")


def config_option(p):
    """``--config``: every command that reads the configuration."""
    p.add_argument("--config", metavar="FILE",
                   help="the TOML configuration file (default: $WORKBENCH_CONFIG)")


def target_options(p):
    """``--config``, ``--store`` and ``--target``: where the backups are."""
    config_option(p)
    p.add_argument("--store", metavar="DIR", help="the server directory (the one holding store/, "
                   "mailserver.cfg and users.cfg); its store/backup is the default target")
    p.add_argument("--target", metavar="DIR_OR_URL", help="the backup directory or an smb:// URL "
                   "(default: the config's target, else <store>/store/backup)")


def keep_options(p):
    """``--keep`` and ``--keep-copies``: what rotation keeps."""
    p.add_argument("--keep", type=int, metavar="N", help="complete backups to keep: a full with "
                   "its differentials counts as one (default: the config's keep, 7)")
    p.add_argument("--keep-copies", dest="keep_copies", type=int, metavar="N",
                   help="copies (Start now) to keep, beside the complete backups (default: the "
                   "config's keep_copies, 3)")


def engine_options(p):
    """Every setting a backup run uses: where, how large its volumes, what rotation keeps."""
    target_options(p)
    p.add_argument("--volume-size", dest="volume_size", metavar="SIZE",
                   help="the largest volume, e.g. 2GiB or 500MB (default 2GiB)")
    keep_options(p)
    p.add_argument("--min-free", dest="min_free", metavar="SIZE", help="no backup starts with "
                   "less free space on the target (default 4GiB)")
    p.add_argument("--differentials", choices=["latest", "all"], help="latest: a new "
                   "differential replaces the previous one; all: every one is kept")
    p.add_argument("--oversize", choices=["skip", "own-volume"], help="files larger than a "
                   "volume: skip them (named, not in the backup) or give each a volume of its own")


def quiet_option(p):
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def json_option(p, what):
    """``--json``: *what* as JSON; a refusal or failure is one JSON object (error, code,
    message, details) on standard output."""
    p.add_argument("--json", action="store_true", help=f"{what}; a refusal or failure prints "
                   "one JSON object (error, code, message, details)")


def config_from_args(args):
    """The Config of a command line: ``--config`` (or ``$WORKBENCH_CONFIG``) with the engine
    flags given on top; flags a command does not have count as not given."""
    overrides = {k: getattr(args, k, None) for k in ENGINE_KEYS}
    return load_config(getattr(args, "config", None), **overrides)


# The bar shows the engine's own figures (service.status.progress_line, the ETA the engine's
# Meter computed), never tqdm's estimate: the terminal, `workbench status` and the notebooks agree.
_KNOWN_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| {postfix}"
_UNKNOWN_FORMAT = "{desc}: {postfix}"


def progress_bar(args, label, stream=None):
    """A tqdm-backed progress callback (None when quiet or not on a terminal), and its closer.

    The bar has a length, a percentage and an ETA only while the total is known."""
    stream = stream or sys.stderr
    if getattr(args, "quiet", False) or not stream.isatty():
        return None, lambda: None
    from tqdm import tqdm

    from ..service.status import progress_line
    bar = tqdm(total=None, desc=label, file=stream, dynamic_ncols=True,
               bar_format=_UNKNOWN_FORMAT)

    def update(p):
        bar.bar_format = _KNOWN_FORMAT if p.total_known and p.bytes_total else _UNKNOWN_FORMAT
        bar.total = p.bytes_total if p.total_known and p.bytes_total else None
        bar.n = p.bytes_done
        bar.set_postfix_str(progress_line(p), refresh=False)
        bar.refresh()

    return update, bar.close


def print_entries(entries, as_json):
    """Print *entries* sorted by path: one line each, or one JSON object each (``ls``,
    ``restore --list``). A file the backup skipped (``Entry.skipped``) is listed too, said to be
    not in the backup, with ``stored_in`` and ``volume`` null in JSON."""
    for e in sorted(entries, key=lambda e: e.path):
        mtime = datetime.fromtimestamp(e.mtime_ns / 1e9, timezone.utc).isoformat(timespec="seconds")
        if as_json:
            print(json.dumps({"path": e.path, "kind": e.kind, "domain": e.domain, "user": e.user,
                              "folder": e.folder, "size": e.size, "mtime": mtime,
                              "crc32": None if e.skipped else e.crc32,
                              "stored_in": None if e.skipped else e.stored_in,
                              "volume": None if e.skipped else e.volume,
                              "skipped": e.skipped or None}))
        elif e.skipped:
            print(f"{e.size:>12} {mtime} - {e.path}  (not in the backup: {skip_text(e.skipped)})")
        else:
            print(f"{e.size:>12} {mtime} {e.stored_in} {e.path}")
