"""The exception tree of workbench.

Modelled on borg: one class per failure, the message is the text the user reads and says what to do,
and each class carries its own exit code for the command line (``cli.py`` maps them).
"""


class WorkbenchError(Exception):
    """Base of every error workbench raises on purpose."""

    exit_code = 2


class ConfigError(WorkbenchError):
    """A configuration key has a bad value (or is unknown)."""

    exit_code = 10

    def __init__(self, key, value, reason):
        self.key, self.value, self.reason = key, value, reason
        super().__init__(f"config key {key!r}: bad value {value!r}: {reason}")


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


class NotEnoughSpace(WorkbenchError):
    """The target has less free space than ``min_free``; nothing was written."""

    exit_code = 14

    def __init__(self, target, free, required):
        self.free, self.required = free, required
        super().__init__(
            f"not enough free space on {target}: {free} bytes free, {required} bytes required "
            f"(min_free); free some space or lower min_free. No backup was started."
        )


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


class BackupsDisabled(WorkbenchError):
    """Backups are turned off (``enabled = false``): a scheduled run was refused."""

    exit_code = 41


class NotifyFailed(WorkbenchError):
    """The status e-mail could not be sent (server unreachable, login refused, bad settings)."""

    exit_code = 42


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
