"""A real SMTP server for the tests: aiosmtpd on 127.0.0.1, keeping what it receives."""

import email
import email.policy
import socket
import time
from typing import NamedTuple

from aiosmtpd.controller import Controller


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Received(NamedTuple):
    """One message the server accepted."""

    rcpt_tos: list
    message: email.message.EmailMessage
    authenticated: bool
    tls: bool


class Inbox:
    """aiosmtpd handler keeping every message it accepts (``messages``: Received records)."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(Received(envelope.rcpt_tos, msg, session.authenticated,
                                      session.ssl is not None))
        return "250 OK"

    def wait(self, n=1, timeout=10):
        """The messages, once *n* have come (or *timeout* seconds have passed)."""
        deadline = time.monotonic() + timeout
        while len(self.messages) < n and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.messages


def start(inbox=None, **options):
    """``(inbox, port, controller)`` of a started server; ``controller.stop()`` ends it."""
    inbox, port = inbox or Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **options)
    controller.start()
    return inbox, port, controller
