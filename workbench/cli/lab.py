"""``workbench lab`` (JupyterLab on the bundled notebooks) and ``workbench report storage``.

``workbench lab`` works in a directory of its own (``--dir``, default ``./workbench-notebooks``):
it copies there each bundled notebook that is not there yet, and never overwrites one, so your
edits survive upgrades; delete a notebook to get the bundled version back. Point ``--dir`` at
a source checkout's ``notebooks/`` to work on the bundled notebooks themselves.
"""

import os

from .common import config_from_args, target_options

DEFAULT_DIR = "workbench-notebooks"


def add_commands(sub):
    p = sub.add_parser("lab", help="start JupyterLab on the bundled notebooks",
                       description="Start JupyterLab on the bundled notebooks (schedule, restore "
                       "walkthrough, storage), copied into a directory of your own first; "
                       "notebooks already there are never overwritten.")
    p.add_argument("--dir", default=DEFAULT_DIR,
                   help=f"working directory for the notebooks (default ./{DEFAULT_DIR}); "
                        "bundled notebooks missing there are copied in, none is overwritten")
    p.add_argument("--config", metavar="FILE",
                   help="the config file the notebooks use (sets WORKBENCH_CONFIG)")
    p.add_argument("--ip", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8888, help="port to listen on (default 8888)")
    p.add_argument("--no-browser", action="store_true", help="do not open a web browser")
    p.add_argument("lab_args", nargs="*", help="more JupyterLab options, after --")
    p.set_defaults(func=cmd_lab)

    p = sub.add_parser("report", help="capacity planning reports (HTML)",
                       description="Reports for capacity planning, written as HTML.")
    rsub = p.add_subparsers(dest="report", required=True, metavar="REPORT")
    r = rsub.add_parser("storage", help="storage use against rotation, capacity and free space",
                        description="Write an HTML report of what the backups take on the "
                        "target, what rotation keeps, and how long the space lasts.")
    target_options(r)
    r.add_argument("--keep", type=int, metavar="N", help="complete backups rotation keeps "
                   "(default: the config's keep)")
    r.add_argument("--min-free", dest="min_free", metavar="SIZE",
                   help="free space the backups must leave (default: the config's min_free)")
    r.add_argument("--out", required=True, metavar="FILE", help="the HTML file to write")
    r.add_argument("--capacity", help="bytes the backups may use, e.g. 2TB (default: the "
                                      "target's size)")
    r.set_defaults(func=cmd_report_storage)


def prepare_dir(directory):
    """Copy the bundled notebooks missing from *directory* into it; return the names copied."""
    from ..service.report import NOTEBOOKS, notebooks_dir
    src = notebooks_dir()
    os.makedirs(directory, exist_ok=True)
    copied = []
    if os.path.realpath(src) == os.path.realpath(directory):
        return copied
    for name in NOTEBOOKS:
        dest = os.path.join(directory, name)
        if not os.path.exists(dest):
            import shutil
            shutil.copyfile(src / name, dest)
            copied.append(name)
    return copied


def lab_argv(args):
    """The JupyterLab command line for *args*."""
    argv = [f"--ServerApp.root_dir={os.path.abspath(args.dir)}", f"--ip={args.ip}",
            f"--port={args.port}"]
    if args.no_browser:
        argv.append("--no-browser")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        argv.append("--allow-root")
    return argv + list(args.lab_args)


def cmd_lab(args):
    copied = prepare_dir(args.dir)
    for name in copied:
        print(f"copied {name} into {args.dir}")
    if args.config:
        os.environ["WORKBENCH_CONFIG"] = os.path.abspath(args.config)
    from jupyterlab.labapp import LabApp  # heavy: only when the lab really starts
    LabApp.launch_instance(argv=lab_argv(args))
    return 0


def cmd_report_storage(args):
    from ..service.report import storage_report
    cfg = config_from_args(args)
    out = storage_report(cfg.target_or_default, args.out, config=args.config,
                         keep=args.keep, capacity=args.capacity,
                         min_free=args.min_free if args.min_free is not None else None)
    print(f"report written to {out}")
    return 0
