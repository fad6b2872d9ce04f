"""Every error netreconcile reports, in one hierarchy. Each says who must act (`kind`): the user, by
fixing the manifests or the command line; the host's administrator, by changing what is on the host; or
us, for a bug. `category` is its `error.type` under -o json (docs/output.md)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import ClassVar, Generic, TypeVar


class Kind(Enum):
    """Who must act on an error."""

    INPUT = "input"  # the user: the manifests or the command line ask for what cannot be
    HOST = "host"    # the host's state stands in the way: the kernel, a file, another process
    BUG = "bug"      # netreconcile itself: report it


class NetreconcileError(Exception):
    """Base of every error the tool reports without a traceback. A bare one is the host's state (a
    program missing, a table that cannot be read); its subclasses say more."""

    kind: ClassVar[Kind] = Kind.HOST
    category: ClassVar[str] = "error"

    @property
    def messages(self) -> list[str]:
        """The errors as stderr shows them, each after `error: ` (one may span several lines)."""
        return [str(self)]

    @property
    def footer(self) -> str:
        """What stderr shows after the messages ("" for nothing)."""
        return ""

    @property
    def problems(self) -> list[Problem] | None:
        """The problems located in the manifests (None: the error is not about the manifests)."""
        return None


class UsageError(NetreconcileError):
    """The command line asks for what cannot be: a path that does not exist, an address that is none, a
    confirmation that nothing waits for. The user must change it."""

    kind = Kind.INPUT


@dataclass(frozen=True)
class Location:
    """Where a manifest value was written: file, 1-based line and column (0: no place in the file, as for
    a file that cannot be read; then only the file is shown)."""

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}" if self.line else self.file


@dataclass(frozen=True)
class Problem:
    """One user-facing problem in the manifests: `FILE:LINE:COL: Kind/name: message`."""

    where: Location
    subject: str
    message: str

    def __str__(self) -> str:
        subject = f"{self.subject}: " if self.subject else ""
        return f"{self.where}: {subject}{self.message}"


class ManifestError(NetreconcileError):
    """The manifests are invalid; the user must fix them. Nothing was changed."""

    kind = Kind.INPUT
    category = "invalid-manifests"

    def __init__(self, problems: list[Problem]):
        self._problems = problems
        super().__init__("\n".join(str(p) for p in problems))

    @property
    def problems(self) -> list[Problem]:
        return self._problems

    @property
    def messages(self) -> list[str]:
        return [str(p) for p in self._problems]

    @property
    def footer(self) -> str:
        return f"{len(self._problems)} problem(s) found; nothing was changed."


class _Unchanged(NetreconcileError):
    """An error raised before anything is changed, with one message per finding."""

    def __init__(self, messages: list[str]):
        self._messages = messages
        super().__init__("\n".join(messages))

    @property
    def messages(self) -> list[str]:
        return self._messages

    @property
    def footer(self) -> str:
        return "Nothing was changed."


class ConflictError(_Unchanged):
    """A kernel object we would create already exists and is not ours; the user must resolve it."""

    category = "conflict"


class PathConflictError(ConflictError):
    """Something stands where netreconcile writes or deletes a file: a symbolic link, a file it did not
    write, a folder other users control. The user must remove or fix it; nothing was written through it."""

    def __init__(self, message: str):
        super().__init__([message])


class PreflightError(ConflictError):
    """The host lacks something the manifests need (a parent link); nothing was changed."""


class KernelSupportError(_Unchanged):
    """The running kernel lacks link kinds the manifests need; the host's administrator must load the
    modules or change the kernel. Raised before anything is changed."""

    category = "kernel-support"


class RefusedError(NetreconcileError):
    """The plan would delete too much; nothing was changed. The user decides (--allow-empty, --force)."""

    kind = Kind.INPUT
    category = "refused"


class HostError(NetreconcileError):
    """This machine cannot be matched to exactly one declared Host; nothing was changed. The user names
    it (--host) or fixes the Hosts' addresses."""

    kind = Kind.INPUT


class LockedError(NetreconcileError):
    """Another netreconcile holds the lock and --no-wait was given; `holder` names it (pid, command)."""

    def __init__(self, lock: str, holder: str):
        super().__init__(f"{lock} is held by {holder}; not waiting (--no-wait)")
        self.holder = holder


class ApplyError(NetreconcileError):
    """A step failed against the kernel."""


StepT = TypeVar("StepT")


class StepFailed(ApplyError, Generic[StepT]):
    """A step failed; `done` holds the steps completed before it, in order."""

    def __init__(self, message: str, done: list[StepT]):
        super().__init__(message)
        self.done = done


class RolledBack(ApplyError):
    """A step or the verification failed, and the steps done were undone; the message says what failed
    and what the rollback restored."""


class VerifyError(NetreconcileError):
    """After applying, the kernel still differs from the manifests."""


class SysctlKeyError(NetreconcileError, ValueError):
    """A sysctl key that names no file under /proc/sys/net (a '/', an empty part, NUL, not net.*): never
    read nor written, whoever asked. Raised before anything is changed."""

    kind = Kind.INPUT

    def __init__(self, key: str):
        super().__init__(f"sysctl {key!r} is not a key under /proc/sys/net (net.<part>.<part>..., each part "
                         f"without '/' or NUL): it is neither read nor written")


class KernelError(NetreconcileError, OSError):
    """The kernel refused a request (errno, its text)."""


class NamespaceGoneError(NetreconcileError, OSError):
    """A named namespace went away, or was replaced by what is no namespace, while netreconcile was
    reading or changing it: the kernel changed meanwhile; running again sees it as it is now."""

    def __str__(self) -> str:
        return str(self.strerror)


class ProcessStateError(NetreconcileError):
    """A long-running process's state.json is not a state it can read, or another such process runs."""


class ResolverStateError(ProcessStateError):
    """The resolver's state.json is not a state it can read, or another resolver runs."""


class ForeignTable(NetreconcileError):
    """A table of our table's name exists without our marker: someone else's."""


class EtcdError(NetreconcileError):
    """etcd refused a request or answered what we cannot read."""


class WatchIdle(EtcdError):
    """An etcd watch stream said nothing for a while: it is opened again from the next revision."""


class EtcdUnavailable(EtcdError):
    """No endpoint of the etcd cluster answered."""

    category = "etcd-unavailable"


class SourceUnavailable(ManifestError):
    """A source could not be read at all (etcd unreachable): nothing is known of the manifests, so
    nothing may be pruned; a watch keeps the last applied state."""

    kind = Kind.HOST
    category = "source-unavailable"


class PushConflict(NetreconcileError):
    """Another push wrote the etcd prefix between a push's read and its transaction: it wrote nothing."""

    category = "push-conflict"
