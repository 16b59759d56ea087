"""A private Samba server for tests: smbd on 127.0.0.1, a free port, everything under one folder.

``SambaServer(base_dir).start()`` writes its own ``smb.conf`` (every Samba directory, the passdb and
the log under *base_dir*), creates the test user (``useradd``, then ``smbpasswd`` into the private
passdb) and starts ``smbd -F`` in the foreground. It serves two shares: ``backup`` (real free space)
and ``small`` (a ``dfree command`` reports :attr:`SMALL_FREE` bytes free), both with
``force user = root`` because the share folders live under pytest's private temp dirs.

smbd is never started with ``--no-process-group``: on SIGTERM it would then kill its process group,
which would be the test run itself. A missing smbd is an error, not a skip: CI installs ``samba``.
"""

import os
import shutil
import signal
import socket
import subprocess
import time
from contextlib import contextmanager

USER = "wbtest"
PASSWORD = "Pw-9f3c1e-secret"   # distinctive, so tests can look for it in logs and error texts
SMALL_FREE = 1024 * 1024         # bytes the "small" share reports free
SMALL_TOTAL = 64 * 1024 * 1024

_CONF = """\
[global]
  server role = standalone server
  smb ports = {port}
  interfaces = 127.0.0.1
  bind interfaces only = yes
  disable netbios = yes
  server min protocol = SMB2_10
  private dir = {d}/private
  lock directory = {d}/lock
  state directory = {d}/state
  cache directory = {d}/cache
  pid directory = {d}/pid
  ncalrpc dir = {d}/ncalrpc
  binddns dir = {d}/binddns
  log file = {d}/log/smbd.log
  log level = 1
  passdb backend = tdbsam:{d}/private/passdb.tdb
  map to guest = never
  load printers = no
  printing = bsd
  printcap name = /dev/null
  disable spoolss = yes

[backup]
  path = {d}/shares/backup
  read only = no
  force user = root
  valid users = {user}

[small]
  path = {d}/shares/small
  read only = no
  force user = root
  valid users = {user}
  dfree command = {d}/dfree.sh
  dfree cache time = 0
"""


def _find(program):
    path = shutil.which(program) or next(
        (p for p in (f"/usr/sbin/{program}", f"/usr/bin/{program}") if os.path.exists(p)), None)
    if path is None:
        raise RuntimeError(f"{program} not found: the SMB tests need Samba (Debian: apt-get install "
                           f"samba); they never skip")
    return path


def free_port():
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_user(user=USER):
    """Create the Unix account smbpasswd needs (no home, no shell); fine if it already exists."""
    if subprocess.run(["id", user], capture_output=True).returncode == 0:
        return
    r = subprocess.run([_find("useradd"), "-M", "-s", "/usr/sbin/nologin", user],
                       capture_output=True, text=True)
    # Another test run may have created it at the same moment.
    if r.returncode != 0 and subprocess.run(["id", user], capture_output=True).returncode != 0:
        raise RuntimeError(f"useradd {user} failed: {r.stderr.strip()}")


class SambaServer:
    """One private smbd; :meth:`stop` and :meth:`start` again keep its port, shares and files."""

    def __init__(self, base_dir, user=USER, password=PASSWORD):
        self.dir = os.path.abspath(str(base_dir))
        self.user, self.password = user, password
        self.port = free_port()
        self.conf = os.path.join(self.dir, "smb.conf")
        self.proc = None
        for sub in ("private", "lock", "state", "cache", "pid", "ncalrpc", "binddns",
                    "log", "shares/backup", "shares/small"):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
        dfree = os.path.join(self.dir, "dfree.sh")
        with open(dfree, "w") as f:
            # Samba's dfree command answers "total free" in 1 KiB blocks.
            f.write(f"#!/bin/sh\necho {SMALL_TOTAL // 1024} {SMALL_FREE // 1024}\n")
        os.chmod(dfree, 0o755)
        with open(self.conf, "w") as f:
            f.write(_CONF.format(port=self.port, d=self.dir, user=user))
        ensure_user(user)
        r = subprocess.run([_find("smbpasswd"), "-c", self.conf, "-a", "-s", user],
                           input=f"{password}\n{password}\n", capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"smbpasswd failed: {r.stderr.strip()}")

    def share_path(self, share):
        """The local folder behind *share* (to check files as the server stores them)."""
        return os.path.join(self.dir, "shares", share)

    def url(self, share="backup", path="", user=True):
        """``smb://user@127.0.0.1:port/share/path`` (no password, ever)."""
        who = f"{self.user}@" if user else ""
        tail = f"/{path.strip('/')}" if path else ""
        return f"smb://{who}127.0.0.1:{self.port}/{share}{tail}"

    def log_tail(self, n=20):
        """The last *n* lines smbd logged (for failure messages)."""
        lines = []
        for name in ("stdout.log", "smbd.log"):
            try:
                with open(os.path.join(self.dir, "log", name), errors="replace") as f:
                    lines += f.read().splitlines()[-n:]
            except OSError:
                pass
        return "\n".join(lines)

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout=15):
        """Start smbd and wait until it accepts connections."""
        if self.running:
            return self
        log = open(os.path.join(self.dir, "log", "stdout.log"), "ab")
        self.proc = subprocess.Popen([_find("smbd"), "-F", "-s", self.conf], stdout=log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        # No start_new_session: smbd calls setsid() itself (and fails if it already leads one).
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"smbd exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"smbd did not listen on port {self.port} within {timeout} s")

    def pids(self):
        """PIDs of this server's smbd processes: the parent and its per-connection children."""
        return _pids_using(self.conf)

    def pause(self):
        """Stall the server: SIGSTOP every smbd process of it. Connections stay open and the
        kernel still accepts new ones, but nothing answers until :meth:`resume`."""
        if self.proc is not None:
            os.kill(self.proc.pid, signal.SIGSTOP)  # first, so that it forks no new children
        for pid in self.pids():
            _signal(pid, signal.SIGSTOP)

    def resume(self):
        """SIGCONT every smbd process of this server (harmless if none is stopped)."""
        for pid in self.pids():
            _signal(pid, signal.SIGCONT)

    def stop(self):
        """SIGTERM smbd (it takes its per-connection children with it) and wait for it to exit."""
        if self.proc is None:
            return
        self.resume()  # a stopped process would not act on SIGTERM
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None
        # Children serving open connections leave with their parent; wait until none answers.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _pids_using(self.conf):
            time.sleep(0.05)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def _signal(pid, sig):
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _pids_using(conf):
    """PIDs of smbd processes started with *conf* (the parent and its connection children)."""
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().split(b"\0")
        except OSError:
            continue
        if conf.encode() in cmd and any(c.endswith(b"smbd") for c in cmd):
            out.append(int(pid))
    return out


@contextmanager
def samba_server(base_dir, **kwargs):
    """Run a SambaServer for the duration of the ``with`` block."""
    server = SambaServer(base_dir, **kwargs)
    server.start()
    try:
        yield server
    finally:
        server.stop()
