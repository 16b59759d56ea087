"""Status e-mail after backup runs: settings, the message, and sending it over SMTP.

Settings come from the config's ``[notify]`` table::

    [notify]
    to = ["admin@example.com", "oncall@example.com"]
    on = "all"                  # or "failure": only failed, refused and missed runs
    smtp_host = "mail.example.com"
    smtp_port = 587             # default: 25, 587 for starttls, 465 for ssl
    security = "starttls"       # "none", "starttls" or "ssl"
    user = "backup@example.com"
    password_env = "WORKBENCH_SMTP_PASSWORD"

The password is never read from the config: it comes from the environment variable that
``password_env`` names or, without one, from the system keyring (service ``workbench-smtp``, the
user name as the key: ``keyring set workbench-smtp backup@example.com``). Optional keys: ``sender``
(From address, default ``workbench@<host name>``), ``timeout`` (seconds, default 10) and ``ca_file``
(a PEM file of certificates to trust for TLS, e.g. a private CA).

Sending never raises from ``notify_run``: a failing mail server is logged on ``workbench.notify``
and the backup's outcome stands.
"""

import logging
import os
import socket

from ..errors import NotifyFailed
from ..model import not_in_backup_text, skip_text
from ..naming import kind_name
from ..secrets import mask_url
from ..sizes import human_size

log = logging.getLogger("workbench.notify")

KEYRING_SERVICE = "workbench-smtp"


# --- the message ---------------------------------------------------------------------------------

_SUBJECT_WORDS = {"success": "OK", "warning": "WARNING", "failed": "FAILED", "refused": "REFUSED",
                  "missed": "MISSED"}


def compose(report, settings):
    """The e-mail (an ``email.message.EmailMessage``) for a RunReport."""
    from email.message import EmailMessage
    from email.utils import formatdate, make_msgid
    host = socket.gethostname()
    kind = kind_name(report.kind) or report.kind
    word = _SUBJECT_WORDS.get(report.status, report.status.upper())
    what = f"{kind} backup"
    if report.result is not None:
        what += f" {report.result.set_name}"
    subject = f"[workbench] {word}: {what} on {host}"
    if report.status in ("failed", "refused", "missed") and report.error:
        subject += f": {report.error.splitlines()[0][:120]}"
    elif report.status == "warning":
        subject += f": finished with warnings ({_warning_count(report)})"
    msg = EmailMessage()
    # The last stop before the text leaves the machine: no URL password in it, whatever the
    # report's fields (an error, the target, after_backup's output) hold.
    msg["Subject"] = mask_url(subject)
    msg["From"] = settings.from_address
    msg["To"] = ", ".join(settings.to)
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain=host)
    msg.set_content(mask_url(body_text(report)))
    return msg


def body_text(report):
    """The plain-text body: what ran, its figures, and what went wrong."""
    r = report.result
    lines = [f"Status:      {report.status}"]
    if report.status == "warning":
        lines.append(f"Outcome:     finished with warnings ({_warning_count(report)}); the set "
                     "holds everything else")
    if report.error:
        lines.append(f"Error:       {report.error_class + ': ' if report.error_class else ''}"
                     f"{report.error}")
    lines.append(f"Kind:        {kind_name(report.kind) or report.kind}")
    if report.trigger:
        lines.append(f"Started by:  {report.trigger}"
                     + (f" (task: {report.task})" if report.task else ""))
    if report.scheduled_for:
        lines.append(f"Due at:      {report.scheduled_for}")
    lines.append(f"Store:       {report.store or '-'}")
    lines.append(f"Target:      {report.target or '-'}")
    if report.started:
        lines.append(f"Started:     {report.started.isoformat(timespec='seconds')}")
    if report.finished and report.started:
        lines.append(f"Duration:    {(report.finished - report.started).total_seconds():.1f} s")
    if r is not None:
        lines += [
            f"Set:         {r.set_name}" + (f" (based on {r.base})" if r.base and r.base != r.set_name
                                            else ""),
            f"Files:       {r.files} in the store, {r.stored} stored in this set",
            f"Bytes:       {r.bytes_in} read ({human_size(r.bytes_in)}), {r.bytes_out} written "
            f"({human_size(r.bytes_out)})",
            f"Volumes:     {len(r.volumes)}: {', '.join(r.volumes)}",
        ]
        if r.note:
            lines.append(f"Note:        {r.note}")
        lines.append(f"Skipped oversize files: {len(r.skipped)}"
                     + (f" ({not_in_backup_text(s.get('reason') for s in r.skipped)})"
                        if r.skipped else ""))
        lines += [f"  {s['path']} ({human_size(s['size'])}, {s['size']} bytes): "
                  f"{skip_text(s.get('reason', 'oversize'))}" for s in r.skipped]
        if r.unreadable:
            lines.append(f"Unreadable files: {len(r.unreadable)}")
            lines += [f"  {u['path']}: {u['error']}" for u in r.unreadable]
        lines.append(f"Removed: {len(r.removed)} (replaced differentials, rotation, leftovers "
                     "of interrupted runs)" if r.removed else "Removed: 0")
        lines += [f"  {d['set']}: {d['reason']}" for d in r.removed]
        if getattr(r, "postponed", None):
            lines.append(f"Removal postponed (being read): {len(r.postponed)}")
            lines += [f"  {d['set']}: {d['reason']}" for d in r.postponed]
    if report.free is not None:
        lines.append(f"Free space left on the target: {report.free} bytes ({human_size(report.free)})")
    if report.after_backup:
        a = report.after_backup
        lines.append(f"after_backup: {a['command']!r} exited with status {a['exit_code']}")
        if a.get("output"):
            lines.append("after_backup output:")
            lines += ["  " + x for x in a["output"].rstrip().splitlines()]
    return "\n".join(lines) + "\n"


def _warning_count(report):
    warnings = list(getattr(report, "warnings", ()))
    unread = sum(1 for w in warnings if not w.startswith("after_backup "))
    parts = [f"{unread} files or folders could not be read"] if unread else []
    if len(warnings) > unread:
        parts.append("after_backup failed")
    return ", ".join(parts) or "see below"


# --- sending -------------------------------------------------------------------------------------

def password_for(settings):
    """The SMTP password from ``$<password_env>`` or the keyring; None when there is no user."""
    if not settings.user:
        return None
    if settings.password_env:
        value = os.environ.get(settings.password_env)
        if value is None:
            raise NotifyFailed(f"the environment variable {settings.password_env} (notify."
                               f"password_env) is not set: it must hold the SMTP password")
        return value
    try:
        import keyring
        value = keyring.get_password(KEYRING_SERVICE, settings.user)
    except Exception as e:  # no usable keyring backend on a headless server
        raise NotifyFailed(f"no password for SMTP user {settings.user}: set notify.password_env, "
                           f"or store it with `keyring set {KEYRING_SERVICE} {settings.user}` "
                           f"({e})") from None
    if value is None:
        raise NotifyFailed(f"no password for SMTP user {settings.user}: set notify.password_env, or "
                           f"store it with `keyring set {KEYRING_SERVICE} {settings.user}`")
    return value


def send(msg, settings):
    """Send *msg* with *settings*; NotifyFailed (saying why) if the server cannot take it."""
    import smtplib
    import ssl
    if not settings.to:
        raise NotifyFailed("no addresses to send to: set `to` in the [notify] table")
    password = password_for(settings)
    context = ssl.create_default_context(cafile=settings.ca_file)
    where = f"{settings.smtp_host}:{settings.port}"
    try:
        if settings.security == "ssl":
            smtp = smtplib.SMTP_SSL(settings.smtp_host, settings.port, timeout=settings.timeout,
                                    context=context)
        else:
            smtp = smtplib.SMTP(settings.smtp_host, settings.port, timeout=settings.timeout)
        with smtp:
            if settings.security == "starttls":
                smtp.starttls(context=context)
            if settings.user:
                smtp.login(settings.user, password)
            smtp.send_message(msg)
    except (OSError, smtplib.SMTPException) as e:
        raise NotifyFailed(f"cannot send the status e-mail through {where} "
                           f"({settings.security}): {e}") from None


def should_send(report, settings):
    return bool(settings and settings.to) and (settings.on == "all" or report.status != "success")


def notify_run(report, settings):
    """Send the status e-mail of *report* if the settings ask for it; never raises.

    Returns
    -------
    bool or None
        True if sent, False if sending failed (logged), None if no message was due.
    """
    if not should_send(report, settings):
        return None
    try:
        msg = compose(report, settings)
        send(msg, settings)
    except NotifyFailed as e:
        log.error("status e-mail not sent: %s", e)
        return False
    except Exception as e:  # a notification must never break the backup that triggered it
        log.exception("status e-mail not sent: %s", e)
        return False
    log.info("status e-mail %r sent to %s", msg["Subject"], ", ".join(settings.to))
    return True


def send_test(config=None):
    """Send a test message with the ``[notify]`` settings of *config*; NotifyFailed if it fails."""
    from email.message import EmailMessage
    from ..config import as_config
    cfg = as_config(config)
    settings = cfg.notify
    if settings is None or not settings.to:
        raise NotifyFailed("no [notify] table with `to` addresses in the config")
    msg = EmailMessage()
    msg["Subject"] = f"[workbench] TEST: notifications from {socket.gethostname()} work"
    msg["From"] = settings.from_address
    msg["To"] = ", ".join(settings.to)
    msg.set_content(f"This is a test message from workbench on {socket.gethostname()}.\n"
                    f"Backup status e-mails will be sent to: {', '.join(settings.to)} "
                    f"(on = {settings.on}).\n")
    send(msg, settings)
    return list(settings.to)
