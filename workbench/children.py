"""Python child processes of workbench's own: the backup's workers (archive/pack.py) and the
store walk of a big differential (walker.py).

A child registers a bare ``workbench`` package before it imports the one module it runs, so that
it loads only what that module needs and not the package's API: a third of the start-up time and
of the memory of each worker.
"""

import os
import sys

_PACKAGE = os.path.dirname(os.path.abspath(__file__))
_BARE_PACKAGE = ("import sys, types\n"
                 "pkg = types.ModuleType('workbench')\n"
                 "pkg.__path__ = [sys.argv[1]]\n"
                 "sys.modules['workbench'] = pkg\n")


def child_command(code, *args):
    """The command line of a Python child running *code* once the bare package is registered;
    *args* are its ``sys.argv[2:]``."""
    return [sys.executable, "-c", _BARE_PACKAGE + code, _PACKAGE, *map(str, args)]


def widen_pipe(f):
    """Make the pipe of the open file *f* hold a whole megabyte where Linux allows it (default
    64 KiB), so that a child runs that far ahead of its reader, or its reader of it."""
    try:
        import fcntl
        fcntl.fcntl(f.fileno(), fcntl.F_SETPIPE_SZ, 1024 * 1024)
    except (ImportError, AttributeError, OSError):
        pass
