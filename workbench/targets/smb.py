"""An SMB network share as a backup target, through smbprotocol's ``smbclient`` (no mount needed).

This is the only module that imports smbprotocol. ``SMBTarget.from_url`` takes
``smb://[user@]host[:port]/share/dir`` or a UNC path ``\\\\host\\share\\dir``; the password never
appears in the URL, in the ``url`` attribute, in log records or in error messages. It comes from
(first found wins): the ``password`` option, the environment variable named by ``smb_password_env``
(default ``WORKBENCH_SMB_PASSWORD``), ``keyring`` (service ``workbench-smb``, user ``user@host``),
the hook set with :func:`set_password_prompt` (the notebooks' password widget), or ``getpass`` on a
terminal. The user name comes from the ``username`` option, the URL, or ``smb_user_env`` (default
``WORKBENCH_SMB_USER``).

Network errors (connection reset or refused, timeouts, a lost session) are retried with bounded
exponential backoff (:data:`RETRY_DELAYS`), reconnecting each time; open files reopen their handle
and resume at their position. When the retries are spent the operation raises
``TargetUnreachable``.

Every operation, retries included, ends within ``network_timeout`` seconds (default
:data:`DEFAULT_NETWORK_TIMEOUT`). smbprotocol bounds only the TCP connect and the NEGOTIATE
exchange; every later request (session setup, tree connect, create, read, write, flush, query,
close) waits for its reply for ever. So each operation runs under a deadline kept by one watchdog
thread: when it passes, the watchdog shuts the connection's socket down, which wakes the waiting
or sending thread with an error, and the operation raises ``TargetStalled`` (the server stopped
answering). After giving up, the target tries once more, briefly, on the next call (the cleanup of
a failed run, the removal of its lock) and then fails at once for :data:`GIVE_UP_COOLDOWN` seconds
with the same error, so that a dead server costs a run about ``network_timeout`` seconds in all.
"""

import errno
import getpass
import hashlib
import heapq
import io
import itertools
import logging
import os
import secrets
import socket
import stat as stat_mod
import struct
import sys
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from urllib.parse import unquote, urlsplit

# smbprotocol's debug log dumps every packet, file data included: `workbench -v` should show our
# debug messages, not megabytes of hex. Set before importing it (spnego logs at import time); a
# level the application set is left alone.
for _name in ("smbprotocol", "smbclient", "spnego"):
    if logging.getLogger(_name).level == logging.NOTSET:
        logging.getLogger(_name).setLevel(logging.WARNING)

import smbclient  # noqa: E402
from smbclient._pool import get_smb_tree  # noqa: E402
from smbprotocol.exceptions import (SMBAuthenticationError, SMBConnectionClosed,  # noqa: E402
                                    SMBException, SMBOSError, SMBResponseException)
from smbprotocol.file_info import FileAttributes, FileInformationClass  # noqa: E402
from smbprotocol.header import NtStatus  # noqa: E402
from smbprotocol.open import (CreateDisposition, CreateOptions,  # noqa: E402
                              FilePipePrinterAccessMask, ImpersonationLevel, Open,
                              QueryDirectoryFlags, ShareAccess)

from ..errors import (AuthenticationFailed, CredentialsMissing, ShareNotFound,  # noqa: E402
                      TargetError, TargetStalled, TargetUnreachable)
from ..naming import partial_name  # noqa: E402
from ..secrets import mask_url  # noqa: E402

log = logging.getLogger("workbench.targets.smb")

DEFAULT_PORT = 445
USER_ENV = "WORKBENCH_SMB_USER"
PASSWORD_ENV = "WORKBENCH_SMB_PASSWORD"
KEYRING_SERVICE = "workbench-smb"

# Seconds to wait before each retry: about 15 s of outage is ridden out, then the run fails.
RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0)
# The longest one operation may take, retries included (the config key network_timeout). Windows
# clients give a silent server 60 s too; a stalled server fails a run in about this long.
DEFAULT_NETWORK_TIMEOUT = 60.0
# After giving up, the next call tries once, for at most this long (the server may be back), and
# the calls after it fail at once for GIVE_UP_COOLDOWN seconds: the cleanup steps of a failed run
# (closing files, removing temporary files and the lock) must not each wait out the timeout again.
PROBE_TIMEOUT = 5.0
GIVE_UP_COOLDOWN = 30.0

# Big requests: one SMB round trip per 4 MiB written or read instead of per 64 KiB.
_BUFFER = 4 * 1024 * 1024
# Bytes read in the same compound request as the open (one credit): all of a lock file, the
# header line of a manifest, and ZIP signatures.
_HEAD = 64 * 1024
# Reads at least this big are taken for sequential: the next chunk is fetched ahead.
_READ_AHEAD_MIN = 256 * 1024
# Directory entries asked for in one QUERY_DIRECTORY (the server stops when the next entry would
# not fit): about 6000 names, more than a backup directory holds.
_LIST_BUFFER = 1024 * 1024
_READ_ACCESS = (FilePipePrinterAccessMask.FILE_READ_DATA
                | FilePipePrinterAccessMask.FILE_READ_ATTRIBUTES
                | FilePipePrinterAccessMask.FILE_READ_EA)
_SYMLINK_TAG = 0xA000000C  # IO_REPARSE_TAG_SYMLINK
_CREDIT = 64 * 1024        # bytes one SMB credit pays for
# Replies, from the end of the SMB2 header (MS-SMB2 2.2.14, 2.2.20, 2.2.34; MS-FSCC 2.4.18):
# CREATE: last write, change time, end of file, file id; READ and QUERY_DIRECTORY: where the
# data is (offset from the start of the header) and its length; a directory entry: next entry
# offset, last write, change time, end of file, attributes, name length, EA size (the reparse
# tag of a reparse point).
_CREATE_REPLY = struct.Struct("<24xQQ8xQ8x16s")
_READ_REPLY = struct.Struct("<2xB1xI")
_QUERY_REPLY = struct.Struct("<2xHI")
_DIR_ENTRY = struct.Struct("<I20xQQQ8xIII")
_FILETIME_1970 = 116444736000000000
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)
_LIST_ENDS = {NtStatus.STATUS_NO_MORE_FILES, NtStatus.STATUS_NO_SUCH_FILE}

_AUTH_STATUSES = {NtStatus.STATUS_LOGON_FAILURE, NtStatus.STATUS_WRONG_PASSWORD,
                  NtStatus.STATUS_PASSWORD_EXPIRED, 0xC0000072, 0xC000006E,  # disabled, restricted
                  0xC0000064}                                                # no such user
_SHARE_STATUSES = {NtStatus.STATUS_BAD_NETWORK_NAME, NtStatus.STATUS_NOT_FOUND,
                   NtStatus.STATUS_OBJECT_PATH_NOT_FOUND, NtStatus.STATUS_FS_DRIVER_REQUIRED}
_TRANSIENT_STATUSES = {NtStatus.STATUS_NETWORK_NAME_DELETED, NtStatus.STATUS_USER_SESSION_DELETED,
                       NtStatus.STATUS_IO_TIMEOUT, 0xC000020C,   # connection disconnected
                       0xC000020D, 0xC0000203, 0xC000035C}       # reset, session deleted/expired
_TRANSIENT_ERRNOS = {errno.ECONNRESET, errno.ECONNREFUSED, errno.ECONNABORTED, errno.EPIPE,
                     errno.ETIMEDOUT, errno.EHOSTUNREACH, errno.ENETUNREACH, errno.ENETDOWN,
                     errno.EHOSTDOWN}

_password_prompt = None
_CONNECTIONS = {}  # (host, port, user, password digest) -> smbclient connection cache
# Same keys -> how many times the watchdog hung those connections up: an attempt that fails
# because another thread's request went unanswered failed for the same silence.
_HANG_UPS = {}

# The first bytes of files read lately, with their version: (host, port, share, dir, name) ->
# (version, bytes). A read serves them only while a listing of the same target object, made at
# most _LISTING_FRESH seconds before, shows the file at that very version: the caller gets the
# content of the file as the listing saw it (what the catalog reads manifest headers for), never
# an older one. Writes through the object drop the names they touch.
_HEADS = OrderedDict()
_HEADS_LOCK = threading.Lock()
_HEADS_BYTES = 16 * 1024 * 1024
_heads_size = 0
_LISTING_FRESH = 1.0


def clear_cache():
    """Forget the file heads kept for reads after a listing (the next reads go to the share)."""
    global _heads_size
    with _HEADS_LOCK:
        _HEADS.clear()
        _heads_size = 0


def set_password_prompt(func):
    """Install *func(user, host, share) -> str or None* to ask for a missing SMB password.

    The notebooks install a password widget here; None restores the default (``getpass`` when
    standard input is a terminal, else no prompt).
    """
    global _password_prompt
    _password_prompt = func


def parse_smb_url(url):
    """Split an SMB URL or UNC path into ``{"host", "port", "share", "path", "user"}``.

    Parameters
    ----------
    url : str
        ``smb://[user@]host[:port]/share[/dir...]``, ``\\\\host\\share[\\dir...]`` or
        ``//host/share[/dir...]``.

    Raises
    ------
    TargetError
        If host or share is missing, or the URL carries a password.
    """
    text = str(url)
    if text.startswith("smb://"):
        parts = urlsplit(text)
        if parts.password is not None:
            # Name the URL without its secret: the error text may end up in logs and e-mails.
            raise TargetError(f"{mask_url(text)}: a password in the target URL would be stored "
                              f"in plain text; remove it and set {PASSWORD_ENV} or use keyring")
        try:
            port = parts.port
        except ValueError:
            raise TargetError(f"{text}: the port is not a number") from None
        host, user = parts.hostname, unquote(parts.username) if parts.username else None
        segments = [unquote(p) for p in parts.path.split("/") if p]
    else:
        segments = [p for p in text.replace("\\", "/").split("/") if p]
        host, port, user = (segments.pop(0) if segments else None), None, None
    if not host or not segments:
        raise TargetError(f"{text}: an SMB target needs a host and a share, as in "
                          f"smb://host/share/dir or \\\\host\\share\\dir")
    return {"host": host, "port": port or DEFAULT_PORT, "share": segments[0],
            "path": "/".join(segments[1:]), "user": user}


def resolve_credentials(host, share, user=None, password=None, user_env=USER_ENV,
                        password_env=PASSWORD_ENV, interactive=None):
    """The ``(user, password)`` to log on to *host* with; CredentialsMissing if none is found.

    See the module docstring for the order of the sources. *interactive* None means: prompt only
    through the installed hook, or with getpass when standard input is a terminal.
    """
    user = user or os.environ.get(user_env or USER_ENV) or None
    if not user:
        raise CredentialsMissing(
            f"no user name for the SMB share {share} on {host}: put it in the target URL "
            f"(smb://user@{host}/{share}/...) or set the environment variable {user_env}")
    if password is None:
        password = os.environ.get(password_env or PASSWORD_ENV)
    if password is None:
        password = _from_keyring(user, host)
    if password is None and interactive is not False:
        if _password_prompt is not None:
            password = _password_prompt(user, host, share)
        elif interactive or (sys.stdin is not None and sys.stdin.isatty()):
            password = getpass.getpass(f"SMB password for {user} on {host}: ")
    if password is None:
        raise CredentialsMissing(
            f"no password for {user} on the SMB share {share} on {host}: set the environment "
            f"variable {password_env}, store it with `keyring set {KEYRING_SERVICE} {user}@{host}`, "
            f"or run interactively to be asked")
    return user, password


def _from_keyring(user, host):
    try:
        import keyring
    except ImportError:
        return None
    try:
        return keyring.get_password(KEYRING_SERVICE, f"{user}@{host}")
    except Exception as e:  # no backend, locked store...: keyring is only one of the sources
        log.debug("keyring gave no password: %s", type(e).__name__)
        return None


def _status(exc):
    return getattr(exc, "ntstatus", None) or getattr(exc, "status", None)


def _is_transient(exc):
    """True for failures of the network or session, which a reconnect may cure."""
    if isinstance(exc, (SMBConnectionClosed, TimeoutError, socket.timeout, ConnectionError,
                        socket.gaierror)):
        return True
    if isinstance(exc, SMBOSError) or isinstance(exc, SMBResponseException):
        return _status(exc) in _TRANSIENT_STATUSES
    if isinstance(exc, ValueError) and str(exc).startswith("Failed to connect to"):
        return True  # smbprotocol's wording for a refused or unroutable TCP connect
    if isinstance(exc, SMBException) and "timeout" in str(exc).lower():
        return True
    return isinstance(exc, OSError) and exc.errno in _TRANSIENT_ERRNOS


def _brief(exc):
    """A one-line description of *exc* for logs (never holds credentials)."""
    status = _status(exc)
    if status:
        return f"{type(exc).__name__} 0x{status:08x}"
    return f"{type(exc).__name__}: {exc}"


class _Watchdog:
    """Runs a callback when its deadline passes, unless disarmed first; one daemon thread for all.

    Arming and disarming cost a lock and a heap operation: cheap enough for every SMB request.
    """

    def __init__(self):
        self._cond = threading.Condition()
        self._heap = []       # (deadline, token); disarmed tokens are dropped when they surface
        self._armed = {}      # token -> callback
        self._tokens = itertools.count()
        self._thread = None

    def arm(self, deadline, callback):
        """Call *callback()* in the watchdog thread at *deadline* (time.monotonic); a token."""
        with self._cond:
            token = next(self._tokens)
            self._armed[token] = callback
            heapq.heappush(self._heap, (deadline, token))
            if len(self._heap) > 2 * len(self._armed) + 64:  # many disarmed: drop them now
                self._heap = [e for e in self._heap if e[1] in self._armed]
                heapq.heapify(self._heap)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="smb-watchdog", daemon=True)
                self._thread.start()
            elif self._heap[0][1] == token:
                self._cond.notify()
        return token

    def disarm(self, token):
        with self._cond:
            self._armed.pop(token, None)

    def _run(self):
        while True:
            with self._cond:
                while True:
                    while self._heap and self._heap[0][1] not in self._armed:
                        heapq.heappop(self._heap)
                    if not self._heap:
                        self._cond.wait()
                        continue
                    wait = self._heap[0][0] - time.monotonic()
                    if wait <= 0:
                        break
                    self._cond.wait(wait)
                callback = self._armed.pop(heapq.heappop(self._heap)[1])
            try:
                callback()
            except Exception as e:  # the watchdog must outlive any one callback
                log.debug("watchdog callback failed: %s", _brief(e))

    def _after_fork(self):
        # The thread does not survive fork(); the child starts its own when it needs one.
        self._cond = threading.Condition()
        self._heap, self._armed, self._thread = [], {}, None


_WATCHDOG = _Watchdog()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_WATCHDOG._after_fork)

# The deadline of the operation running in this thread: nested calls (publish listing the
# directory to check a retried rename) stay inside their caller's, and a connection made inside
# an operation waits for its NEGOTIATE at most until then.
_deadline = threading.local()


def _hang_up(conn):
    """Shut *conn*'s socket down without taking its locks.

    A thread blocked in ``sendall`` on a server that stopped reading holds the transport's lock,
    so smbprotocol's own ``disconnect`` would wait for it for ever; ``shutdown`` wakes that thread
    (EPIPE) and the receiving thread (end of stream), which then fails every pending request.
    """
    sock = getattr(getattr(conn, "transport", None), "_sock", None)
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class _NoReply(Exception):
    """An attempt was cut off at its deadline: the server did not answer in time."""


class _Down:
    """What the last give-up of a target said, and whether a later call has tried again since."""

    __slots__ = ("since", "error", "probed")

    def __init__(self, error):
        self.since, self.error, self.probed = time.monotonic(), error, False


class SMBTarget:
    """A directory on an SMB share, reached with smbprotocol over TCP (any OS, no mount).

    Parameters
    ----------
    host, share : str
    path : str
        Directory inside the share, ``/``-separated; "" for the share's root.
    port : int
    username, password : str
        Already resolved credentials (see :meth:`from_url` to resolve them).
    encrypt : bool, optional
        Require SMB3 encryption (None: as the server asks).
    retry_delays : sequence of float, optional
        Backoff schedule; default :data:`RETRY_DELAYS`.
    network_timeout : float, optional
        Seconds one operation may take, retries included (default
        :data:`DEFAULT_NETWORK_TIMEOUT`); a server silent for that long raises TargetStalled.
    """

    #: SMB refuses rename-over: ``publish`` can never replace a file.
    rename_overwrites = False

    def __init__(self, host, share, path="", port=DEFAULT_PORT, username=None, password=None, *,
                 encrypt=None, retry_delays=None, network_timeout=None):
        self.host, self.share, self.port, self.username = host, share, int(port), username
        self.path = "/".join(p for p in str(path).replace("\\", "/").split("/") if p)
        self.url = (f"smb://{username + '@' if username else ''}{host}"
                    f"{'' if self.port == DEFAULT_PORT else ':' + str(self.port)}/{share}"
                    f"{'/' + self.path if self.path else ''}")
        self._share_unc = f"\\\\{host}\\{share}"
        self._dir_unc = self._share_unc + ("\\" + self.path.replace("/", "\\") if self.path else "")
        # Targets with the same server and credentials share connections (a logon costs tens of
        # ms); other credentials never reuse them, so a wrong password always fails.
        key = (host.lower(), self.port, username,
               hashlib.sha256((password or "").encode()).hexdigest())
        self._cache = _CONNECTIONS.setdefault(key, {})
        self._cache_key = key
        self._timeout = float(DEFAULT_NETWORK_TIMEOUT if network_timeout is None
                              else network_timeout)
        # A closure keeps the password out of vars(self) and out of any repr of this object.
        self._kwargs = lambda: {"username": username, "password": password, "port": self.port,
                                "encrypt": encrypt, "connection_timeout": self._connect_timeout(),
                                "connection_cache": self._cache}
        self._delays = tuple(RETRY_DELAYS if retry_delays is None else retry_delays)
        self._connected = False
        self._generation = 0          # bumped at each reconnect; open files reopen their handles
        self._down = None             # a _Down after giving up
        self._reached = False         # connected at least once: a later failure is a lost link
        self._key = (host.lower(), self.port, share, self.path)
        self._listed, self._listed_at = {}, None   # name -> version from the last list()

    @classmethod
    def from_url(cls, url, *, username=None, password=None, port=None, smb_user_env=None,
                 smb_password_env=None, interactive=None, **options):
        """Open ``smb://[user@]host[:port]/share/dir`` or ``\\\\host\\share\\dir``.

        Parameters
        ----------
        url : str
        username, password : str, optional
            Override the URL's user and the other password sources.
        port : int, optional
            Overrides the URL's port (default 445).
        smb_user_env, smb_password_env : str, optional
            Names of the environment variables holding the credentials (config keys of the same
            names; default ``WORKBENCH_SMB_USER`` and ``WORKBENCH_SMB_PASSWORD``).
        interactive : bool, optional
            False never prompts; True prompts even without a terminal; None decides.
        **options
            ``encrypt``, ``retry_delays``, ``network_timeout`` (see the class).

        Raises
        ------
        CredentialsMissing
        """
        p = parse_smb_url(url)
        user, pw = resolve_credentials(p["host"], p["share"], username or p["user"], password,
                                       smb_user_env or USER_ENV, smb_password_env or PASSWORD_ENV,
                                       interactive)
        return cls(p["host"], p["share"], p["path"], port or p["port"], user, pw, **options)

    def __repr__(self):
        return f"SMBTarget({self.url!r})"

    # -- connection and retries ---------------------------------------------------------------

    def _connect(self):
        """Log on and connect the share once; map logon and share failures to their errors."""
        if self._connected:
            return
        try:
            get_smb_tree(self._share_unc, **self._kwargs())
        except SMBAuthenticationError:
            raise AuthenticationFailed(f"{self.url}: the server refused the user name or password "
                                       f"of {self.username}") from None
        except SMBResponseException as e:
            if e.status in _AUTH_STATUSES:
                raise AuthenticationFailed(f"{self.url}: the server refused the user name or "
                                           f"password of {self.username}") from None
            if e.status == NtStatus.STATUS_ACCESS_DENIED:
                raise AuthenticationFailed(f"{self.url}: user {self.username} may not use the "
                                           f"share {self.share}") from None
            if e.status in _SHARE_STATUSES:
                raise ShareNotFound(f"{self.url}: the server {self.host} has no share named "
                                    f"{self.share!r}") from None
            raise
        self._connected = self._reached = True

    def _reset(self):
        """Drop this target's connections so that the next call dials and logs on afresh."""
        self._connected = False
        self._generation += 1
        for key in list(self._cache):
            conn = self._cache.pop(key, None)
            if conn is None:
                continue
            _hang_up(conn)  # first: disconnect() would wait for a sender blocked on the socket
            try:
                conn.disconnect(close=False)  # no logoff: the session is likely gone already
            except Exception:
                pass

    def _hang_up_all(self):
        """The watchdog's answer to a request without reply: drop every connection to the
        server (they share its silence)."""
        _HANG_UPS[self._cache_key] = _HANG_UPS.get(self._cache_key, 0) + 1
        for conn in list(self._cache.values()):
            _hang_up(conn)

    def _connect_timeout(self):
        """Seconds a new connection may wait for TCP and NEGOTIATE: what the operation has left
        (smbprotocol bounds these two itself; the watchdog cannot reach a connection yet). One
        second more, as smbprotocol rounds down to whole seconds: the deadline passes first, so
        a silent server is reported as one, not retried."""
        deadline = getattr(_deadline, "at", None)
        if deadline is None:
            return self._timeout
        return max(deadline - time.monotonic(), 0.0) + 1.0

    def close(self):
        """Close the connections of this target (they reopen when it is used again)."""
        self._reset()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _call(self, what, op):
        """Run *op()* within the network timeout, retrying network failures with backoff.

        Errors are translated for callers; when the time or the retries are spent (or the target
        gave up a moment ago) the call raises TargetStalled or TargetUnreachable.
        """
        now = time.monotonic()
        down = self._down
        if down is not None and now - down.since >= GIVE_UP_COOLDOWN:
            self._down = down = None
        delays, budget = self._delays, self._timeout
        if down is not None:
            if down.probed:
                log.debug("%s: %s not tried: gave up %.1f s ago", self.url, what,
                          now - down.since)
                raise type(down.error)(str(down.error))
            down.probed = True  # this call may find the server back; the next ones do not try
            log.debug("%s: %s: trying once more after giving up %.1f s ago", self.url, what,
                      now - down.since)
            delays, budget = (), min(budget, PROBE_TIMEOUT)
        outer = getattr(_deadline, "at", None)
        deadline = now + budget if outer is None else min(now + budget, outer)
        _deadline.at = deadline
        try:
            attempt = 0
            while True:
                try:
                    result = self._attempt(op, deadline)
                except TargetError:
                    raise
                except _NoReply:
                    raise self._give_up(TargetStalled(
                        f"{self.url}: {what} failed: the server {self.host} port {self.port} "
                        f"stopped answering (no reply within {budget:g} s, network_timeout "
                        f"{self._timeout:g} s); check the server, then run again")) from None
                except Exception as e:
                    error = e
                else:
                    self._down = None
                    return result
                if not _is_transient(error):
                    raise self._translate(error) from None
                delay = delays[attempt] if attempt < len(delays) else None
                if delay is None or time.monotonic() + delay >= deadline:
                    within = "" if delay is None else f" within network_timeout ({budget:g} s)"
                    if self._reached:
                        problem = (f"the connection to {self.host} port {self.port} is lost "
                                   f"({_brief(error)}) and did not come back")
                    else:
                        problem = (f"cannot connect to {self.host} port {self.port} "
                                   f"({_brief(error)})")
                    raise self._give_up(TargetUnreachable(
                        f"{self.url}: {what} failed: {problem} after {attempt} retries"
                        f"{within}")) from None
                attempt += 1
                log.warning("%s: %s failed (%s); reconnecting, retry %d of %d in %.1f s", self.url,
                            what, _brief(error), attempt, len(delays), delay)
                self._reset()
                time.sleep(delay)
        finally:
            _deadline.at = outer

    def _attempt(self, op, deadline, connect=True):
        """Connect if needed and run *op()* once, cut off at *deadline*: _NoReply if it was,
        or if the watchdog hung the connections up meanwhile for another request."""
        stalled = []
        hang_ups = _HANG_UPS.get(self._cache_key, 0)

        def on_deadline():
            stalled.append(True)
            self._hang_up_all()
        token = _WATCHDOG.arm(deadline, on_deadline)
        try:
            if connect:
                self._connect()
            return op()
        except TargetError:
            raise
        except Exception as e:
            # smbprotocol's own NEGOTIATE timeout may fire before the watchdog does (a busy
            # machine): the server took the connection and never answered either way.
            if (stalled or _HANG_UPS.get(self._cache_key, 0) != hang_ups
                    or "exceeded while waiting for a message id" in str(e)):
                raise _NoReply() from e
            raise
        finally:
            _WATCHDOG.disarm(token)

    def _give_up(self, error):
        """Record that the target gave up with *error* (the first one stays the message of the
        calls that follow); drop the connections; return the error to raise."""
        log.debug("giving up: %s", error)
        self._reset()
        down = self._down
        if down is not None:
            down.since, down.probed = time.monotonic(), True
            return type(down.error)(str(down.error))
        self._down = _Down(error)
        return error

    def _translate(self, e):
        """An error a caller can act on: FileNotFoundError/FileExistsError for missing/existing."""
        if isinstance(e, SMBResponseException) and not isinstance(e, OSError):
            e = SMBOSError(e.status, self._dir_unc)
        if isinstance(e, OSError):
            if e.errno == errno.ENOENT:
                return FileNotFoundError(errno.ENOENT, "no such file on the share", _rel(self, e))
            if e.errno == errno.EEXIST:
                return FileExistsError(errno.EEXIST, "file exists on the share", _rel(self, e))
            if _status(e) == NtStatus.STATUS_DISK_FULL:
                return TargetError(f"{self.url}: the share is full")
            return e
        return e

    def _unc(self, name):
        if not name or "/" in name or "\\" in name or name in (".", ".."):
            raise ValueError(f"bad target file name {name!r}")
        return f"{self._dir_unc}\\{name}"

    # -- compound requests: open, act and close in one round trip -----------------------------
    #
    # smbclient's own calls wait for each reply in turn: listing a directory costs CREATE, two
    # QUERY_DIRECTORY and CLOSE, reading a file's start CREATE, READ and CLOSE, each a round
    # trip. Sent as one related compound (the requests after the CREATE act on its handle) each
    # costs one round trip. The replies are parsed here with struct: smbprotocol's structures
    # take longer to parse a directory listing than the loopback round trip itself.

    def _open_for(self, name=None):
        """An unopened smbprotocol Open of *name* (None: the directory), or None on a DFS share,
        whose referrals only smbclient's own calls follow."""
        tree, path = get_smb_tree(self._unc(name) if name else self._dir_unc, **self._kwargs())
        return None if tree.is_dfs_share else Open(tree, path)

    def _compound(self, fd, create, *requests):
        """Send fd's CREATE, *requests* on its handle and its CLOSE as one related compound.

        Returns the reply data (bytes after the SMB2 header) of each request, or the
        SMBResponseException it carried; the CREATE's reply is parsed into a :class:`_Opened`.
        Every reply is received (smbprotocol keeps unclaimed ones). A server may fail the
        requests after a failed one, CLOSE included: then the handle is closed on its own, so
        that no open handle is left to block a later rename or delete.
        """
        conn = fd.connection
        sid, tid = fd.tree_connect.session.session_id, fd.tree_connect.tree_connect_id
        sent = conn.send_compound([create, *requests, fd.close(send=False)[0]], sid, tid,
                                  related=True)
        results = []
        for request in sent:
            try:
                results.append(conn.receive(request)["data"].get_value())
            except SMBResponseException as e:
                results.append(e)
        if not isinstance(results[0], Exception):
            results[0] = _Opened(results[0])
            if isinstance(results[-1], Exception):
                close = fd.close(send=False)[0]
                close["file_id"] = results[0].file_id
                try:
                    conn.receive(conn.send(close, sid, tid))
                except SMBResponseException as e:
                    log.debug("%s: closing %s failed (%s)", self.url, fd.file_name, _brief(e))
        return results[:-1]

    def _read_head(self, name, length=_HEAD):
        """``(data, version)``: the first *length* bytes of *name* and its :func:`_version`,
        opened, read and closed in one round trip."""
        path = self._unc(name)
        fd = self._open_for(name)
        if fd is None:
            with smbclient.open_file(path, "rb", buffering=0, share_access="r",
                                     **self._kwargs()) as f:
                return f.read(length), _version(f.fd)
        length = min(length, fd.connection.max_read_size)
        opened, data = self._compound(
            fd, fd.create(ImpersonationLevel.Impersonation, _READ_ACCESS,
                          FileAttributes.FILE_ATTRIBUTE_NORMAL, ShareAccess.FILE_SHARE_READ,
                          CreateDisposition.FILE_OPEN, CreateOptions.FILE_NON_DIRECTORY_FILE,
                          send=False)[0],
            fd.read(0, length, send=False)[0])
        if isinstance(opened, Exception):
            raise SMBOSError(opened.status, path)
        if isinstance(data, Exception):
            if data.status != NtStatus.STATUS_END_OF_FILE:  # what reading an empty file gives
                raise SMBOSError(data.status, path)
            return b"", opened.version
        offset, size = _READ_REPLY.unpack_from(data)
        return data[offset - 64:offset - 64 + size], opened.version

    def _list_compound(self):
        """``{name: version}`` of the directory's files in one round trip, or None if one query
        did not hold them all (or the share is DFS): then scandir lists batch by batch."""
        fd = self._open_for()
        if fd is None:
            return None
        conn = fd.connection
        credits = conn.sequence_window["high"] - conn.sequence_window["low"]
        first = min(_LIST_BUFFER, conn.max_transact_size, (credits - 3) * _CREDIT)
        if first <= 0:  # too few credits for four requests at once
            return None
        info = FileInformationClass.FILE_ID_FULL_DIRECTORY_INFORMATION
        opened, entries, more = self._compound(
            fd, fd.create(ImpersonationLevel.Impersonation, _READ_ACCESS,
                          FileAttributes.FILE_ATTRIBUTE_DIRECTORY,
                          ShareAccess.FILE_SHARE_READ | ShareAccess.FILE_SHARE_WRITE
                          | ShareAccess.FILE_SHARE_DELETE,
                          CreateDisposition.FILE_OPEN, CreateOptions.FILE_DIRECTORY_FILE,
                          send=False)[0],
            fd.query_directory("*", info, flags=QueryDirectoryFlags.SMB2_RESTART_SCANS,
                               max_output=first, send=False)[0],
            # The end of the listing shows only as a query that finds no more entries.
            fd.query_directory("*", info, flags=0, max_output=_CREDIT, send=False)[0])
        for result in (opened, entries, more):
            if isinstance(result, Exception) and result.status not in _LIST_ENDS:
                raise SMBOSError(result.status, self._dir_unc)
        if not isinstance(more, Exception):
            return None
        return {} if isinstance(entries, Exception) else _parse_listing(entries)

    # -- the Target interface -----------------------------------------------------------------

    def exists(self):
        def op():
            try:
                st = smbclient.stat(self._dir_unc, **self._kwargs())
            except SMBOSError as e:
                if e.errno == errno.ENOENT:
                    return False
                raise
            return stat_mod.S_ISDIR(st.st_mode)
        return self._call("checking the directory", op)

    def ensure(self):
        if self.path:
            try:
                self._call("creating the directory",
                           lambda: smbclient.makedirs(self._dir_unc, exist_ok=True,
                                                      **self._kwargs()))
            except OSError as e:
                raise TargetError(f"cannot create backup directory {self.url}: {e.strerror}") \
                    from None
        else:
            self._call("connecting", lambda: None)

    def list(self):
        def op():
            # Sizes come from the directory entries: no request per file.
            files = self._list_compound()
            if files is None:  # a very big directory: one QUERY_DIRECTORY round trip per batch
                with smbclient.scandir(self._dir_unc, **self._kwargs()) as it:
                    files = {d.name: _version(d.smb_info) for d in it
                             if d.is_file(follow_symlinks=False)}
            self._listed, self._listed_at = files, time.monotonic()
            return {name: v[0] for name, v in files.items()}
        try:
            return self._call("listing", op)
        except FileNotFoundError:
            raise TargetError(f"backup directory {self.url} does not exist") from None
        except OSError as e:
            raise TargetError(f"cannot list backup directory {self.url}: {e.strerror}") from None

    def open_read(self, name):
        return io.BufferedReader(_RemoteFile(self, name, "rb"), buffer_size=1024 * 1024)

    def _head(self, name):
        """``(first bytes, version)`` of *name*: from :data:`_HEADS` when this object's fresh
        listing shows that version, else opened, read and closed in one round trip."""
        global _heads_size
        key = self._key + (name,)
        listed = self._listed.get(name)
        if listed is not None and time.monotonic() - self._listed_at <= _LISTING_FRESH:
            with _HEADS_LOCK:
                hit = _HEADS.get(key)
                if hit is not None and hit[0] == listed:
                    _HEADS.move_to_end(key)
                    return hit[1], listed
        head, version = self._call(f"opening {name}", lambda: self._read_head(name))
        with _HEADS_LOCK:
            old = _HEADS.pop(key, None)
            _heads_size += len(head) - (len(old[1]) if old else 0)
            _HEADS[key] = (version, head)
            while _heads_size > _HEADS_BYTES:
                _heads_size -= len(_HEADS.popitem(last=False)[1][1])
        return head, version

    def _forget(self, *names):
        """Drop *names* from the listing and the head cache: this process is changing them."""
        global _heads_size
        with _HEADS_LOCK:
            for name in names:
                self._listed.pop(name, None)
                old = _HEADS.pop(self._key + (name,), None)
                if old is not None:
                    _heads_size -= len(old[1])

    def open_write(self, name):
        self._forget(name)
        return io.BufferedRandom(_RemoteFile(self, name, "w+b"), buffer_size=_BUFFER)

    def read_bytes(self, name):
        # A small file (the lock) in one round trip; a big one goes on in big reads.
        with _RemoteFile(self, name, "rb") as f:
            return f.readall()

    def write_new(self, name, data):
        tmp = partial_name(name, secrets.token_hex(8))
        try:
            with self.open_write(tmp) as f:
                f.write(data)
            self.publish(tmp, name)
        except BaseException:
            self.remove(tmp)
            raise

    def stat(self, name):
        def op():
            st = smbclient.stat(self._unc(name), **self._kwargs())
            return st.st_size, st.st_mtime
        return self._call(f"checking {name}", op)

    def publish(self, src, dst):
        self._forget(src, dst)
        tries = 0

        def op():
            nonlocal tries
            tries += 1
            try:
                smbclient.rename(self._unc(src), self._unc(dst), **self._kwargs())
            except SMBOSError as e:
                # A retry after a lost reply: the first attempt may have renamed already.
                if tries > 1 and e.errno in (errno.EEXIST, errno.ENOENT) and self._renamed(src, dst):
                    return
                raise
        self._call(f"publishing {dst}", op)

    def _renamed(self, src, dst):
        names = self.list()
        return dst in names and src not in names

    def create_exclusive(self, name, data):
        self._forget(name)
        tries = 0

        def op():
            nonlocal tries
            tries += 1
            try:
                with smbclient.open_file(self._unc(name), "xb", **self._kwargs()) as f:
                    f.write(data)
                    f.flush()
                    f.raw.fd.flush()
            except SMBOSError as e:
                if e.errno != errno.EEXIST:
                    raise
                if tries > 1:  # our own earlier attempt may have created it before the link broke
                    try:
                        with smbclient.open_file(self._unc(name), "rb", share_access="r",
                                                 **self._kwargs()) as f:
                            return f.read() == data
                    except SMBOSError:
                        return False
                return False
            return True
        return self._call(f"creating {name}", op)

    def remove(self, name):
        self._forget(name)

        def op():
            try:
                smbclient.remove(self._unc(name), **self._kwargs())
            except SMBOSError as e:
                if e.errno != errno.ENOENT:
                    raise
        self._call(f"removing {name}", op)

    def disk_usage(self):
        def op():
            try:
                v = smbclient.stat_volume(self._dir_unc, **self._kwargs())
            except SMBOSError as e:
                if e.errno != errno.ENOENT:
                    raise
                v = smbclient.stat_volume(self._share_unc, **self._kwargs())
            return v.total_size, v.caller_available_size
        return self._call("querying free space", op)

    def local_path(self, name):
        return None


def _us(t):
    """Microseconds since 1970 of a FILETIME int or an smbprotocol datetime (same value)."""
    if isinstance(t, int):
        return (t - _FILETIME_1970) // 10
    return (t - _EPOCH) // _MICROSECOND


def _version(info):
    """What tells one content of a file from another: ``(size, last write, change time)``, from
    an smbprotocol Open or directory entry."""
    return info.end_of_file, _us(info.last_write_time), _us(info.change_time)


class _Opened:
    """The fields of an SMB2 CREATE reply this module uses."""

    __slots__ = ("file_id", "version")

    def __init__(self, data):
        write, change, size, self.file_id = _CREATE_REPLY.unpack_from(data)
        self.version = (size, _us(write), _us(change))


def _parse_listing(data):
    """``{name: version}`` of the files in a QUERY_DIRECTORY reply of FileIdFullDirectoryInformation
    entries; directories and symbolic links are left out (as scandir's ``is_file(False)``)."""
    offset, length = _QUERY_REPLY.unpack_from(data)
    buf = memoryview(data)[offset - 64:offset - 64 + length]
    files, pos = {}, 0
    while True:
        step, write, change, size, attrs, name_len, tag = _DIR_ENTRY.unpack_from(buf, pos)
        if not (attrs & FileAttributes.FILE_ATTRIBUTE_DIRECTORY or (
                attrs & FileAttributes.FILE_ATTRIBUTE_REPARSE_POINT and tag == _SYMLINK_TAG)):
            name = bytes(buf[pos + 80:pos + 80 + name_len]).decode("utf-16-le")
            files[name] = (size, _us(write), _us(change))
        if not step:
            return files
        pos += step


def _rel(target, e):
    """The URL of the file an SMB error names (the UNC path without the server part)."""
    name = str(getattr(e, "filename", "") or "")
    if name.startswith(target._dir_unc + "\\"):
        return target.url + "/" + name[len(target._dir_unc) + 1:]
    return target.url


class _RemoteFile(io.RawIOBase):
    """A seekable raw file on the share that survives a reconnect: it reopens and resumes.

    Reads and writes are positional, so a request repeated after a lost reply is harmless. A write
    handle is reopened without truncation; ``close()`` sends SMB2 FLUSH, so the server has the
    data on disk before the file is published.

    Opening for reading opens, reads the first :data:`_HEAD` bytes and closes in one round trip;
    a handle is opened only when reading goes past them, and refuses a file that changed since.
    """

    def __init__(self, target, name, mode):
        super().__init__()
        self._t, self.name, self._mode = target, name, mode
        self._path = target._unc(name)
        self._pos = 0
        self._fd = None
        self._gen = None
        self._size = 0
        self._head, self._version = b"", None
        self._ahead_pool = self._ahead = None
        if mode == "rb":
            self._head, self._version = target._head(name)
            self._size = self._version[0]
        else:
            self._handle(first=True)

    def _handle(self, first=False):
        if self._fd is not None and self._gen == self._t._generation:
            return self._fd
        mode = self._mode if first else ("rb" if self._mode == "rb" else "r+b")

        def op():
            share = "r" if mode == "rb" else None
            return smbclient.open_file(self._path, mode, buffering=0, share_access=share,
                                       **self._t._kwargs())
        if first:
            self._fd = self._t._call(f"opening {self.name}", op)
        else:
            self._fd = op()  # inside a _call already: its retry loop covers this
        self._gen = self._t._generation
        if first:
            self._size = self._fd.fd.end_of_file
        elif self._mode == "rb" and _version(self._fd.fd) != self._version:
            # Published files never change; one that did would give bytes of two versions.
            self._fd.close()
            self._fd = None
            raise OSError(errno.ESTALE, f"{self.name} changed on the share while being read",
                          self._t.url + "/" + self.name)
        return self._fd

    def readable(self):
        return self._mode != "wb"

    def writable(self):
        return self._mode != "rb"

    def seekable(self):
        return True

    def tell(self):
        return self._pos

    def seek(self, offset, whence=io.SEEK_SET):
        if whence == io.SEEK_SET:
            pos = offset
        elif whence == io.SEEK_CUR:
            pos = self._pos + offset
        elif whence == io.SEEK_END:
            pos = self._size + offset
        else:
            raise ValueError(f"bad whence {whence}")
        if pos < 0:
            raise ValueError("negative seek position")
        self._pos = pos
        return pos

    def readinto(self, b):
        if self._mode == "rb":
            if self._pos >= self._size:
                return 0
            if self._pos < len(self._head):
                n = min(len(b), len(self._head) - self._pos)
                b[:n] = self._head[self._pos:self._pos + n]
                self._pos += n
                return n
            if len(b) >= _READ_AHEAD_MIN:
                return self._read_ahead(b)
        n = self._read_at(self._pos, b)
        self._pos += n
        return n

    def _read_at(self, pos, b):
        """Read into *b* from offset *pos* of the file; the number of bytes read."""
        def op():
            fd = self._handle()
            fd.seek(pos)
            return fd.readinto(b)
        return self._t._call(f"reading {self.name}", op)

    def _fetch(self, pos, length):
        buf = bytearray(length)
        return memoryview(buf)[:self._read_at(pos, buf)]

    def _read_ahead(self, b):
        """Big sequential reads: the next chunk is requested while the caller works on this one
        (inflating a manifest, say), which hides much of each round trip. Every read of the
        handle happens in the one read-ahead thread."""
        if self._ahead_pool is None:
            self._ahead_pool = ThreadPoolExecutor(1, thread_name_prefix="smb-read-ahead")
        pos, want = self._pos, len(b)
        ahead, self._ahead = self._ahead, None
        if ahead is None or ahead[0] != pos or ahead[1] < want:
            if ahead is not None:
                ahead[2].cancel()
            ahead = (pos, want, self._ahead_pool.submit(self._fetch, pos, want))
        data = ahead[2].result()[:want]
        n = len(data)
        b[:n] = data
        self._pos = pos + n
        if n and self._pos < self._size:
            self._ahead = (self._pos, want,
                           self._ahead_pool.submit(self._fetch, self._pos, want))
        return n

    def readall(self):
        # RawIOBase's would read 8 KiB per round trip.
        parts = []
        while True:
            buf = bytearray(min(max(self._size - self._pos, _CREDIT), _BUFFER))
            n = self.readinto(buf)
            if not n:
                return b"".join(parts)
            parts.append(bytes(buf[:n]) if n < len(buf) else bytes(buf))

    def write(self, b):
        data = bytes(b)

        def op():
            fd = self._handle()
            fd.seek(self._pos)
            return fd.write(data)
        try:
            n = self._t._call(f"writing {self.name}", op)
        except OSError as e:
            # A failed write is the target's failure, not the source file's (see backup.py).
            raise TargetError(f"cannot write {self.name} on {self._t.url}: "
                              f"{e.strerror or e}") from None
        self._pos += n
        self._size = max(self._size, self._pos)
        return n

    def truncate(self, size=None):
        size = self._pos if size is None else size

        def op():
            return self._handle().truncate(size)
        self._t._call(f"truncating {self.name}", op)
        self._size = size
        return size

    def close(self):
        if self.closed:
            return
        if self._ahead_pool is not None:
            self._ahead_pool.shutdown(cancel_futures=True)  # waits for a read under way
            self._ahead_pool = self._ahead = None
        try:
            if self._mode != "rb" and self._fd is not None:
                def op():
                    fd = self._handle()
                    fd.fd.flush()  # SMB2 FLUSH: the server writes the file to stable storage
                    fd.close()
                self._t._call(f"flushing {self.name}", op)
            elif (self._fd is not None and self._gen == self._t._generation
                  and self._t._down is None):  # else the connection is gone, and the handle
                deadline = time.monotonic() + min(self._t._timeout, PROBE_TIMEOUT)
                try:
                    self._t._attempt(self._fd.close, deadline, connect=False)
                except _NoReply:
                    self._t._reset()
                except Exception as e:
                    if not _is_transient(e):
                        raise
        finally:
            self._fd = None
            super().close()
