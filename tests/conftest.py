"""Shared fixtures: the real servers (Samba, SMTP) and the stores tests back up.

Helpers live in their own modules: ``samba.py`` (the Samba server), ``smtp.py`` (the SMTP
server), ``helpers.py`` (snapshots, generated stores, the committed sample store). Tests marked
``slow`` (real-clock: the scheduler service, SMB stalls, the browser) are skipped by
``pytest -m "not slow"``.
"""

import itertools

import pytest

import smtp as smtp_server
from helpers import copy_sample, make_store
from samba import PASSWORD, SambaServer


@pytest.fixture(scope="session")
def samba(tmp_path_factory):
    """A private Samba server for the whole test session (see tests/samba.py); never skipped."""
    server = SambaServer(tmp_path_factory.mktemp("samba"))
    server.start()
    yield server
    server.stop()


_dirs = itertools.count()


@pytest.fixture
def smb_url(samba, monkeypatch):
    """URL of a fresh directory on the ``backup`` share; the password is in the environment."""
    monkeypatch.setenv("WORKBENCH_SMB_PASSWORD", PASSWORD)
    monkeypatch.delenv("WORKBENCH_SMB_USER", raising=False)
    return samba.url("backup", f"t{next(_dirs)}")


@pytest.fixture
def smtp():
    """``(inbox, port)`` of a plain SMTP server on 127.0.0.1 (see tests/smtp.py)."""
    inbox, port, controller = smtp_server.start()
    yield inbox, port
    controller.stop()


@pytest.fixture
def sample_server(tmp_path):
    """A copy of the committed sample server directory (data/samples/kerio)."""
    return copy_sample(tmp_path / "server")


@pytest.fixture
def small_store(tmp_path):
    """A generated server directory of 40 messages (seed 3)."""
    return make_store(tmp_path / "server", messages=40, seed=3)
