"""Synthetic Kerio Connect server directories for tests, benchmarks and demos.

``generate`` builds a *server directory* (see ``shared/design.md``): ``mailserver.cfg``,
``users.cfg``, ``license/``, ``sslcert/`` and a ``store/`` holding per-user and public mail folders
(``store/mail/<domain>/<user>/<folder>/#msgs/<8 hex>.eml`` plus the folder files ``index.fld``,
``status.fld``, ``properties.fld``, ``search.fld`` and ``deleted.fld``) and a small
``store/archive/``. Messages are real RFC 5322 mail with CRLF line endings; their text compresses
like real mail and their attachments (valid PDF and PNG files of random pixels) compress poorly, as
real attachments do. ``mutate`` then simulates one day of mail on such a directory, and
``build_sample`` makes the small sample committed under ``data/samples/kerio``.

Everything is deterministic: the same seed gives byte-identical files with identical mtimes, so
benchmarks and tests can rebuild a store instead of keeping one.

Command line::

    python -m workbench.samples generate DIR --messages N --seed S
    python -m workbench.samples mutate DIR --seed S
    python -m workbench.samples build-sample DIR

Modules: ``words`` and ``text`` (vocabularies, people, dates), ``attachments`` (files to attach),
``mail`` (the messages), ``layout`` (folder and configuration files, the writer), ``plan`` (users,
folders, delivery times), ``profiles``, ``generator`` (``generate``, ``build_sample``),
``mutation`` (``mutate``) and ``cli``. The standard library only.
"""

from .cli import main
from .generator import build_sample, generate
from .mutation import mutate
from .text import REFERENCE_TIME

__all__ = ["REFERENCE_TIME", "generate", "mutate", "build_sample"]
