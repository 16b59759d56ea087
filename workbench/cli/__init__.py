"""The ``workbench`` command: a thin layer over the library.

One module per command group: ``backup`` (backup, sets, ls, rotate), ``restore`` (restore, verify), ``service`` (status,
notify, log, schedule, scheduler), ``catalog`` and ``lab`` (lab, report) each add their commands
to the parser; ``common`` holds what they share. Nothing in workbench imports this package.

Each error class has its own exit code (see errors.py; the README has the table); 1 means an
unexpected error (one line, the traceback too with ``-v``); 3 a backup that finished with
warnings (files it could not read); 130 Ctrl-C, 143 SIGTERM (the run cleans up as for Ctrl-C),
141 a closed standard output (``workbench ls X | head -1``: quiet, as Unix tools are). ``main``
tells each error once: one line on stderr, or with ``--json`` one JSON object on stdout
(``error``, ``code``, ``message``, ``details``).
"""

import argparse
import importlib
import os
import signal
import sys
import threading

from ..errors import WorkbenchError
from ..lazylog import when_loaded
from ..secrets import attach_mask, mask_url
# The command groups (modules of this package) with the commands each adds, in the order
# ``workbench --help`` lists them. Each has ``add_commands(sub)`` and imports its heavy
# dependencies (pandas, APScheduler, ...) inside the command functions; a command imports only
# its own group (importing them all took a third of a one-message restore), so that
# ``workbench`` starts fast.
COMMANDS = {
    "backup": ("backup", "sets", "ls", "rotate"),
    "restore": ("restore", "verify"),
    "service": ("schedule", "scheduler", "status", "notify", "log"),
    "catalog": ("catalog",),
    "lab": ("lab", "report"),
}


def groups(command=None):
    """The group modules: the one that adds *command*, or all of them (unknown or None)."""
    names = [g for g, commands in COMMANDS.items() if command in commands] or list(COMMANDS)
    return [importlib.import_module(f"{__name__}.{g}") for g in names]

# The exit codes that no error class carries (the classes' own are in errors.py; the README has
# the whole table).
EXIT_UNEXPECTED = 1      # a bug or an unforeseen condition
EXIT_INTERRUPTED = 130   # Ctrl-C (128 + SIGINT)
EXIT_TERMINATED = 143    # SIGTERM (128 + SIGTERM)
EXIT_PIPE = 141          # the output's reader went away (128 + SIGPIPE, as the shell reports it)


DESCRIPTION = (
    "Back up Kerio Connect mail stores (full, differential and Start now copies, as standard zip "
    "volumes on a local, mounted or SMB directory), restore all or any part of them, check "
    "them, and look at them as tables. Run 'workbench COMMAND --help' for what a command does "
    "and its options.")
EPILOG = (
    "Exit status: 0 when all went well, 3 when a backup was made but some files could not be "
    "read, 1 for an unexpected error, and every other failure its own code (the README lists "
    "them). With --json, a refusal or failure is one JSON object on standard output.")


def _columns():
    """The terminal's width as ``shutil.get_terminal_size()`` tells it (``$COLUMNS``, else the
    width of standard output's terminal, else 80), without loading shutil."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class _Formatter(argparse.HelpFormatter):
    """argparse's help formatter, measuring the terminal without shutil: argparse makes one
    for every option it adds, and its own measure loads shutil (with bz2 and lzma) on every
    command."""

    def __init__(self, prog, indent_increment=2, max_help_position=24, width=None):
        super().__init__(prog, indent_increment, max_help_position,
                         _columns() - 2 if width is None else width)


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose help is formatted by _Formatter (its subcommands' parsers are
    _Parsers too: argparse makes them of the parser's own class)."""

    def __init__(self, *args, formatter_class=_Formatter, **kwargs):
        super().__init__(*args, formatter_class=formatter_class, **kwargs)


def build_parser(command=None):
    """The ``workbench`` parser; with *command* (a command name), only the group that has it
    (building all of them took most of a one-message restore's time)."""
    parser = _Parser(prog="workbench", description=DESCRIPTION, epilog=EPILOG)
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="show debug messages, and the traceback of an unexpected error")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in groups(command):
        group.add_commands(sub)
    return parser


def _command(argv):
    """The command of *argv*: its first word that is not an option (the top-level options take
    no values), or None."""
    return next((a for a in argv if not a.startswith("-")), None)


class Terminated(BaseException):
    """SIGTERM: the run stops as for Ctrl-C (its temporary files and lock are removed)."""


def _terminate(signum, frame):
    raise Terminated()


def _hide_outcomes(record):
    """Keep a run's outcome records (service.runner.OUTCOME) off the console: main prints the
    outcome itself, once."""
    return not getattr(record, "workbench_outcome", False)


def _console_logging(verbose):
    """Log to stderr (every level with ``-v``, else warnings and errors); run once logging is
    loaded (workbench.lazylog: a command that logs nothing does not load it)."""
    import logging
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s", stream=sys.stderr)
    for handler in logging.getLogger().handlers:
        attach_mask(handler)  # no URL password on the console, whoever logs it
        handler.addFilter(_hide_outcomes)


def _tell(args, name, code, message, details=None):
    """Tell a refusal or failure once: one JSON object on stdout with ``--json``
    (``error``, ``code``, ``message``, ``details``), else one line on stderr. Returns *code*."""
    message = mask_url(message)
    if getattr(args, "json", False):
        import json
        print(json.dumps({"error": name, "code": code, "message": message,
                          "details": details or {}}, default=str))
        sys.stdout.flush()
    else:
        print(f"workbench: {message}", file=sys.stderr)
    return code


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(_command(argv)).parse_args(argv)
    if args.verbose:
        _console_logging(True)  # the debug records of every module are shown: load logging now
    else:
        when_loaded(lambda: _console_logging(False))
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminate)
    try:
        try:
            return args.func(args)
        finally:
            sys.stdout.flush()  # a reader that went away shows here, not at exit
    except BrokenPipeError:
        # `workbench ls X | head -1`: the reader has what it wanted. Stop quietly, as Unix
        # tools do (the shell reports such a tool as 141 too), and let nothing write there again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_PIPE
    except WorkbenchError as e:
        return _tell(args, type(e).__name__, e.exit_code, f"error: {e}", e.details)
    except KeyboardInterrupt:
        return _tell(args, "Interrupted", EXIT_INTERRUPTED, "interrupted")
    except Terminated:
        return _tell(args, "Terminated", EXIT_TERMINATED, "terminated (SIGTERM)")
    except Exception as e:  # a bug or an unforeseen condition: one line, unless asked for more
        if args.verbose:
            import traceback
            traceback.print_exc()
        hint = "" if args.verbose else "; run with -v for the details"
        return _tell(args, "UnexpectedError", EXIT_UNEXPECTED,
                     f"unexpected error: {type(e).__name__}: {e}{hint}")
