"""Passwords written into URLs: where the rule that masks them lives.

A password belongs in the environment or the keyring, never in a URL such as
``smb://user:password@host/share``: such a URL is refused where the config is validated, and any
text that may hold one (a log line, an error, the status record, the e-mail) is passed through
:func:`mask_url` before anyone sees it. A leaf module: it imports nothing from workbench, so that
every layer can use it.
"""

import re

MASK = "***"

# scheme://user:password@ — the user part stops at the first "/", ":" or "@"; the password runs to
# the last "@" before the next "/" or line end (a raw "@" or space in a password is common), so a
# password is masked too much rather than shown in part.
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^\s/:@]*):[^/\r\n]*@")


def mask_url(text):
    """*text* with the password of every ``scheme://user:password@`` in it replaced by ``***``.

    Parameters
    ----------
    text : str
        Any text: a URL, a log message, an error, an e-mail body.

    Returns
    -------
    str
        The text unchanged if it holds no such password.

    Examples
    --------
    >>> mask_url("cannot reach smb://bob:hunter2@nas/backups/kerio")
    'cannot reach smb://bob:***@nas/backups/kerio'
    """
    text = str(text)
    if "://" not in text:
        return text
    return _URL_PASSWORD.sub(lambda m: f"{m.group('head')}:{MASK}@", text)


def has_url_password(text):
    """True if *text* holds a ``scheme://user:password@`` (a password written into a URL)."""
    return mask_url(text) != str(text)


class MaskSecrets:
    """A logging filter that masks URL passwords in a record's message and traceback.

    Attached to workbench's handlers, so that no log line shows such a password, whatever code
    logged it. (A filter is anything with this ``filter`` method: not deriving from
    ``logging.Filter`` keeps logging unloaded until something logs, see workbench.lazylog.)
    """

    def filter(self, record):
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: leave it to the handler to report
            return True
        masked = mask_url(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            import logging
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_url(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_url(record.stack_info)
        return True


def attach_mask(handler):
    """Add one :class:`MaskSecrets` filter to *handler* (idempotent); return the handler."""
    if not any(isinstance(f, MaskSecrets) for f in handler.filters):
        handler.addFilter(MaskSecrets())
    return handler


__all__ = ["mask_url", "has_url_password", "MaskSecrets", "attach_mask", "MASK"]
