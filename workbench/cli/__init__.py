"""The ``workbench`` command: a thin layer over the library.

One module per command group: ``backup`` (backup, sets, ls, rotate), ``restore`` (restore, verify), ``service`` (status,
notify, log, schedule, scheduler), ``catalog`` and ``lab`` (lab, report) each add their commands
to the parser; ``common`` holds what they share. Nothing in workbench imports this package.

Each error class has its own exit code (see errors.py); 1 means an unexpected error (one line,
the traceback too with ``-v``); 3 a backup that finished with warnings (files it could not read).
"""

import argparse
import logging
import sys
import traceback

from ..errors import WorkbenchError
from ..secrets import attach_mask, mask_url
from . import backup, catalog, lab, restore, service

# The command groups, in the order ``workbench --help`` lists their commands. Each has
# ``add_commands(sub)`` and imports its heavy dependencies (pandas, APScheduler, ...) inside the
# command functions, so that ``workbench`` starts fast.
GROUPS = (backup, restore, service, catalog, lab)


def build_parser(command=None):
    """The ``workbench`` parser; with *command* (a command name), only the group that has it
    (building all of them took most of a one-message restore's time)."""
    parser = argparse.ArgumentParser(prog="workbench", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in [g for g in GROUPS if command in g.COMMANDS] or GROUPS:
        group.add_commands(sub)
    return parser


def _command(argv):
    """The command of *argv*: its first word that is not an option (the top-level options take
    no values), or None."""
    return next((a for a in argv if not a.startswith("-")), None)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(_command(argv)).parse_args(argv)
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

