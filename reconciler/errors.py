"""One exception hierarchy. Each error says who must act: the user (fix input) or us (a bug)."""

from __future__ import annotations

from dataclasses import dataclass


class NetreconcileError(Exception):
    """Base of every error the tool reports without a traceback."""


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

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class ConflictError(NetreconcileError):
    """A kernel object we would create already exists and is not ours; the user must resolve it."""

    def __init__(self, messages: list[str]):
        self.messages = messages
        super().__init__("\n".join(messages))


class PathConflictError(ConflictError):
    """Something stands where netreconcile writes or deletes a file: a symbolic link, a file it did not
    write, a folder other users control. The user must remove or fix it; nothing was written through it."""

    def __init__(self, message: str):
        super().__init__([message])


class ApplyError(NetreconcileError):
    """A step failed against the kernel."""


class VerifyError(NetreconcileError):
    """After applying, the kernel still differs from the manifests."""


class KernelSupportError(NetreconcileError):
    """The running kernel lacks link kinds the manifests need; the host's administrator must load the
    modules or change the kernel. Raised before anything is changed."""

    def __init__(self, messages: list[str]):
        self.messages = messages
        super().__init__("\n".join(messages))


class SysctlKeyError(NetreconcileError, ValueError):
    """A sysctl key that names no file under /proc/sys/net (a '/', an empty part, NUL, not net.*): never
    read nor written, whoever asked. Raised before anything is changed."""

    def __init__(self, key: str):
        super().__init__(f"sysctl {key!r} is not a key under /proc/sys/net (net.<part>.<part>..., each part "
                         f"without '/' or NUL): it is neither read nor written")


class NamespaceGoneError(NetreconcileError, OSError):
    """A named namespace went away, or was replaced by what is no namespace, while netreconcile was
    reading or changing it: the kernel changed meanwhile; running again sees it as it is now."""

    def __str__(self) -> str:
        return str(self.strerror)
