#!/usr/bin/env python3
"""Benchmark workbench against anchor tools on the same generated store, in one run.

Speed is reported as ratios against Info-ZIP ``zip``/``unzip``, restic and borg measured on the
same data in the same run (the machine may be shared, so absolute times alone mean little).

Usage (from the repository root)::

    .venv/bin/python bench/run.py [--messages N] [--seed S] [--profile NAME] [--data DIR]
                                  [--only backup,restore,catalog,smb] [--out FILE]

Caches: the server directory is copied into the work directory (the differential needs to mutate
it, and ``--data`` is never modified), then read once with ``tar -cf - DIR | cat >/dev/null`` so
every tool reads from the page cache; ``sync`` runs before every timed command so that one tool's
dirty pages are not flushed on the next tool's clock. Workbench fsyncs its volumes (part of its
safe commit); the anchors do not, so the comparison is, if anything, against workbench.

Bytecode: before any timing the workbench package that the timed commands import (the one
``python -c "import workbench"`` finds with this interpreter and environment) is byte-compiled
with ``compileall``, as a pip-installed package has its bytecode. Without it, in an editable or
PYTHONPATH checkout under ``PYTHONDONTWRITEBYTECODE=1``, every whole-process run would recompile
every module it imports, and a one-message restore would measure the compiler (about half its
time). ``compileall`` writes the ``.pyc`` files whatever that variable says.

Only the standard library and the workbench package are used; the catalog figures need pandas
(the workbench venv has it).
"""

import argparse
import importlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PY = sys.executable
_WB_SCRIPT = Path(PY).parent / "workbench"
WB = [str(_WB_SCRIPT)] if _WB_SCRIPT.exists() else [PY, "-m", "workbench"]
TIME_V = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None
TOP_ENTRIES = ("store", "mailserver.cfg", "users.cfg", "license", "sslcert")
PHASES = ("backup", "restore", "catalog", "smb", "encrypt")

RESULTS = []      # one dict per checked figure, each naming its store
EXTRA = {}        # informational figures (not checked) of the store being measured
ALL_EXTRA = {}    # store label -> its EXTRA
CURRENT = {"store": None}  # the label of the store being measured


# --------------------------------------------------------------------------------------- helpers

def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def loadavg():
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


class TreeMemory:
    """Samples the summed RSS and PSS of a process and all its descendants (10 times a second).

    ``/usr/bin/time`` reports the largest single process only, which undercounts a tool that
    runs worker processes; the sum of RSS overcounts pages they share, the sum of PSS does not.
    """

    def __init__(self, pid, skip_root=False):
        self.pid, self.skip_root = pid, skip_root
        self.rss = self.pss = 0.0
        self.ticks = {}   # pid -> last utime+stime seen (clock ticks)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _tree(self):
        children = {}
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open(f"/proc/{d}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(d))
        out, todo = [], [self.pid]
        while todo:
            p = todo.pop()
            out.append(p)
            todo += children.get(p, [])
        return out[1:] if self.skip_root else out

    def _loop(self):
        while not self._stop.wait(0.1):
            rss = pss = 0
            for p in self._tree():
                try:
                    with open(f"/proc/{p}/stat") as f:
                        fields = f.read().rsplit(")", 1)[1].split()
                    self.ticks[p] = int(fields[11]) + int(fields[12])
                    with open(f"/proc/{p}/smaps_rollup") as f:
                        for line in f:
                            if line.startswith("Rss:"):
                                rss += int(line.split()[1])
                            elif line.startswith("Pss:"):
                                pss += int(line.split()[1])
                except OSError:
                    pass
            self.rss, self.pss = max(self.rss, rss / 1024), max(self.pss, pss / 1024)

    def stop(self):
        self._stop.set()
        self._thread.join()

    @property
    def cpu(self):
        """CPU seconds of the tree as last sampled (misses each process's last 0.1 s)."""
        return sum(self.ticks.values()) / os.sysconf("SC_CLK_TCK")


def run(cmd, cwd=None, env=None, check=True, stdout=subprocess.DEVNULL, sync=True):
    """Run *cmd* as a whole process; return wall and CPU seconds, peak memory (MB) and stdout.

    ``rss_mb`` is the peak of the largest single process, from ``/usr/bin/time -v`` (without it,
    ``getrusage(RUSAGE_CHILDREN)``, the largest child so far in this run); ``tree_rss_mb`` and
    ``tree_pss_mb`` are the peaks of the sums over the whole process tree (see TreeMemory).
    """
    if sync:
        os.sync()
    full_env = dict(os.environ, **(env or {}))
    tfile = None
    argv = list(map(str, cmd))
    if TIME_V:
        fd, tfile = tempfile.mkstemp(prefix="wb-bench-time-")
        os.close(fd)
        argv = [TIME_V, "-v", "-o", tfile] + argv
    load = loadavg()
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, env=full_env, stdout=stdout, stderr=subprocess.PIPE)
    mem = TreeMemory(proc.pid, skip_root=bool(TIME_V))
    out_b, err_b = proc.communicate()
    wall = time.perf_counter() - t0
    mem.stop()
    p = subprocess.CompletedProcess(argv, proc.returncode, out_b, err_b)
    rss = cpu = None
    if tfile:
        text = Path(tfile).read_text(errors="replace")
        os.unlink(tfile)
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
        rss = int(m.group(1)) / 1024 if m else None
        u = re.search(r"User time \(seconds\): ([\d.]+)", text)
        s_ = re.search(r"System time \(seconds\): ([\d.]+)", text)
        cpu = float(u.group(1)) + float(s_.group(1)) if u and s_ else None
    else:
        import resource
        rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    # Worker processes of a forkserver are not the tool's children: time -v misses them.
    cpu = max(cpu or 0.0, mem.cpu)
    if check and p.returncode != 0:
        err = p.stderr.decode(errors="replace")[-2000:]
        raise RuntimeError(f"{' '.join(map(str, cmd))} exited {p.returncode}:\n{err}")
    out = p.stdout.decode(errors="replace") if stdout == subprocess.PIPE else ""
    return {"wall": wall, "cpu": cpu, "rss_mb": rss, "tree_rss_mb": mem.rss,
            "tree_pss_mb": mem.pss, "stdout": out, "rc": p.returncode, "load": load}


def median_run(cmd, repeat, prepare=None, **kw):
    """Median wall (and the runs) of *repeat* runs of *cmd*; *prepare* runs untimed before each."""
    runs = []
    for _ in range(repeat):
        if prepare:
            prepare()
        runs.append(run(cmd, **kw))
    walls = [r["wall"] for r in runs]
    return statistics.median(walls), walls, runs


def rmtree(path):
    shutil.rmtree(path, ignore_errors=True)


def tree_bytes(path):
    total = 0
    for dirpath, _, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(dirpath, f)).st_size
            except OSError:
                pass
    return total


def check(issue, metric, value, unit, *, anchor=None, anchor_name=None, max_ratio=None,
          min_ratio=None, max_abs=None, note=""):
    """Record one figure and whether it meets its target (ratio against the anchor, or absolute)."""
    ratio = value / anchor if anchor else None
    ok = True
    target = []
    if max_ratio is not None:
        ok &= ratio is not None and ratio <= max_ratio
        target.append(f"<= {max_ratio:g} x {anchor_name}")
    if min_ratio is not None:
        ok &= ratio is not None and ratio >= min_ratio
        target.append(f">= {min_ratio:g} x {anchor_name}")
    if max_abs is not None:
        ok &= value <= max_abs
        target.append(f"<= {max_abs:g} {unit}")
    if not target:
        ok = None  # information only
    rec = {"store": CURRENT["store"], "issue": issue, "metric": metric, "workbench": value,
           "unit": unit,
           "anchor": anchor, "anchor_name": anchor_name, "ratio": ratio,
           "target": " and ".join(target), "pass": ok if ok is None else bool(ok), "note": note,
           "load": loadavg()}
    RESULTS.append(rec)
    log(f"{metric}: {fmt(value)} {unit} (anchor {anchor_name}: {fmt(anchor)}) "
        f"{'INFO' if ok is None else 'PASS' if ok else 'FAIL'}")
    return rec


def skip(issue, metric, why):
    RESULTS.append({"store": CURRENT["store"], "issue": issue, "metric": metric,
                    "workbench": None, "unit": "",
                    "anchor": None, "anchor_name": None, "ratio": None, "target": "",
                    "pass": None, "note": "skipped: " + why, "load": None})
    log(f"{metric}: skipped ({why})")


def fmt(x):
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.3f}" if abs(x) < 100 else f"{x:.0f}"
    return str(x)


def print_table():
    """One table per store, in the order measured."""
    for label in dict.fromkeys(r["store"] for r in RESULTS):
        print(f"\nstore {label}:")
        _print_rows([r for r in RESULTS if r["store"] == label])


def _print_rows(results):
    rows = [("issue", "metric", "workbench", "anchor", "ratio", "target", "result")]
    for r in results:
        anchor = "-" if r["anchor"] is None else f"{fmt(r['anchor'])} ({r['anchor_name']})"
        res = ("SKIP" if r["workbench"] is None else "INFO" if r["pass"] is None
               else "PASS" if r["pass"] else "FAIL")
        val = "-" if r["workbench"] is None else f"{fmt(r['workbench'])} {r['unit']}"
        rows.append((str(r["issue"]), r["metric"], val, anchor,
                     "-" if r["ratio"] is None else f"{r['ratio']:.3f}",
                     (r["target"] or r["note"])[:60], res))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for i, row in enumerate(rows):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)))
        if i == 0:
            print("  ".join("-" * w for w in widths))


def wb_help(*words):
    p = subprocess.run(WB + list(words) + ["--help"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    return p.stdout.decode(errors="replace") if p.returncode == 0 else ""


def tool_version(cmd):
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = p.stdout.decode(errors="replace").strip().splitlines()
    return lines[0] if lines else None


def zip_version():
    try:
        text = subprocess.run(["zip", "-v"], stdout=subprocess.PIPE).stdout.decode(errors="replace")
    except OSError:
        return None
    m = re.search(r"This is Zip [^\s]+", text)
    return m.group(0) if m else None


def machine():
    cpu = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import isal  # noqa: F401
        isal_version = getattr(isal, "__version__", "yes")
    except ImportError:
        isal_version = None
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    return {"cores": os.cpu_count(), "cpu": cpu, "mem_gib": round(mem, 1),
            "python": platform.python_version(), "kernel": platform.release(), "isal": isal_version,
            "zip": zip_version(),
            "unzip": tool_version(["unzip", "-v"]), "restic": tool_version(["restic", "version"]),
            "borg": tool_version(["borg", "--version"])}


def git_state():
    """The commit measured, and the engine files that differ from it (the tree is shared)."""
    def git(*a):
        p = subprocess.run(["git", "-C", str(ROOT)] + list(a), stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL)
        return p.stdout.decode().strip()
    return {"commit": git("rev-parse", "--short", "HEAD"),
            "dirty": git("status", "--short", "--", "workbench").splitlines()}


def compile_package():
    """Byte-compile the workbench package the timed commands will import; return its directory.

    The package is located by a child process with this interpreter and environment, so that
    PYTHONPATH and editable installs resolve exactly as in the timed runs. ``compileall`` (via
    ``py_compile``) writes the ``.pyc`` files even under ``PYTHONDONTWRITEBYTECODE``, which only
    stops the import system from writing them.
    """
    p = subprocess.run([PY, "-c", "import os, workbench; "
                        "print(os.path.dirname(os.path.abspath(workbench.__file__)))"],
                       stdout=subprocess.PIPE, check=True, text=True)
    pkg = p.stdout.strip().splitlines()[-1]
    t0 = time.perf_counter()
    rc = subprocess.run([PY, "-m", "compileall", "-q", pkg]).returncode
    log(f"byte-compiled {pkg} ({time.perf_counter() - t0:.1f} s)" if rc == 0 else
        f"compileall {pkg} failed (exit {rc}); whole-process figures include compiling")
    return pkg


# ------------------------------------------------------------------------------------------ setup

class Bench:
    """The runs on one store: *data* (an existing server directory, or where to generate one)
    of *profile* (None: the store's own), measured in its own scratch directory."""

    def __init__(self, args, data=None, profile=None, messages=None):
        self.args = args
        self.data, self.profile = data, profile
        self.messages = messages or args.messages
        self.root = Path(args.work)
        self.root.mkdir(parents=True, exist_ok=True)
        self.work = self.root / f"run-{self.label}"
        self.work.mkdir(parents=True, exist_ok=True)
        self.server = self.work / "server"
        self.wb_target = self.work / "wb-target"
        self.zip_dir = self.work / "zip"
        self.full_zip = self.zip_dir / "full.zip"
        self.full_set = None
        self.diff_set = None
        self.mutated = False
        self.repeat = args.repeat
        self.level_cfg = None
        if args.compression_level:
            self.level_cfg = self.work / "level.toml"
            self.level_cfg.write_text(f"compression_level = {args.compression_level}\n")

    def clean(self):
        """Remove this store's scratch data (copies, volumes, zips, repos)."""
        rmtree(self.work)

    def wb_engine(self, target=None):
        opts = ["--store", self.server, "--target", target or self.wb_target, "--min-free", "0"]
        if self.level_cfg:
            opts += ["--config", self.level_cfg]
        return opts

    @property
    def source(self):
        """The server directory measured (copied first): --data, or a generated store."""
        if self.data:
            return Path(self.data)
        profile = self.profile or "default"
        # The default profile keeps its old directory name, so stores generated before stay reused.
        style = "" if profile == "default" else f"{profile}-"
        return self.root / f"data-{style}{self.messages}-s{self.args.seed}"

    @property
    def label(self):
        """How the tables and the JSON name this store: its profile and size."""
        profile = self.profile or store_profile(self.source) or "default"
        return f"{profile}-{self.messages // 1000}k" if not self.data else \
            f"{profile}-{Path(self.data).name}"

    def prepare_data(self):
        a = self.args
        data = self.source
        if not (data / "store" / "mail").is_dir():
            profile = self.profile or "default"
            log(f"generating {self.messages} messages (profile {profile}, seed {a.seed}) into "
                f"{data}")
            r = run([PY, "-m", "workbench.samples", "generate", data, "--messages",
                     self.messages, "--seed", a.seed]
                    + (["--profile", self.profile] if self.profile else []), sync=False)
            EXTRA["generate_s"] = r["wall"]
        elif self.profile and store_profile(data) not in (None, self.profile):
            raise RuntimeError(f"{data} holds a store of profile {store_profile(data)}, not "
                               f"{self.profile}; give another --data or no --profile")
        log(f"copying {data} to {self.server} (the differential mutates the copy)")
        rmtree(self.server)
        subprocess.run(["cp", "-a", str(data), str(self.server)], check=True)
        self.data_source = str(data)
        n_files = n_msgs = 0
        for dirpath, _, files in os.walk(self.server):
            n_files += len(files)
            n_msgs += sum(f.endswith(".eml") for f in files)
        n_source = sum(len(files) for _, _, files in os.walk(data))
        if n_source != n_files:  # a shared store being regenerated while we copied it
            raise RuntimeError(f"{data} changed during the copy ({n_source} files, copied "
                               f"{n_files}); run again when it is stable")
        EXTRA["store"] = {"source": str(data), "profile": store_profile(data), "files": n_files,
                          "messages": n_msgs, "bytes": tree_bytes(self.server)}
        log(f"store ({EXTRA['store']['profile']}): {n_files} files, {n_msgs} messages, "
            f"{EXTRA['store']['bytes']} bytes")
        self.warm()

    def warm(self):
        """Read the whole server directory twice; the second read is the page-cache read floor."""
        cmd = ["sh", "-c", f"tar -cf - {' '.join(TOP_ENTRIES)} | cat >/dev/null"]
        run(cmd, cwd=self.server)
        EXTRA["read_floor_tar_cat_s"] = run(cmd, cwd=self.server)["wall"]
        log(f"page-cache read floor (tar | cat): {EXTRA['read_floor_tar_cat_s']:.2f} s")

    # -------------------------------------------------------------------- shared prerequisites

    def wb_full(self, target=None):
        """One workbench full backup (timed); return the run and the parsed JSON result."""
        target = target or self.wb_target
        r = run(WB + ["backup", "full"] + self.wb_engine(target) + ["-q", "--json"],
                stdout=subprocess.PIPE)
        res = json.loads(r["stdout"].strip().splitlines()[-1])
        return r, res

    def ensure_full(self):
        if self.full_set is None:
            rmtree(self.wb_target)
            r, res = self.wb_full()
            self.full_set, self.full_res, self.full_run = res["set"], res, r
        if not self.full_zip.exists():
            self.zip_full()

    def zip_full(self):
        rmtree(self.zip_dir)
        self.zip_dir.mkdir(parents=True)
        r = run(["zip", "-r", "-q", "-6", self.full_zip] + self.present_entries(), cwd=self.server)
        self.zip_run = r
        return r

    def present_entries(self):
        return [e for e in TOP_ENTRIES if (self.server / e).exists()]

    # ------------------------------------------------------------------------------ issue 2

    def best_full(self, what="workbench backup full"):
        """The fastest of ``--big-repeat`` full backups into an empty target: ``(run, result)``.
        The later phases use the last one's set, the one the target holds (each run empties it
        first; the runs store the same bytes)."""
        best = None
        for i in range(self.args.big_repeat):
            rmtree(self.wb_target)
            log(f"{what} ({i + 1}/{self.args.big_repeat})")
            r, res = self.wb_full()
            if best is None or r["wall"] < best[0]["wall"]:
                best = (r, res)
        wb, _ = best
        self.full_set, self.full_res, self.full_run = res["set"], res, wb
        return wb, res

    def bench_backup(self):
        wb, res = self.best_full()
        wb_bytes = tree_bytes(self.wb_target)   # volumes + manifest + index
        vol_bytes = res["bytes_out"]

        zr = None
        for i in range(self.args.big_repeat):
            log(f"zip -r -q -6 ({i + 1}/{self.args.big_repeat})")
            r = self.zip_full()
            if zr is None or r["wall"] < zr["wall"]:
                zr = r
        zip_bytes = self.full_zip.stat().st_size
        t0 = time.perf_counter()
        os.sync()
        EXTRA["zip_full_sync_after_s"] = time.perf_counter() - t0

        rs = self.restic_backup()

        EXTRA["backup_full"] = {"workbench_s": wb["wall"], "workbench_cpu_s": wb["cpu"],
                                "workbench_rss_mb": wb["rss_mb"],
                                "workbench_tree_rss_mb": wb["tree_rss_mb"],
                                "workbench_tree_pss_mb": wb["tree_pss_mb"],
                                "zip_cpu_s": zr["cpu"], "restic_cpu_s": rs and rs["cpu"],
                                "workbench_volume_bytes": vol_bytes,
                                "workbench_target_bytes": wb_bytes, "bytes_in": res["bytes_in"],
                                "files": res["files"], "zip_s": zr["wall"],
                                "zip_rss_mb": zr["rss_mb"], "zip_bytes": zip_bytes,
                                "restic_s": rs and rs["wall"], "restic_rss_mb": rs and rs["rss_mb"],
                                "restic_repo_bytes": rs and rs["bytes"]}
        check(16, "full backup wall", wb["wall"], "s", anchor=zr["wall"], anchor_name="zip -6",
              max_ratio=0.20, note=f"load {wb['load']}")
        if rs:
            check(16, "full backup wall vs restic", wb["wall"], "s", anchor=rs["wall"],
                  anchor_name="restic backup", max_ratio=0.6)
        else:
            skip(16, "full backup wall vs restic", "restic not available")
        check(16, "full backup bytes (volumes)", vol_bytes, "B", anchor=zip_bytes,
              anchor_name="zip -6", max_ratio=1.03,
              note=f"target incl. manifest+index: {wb_bytes} B")
        check(16, "full backup peak RSS (process tree)", wb["tree_rss_mb"], "MB", max_abs=200,
              note=f"largest process {wb['rss_mb']:.0f} MB, tree PSS {wb['tree_pss_mb']:.0f} MB")
        check(16, "full backup CPU (process tree)", wb["cpu"], "s", anchor=zr["cpu"],
              anchor_name="zip -6 CPU", max_ratio=0.30,
              note="user+sys of every process: robust to other load")

    def bench_encrypted(self):
        """An encrypted full (``--encrypt``: AES-256 volumes, sealed manifest and index) beside
        the plain one, both timed here, on the same store, best of --big-repeat each."""
        target = self.work / "wb-encrypted"
        env = {"WORKBENCH_PASSWORD": "bench password, not a secret"}
        runs = {}
        for kind, extra, run_env in (("plain", [], None), ("encrypted", ["--encrypt"], env)):
            best = None
            for i in range(self.args.big_repeat):
                rmtree(target)
                log(f"workbench backup full, {kind} ({i + 1}/{self.args.big_repeat})")
                r = run(WB + ["backup", "full"] + self.wb_engine(target) + extra
                        + ["-q", "--json"], env=run_env, stdout=subprocess.PIPE)
                if best is None or r["wall"] < best["wall"]:
                    best = r
            best["bytes"] = tree_bytes(target)
            runs[kind] = best
        rmtree(target)
        plain, enc = runs["plain"], runs["encrypted"]
        EXTRA["backup_full_encrypted"] = {
            "plain_s": plain["wall"], "plain_cpu_s": plain["cpu"], "plain_bytes": plain["bytes"],
            "encrypted_s": enc["wall"], "encrypted_cpu_s": enc["cpu"],
            "encrypted_bytes": enc["bytes"], "encrypted_tree_rss_mb": enc["tree_rss_mb"]}
        check(17, "encrypted full backup wall", enc["wall"], "s", anchor=plain["wall"],
              anchor_name="plain full", max_ratio=1.3, note=f"load {enc['load']}")
        check(17, "encrypted full backup CPU (process tree)", enc["cpu"], "s",
              anchor=plain["cpu"], anchor_name="plain full CPU", max_ratio=1.3,
              note="PBKDF2 (1000 x HMAC-SHA1) per member, as WinZip AES fixes it")

    def restic_backup(self):
        if not shutil.which("restic"):
            return None
        repo = self.work / "restic"
        rmtree(repo)
        env = {"RESTIC_PASSWORD": "bench", "RESTIC_REPOSITORY": str(repo),
               "RESTIC_CACHE_DIR": str(self.work / "restic-cache")}
        run(["restic", "init"], env=env)
        log("restic backup (initial)")
        r = run(["restic", "backup", "--quiet"] + self.present_entries(), cwd=self.server, env=env)
        r["bytes"] = tree_bytes(repo)
        rmtree(repo)
        rmtree(self.work / "restic-cache")
        return r

    def bench_differential(self):
        self.ensure_full()
        log("mutate --seed 2")
        run([PY, "-m", "workbench.samples", "mutate", self.server, "--seed", "2"],
                stdout=subprocess.PIPE, sync=False)
        self.mutated = True
        self.warm()
        # The same differential of the same mutated store, --repeat times, each beside zip -DF:
        # the set made is removed before the next run (the last one stays for the catalog).
        # Best of each, as for the full backups: one run of about 1.5 s moved by 30 % with the
        # machine's other work.
        diff_zip = self.zip_dir / "diff.zip"
        before = set(os.listdir(self.wb_target))
        wb = zr = None
        for i in range(self.repeat):
            for name in set(os.listdir(self.wb_target)) - before:
                os.unlink(self.wb_target / name)
            log(f"workbench backup differential ({i + 1}/{self.repeat})")
            w = run(WB + ["backup", "differential"] + self.wb_engine() + ["-q", "--json"],
                    stdout=subprocess.PIPE)
            if wb is None or w["wall"] < wb["wall"]:
                wb = w
            res = json.loads(w["stdout"].strip().splitlines()[-1])
            if diff_zip.exists():
                diff_zip.unlink()
            log(f"zip -DF differential ({i + 1}/{self.repeat})")
            z = run(["zip", "-r", "-q", self.full_zip] + self.present_entries()
                    + ["-DF", "--out", diff_zip], cwd=self.server)
            if zr is None or z["wall"] < zr["wall"]:
                zr = z
        self.diff_set = res["set"]
        EXTRA["backup_differential"] = {
            "workbench_s": wb["wall"], "workbench_rss_mb": wb["rss_mb"],
            "workbench_bytes": res["bytes_out"], "stored": res["stored"],
            "zip_s": zr["wall"], "zip_bytes": diff_zip.stat().st_size}
        EXTRA["backup_differential"].update(workbench_cpu_s=wb["cpu"],
                                            workbench_tree_rss_mb=wb["tree_rss_mb"],
                                            zip_cpu_s=zr["cpu"])
        check(16, "differential wall", wb["wall"], "s", anchor=zr["wall"], anchor_name="zip -DF",
              max_ratio=0.7, note=f"{res['stored']} files stored; CPU {wb['cpu']:.2f} s vs "
              f"{zr['cpu']:.2f} s")

    # ------------------------------------------------------------------------------ issue 3

    def bench_restore(self):
        self.ensure_full()
        out = self.work / "restore-out"
        # Whole store: workbench restore of the full vs unzip -q of zip's archive of the same store.
        walls = {"wb": [], "unzip": []}
        for i in range(self.args.big_repeat):
            rmtree(out)
            log(f"workbench restore (whole store) ({i + 1}/{self.args.big_repeat})")
            r = run(WB + ["restore", self.full_set, "--to", out, "--target", self.wb_target, "-q"])
            walls["wb"].append(r["wall"])
            n_wb = sum(len(f) for _, _, f in os.walk(out))
            rmtree(out)
            log(f"unzip -q ({i + 1}/{self.args.big_repeat})")
            r = run(["unzip", "-q", self.full_zip, "-d", out])
            walls["unzip"].append(r["wall"])
            rmtree(out)
        EXTRA["restore_whole"] = {"workbench_s": walls["wb"], "unzip_s": walls["unzip"],
                                  "files_restored": n_wb}
        check(3, "whole-store restore wall", min(walls["wb"]), "s", anchor=min(walls["unzip"]),
              anchor_name="unzip -q", max_ratio=0.5)

        # One message, whole process, by --path and --message-id, vs borg extract of that file.
        help_text = wb_help("restore")
        has_path = "--path" in help_text
        has_mid = "--message-id" in help_text
        msg_path, msg_id = self.pick_message()
        borg = self.borg_extract(msg_path) if (has_path or has_mid) else None
        one = self.work / "restore-one"
        for flag, value, ok in (("--path", msg_path, has_path), ("--message-id", msg_id, has_mid)):
            metric = f"restore one message by {flag}"
            if not ok:
                skip(3, metric, f"workbench restore has no {flag} yet")
                continue
            med, walls_, _ = median_run(
                WB + ["restore", self.full_set, flag, value, "--to", one, "--target",
                      self.wb_target, "-q"],
                self.repeat, prepare=lambda: rmtree(one))
            restored = [os.path.join(d, f) for d, _, fs in os.walk(one) for f in fs]
            rmtree(one)
            EXTRA[f"restore_one{flag.replace('-', '_')}"] = {"walls": walls_, "files": restored[:5]}
            note = "" if len(restored) == 1 else f"restored {len(restored)} files, expected 1"
            if borg:
                check(16, metric, med, "s", anchor=borg, anchor_name="borg extract",
                      max_ratio=1 / 3, max_abs=0.08, note=note)
            else:
                check(16, metric, med, "s", max_abs=0.08, note=note + " (no borg)")

        # verify --level data vs unzip -t.
        if "verify" not in wb_help() or "--level" not in wb_help("verify"):
            skip(3, "verify --level data", "workbench verify --level not there yet")
            return
        vw, uw = [], []
        for i in range(self.args.big_repeat):
            log(f"workbench verify --level data ({i + 1}/{self.args.big_repeat})")
            vw.append(run(WB + ["verify", self.full_set, "--level", "data", "--target",
                                self.wb_target])["wall"])
            log(f"unzip -tq ({i + 1}/{self.args.big_repeat})")
            uw.append(run(["unzip", "-tq", self.full_zip])["wall"])
        EXTRA["verify_data"] = {"workbench_s": vw, "unzip_t_s": uw}
        check(3, "verify --level data wall", min(vw), "s", anchor=min(uw), anchor_name="unzip -t",
              max_ratio=1.0)

    def pick_message(self):
        """A message path in the middle of the store (server-relative) and its Message-ID."""
        paths = []
        for dirpath, _, files in os.walk(self.server / "store" / "mail"):
            paths += [os.path.join(dirpath, f) for f in files if f.endswith(".eml")]
        # A user's message (not a public folder's), in the middle of the sorted store.
        paths = sorted(p for p in paths if "/#public/" not in p) or sorted(paths)
        path = paths[len(paths) // 2]
        msg_id = None
        with open(path, "rb") as f:
            head = f.read(64 * 1024).split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0]
        m = re.search(rb"(?im)^message-id:\s*(\S+)", head)
        if m:
            msg_id = m.group(1).decode(errors="replace")
        rel = os.path.relpath(path, self.server).replace(os.sep, "/")
        EXTRA["single_message"] = {"path": rel, "message_id": msg_id}
        return rel, msg_id

    def borg_extract(self, rel):
        """Median whole-process time of ``borg extract`` of *rel* from a borg repo of the store."""
        if not shutil.which("borg"):
            return None
        repo = self.work / "borg"
        env = {"BORG_BASE_DIR": str(self.work / "borg-home"), "BORG_PASSPHRASE": "",
               "BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK": "yes",
               "BORG_RELOCATED_REPO_ACCESS_IS_OK": "yes"}
        if not (repo / "config").exists():
            rmtree(repo)
            run(["borg", "init", "-e", "none", repo], env=env)
            log("borg create")
            r = run(["borg", "create", f"{repo}::full"] + self.present_entries(),
                    cwd=self.server, env=env)
            EXTRA["borg_create_s"] = r["wall"]
        dest = self.work / "borg-out"
        dest.mkdir(exist_ok=True)
        med, walls, _ = median_run(["borg", "extract", f"{repo}::full", rel], self.repeat,
                                   prepare=lambda: rmtree(dest / "store"), cwd=dest, env=env)
        rmtree(dest)
        EXTRA["borg_extract_one_s"] = walls
        return med

    # ------------------------------------------------------------------------------ issue 4

    def bench_catalog(self):
        try:
            importlib.import_module("workbench.catalog")
        except ImportError as e:
            skip(4, "read_entries / read_messages", f"workbench.catalog not importable ({e})")
            return
        self.ensure_full()
        if self.diff_set is None:
            self.bench_differential()
        code = _CATALOG_CHILD % {"target": str(self.wb_target), "set": self.full_set,
                                 "repeat": self.repeat, "zip": str(self.full_zip)}
        p = subprocess.run([PY, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if p.returncode != 0:
            skip(4, "read_entries / read_messages",
                 "catalog child failed: " + p.stderr.decode(errors="replace")[-400:])
            return
        res = json.loads(p.stdout.decode().strip().splitlines()[-1])
        EXTRA["catalog"] = res
        unzip_med = None
        if self.full_zip.exists():
            unzip_med, walls, _ = median_run(["unzip", "-Z1", self.full_zip], self.repeat,
                                             sync=False)
            EXTRA["catalog"]["unzip_Z1_s"] = walls
        note = (f"{res['entries_rows']} rows; {res['read_entries_cached_s']:.3f} s with the "
                f"manifest cache kept")
        check(4, "read_entries (warm)", res["read_entries_s"], "s", anchor=unzip_med,
              anchor_name="unzip -Z1 process", max_abs=0.15, note=note)
        if res.get("infolist_pandas_s") is not None:
            EXTRA["catalog"]["read_entries_vs_infolist_ratio"] = (
                res["read_entries_s"] / res["infolist_pandas_s"])
        if res.get("read_messages_s") is not None:
            check(4, "read_messages (warm)", res["read_messages_s"], "s",
                  anchor=res.get("infolist_pandas_s"), anchor_name="ZipFile.infolist->pandas",
                  max_abs=0.3, note=f"{res['messages_rows']} rows; "
                  f"{res['read_messages_cached_s']:.3f} s with the cache kept")
        else:
            skip(4, "read_messages (warm)", res.get("read_messages_error", "not available"))
        check(4, "catalog peak memory (RSS over baseline)", res["peak_rss_delta_mb"], "MB",
              max_abs=300, note=f"tracemalloc peak {res['tracemalloc_peak_mb']:.0f} MB")

    # ------------------------------------------------------------------------------ issue 5

    def bench_smb(self):
        if not (ROOT / "workbench" / "targets" / "smb").exists():
            skip(5, "SMB backup throughput", "workbench/targets/smb not there yet")
            return
        sys.path.insert(0, str(ROOT))
        try:
            from tests import samba
        except ImportError as e:
            skip(5, "SMB backup throughput", f"tests/samba.py not importable ({e})")
            return
        # The store as it is now (after the differential's mutate if that ran): both backups
        # below read the same data.
        base = self.work / "smb"
        rmtree(base)
        server = samba.SambaServer(base).start()
        env = {"WORKBENCH_SMB_USER": server.user, "WORKBENCH_SMB_PASSWORD": server.password}
        os.environ.update(env)   # children inherit it; never printed or stored
        local = self.work / "smb-local"
        try:
            smb_url = server.url("backup", "bench")
            best = {}
            for name, tgt in (("local", local), ("smb", smb_url)):
                for i in range(self.args.big_repeat):
                    if name == "local":
                        rmtree(local)
                    else:
                        rmtree(Path(server.share_path("backup")) / "bench")
                    log(f"workbench backup full to {name} ({i + 1}/{self.args.big_repeat})")
                    r, res = self.wb_full(tgt)
                    if name not in best or r["wall"] < best[name][0]["wall"]:
                        best[name] = (r, res)
            (rl, res_l), (rs, res_s) = best["local"], best["smb"]
            tl = res_l["bytes_in"] / rl["wall"] / 2**20
            ts = res_s["bytes_in"] / rs["wall"] / 2**20
            EXTRA["smb"] = {"local_s": rl["wall"], "smb_s": rs["wall"], "local_MiBps": tl,
                            "smb_MiBps": ts, "smb_rss_mb": rs["rss_mb"],
                            "bytes_in": res_s["bytes_in"]}
            check(5, "full backup throughput to SMB", ts, "MiB/s", anchor=tl,
                  anchor_name="same backup to local dir", min_ratio=0.7)
            code = _SETS_CHILD % {"repeat": self.repeat}
            times = {}
            for name, tgt in (("local", str(local)), ("smb", smb_url)):
                p = subprocess.run([PY, "-c", code, tgt], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE)
                if p.returncode != 0:
                    raise RuntimeError(f"catalog read on {name} failed:\n"
                                       + p.stderr.decode(errors="replace")[-1500:])
                times[name] = json.loads(p.stdout.decode().strip().splitlines()[-1])
            EXTRA["smb"]["catalog"] = times
            check(5, "read_sets from SMB (warm process)", times["smb"]["s"], "s",
                  anchor=times["local"]["s"], anchor_name="local dir", max_ratio=2.0,
                  note=f"via {times['smb']['fn']}")
            if "entries_s" in times["smb"]:
                check(5, "read_entries from SMB (warm process)", times["smb"]["entries_s"], "s",
                      anchor=times["local"]["entries_s"], anchor_name="local dir", max_ratio=2.0)
        finally:
            server.stop()
            rmtree(local)
            rmtree(base)


_CATALOG_CHILD = r"""
import json, os, resource, statistics, time, tracemalloc, zipfile
import pandas as pd
import workbench.catalog as cat
target, set_name, repeat = %(target)r, %(set)r, %(repeat)d

def rss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

clear = getattr(cat, "clear_cache", lambda: None)

def timed(fn, cold=True):
    # cold: the catalog's in-process manifest cache is cleared before each call, so every call
    # reads and parses from the target (page cache warm, imports done: a "warm process").
    fn()  # warm: imports, page cache, first-call setup
    walls = []
    for _ in range(repeat):
        if cold:
            clear()
        t = time.perf_counter(); out = fn(); walls.append(time.perf_counter() - t)
    return statistics.median(walls), out

base = rss()
out = {}
t, df = timed(lambda: cat.read_entries(target, set=set_name))
out["read_entries_s"], out["entries_rows"] = t, len(df)
out["read_entries_cached_s"], _ = timed(lambda: cat.read_entries(target, set=set_name), False)
try:
    t, dm = timed(lambda: cat.read_messages(target, set=set_name))
    out["read_messages_s"], out["messages_rows"] = t, len(dm)
    out["read_messages_cached_s"], _ = timed(lambda: cat.read_messages(target, set=set_name),
                                             False)
except Exception as e:
    out["read_messages_s"], out["read_messages_error"] = None, repr(e)[:300]
out["peak_rss_delta_mb"] = rss() - base
clear()
tracemalloc.start()
cat.read_entries(target, set=set_name)
if out["read_messages_s"] is not None:
    cat.read_messages(target, set=set_name)
out["tracemalloc_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
tracemalloc.stop()

def infolist():
    with zipfile.ZipFile(%(zip)r) as z:
        return pd.DataFrame([(i.filename, i.file_size, i.compress_size, i.CRC, i.date_time)
                             for i in z.infolist()],
                            columns=["path", "size", "csize", "crc32", "date_time"])
out["infolist_pandas_s"] = timed(infolist)[0] if os.path.exists(%(zip)r) else None
print(json.dumps(out))
"""

_SETS_CHILD = r"""
import json, statistics, sys, time
target = sys.argv[1]

def timed(fn):
    fn()  # warm: imports, connection, first-call setup
    walls = []
    for _ in range(%(repeat)d):
        clear()  # the catalog's manifest cache: every call reads from the target
        t = time.perf_counter(); fn(); walls.append(time.perf_counter() - t)
    return statistics.median(walls), walls

out = {}
clear = lambda: None
try:
    from workbench import catalog
    clear = getattr(catalog, "clear_cache", clear)
except ImportError:
    from workbench.targets import open_target
    from workbench.sets import list_sets
    out["fn"] = "sets.list_sets"
    out["s"], out["walls"] = timed(lambda: list_sets(open_target(target)))
else:
    out["fn"] = "catalog.read_sets"
    out["s"], out["walls"] = timed(lambda: catalog.read_sets(target))
    full = [n for n in catalog.read_sets(target)["set"] if n.startswith("F")][-1]
    out["entries_s"], _ = timed(lambda: catalog.read_entries(target, set=full))
print(json.dumps(out))
"""


def store_profile(server_dir):
    """The generator profile a server directory was made with (see workbench.samples.profiles),
    "default" when it names none, or None when workbench.samples cannot say."""
    try:
        from workbench.samples.profiles import store_profile as profile_of
    except ImportError:  # a workbench from before store profiles
        return None
    return profile_of(Path(server_dir)).name


def profile_names():
    """The store profiles ``python -m workbench.samples generate --profile`` knows."""
    try:
        from workbench.samples.profiles import PROFILES
    except ImportError:
        return ("default",)
    return tuple(PROFILES)


def _store_specs(args):
    """``[(data dir or None, profile or None)]`` of the stores to measure (see --help)."""
    data = args.data or []
    profiles = [p for group in (args.profile or []) for p in group.split(",") if p]
    bad = [p for p in profiles if p not in profile_names()]
    if bad:
        raise SystemExit(f"--profile: unknown profile(s) {', '.join(bad)}; choose from "
                         f"{', '.join(profile_names())}")
    if data and profiles and len(data) == len(profiles):
        return list(zip(data, profiles))  # each --data with its --profile
    if data and profiles:
        raise SystemExit("give one --profile per --data, or --data alone (its store says its "
                         "profile), or --profile alone (generated under --work)")
    if data:
        return [(d, None) for d in data]
    return [(None, p) for p in profiles] or [(None, None)]


def _baseline(profile, path=None):
    """The figures of the 100k-message store of *profile*: measured in this run, else read from
    the results file *path* of an earlier run."""
    sources = [ALL_EXTRA]
    if path:
        sources.append(json.loads(Path(path).read_text())["extra"])
    for extra in sources:
        for label, e in extra.items():
            store = e.get("store") or {}
            if (store.get("profile") or "default") == profile and "backup_full" in e \
                    and not e.get("big"):
                return label, e
    return None, None


def bench_big(b, args):
    """The big store: full backup, differential after one mutate day and read_entries, each
    against the 100k figures of the same profile (no anchor tools: their runs on 12 GB would
    take most of an hour and as much disk again)."""
    EXTRA["big"] = True
    b.prepare_data()
    profile = EXTRA["store"]["profile"] or "default"
    label, base = _baseline(profile, args.baseline)
    if base is None:
        skip(16, "1M-message store", f"no 100k figures of profile {profile}: measure that store "
             "in the same run, or give --baseline RESULTS.json")
        return
    growth = EXTRA["store"]["files"] / base["store"]["files"]
    EXTRA["baseline"] = {"store": label, "files_growth": growth}
    note = f"store {growth:.1f} x the files of {label}"
    wb, res = b.best_full("workbench backup full of the big store")
    bf = base["backup_full"]
    EXTRA["backup_full"] = {"workbench_s": wb["wall"], "workbench_cpu_s": wb["cpu"],
                            "workbench_rss_mb": wb["rss_mb"],
                            "workbench_tree_rss_mb": wb["tree_rss_mb"],
                            "workbench_tree_pss_mb": wb["tree_pss_mb"],
                            "workbench_volume_bytes": res["bytes_out"],
                            "bytes_in": res["bytes_in"], "files": res["files"],
                            "volumes": len(res["volumes"]), "load": wb["load"]}
    check(16, "big full backup wall", wb["wall"], "s", anchor=bf["workbench_s"],
          anchor_name=f"{label} full", max_ratio=10.5, note=f"{note}; load {wb['load']}")
    check(16, "big full backup CPU (process tree)", wb["cpu"], "s",
          anchor=bf["workbench_cpu_s"], anchor_name=f"{label} full CPU", max_ratio=10.5)
    check(16, "big full backup peak RSS (process tree)", wb["tree_rss_mb"], "MB",
          anchor=bf["workbench_tree_rss_mb"], anchor_name=f"{label} full", max_abs=300,
          note=f"largest process {wb['rss_mb']:.0f} MB")
    log("mutate --seed 2 (big store)")
    run([PY, "-m", "workbench.samples", "mutate", b.server, "--seed", "2"],
        stdout=subprocess.PIPE, sync=False)
    b.warm()
    log("workbench backup differential of the big store")
    wd = run(WB + ["backup", "differential"] + b.wb_engine() + ["-q", "--json"],
             stdout=subprocess.PIPE)
    resd = json.loads(wd["stdout"].strip().splitlines()[-1])
    b.diff_set = resd["set"]
    bd = base.get("backup_differential") or {}
    EXTRA["backup_differential"] = {"workbench_s": wd["wall"], "workbench_cpu_s": wd["cpu"],
                                    "workbench_tree_rss_mb": wd["tree_rss_mb"],
                                    "stored": resd["stored"], "load": wd["load"]}
    if bd:
        check(16, "big differential wall", wd["wall"], "s", anchor=bd["workbench_s"],
              anchor_name=f"{label} differential", max_ratio=10.5,
              note=f"{resd['stored']} files stored")
    check(16, "big differential peak RSS (process tree)", wd["tree_rss_mb"], "MB", max_abs=300)
    code = _CATALOG_CHILD % {"target": str(b.wb_target), "set": b.full_set,
                             "repeat": args.repeat, "zip": str(b.full_zip)}
    p = subprocess.run([PY, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        skip(16, "big read_entries", "catalog child failed: "
             + p.stderr.decode(errors="replace")[-400:])
        return
    res = json.loads(p.stdout.decode().strip().splitlines()[-1])
    EXTRA["catalog"] = res
    bc = base.get("catalog") or {}
    check(16, "big read_entries (warm)", res["read_entries_s"], "s",
          anchor=bc.get("read_entries_s"), anchor_name=f"{label} read_entries",
          max_ratio=10.5 if bc.get("read_entries_s") else None,
          note=f"{res['entries_rows']} rows")
    if res.get("read_messages_s") is not None:
        check(16, "big read_messages (warm)", res["read_messages_s"], "s",
              anchor=bc.get("read_messages_s"), anchor_name=f"{label} read_messages",
              note=f"{res['messages_rows']} rows; information")
    check(16, "big catalog peak memory (RSS over baseline)", res["peak_rss_delta_mb"], "MB",
          note="information")


def main(argv=None):
    global EXTRA
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=100000)
    ap.add_argument("--seed", type=int, default=1, help="generation seed (default 1)")
    ap.add_argument("--profile", action="append",
                    help="profile(s) of the stores to measure, comma-separated or repeated "
                         f"({', '.join(profile_names())}): generated under --work, or into "
                         "the --data of the same position when that holds no store yet")
    ap.add_argument("--data", action="append",
                    help="existing server directory to measure (never modified; repeatable)")
    ap.add_argument("--big", metavar="DIR",
                    help="also measure this large store (generated there with --big-messages "
                         "when it holds none): full, differential and read_entries against "
                         "the 100k figures of its profile")
    ap.add_argument("--big-messages", type=int, default=1000000)
    ap.add_argument("--baseline", metavar="RESULTS.json",
                    help="take the 100k figures for --big from an earlier run's results")
    ap.add_argument("--only", default="backup,restore,catalog",
                    help="comma list of phases: backup,restore,catalog,smb,encrypt")
    ap.add_argument("--encrypt", action="store_true", help="also measure an encrypted full "
                    "beside a plain one (the encrypt phase)")
    ap.add_argument("--out", help="JSON results file (default bench/results/<UTC time>.json)")
    ap.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "wb-bench"),
                    help="scratch directory for copies, archives and repos")
    ap.add_argument("--repeat", type=int, default=5, help="runs of small figures (median)")
    ap.add_argument("--big-repeat", type=int, default=1, help="runs of big figures (best)")
    ap.add_argument("--compression-level", type=int,
                    help="workbench compression_level (1-9) for every backup of the run")
    ap.add_argument("--keep-work", action="store_true", help="keep the scratch data afterwards")
    args = ap.parse_args(argv)
    phases = [p.strip() for p in args.only.split(",") if p.strip()]
    if args.encrypt and "encrypt" not in phases:
        phases.append("encrypt")
    bad = [p for p in phases if p not in PHASES]
    if bad:
        ap.error(f"--only: unknown phase(s) {', '.join(bad)}; choose from {', '.join(PHASES)}")
    specs = _store_specs(args)
    if args.big and args.baseline and not args.data and not args.profile:
        specs = []  # the big store alone, against an earlier run's figures

    package_dir = compile_package()
    started = datetime.now(timezone.utc)
    info = {"started": started.isoformat(), "argv": sys.argv[1:], "machine": machine(),
            "git": git_state(), "package": package_dir,
            "load_start": os.getloadavg(), "workbench_cmd": WB[-1].rsplit("/", 1)[-1]}
    benches = [Bench(args, data, profile) for data, profile in specs]
    if args.big:
        benches.append(Bench(args, args.big, None, args.big_messages))
    for b in benches:
        big = args.big and b is benches[-1]
        CURRENT["store"] = b.label
        EXTRA = ALL_EXTRA.setdefault(b.label, {})
        EXTRA["load_start"] = loadavg()
        log(f"=== store {b.label}")
        if big:
            bench_big(b, args)
        else:
            b.prepare_data()
            if "backup" in phases:
                b.bench_backup()
            if "restore" in phases:
                b.bench_restore()
            if "encrypt" in phases:
                b.bench_encrypted()
            if "backup" in phases:
                b.bench_differential()
            if "catalog" in phases:
                b.bench_catalog()
            if "smb" in phases:
                b.bench_smb()
        EXTRA["load_end"] = loadavg()
        if not args.keep_work:
            b.clean()
    info["load_end"] = os.getloadavg()
    info["finished"] = datetime.now(timezone.utc).isoformat()

    print()
    print_table()
    out = Path(args.out) if args.out else HERE / "results" / (
        started.strftime("%Y%m%dT%H%M%SZ") + ".json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"info": info, "results": RESULTS, "extra": ALL_EXTRA}, indent=1,
                              default=str))
    print(f"\nresults written to {out}")
    failed = [r for r in RESULTS if r["pass"] is False]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
