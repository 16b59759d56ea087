"""Generating a whole server directory, and the committed sample."""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Callable

from .layout import (FLD_FILES, Folder, Writer, check_empty, deleted_fld, index_fld, license_key,
                     mailserver_cfg, msg_name, pem, properties_fld, search_fld, status_fld, users_cfg)
from .plan import plan_folders, plan_people, plan_times
from .profiles import SAMPLE, Profile, profile_named, style_note
from .text import DAY, REFERENCE_TIME, YEAR, Person


_SAMPLE_MESSAGES = 240
_SAMPLE_SEED = 2026


def generate(server_dir: str | os.PathLike, messages: int, seed: int = 0,
             progress: Callable[[int, int], None] | None = None, *, profile: str = "default",
             large_size: tuple[int, int] | None = None) -> dict:
    """Create a synthetic Kerio Connect server directory.

    Parameters
    ----------
    server_dir : str or os.PathLike
        Directory to create; it must not exist or be empty.
    messages : int
        Number of ``.eml`` messages to write (user, public and archive folders together). Users
        grow with it (about one per 500 messages, at least 6) and domains with the users (at
        least 2). The average message is about 12 KB in the default profile.
    seed : int, default 0
        The same seed gives byte-identical files with identical mtimes.
    progress : callable, optional
        Called as ``progress(done, total)`` with message counts every few hundred messages.
    profile : {"default", "long-headers", "small-messages"}, default "default"
        What the messages look like (see :mod:`workbench.samples.profiles`): ordinary office
        mail; relayed and list mail with header blocks of several KB; or mostly messages under
        2 KB with one very large attachment (20-200 MB) per 20 000 messages, at least one.
        Users, folders and delivery times depend on the seed only.
    large_size : (int, int), optional
        Smallest and largest raw size in bytes of the profile's huge attachments (default
        2-8 MB, one message in 2000; small-messages: 20-200 MB).

    Returns
    -------
    dict
        ``profile`` and counts: ``domains``, ``users``, ``folders``, ``messages``,
        ``with_attachments``, ``attachments``, ``files`` (all files written) and ``bytes``
        (their total size).

    Raises
    ------
    FileExistsError
        If ``server_dir`` exists and is not empty.
    ValueError
        If ``profile`` is unknown or ``large_size`` is not ``(min, max)`` with ``0 < min <= max``.
    """
    chosen = profile_named(profile, large_size)
    return _generate(Path(server_dir), int(messages), seed, progress, chosen)


def _generate(root: Path, messages: int, seed: int, progress, profile: Profile) -> dict:
    check_empty(root)
    rng = random.Random(seed)
    domains, users = plan_people(rng, max(6, round(messages / 500)))
    folders = plan_folders(rng, domains, users)
    plan_times(rng, folders, messages)
    factory = profile.factory(rng, profile, messages, whole_store=True)
    for domain in domains:
        factory.colleagues[domain] = [u for u in users if u.address.endswith("@" + domain)]

    writer = Writer(root)
    _write_config(writer, rng, domains, users, style_note(profile))
    done = with_attachments = attachments = 0
    for folder in folders:
        records = []
        for msg_id, ts in enumerate(folder.times, 1):
            data, n_attach = factory.message(folder, ts)
            writer.write(f"{folder.rel}/#msgs/{msg_name(msg_id)}", data, ts)
            records.append((msg_id, len(data), ts))
            with_attachments += n_attach > 0
            attachments += n_attach
            done += 1
            if progress and done % 500 == 0:
                progress(done, messages)
        _write_folder_files(writer, folder, records)
    writer.set_dir_mtimes()
    if progress:
        progress(done, messages)
    return {"profile": profile.name, "domains": len(domains), "users": len(users), "folders": len(folders),
            "messages": done,
            "with_attachments": with_attachments, "attachments": attachments,
            "files": writer.files, "bytes": writer.bytes}


def _write_config(writer: Writer, rng: random.Random, domains: list[str], users: list[Person],
                  note: str | None) -> None:
    base = REFERENCE_TIME - YEAR - 30 * DAY  # installed a month before the oldest mail
    writer.write("mailserver.cfg", mailserver_cfg(domains, note), REFERENCE_TIME - 2 * DAY)
    writer.write("users.cfg", users_cfg(users, rng), REFERENCE_TIME - 5 * DAY)
    writer.write("license/license.key", license_key(domains, rng), base)
    writer.write("sslcert/server.crt", pem("CERTIFICATE", rng, 900), base + 3600)
    writer.write("sslcert/server.key", pem("PRIVATE KEY", rng, 1200), base + 3600)


def _write_folder_files(writer: Writer, folder: Folder, records: list[tuple[int, int, int]]) -> None:
    # Kerio updates the folder files whenever mail arrives: they are as new as the newest message.
    mtime = records[-1][2] + 1 if records else REFERENCE_TIME - YEAR
    contents = {"index.fld": index_fld(records), "status.fld": status_fld(folder.rel, records, mtime),
                "properties.fld": properties_fld(folder), "search.fld": search_fld(folder, len(records)),
                "deleted.fld": deleted_fld()}
    for name in FLD_FILES:
        writer.write(f"{folder.rel}/{name}", contents[name], mtime)


def build_sample(server_dir: str | os.PathLike) -> dict:
    """Build the small sample server directory committed at ``data/samples/kerio``.

    Two domains, six users with every standard folder, public and archive folders, and
    240 messages (a few with small PDF and PNG attachments), under 2 MB in all.

    Parameters
    ----------
    server_dir : str or os.PathLike
        Directory to create; it must not exist or be empty.

    Returns
    -------
    dict
        The counts returned by :func:`generate`.
    """
    return _generate(Path(server_dir), _SAMPLE_MESSAGES, _SAMPLE_SEED, None, SAMPLE)
