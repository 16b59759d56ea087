"""The fleet export at scale: 100 targets of 10 sets each, and one target holding a set of a
million entries.

Usage (from the repository root)::

    .venv/bin/python bench/fleet.py [--targets 100] [--sets 10] [--messages 1000]
                                    [--big DIR | --no-big] [--work DIR] [--keep-work]
                                    [--repeat 5]

The fleet: one generated store of ``--messages`` messages is backed up ``--sets`` times (a full,
differentials, a full a week later, ...; ``samples.mutate`` between runs, every differential
kept), and that target directory is copied ``--targets`` times as hard links (the catalog reads
only manifests and the directory listings of our sets, so each copy costs an export what a
target of its own would; the page cache serves all of them). The big target: a full backup of
``--big`` (default: the million-message store bench/run.py generates,
``$TMPDIR/wb-bench/data-1000000-s1``). With ``--keep-work`` the template target and the big
backup stay in the work directory (default ``$TMPDIR/wb-bench/fleet``) for the next run.

Each measured step runs in a process of its own (``bench/run.py``'s ``run``: whole-process
wall, CPU seconds of the tree, peak summed RSS of the tree), which prints the seconds of the
step itself (imports excluded):

- export of the fleet into a new directory; again with nothing new; again after one new set;
- the four fleet questions of docs/catalog.md, as written there, through ``catalog.connect``
  (the median of ``--repeat`` runs each, in one process);
- export of the big target, and again with nothing new; the questions on it.

Prints a table and writes the JSON (every figure, the load average before each step) to
``bench/results/fleet-<UTC time>.json``.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import TreeMemory, loadavg, log, machine, run  # noqa: E402,F401  (bench/run.py)

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
DOC = ROOT / "docs" / "catalog.md"
QUESTIONS = ("no-good-backup", "fastest-growth", "message-id", "disk-next-quarter")
T0 = datetime(2026, 11, 1, 1, 0, tzinfo=timezone.utc)

# The child steps: each prints one JSON line.
EXPORT = r"""
import json, sys, time
from workbench import catalog
targets = json.loads(sys.argv[1])
t0, c0 = time.perf_counter(), time.process_time()
r = catalog.export(targets, sys.argv[2])
print(json.dumps({"seconds": time.perf_counter() - t0, "cpu": time.process_time() - c0,
                  "written": r.written, "unchanged": r.unchanged, "removed": r.removed,
                  "problems": len(r.problems)}))
"""

QUERY = r"""
import json, statistics, sys, time
from workbench import catalog
out, repeat, queries = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
t0 = time.perf_counter()
con = catalog.connect(out)
connect = time.perf_counter() - t0
mid = con.execute("select message_id from messages where message_id is not null "
                  "limit 1").fetchone()[0]
found = {"connect": connect}
for name, sql in queries.items():
    params = {"message_id": mid} if "$message_id" in sql else None
    times, rows = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        rows = con.execute(sql, params).fetchall()
        times.append(time.perf_counter() - t)
    found[name] = {"median": statistics.median(times), "first": times[0], "rows": len(rows)}
rows = con.execute("select (select count(*) from sets), (select count(*) from entries), "
                   "(select count(*) from messages)").fetchone()
found["rows"] = {"sets": rows[0], "entries": rows[1], "messages": rows[2]}
print(json.dumps(found))
"""


def doc_sql(name):
    m = re.search(rf"```sql {re.escape(name)}\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    if not m:
        raise SystemExit(f"docs/catalog.md has no ```sql {name} block")
    return m.group(1)


def step(code, *args, env):
    """Run a child step; its own JSON plus the process figures of bench/run.py's run()."""
    r = run([PY, "-c", code, *map(str, args)], env=env, stdout=subprocess.PIPE)
    own = json.loads(r["stdout"].strip().splitlines()[-1])
    return {"own": own, "wall": r["wall"], "cpu": r["cpu"], "tree_rss_mb": r["tree_rss_mb"],
            "rss_mb": r["rss_mb"], "load": r["load"]}


def du(path):
    total = 0
    for dirpath, _, files in os.walk(path):
        for f in files:
            total += os.lstat(os.path.join(dirpath, f)).st_size
    return total


def make_template(work, messages, sets, env):
    """One target of *sets* sets of a generated store; returns (store, target)."""
    store, target = work / "store", work / "template"
    if (target / "done").exists():
        return store, target
    shutil.rmtree(store, ignore_errors=True)
    shutil.rmtree(target, ignore_errors=True)
    subprocess.run([PY, "-m", "workbench.samples", "generate", str(store), "--messages",
                    str(messages), "--seed", "1"], check=True, env=env, stdout=subprocess.DEVNULL)
    for i in range(sets):
        if i:
            subprocess.run([PY, "-m", "workbench.samples", "mutate", str(store), "--seed",
                            str(i)], check=True, env=env, stdout=subprocess.DEVNULL)
        kind = "full" if i % 7 == 0 else "differential"
        when = (T0 + timedelta(days=i)).strftime("%Y-%m-%dT%H:%M:%SZ")
        backup(kind, store, target, when, env)
    (target / "done").write_text("")
    return store, target


def backup(kind, store, target, when, env):
    code = ("import sys, datetime, workbench\n"
            "workbench.backup(sys.argv[1], store=sys.argv[2], target=sys.argv[3], min_free=0, "
            "keep=100, differentials='all', now=datetime.datetime.fromisoformat(sys.argv[4]))")
    subprocess.run([PY, "-c", code, kind, str(store), str(target), when], check=True, env=env)


def copy_targets(template, work, n):
    targets = {}
    base = work / "targets"
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir()
    for i in range(n):
        dest = base / f"t{i:03d}"
        subprocess.run(["cp", "-al", str(template), str(dest)], check=True)
        (dest / "done").unlink()
        targets[f"mail{i:03d}"] = str(dest)
    return targets


def fleet_phase(args, work, env, figures):
    log(f"fleet: {args.targets} targets x {args.sets} sets of {args.messages} messages")
    store, template = make_template(work, args.messages, args.sets, env)
    targets = copy_targets(template, work, args.targets)
    out = work / "fleet-export"
    shutil.rmtree(out, ignore_errors=True)
    queries = {q: doc_sql(q) for q in QUESTIONS}
    log("export (first)")
    figures["fleet_export"] = step(EXPORT, json.dumps(targets), out, env=env)
    figures["fleet_export_bytes"] = du(out)
    figures["fleet_source_manifest_bytes"] = sum(
        f.stat().st_size for f in template.glob("*.manifest.json.gz")) * args.targets
    log("export (nothing new)")
    figures["fleet_reexport_nothing"] = step(EXPORT, json.dumps(targets), out, env=env)
    log("one new set on one target")
    first = Path(targets["mail000"])
    subprocess.run([PY, "-m", "workbench.samples", "mutate", str(store), "--seed", "99"],
                   check=True, env=env, stdout=subprocess.DEVNULL)
    backup("differential", store, first, (T0 + timedelta(days=args.sets)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"), env)
    figures["fleet_reexport_one"] = step(EXPORT, json.dumps(targets), out, env=env)
    log("the fleet questions")
    figures["fleet_queries"] = step(QUERY, out, args.repeat, json.dumps(queries), env=env)


def big_phase(args, work, env, figures):
    source = Path(args.big)
    if not (source / "store").is_dir():
        log(f"no store at {source}: the big phase is skipped")
        figures["big"] = f"skipped: no store at {source}"
        return
    target = work / "big-target"
    if not (target / "done").exists():
        shutil.rmtree(target, ignore_errors=True)
        log(f"full backup of {source}")
        code = ("import sys, workbench\n"
                "workbench.backup('full', store=sys.argv[1], target=sys.argv[2], min_free=0, "
                "keep=100)")
        figures["big_backup"] = run([PY, "-c", code, str(source), str(target)], env=env)
        (target / "done").write_text("")
    out = work / "big-export"
    shutil.rmtree(out, ignore_errors=True)
    queries = {q: doc_sql(q) for q in QUESTIONS}
    targets = json.dumps({"big": str(target)})
    log("export of the million-entry set")
    figures["big_export"] = step(EXPORT, targets, out, env=env)
    figures["big_export_bytes"] = du(out)
    log("export (nothing new)")
    figures["big_reexport_nothing"] = step(EXPORT, targets, out, env=env)
    log("the fleet questions on it")
    figures["big_queries"] = step(QUERY, out, args.repeat, json.dumps(queries), env=env)


def table(figures):
    def row(name, f):
        own = f["own"]
        return (f"| {name} | {own['seconds']:.2f} s | {own['cpu']:.2f} s | {f['wall']:.2f} s | "
                f"{f['cpu']:.2f} s | {f['tree_rss_mb']:.0f} MB | {f['load']} |")
    lines = ["| step | step wall | step CPU | process wall | process CPU | peak tree RSS | "
             "load before |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for key in ("fleet_export", "fleet_reexport_nothing", "fleet_reexport_one", "big_export",
                "big_reexport_nothing"):
        if isinstance(figures.get(key), dict):
            lines.append(row(key, figures[key]))
    for key in ("fleet_queries", "big_queries"):
        f = figures.get(key)
        if isinstance(f, dict):
            own = f["own"]
            qs = ", ".join(f"{q} {own[q]['median'] * 1000:.0f} ms" for q in QUESTIONS)
            lines.append(f"| {key} | connect {own['connect'] * 1000:.0f} ms; {qs} | | "
                         f"{f['wall']:.2f} s | {f['cpu']:.2f} s | {f['tree_rss_mb']:.0f} MB | "
                         f"{f['load']} |")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--targets", type=int, default=100)
    p.add_argument("--sets", type=int, default=10)
    p.add_argument("--messages", type=int, default=1000)
    p.add_argument("--big", default=str(Path(tempfile.gettempdir()) / "wb-bench"
                                        / "data-1000000-s1"))
    p.add_argument("--no-big", action="store_true", help="skip the million-entry target")
    p.add_argument("--no-fleet", action="store_true", help="skip the 100-target fleet")
    p.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "wb-bench" / "fleet"))
    p.add_argument("--keep-work", action="store_true")
    p.add_argument("--repeat", type=int, default=5)
    args = p.parse_args(argv)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT)] + [x for x in os.environ.get("PYTHONPATH", "").split(os.pathsep) if x]))
    figures = {"machine": machine(), "load_start": loadavg(),
               "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
               "args": vars(args)}
    try:
        if not args.no_fleet:
            fleet_phase(args, work, env, figures)
        if not args.no_big:
            big_phase(args, work, env, figures)
    finally:
        if not args.keep_work:
            for d in ("targets", "fleet-export", "big-export", "big-target", "template",
                      "store"):
                shutil.rmtree(work / d, ignore_errors=True)
    figures["load_end"] = loadavg()
    print(table(figures))
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    path = results / f"fleet-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    path.write_text(json.dumps(figures, indent=1, default=str))
    log(f"results: {path}")


if __name__ == "__main__":
    main()
