"""The service commands: ``status``, ``schedule``, ``scheduler``, ``notify`` and ``log``
(thin layers over workbench.service)."""

import json
import logging
import os
import signal
import threading

from .common import config_from_args, config_option, json_option

log = logging.getLogger("workbench.schedule")


def add_commands(sub):
    """Add the service commands to the ``workbench`` parser (in ``--help``'s order)."""
    _schedule_commands(sub)
    _status_commands(sub)
    _notify_commands(sub)
    _log_commands(sub)


def _schedule_commands(sub):
    p = sub.add_parser("schedule", help="backup tasks: list, add, edit, remove, enable, disable",
                       description="The scheduled backup tasks, kept in the config file's "
                       "[[schedule]] tables: list them with their next run times, add, edit or "
                       "remove one, or turn scheduled backups on or off.")
    ssub = p.add_subparsers(dest="schedule_command", required=True, metavar="ACTION")

    q = ssub.add_parser("list", help="the tasks and their next run times",
                        description="List the backup tasks and when each runs next.")
    config_option(q)
    json_option(q, "one JSON object per task")
    q.set_defaults(func=cmd_schedule_list)

    def task_fields(q, required):
        q.add_argument("--days", help='"daily" (default for add) or weekdays such as mon,wed')
        q.add_argument("--time", required=required, help='time of day, e.g. 01:30')
        q.add_argument("--kind", required=required, help="full or differential")
        q.add_argument("--description", help="what the task is for")

    q = ssub.add_parser("add", help="add a task", description="Add a backup task: a full or "
                        "differential backup on some days at a time of day.")
    task_fields(q, True)
    config_option(q)
    q.set_defaults(func=cmd_schedule_add)

    q = ssub.add_parser("edit", help="change a task (numbered as 'schedule list' shows)",
                        description="Change the fields given of a task, numbered as 'workbench "
                        "schedule list' shows; the others stay.")
    q.add_argument("number", type=int, help="the task's number")
    task_fields(q, False)
    config_option(q)
    q.set_defaults(func=cmd_schedule_edit)

    q = ssub.add_parser("remove", help="remove a task", description="Remove a task, numbered "
                        "as 'workbench schedule list' shows.")
    q.add_argument("number", type=int, help="the task's number")
    config_option(q)
    q.set_defaults(func=cmd_schedule_remove)

    for name, flag in (("enable", True), ("disable", False)):
        what = "on" if flag else "off"
        q = ssub.add_parser(name, help=f"turn scheduled backups {what} (the enabled key)",
                            description=f"Turn scheduled backups {what} (the config's enabled "
                            "key); manual backups and Start now are not affected.")
        config_option(q)
        q.set_defaults(func=cmd_schedule_enabled, enabled=flag)

    p = sub.add_parser("scheduler", help="the scheduler service",
                       description="The service that runs the scheduled backups (see "
                       "docs/scheduler.md for systemd).")
    rsub = p.add_subparsers(dest="scheduler_command", required=True, metavar="ACTION")
    q = rsub.add_parser("run", help="run the scheduler in the foreground (stop with SIGTERM)",
                        description="Run the scheduler in the foreground: each task's backup at "
                        "its time, with status, log and e-mail. SIGTERM or Ctrl-C stops it after "
                        "the running backup; a second one stops it at once.")
    config_option(q)
    q.set_defaults(func=cmd_scheduler_run)


def cmd_schedule_list(args):
    from ..config import load_config
    from ..service.scheduler import next_run_times, service_info, zone_name
    from ..service.tasks import config_file
    cfg = load_config(config_file(args.config))
    rows = next_run_times(cfg)
    if args.json:
        for r in rows:
            print(json.dumps(r))
        return 0
    svc = service_info(cfg)
    print(f"backups: {'enabled' if cfg.enabled else 'disabled'}; time zone {zone_name(cfg)}; "
          f"scheduler: " + (f"running (pid {svc['pid']})" if svc else "not running"))
    if not rows:
        if cfg.enabled:
            print("no tasks: the default schedule (full on Sunday, differential on the other days, "
                  f"at {cfg.default_time}) is installed when the scheduler starts")
        else:
            print("no tasks")
        return 0
    print(f"{'#':>3}  {'kind':<12} {'days':<28} {'time':<8} {'next run':<26} description")
    for r in rows:
        nxt = r["next_run"] or "-"
        print(f"{r['number']:>3}  {r['kind']:<12} {r['days']:<28} {r['time']:<8} {nxt:<26} "
              f"{r['description']}")
    return 0


def cmd_schedule_add(args):
    from ..service.tasks import add_task
    t = add_task(args.days or "daily", args.time, args.kind, args.description or "",
                 config_path=args.config)
    print(f"added: {t.kind} {t.days_text} {t.time}" + (f" ({t.description})" if t.description
                                                         else ""))
    return 0


def cmd_schedule_edit(args):
    from ..service.tasks import edit_task
    t = edit_task(args.number, days=args.days, time=args.time, kind=args.kind,
                  description=args.description, config_path=args.config)
    print(f"task {args.number}: {t.kind} {t.days_text} {t.time}"
          + (f" ({t.description})" if t.description else ""))
    return 0


def cmd_schedule_remove(args):
    from ..service.tasks import remove_task
    t = remove_task(args.number, config_path=args.config)
    print(f"removed task {args.number}: {t.kind} {t.days_text} {t.time}")
    return 0


def cmd_schedule_enabled(args):
    from ..service.tasks import set_enabled
    set_enabled(args.enabled, config_path=args.config)
    print(f"scheduled backups {'enabled' if args.enabled else 'disabled'}")
    return 0


def cmd_scheduler_run(args):
    from ..service.scheduler import SchedulerService
    service = SchedulerService(args.config)
    if threading.current_thread() is threading.main_thread():
        def on_signal(signum, frame):
            if service.stop_event.is_set():
                log.warning("second signal: exiting without waiting for the running backup")
                os._exit(128 + signum)
            log.info("signal %d received: stopping", signum)
            service.stop_event.set()
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
    service.run()
    return 0


def _status_commands(sub):
    p = sub.add_parser("status", help="status of the latest backup (running, finished, failed)",
                       description="Show the latest backup run: running (how far, and the time "
                       "left once the total is known), finished (what it made and removed), "
                       "finished with warnings, failed or refused (why).")
    config_option(p)
    json_option(p, "print the status record as JSON")
    p.set_defaults(func=cmd_status)


def cmd_status(args):
    from dataclasses import asdict
    from ..service.status import read_status
    st = read_status(config_from_args(args))
    if args.json:
        print(json.dumps(asdict(st)))
    else:
        print(st)
    return 0


def _notify_commands(sub):
    p = sub.add_parser("notify", help="status e-mail: send a test message",
                       description="The status e-mail sent after each backup run.")
    nsub = p.add_subparsers(dest="notify_command", required=True, metavar="ACTION")
    t = nsub.add_parser("test", help="send a test message to the [notify] addresses",
                        description="Send a test message to the addresses of the config's "
                        "[notify] table, through its SMTP server.")
    config_option(t)
    t.set_defaults(func=cmd_notify_test)


def cmd_notify_test(args):
    from ..service.notify import send_test
    to = send_test(config_from_args(args))
    print(f"test message sent to {', '.join(to)}")
    return 0


def _log_commands(sub):
    p = sub.add_parser("log", help="log settings: switch the backup debug messages on or off",
                       description="Settings of the backup log file.")
    lsub = p.add_subparsers(dest="log_command", required=True, metavar="ACTION")
    d = lsub.add_parser("debug", help='"Store Backup" debug messages in the log file: on or off',
                        description='Switch the "Store Backup" debug messages of the log file '
                        "on or off, or show the setting.")
    d.add_argument("switch", nargs="?", choices=["on", "off"], help="omit to show the setting")
    config_option(d)
    d.set_defaults(func=cmd_log_debug)


def cmd_log_debug(args):
    from ..config import log_file_path
    from ..service.logs import debug_enabled, set_debug
    cfg = config_from_args(args)
    if args.switch is not None:
        set_debug(cfg, args.switch == "on")
    state = "on" if debug_enabled(cfg) else "off"
    print(f"backup debug messages: {state} (log file {log_file_path(cfg)})")
    return 0
