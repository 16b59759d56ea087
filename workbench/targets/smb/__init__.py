"""An SMB network share as a backup target, through smbprotocol's ``smbclient`` (no mount needed).

This package is the only code that imports smbprotocol, split by job: ``url`` (the URL and the
credentials), ``connection`` (connections, retries, the network timeout and its watchdog), ``wire``
(compound requests and the parsing of their replies), ``remote`` (an open file on the share that
survives a reconnect) and ``target`` (SMBTarget, the Target contract). ``SMBTarget.from_url`` takes
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

import logging

# smbprotocol's debug log dumps every packet, file data included: `workbench -v` should show our
# debug messages, not megabytes of hex. Set before importing it (spnego logs at import time); a
# level the application set is left alone.
for _name in ("smbprotocol", "smbclient", "spnego"):
    if logging.getLogger(_name).level == logging.NOTSET:
        logging.getLogger(_name).setLevel(logging.WARNING)

from .connection import (DEFAULT_NETWORK_TIMEOUT, GIVE_UP_COOLDOWN, PROBE_TIMEOUT,  # noqa: E402
                         RETRY_DELAYS)
from .target import SMBTarget, clear_cache  # noqa: E402
from .url import (DEFAULT_PORT, KEYRING_SERVICE, PASSWORD_ENV, USER_ENV,  # noqa: E402
                  parse_smb_url, resolve_credentials, set_password_prompt)

__all__ = ["SMBTarget", "clear_cache", "parse_smb_url", "resolve_credentials",
           "set_password_prompt", "RETRY_DELAYS", "DEFAULT_NETWORK_TIMEOUT", "PROBE_TIMEOUT",
           "GIVE_UP_COOLDOWN", "DEFAULT_PORT", "USER_ENV", "PASSWORD_ENV", "KEYRING_SERVICE"]
