"""Connections to an SMB server, and the bound on every operation.

Network errors (connection reset or refused, timeouts, a lost session) are retried with bounded
exponential backoff (:data:`RETRY_DELAYS`), reconnecting each time. Every operation, retries
included, ends within ``network_timeout`` seconds (default :data:`DEFAULT_NETWORK_TIMEOUT`):
smbprotocol bounds only the TCP connect and the NEGOTIATE exchange, so each operation runs under a
deadline kept by one watchdog thread, which shuts the connection's socket down when it passes
(``TargetStalled``). After giving up, the next call tries once more, briefly
(:data:`PROBE_TIMEOUT`), and the calls after it fail at once for :data:`GIVE_UP_COOLDOWN`
seconds, so that a dead server costs a run about ``network_timeout`` seconds in all.
"""

import errno
import hashlib
import heapq
import itertools
import logging
import os
import socket
import threading
import time

from smbclient._pool import get_smb_tree
from smbprotocol.exceptions import (SMBAuthenticationError, SMBConnectionClosed, SMBException,
                                    SMBOSError, SMBResponseException)
from smbprotocol.header import NtStatus

from ...errors import AuthenticationFailed, ShareNotFound, TargetError, TargetStalled, TargetUnreachable

log = logging.getLogger("workbench.targets.smb")


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


_CONNECTIONS = {}  # (host, port, user, password digest) -> smbclient connection cache


# Same keys -> how many times the watchdog hung those connections up: an attempt that fails
# because another thread's request went unanswered failed for the same silence.
_HANG_UPS = {}


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


def _rel(target, e):
    """The URL of the file an SMB error names (the UNC path without the server part)."""
    name = str(getattr(e, "filename", "") or "")
    if name.startswith(target._dir_unc + "\\"):
        return target.url + "/" + name[len(target._dir_unc) + 1:]
    return target.url


class Session:
    """The connection of one SMBTarget: logon, retries with backoff, and the deadline every
    operation runs under (``_call``). SMBTarget inherits it."""

    def _start_session(self, host, port, username, password, encrypt, retry_delays,
                       network_timeout):
        # Targets with the same server and credentials share connections (a logon costs tens of
        # ms); other credentials never reuse them, so a wrong password always fails.
        key = (host.lower(), port, username,
               hashlib.sha256((password or "").encode()).hexdigest())
        self._cache = _CONNECTIONS.setdefault(key, {})
        self._cache_key = key
        self._timeout = float(DEFAULT_NETWORK_TIMEOUT if network_timeout is None
                              else network_timeout)
        # A closure keeps the password out of vars(self) and out of any repr of this object.
        self._kwargs = lambda: {"username": username, "password": password, "port": port,
                                "encrypt": encrypt, "connection_timeout": self._connect_timeout(),
                                "connection_cache": self._cache}
        self._delays = tuple(RETRY_DELAYS if retry_delays is None else retry_delays)
        self._connected = False
        self._generation = 0          # bumped at each reconnect; open files reopen their handles
        self._down = None             # a _Down after giving up
        self._reached = False         # connected at least once: a later failure is a lost link

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
