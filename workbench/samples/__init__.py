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

Profiles (``profile=`` / ``--profile``) change what the messages look like while users, folders
and delivery times stay those of the seed: ``default`` (the above), ``long-headers`` (relayed and
list mail with header blocks of about 10 KB) and ``small-messages`` (mostly under 2 KB, with a
handful of 20-200 MB attachments); see :mod:`workbench.samples.profiles`.

Command line::

    python -m workbench.samples generate DIR --messages N --seed S [--profile NAME] [--large-size MIN-MAX]
    python -m workbench.samples mutate DIR --seed S
    python -m workbench.samples build-sample DIR

Modules: ``words``, ``text`` and ``charsets`` (vocabularies, people, dates, encoded words),
``attachments`` (payloads), ``mail``, ``relayed`` and ``small`` (each profile's messages),
``layout`` (folder and configuration files, the writer), ``plan`` (users, folders, delivery
times), ``profiles``, ``generator`` (``generate``, ``build_sample``), ``mutation`` (``mutate``) and
``cli``. The standard library only.
"""

from .cli import main
from .generator import build_sample, generate
from .mutation import mutate
from .profiles import PROFILES
from .text import REFERENCE_TIME

__all__ = ["REFERENCE_TIME", "PROFILES", "generate", "mutate", "build_sample"]
