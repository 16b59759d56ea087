"""The store walk (store.walk_store_runs) in a process of its own.

A differential walks every file of the store and stores few of them: the walk (a stat per
file, kernel time, and the walk's Python work per file) was half of its main process's time
while the worker processes waited. In a child process the walk runs on another core, and the
backup's process only unpickles its runs (a few lists per directory) and matches them against
the full. The runs and the errors reported come in the order the walk in this process gives
them; what is in flight is bounded by the pipe.
"""

import os
import pickle
import signal
import subprocess

from .children import child_command, widen_pipe
from .store import StoreRun, _walk_runs, walk_excluded

# Runs (and errors) sent per pickle, and the files they may hold.
_BATCH_ITEMS = 64
_BATCH_FILES = 4096

_CHILD = ("from workbench.walker import serve\n"
          "serve(sys.argv[2], sys.argv[3:], sys.stdout.buffer)\n")


def walk_store_runs_apart(server_dir, exclude=(), on_error=None, env=None):
    """walk_store_runs in a child process: the same runs in the same order, *on_error* called
    here, in order among them. StoreNotFound is raised at once, as walk_store_runs raises it.

    *env* is the child's environment (default: this process's). Closing the generator early
    stops the child.
    """
    excluded = walk_excluded(server_dir, exclude)
    return _runs_from_child(server_dir, excluded, on_error or (lambda path, message: None), env)


def _runs_from_child(server_dir, excluded, report, env):
    proc = subprocess.Popen(child_command(_CHILD, server_dir, *excluded),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, env=env)
    try:
        widen_pipe(proc.stdout)
        while True:
            try:
                items = pickle.load(proc.stdout)
            except (EOFError, ValueError, pickle.UnpicklingError) as e:
                if isinstance(e, EOFError) or proc.poll() is not None:  # or half-written
                    raise RuntimeError(f"store walk process {proc.pid} died (exit status "
                                       f"{proc.wait()})") from None
                # It lives on, maybe blocked on this pipe: the finally below stops it.
                raise RuntimeError(f"store walk process {proc.pid} stopped: its output could "
                                   f"not be read ({e})") from None
            for item in items:
                what = item[0]
                if what == "run":
                    yield StoreRun(*item[1:])
                elif what == "error":
                    report(item[1], item[2])
                elif what == "end":
                    return
                else:  # "raise": what the walk raised
                    raise item[1]
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
        proc.wait()


def serve(server_dir, excluded, out):
    """The child's side: walk *server_dir* and pickle its runs and errors to *out* in batches,
    then ``("end",)``; what the walk raises is sent to be raised in the parent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops the backup, and this
    batch, files = [], 0

    def report(path, message):
        batch.append(("error", path, message))

    try:
        try:
            for run in _walk_runs(server_dir, excluded, report):
                batch.append(("run", run.directory, run.kind, run.domain, run.user, run.folder,
                              run.names, run.sizes, run.mtimes, run.modes))
                files += len(run.names)
                if len(batch) >= _BATCH_ITEMS or files >= _BATCH_FILES:
                    pickle.dump(batch, out, protocol=pickle.HIGHEST_PROTOCOL)
                    out.flush()
                    batch, files = [], 0
            batch.append(("end",))
        except Exception as e:  # sent whole if it pickles, else as its text
            try:
                pickle.dumps(e)
            except Exception:
                e = RuntimeError(f"{type(e).__name__}: {e}")
            batch.append(("raise", e))
        pickle.dump(batch, out, protocol=pickle.HIGHEST_PROTOCOL)
        out.flush()
    except (BrokenPipeError, ConnectionResetError):  # the parent stopped reading: done
        os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())

