"""SMB target URLs (``smb://[user@]host[:port]/share/dir``, ``\\\\host\\share\\dir``) and the
credentials to log on with: the ``password`` option, the environment variable named by
``smb_password_env``, ``keyring``, the hook of :func:`set_password_prompt`, or ``getpass`` on a
terminal. A password written into the URL is refused; none ever shows in a message.
"""

import getpass
import logging
import os
import sys
from urllib.parse import unquote, urlsplit

from ...errors import CredentialsMissing, TargetError
from ...secrets import mask_url

log = logging.getLogger("workbench.targets.smb")


DEFAULT_PORT = 445


USER_ENV = "WORKBENCH_SMB_USER"


PASSWORD_ENV = "WORKBENCH_SMB_PASSWORD"


KEYRING_SERVICE = "workbench-smb"


_password_prompt = None


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
