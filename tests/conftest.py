"""Shared fixtures. Keep this file small: helpers live in their own modules (``samba.py``)."""

import itertools

import pytest

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
