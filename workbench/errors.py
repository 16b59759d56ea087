"""The exception tree of workbench.

Modelled on borg: one class per failure, the message is the text the user reads and says what to do,
and each class carries its own exit code for the command line (workbench.cli maps them; the README
has the table). ``details`` gives the exact values behind a message (bytes, paths, keys) for
``--json``; the message shows sizes for people (``67.2 GiB free``). This module is below every
other one, so sizes in messages are written by a formatter the raiser passes (sizes.human_size).
"""


def _bytes(n):
    return f"{n} bytes"


class WorkbenchError(Exception):
    """Base of every error workbench raises on purpose; raised as itself for a bad argument (an
    unknown backup kind, a bad ``--level``), like the command line's usage errors (exit 2)."""

    exit_code = 2

    @property
    def details(self):
        """The exact values behind the message, for ``--json`` (empty when there are none)."""
        return {}


class FinishedWithWarnings(WorkbenchError):
    """A backup was committed, but some files or folders could not be read (or after_backup
    failed). Not raised: the outcome of such a run, whose exit code the command line returns."""

    exit_code = 3

    def __init__(self, set_name, warnings):
        self.set_name, self.warnings = set_name, list(warnings)
        shown = "; ".join(self.warnings[:10])
        more = f"; and {len(self.warnings) - 10} more" if len(self.warnings) > 10 else ""
        super().__init__(f"backup {set_name} finished with warnings ({len(self.warnings)}): "
                         f"{shown}{more}. The set holds everything else; fix the cause (file "
                         "permissions, say) so that the next backup takes them too")

    @property
    def details(self):
        return {"set": self.set_name, "warnings": self.warnings}


class ConfigError(WorkbenchError):
    """A configuration key has a bad value (or is unknown)."""

    exit_code = 10

    def __init__(self, key, value, reason):
        self.key, self.value, self.reason = key, value, reason
        super().__init__(f"config key {key!r}: bad value {value!r}: {reason}")

    @property
    def details(self):
        value = self.value if isinstance(self.value, (str, int, float, bool, type(None))) \
            else repr(self.value)
        return {"key": self.key, "value": value, "reason": self.reason}


class FleetFileError(ConfigError):
    """A fleet file (``fleet.toml``) or a mapping of targets has a bad server table or key; the
    message names the file, the server and the key."""

    exit_code = 61

    def __init__(self, key, value, reason, server=None, source=None):
        self.key, self.value, self.reason = key, value, reason
        self.server, self.source = server, source
        where = f"fleet file {source}" if source else "fleet"
        if server is not None:
            where += f", server {server!r}"
        what = f"key {key!r}: bad value {value!r}" if key else f"bad value {value!r}"
        WorkbenchError.__init__(self, f"{where}: {what}: {reason}")


class StoreNotFound(WorkbenchError):
    """The server directory does not exist or holds no store."""

    exit_code = 11


class TargetError(WorkbenchError):
    """The backup target cannot be used (missing, not writable, unreachable)."""

    exit_code = 12


class LockHeld(WorkbenchError):
    """Another live backup holds the target's lock."""

    exit_code = 13

    def __init__(self, target, owner):
        self.owner = owner
        super().__init__(
            f"another backup is running on {target}: host {owner.get('host')}, pid {owner.get('pid')}, "
            f"started {owner.get('started')}; wait for it to finish, or remove the lock file if that "
            f"process is gone"
        )

    @property
    def details(self):
        return {"owner": {k: self.owner.get(k) for k in ("host", "pid", "started")
                          if k in self.owner}}


class ExportBusy(LockHeld):
    """Another export is writing to the export directory (its lock file names it)."""

    exit_code = 63

    def __init__(self, out, owner):
        self.owner = owner
        WorkbenchError.__init__(
            self, f"another export is writing to {out}: host {owner.get('host')}, pid "
            f"{owner.get('pid')}, started {owner.get('started')}; wait for it to finish (its "
            "lock is taken over once that process is gone)")


class LockDamaged(LockHeld):
    """The target's lock file cannot be read: it counts as held until it is old enough."""

    exit_code = 21

    def __init__(self, target, name, reason, age=None, stale_after=None):
        self.owner, self.file = {}, f"{target.rstrip('/')}/{name}"
        when = ""
        if age is not None and stale_after is not None:
            when = (f"; it is taken over once it is older than lock_stale_after ({stale_after} s; "
                    f"it was written {age:.0f} s ago)")
        WorkbenchError.__init__(
            self, f"the lock file {self.file} cannot be used: {reason}. It counts as held by an "
            f"unknown backup: if no backup is running on any host, remove that file{when}")

    @property
    def details(self):
        return {"file": self.file}


class NotEnoughSpace(WorkbenchError):
    """The target has less free space than ``min_free``; nothing was written. *size_text*
    writes the sizes in the message (sizes.human_size); ``details`` has the bytes."""

    exit_code = 14

    def __init__(self, target, free, required, size_text=_bytes):
        self.free, self.required = free, required
        super().__init__(
            f"not enough free space on {target}: {size_text(free)} free, {size_text(required)} "
            f"required (min_free); free some space or lower min_free. No backup was started."
        )

    @property
    def details(self):
        return {"free": self.free, "required": self.required}


class SetNotFound(WorkbenchError):
    """The named backup set is not on the target."""

    exit_code = 15


class NoCompleteBackup(WorkbenchError):
    """The target holds no complete backup to restore from."""

    exit_code = 16


class IncompleteSet(WorkbenchError):
    """The set has no valid manifest (an interrupted run); it is never used for a restore."""

    exit_code = 17


class DamagedSet(WorkbenchError):
    """The set is damaged (manifest unreadable or missing, volumes not as recorded) and the part
    asked for cannot be read; it is kept, never removed on its own."""

    exit_code = 22


class SetBeingRemoved(WorkbenchError):
    """A set to be read is being removed by a backup (rotation, or a replaced differential)."""

    exit_code = 23


class UnsupportedSet(WorkbenchError):
    """The set is in a layout workbench cannot read (a spanned or split zip archive); it is
    listed, never restored and never removed."""

    exit_code = 24


class CorruptVolume(WorkbenchError):
    """A volume is missing, truncated or does not match its manifest."""

    exit_code = 18


class UnsafePath(WorkbenchError):
    """A member path is absolute, contains '..' or resolves outside the destination."""

    exit_code = 19


class RestoreIncomplete(WorkbenchError):
    """Some entries could not be restored; the rest were. ``failures`` lists (path, reason)."""

    exit_code = 20

    def __init__(self, failures):
        self.failures = failures
        names = ", ".join(p for p, _ in failures[:10])
        more = f" and {len(failures) - 10} more" if len(failures) > 10 else ""
        super().__init__(f"{len(failures)} entries could not be restored: {names}{more}")

    @property
    def details(self):
        return {"failures": [{"path": p, "reason": r} for p, r in self.failures]}


class TargetFull(TargetError):
    """The target's filesystem ran out of space (or quota) while a backup wrote to it."""

    exit_code = 43

    def __init__(self, target, name, reason):
        self.target, self.name = target, name
        super().__init__(f"the backup directory {target} is full: writing {name} failed "
                         f"({reason}); free some space there (or lower keep), and raise min_free "
                         "so that a backup that cannot fit does not start")


class MemberTooLarge(WorkbenchError):
    """A member declares a size or a compression ratio past the configured limits
    (``max_member_size``, ``max_ratio``); it is refused before anything is inflated or written."""

    exit_code = 26

    def __init__(self, path, size, csize, key, limit, size_text=None):
        self.path, self.size, self.csize, self.key, self.limit = path, size, csize, key, limit

        def shown(n):  # exact bytes too: a bomb's sizes are the evidence
            return f"{size_text(n)} ({n} bytes)" if size_text else f"{n} bytes"
        ratio = size / max(csize, 1)
        what = (f"more than max_member_size = {shown(limit)}" if key == "max_member_size"
                else f"a ratio of {ratio:.0f}:1, more than max_ratio = {limit}")
        super().__init__(
            f"member {path!r} declares {shown(size)} from {shown(csize)} compressed ({what}); "
            f"refused before inflating it, as a zip bomb would be. If the file is genuine, raise "
            f"{key} in the config")

    @property
    def details(self):
        return {"path": self.path, "size": self.size, "compressed_size": self.csize,
                "key": self.key, "limit": self.limit}


class CredentialsMissing(TargetError):
    """No user name or password for an SMB target (environment, keyring or prompt)."""

    exit_code = 31


class AuthenticationFailed(TargetError):
    """The SMB server refused the user name and password (or the user may not use the share)."""

    exit_code = 32


class ShareNotFound(TargetError):
    """The SMB server has no share of that name."""

    exit_code = 33


class TargetUnreachable(TargetError):
    """The connection to a network target failed and did not come back after the retries."""

    exit_code = 34


class TargetStalled(TargetUnreachable):
    """The network target stopped answering: a request got no reply within ``network_timeout``."""

    exit_code = 35


class FleetUnreadable(TargetError):
    """No target of a fleet could be read; ``problems`` lists (target, error class, message)."""

    exit_code = 62

    def __init__(self, problems):
        self.problems = list(problems)
        shown = "; ".join(f"{t}: {e}: {m}" for t, e, m in self.problems[:10])
        more = f"; and {len(self.problems) - 10} more" if len(self.problems) > 10 else ""
        super().__init__(f"no target of the fleet could be read ({len(self.problems)}): "
                         f"{shown}{more}")


class BackupsDisabled(WorkbenchError):
    """Backups are turned off (``enabled = false``): a scheduled run was refused."""

    exit_code = 41


class NotifyFailed(WorkbenchError):
    """The status e-mail could not be sent (server unreachable, login refused, bad settings)."""

    exit_code = 42


class StateNotWritable(WorkbenchError):
    """The state directory (status, log, schedule database) or the log file cannot be written."""

    exit_code = 44

    def __init__(self, path, reason, key="schedule_db"):
        self.path, self.key = path, key
        super().__init__(f"cannot write {path} ({reason}): make it writable for the user running "
                         f"workbench, or set {key} to a place it can write to")

    @property
    def details(self):
        return {"path": self.path, "key": self.key}


class BadDestination(WorkbenchError):
    """A restore destination exists but is not a directory."""

    exit_code = 45

    def __init__(self, path, flag="--to"):
        self.path = path
        super().__init__(f"restore destination {path} ({flag}) exists and is not a directory; "
                         "name a directory (a missing one is created)")


class SelectionError(WorkbenchError):
    """A restore's selection is wrong: bad flag combination, unknown mask, or nothing matches."""

    exit_code = 50


class VerifyFailed(WorkbenchError):
    """Verification found problems; ``problems`` lists them (set, volume, path, user, problem)."""

    exit_code = 51

    def __init__(self, problems):
        self.problems = problems
        sets = sorted({p.set for p in problems if p.set})
        super().__init__(f"verification found {len(problems)} problems in "
                         f"{', '.join(sets) or 'the target'}; see the list above")

    @property
    def details(self):
        return {"problems": len(self.problems),
                "sets": sorted({p.set for p in self.problems if p.set})}


class WrongPassword(WorkbenchError):
    """The password given does not open an encrypted backup (its key check does not match)."""

    exit_code = 56

    def __init__(self, what="the encrypted backup"):
        self.what = what
        super().__init__(
            f"the password does not open {what}: give the password the backup was made with "
            f"(environment variable, keyring or prompt)")


class PasswordMissing(WorkbenchError):
    """The backup is encrypted (or encryption is asked for) and no password was given."""

    exit_code = 57

    def __init__(self, what="this backup", env="WORKBENCH_PASSWORD"):
        self.what = what
        super().__init__(
            f"{what} is encrypted (or encryption is asked for) and no password was given: set "
            f"the environment variable {env} (its name is the config key password_env), store "
            f"it with `keyring set workbench backup`, or run on a terminal to be asked for it")


class PasswordUnusable(WorkbenchError):
    """A password that the zip volumes cannot use: 7-Zip opens AES zips only with 1 to 99
    printable ASCII characters."""

    exit_code = 58

    def __init__(self, reason):
        # The reason describes the password (its length, a bad character's position), never
        # its text.
        self.reason = reason
        super().__init__(
            f"the backup password cannot be used: {reason}; choose 1 to 99 printable ASCII "
            f"characters (letters, digits, punctuation, spaces), the only ones 7-Zip accepts for "
            f"zip archives")


class MemberTampered(CorruptVolume):
    """An encrypted member's authentication code does not match: the volume was damaged or
    altered after it was written."""

    exit_code = 59

    def __init__(self, what="a member"):
        self.what = what
        super().__init__(
            f"{what} fails its authentication check: the volume was damaged or altered after "
            f"the backup wrote it, and the member's data cannot be trusted; use another backup "
            f"of these files")


class SealedFileDamaged(WorkbenchError):
    """An encrypted manifest or index is damaged, truncated, reordered or altered."""

    exit_code = 60

    def __init__(self, what, detail):
        self.what, self.detail = what, detail
        super().__init__(
            f"{what} is damaged or was altered ({detail}) and cannot be used; use another "
            f"backup, or a copy of this file from before the damage")
