"""SMBTarget: a directory on an SMB share as a Target (see targets.base for the contract)."""

import errno
import io
import logging
import stat as stat_mod
import threading
import time
from collections import OrderedDict

import smbclient
from smbprotocol.exceptions import SMBOSError

from ...errors import TargetError
from ..base import Target
from .connection import Session
from .remote import _BUFFER, _RemoteFile
from .url import DEFAULT_PORT, PASSWORD_ENV, USER_ENV, parse_smb_url, resolve_credentials
from .wire import Compound, _version

log = logging.getLogger("workbench.targets.smb")


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


class SMBTarget(Session, Compound, Target):
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


    def __init__(self, host, share, path="", port=DEFAULT_PORT, username=None, password=None, *,
                 encrypt=None, retry_delays=None, network_timeout=None):
        self.host, self.share, self.port, self.username = host, share, int(port), username
        self.path = "/".join(p for p in str(path).replace("\\", "/").split("/") if p)
        self.url = (f"smb://{username + '@' if username else ''}{host}"
                    f"{'' if self.port == DEFAULT_PORT else ':' + str(self.port)}/{share}"
                    f"{'/' + self.path if self.path else ''}")
        self._share_unc = f"\\\\{host}\\{share}"
        self._dir_unc = self._share_unc + ("\\" + self.path.replace("/", "\\") if self.path else "")
        self._start_session(host, self.port, username, password, encrypt, retry_delays,
                            network_timeout)
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
