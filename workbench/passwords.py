"""Where the password of encrypted backups comes from, asked for once and only when needed.

The order: the environment variable named by the config's ``password_env`` (default
``WORKBENCH_PASSWORD``), then the keyring (service ``workbench``, user ``backup``; only if the
``keyring`` module is installed), then a prompt (getpass) when standard input is a terminal;
else PasswordMissing. Never the config file (config.validate refuses a ``password`` key).

A PasswordSource belongs to a target (``Target.password``, set by ``targets.open_target``
from the ``password_env`` option): every reader of that target's sets takes the password from
it, and the keys derived from it (archive/crypt.py) are cached on it, so that scrypt runs once
per chain and process. Its repr never shows the password; nothing here logs it.
"""

import os
import sys
from contextlib import contextmanager

from .errors import PasswordMissing
from .lazylog import get_logger

DEFAULT_ENV = "WORKBENCH_PASSWORD"
KEYRING_SERVICE, KEYRING_USER = "workbench", "backup"

log = get_logger("workbench.passwords")

# The hook the notebook forms install to ask for the password in a widget (None: getpass).
_prompt = None


def set_password_prompt(prompt):
    """Install ``prompt(what) -> str or None`` to be asked instead of getpass (None removes it)."""
    global _prompt
    _prompt = prompt


@contextmanager
def password_prompt(prompt):
    """Ask ``prompt(what)`` for the password while the block runs (a notebook form's field)."""
    global _prompt
    before, _prompt = _prompt, prompt
    try:
        yield
    finally:
        _prompt = before


class PasswordSource:
    """The backup password of one target's sets, looked up on first use.

    Parameters
    ----------
    env : str, optional
        The environment variable that holds it (``password_env``).
    password : str, optional
        The password itself (library callers); it then comes from nowhere else.
    interactive : bool, optional
        None: prompt only on a terminal (or through the installed hook); False: never prompt.
    """

    __slots__ = ("env", "interactive", "_password", "keys")

    def __init__(self, env=DEFAULT_ENV, password=None, interactive=None):
        self.env, self.interactive = env or DEFAULT_ENV, interactive
        self._password = password
        self.keys = {}  # what archive/crypt.py derives from the password, by kind

    def __repr__(self):
        return f"PasswordSource(env={self.env!r}, <hidden>)"

    def __reduce__(self):  # never pickled with its secret (a process gets a ZipKey instead)
        return (PasswordSource, (self.env, None, self.interactive))

    def get(self, what="this backup"):
        """The password; PasswordMissing (naming *what*) if no source has one."""
        if self._password is None:
            self._password = self._look_up(what)
        return self._password

    def _look_up(self, what):
        value = os.environ.get(self.env)
        if value:
            return value
        value = _from_keyring()
        if value:
            return value
        if self.interactive is not False:
            if _prompt is not None:
                value = _prompt(what)
            elif self.interactive or (sys.stdin is not None and sys.stdin.isatty()):
                import getpass  # only when asking: it loads termios
                value = getpass.getpass(f"password of {what}: ")
            if value:
                return value
        raise PasswordMissing(what, self.env)


def _from_keyring():
    try:
        import keyring
    except ImportError:
        return None
    try:
        return keyring.get_password(KEYRING_SERVICE, KEYRING_USER)
    except Exception as e:  # no backend, a locked store: the keyring is only one source
        log.debug("keyring gave no backup password: %s", type(e).__name__)
        return None
