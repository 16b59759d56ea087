"""Permissions of what workbench writes: private unless the config's ``file_mode`` says otherwise.

Volumes, manifests, indexes, locks, logs, status and schedule files hold mail (or say where it is),
so they are created 0600 and the directories workbench creates for them 0700. ``file_mode`` (for
example ``"0640"``) widens that on purpose; directories then get the matching search bits (0750).
The mode is set explicitly, not left to the umask, and applies to files on local and mounted
targets and in the state directory; an SMB server decides the modes of its own files.
"""

import errno
import os

from .errors import ConfigError

DEFAULT_FILE_MODE = 0o600


def dir_mode(file_mode):
    """The directory mode matching *file_mode*: a search bit wherever there is a read bit."""
    return file_mode | (file_mode & 0o444) >> 2


def check_file_mode(key, value):
    """The ``file_mode`` config value as an int: octal text such as ``"0640"`` or a TOML octal
    integer (``0o640``); read and write for the owner, no execute or special bits."""
    if isinstance(value, str):
        text = value.strip().lower().removeprefix("0o")
        if not text or any(c not in "01234567" for c in text):
            raise ConfigError(key, value, 'expected permission bits in octal, such as "0600" '
                                          'or "0640"')
        mode = int(text, 8)
    elif isinstance(value, int) and not isinstance(value, bool):
        mode = value
    else:
        raise ConfigError(key, value, 'expected permission bits in octal, such as "0600" or "0640"')
    if mode & ~0o666:
        raise ConfigError(key, value, "only read and write bits are allowed (no execute, setuid, "
                                      'setgid or sticky bits), such as "0600" or "0640"')
    if mode & 0o600 != 0o600:
        raise ConfigError(key, value, "the owner must be able to read and write (0600 at least)")
    return mode


def make_dirs(path, file_mode=DEFAULT_FILE_MODE):
    """Create directory *path* and any missing parents with ``dir_mode(file_mode)``; directories
    that exist already keep their mode."""
    path = os.path.abspath(path)
    missing = []
    while not os.path.isdir(path):
        missing.append(path)
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    mode = dir_mode(file_mode)
    for d in reversed(missing):
        try:
            os.mkdir(d, mode)
        except FileExistsError:
            if not os.path.isdir(d):
                raise
            continue
        _chmod(os.chmod, d, mode)  # mkdir's mode passes through the umask


def open_file(path, file_mode=DEFAULT_FILE_MODE, flags=os.O_WRONLY | os.O_CREAT | os.O_TRUNC):
    """Open *path* with *flags* (creating it if they say so) and give it *file_mode*; a file
    descriptor."""
    fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0), file_mode)
    try:
        set_mode(fd, file_mode)  # also for a file that existed, and past the umask
    except BaseException:
        os.close(fd)
        raise
    return fd


# Filesystems without Unix permissions (vfat, some network mounts) refuse chmod; their mount
# options decide the modes, and a new file never has more than the mode it was created with.
_NO_MODES = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EROFS}


def _chmod(fn, what, mode):
    try:
        fn(what, mode)
    except OSError as e:
        if e.errno not in _NO_MODES:
            raise


def set_mode(fd, file_mode):
    """Give the open file *fd* the mode *file_mode* (where the filesystem keeps modes)."""
    _chmod(os.fchmod, fd, file_mode)


def ensure_file(path, file_mode=DEFAULT_FILE_MODE):
    """Create *path* empty if it is missing, and give it *file_mode* (its data is kept)."""
    os.close(open_file(path, file_mode, os.O_WRONLY | os.O_CREAT))
