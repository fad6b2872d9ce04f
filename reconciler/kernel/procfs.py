"""A private instance of procfs for sysctl files: made with fsopen/fsmount and never attached to any
mount namespace (nobody else sees it), renewed after every RENEW_AFTER namespaces looked up through it.

Why not /proc: the kernel caches one `sys/net` dentry per network namespace under the one `sys`
directory of a procfs instance, all in one hash chain (same parent, same name), and the first lookup
in a namespace walks that chain. Through the host's /proc each new namespace then costs time in the
number of live namespaces ever looked up there (measured here: 0.4 ms each at 3000, 1 ms at 6000: an
apply quadratic in N), and each of ours lengthens the chain for every other tool on the host. A
private instance holds only the lookups made through it, and its dentries go when it is closed.
"""

from __future__ import annotations

import ctypes
import os

RENEW_AFTER = 64  # namespaces per instance: a chain of at most 64 (~10 µs) against a mount (~60 µs)

_SYS_FSOPEN, _SYS_FSCONFIG, _SYS_FSMOUNT = 430, 431, 432  # one number on every architecture (>= 5.2)
_FSOPEN_CLOEXEC = _FSMOUNT_CLOEXEC = 1
_FSCONFIG_CMD_CREATE = 6
_MOUNT_ATTR_NOSUID, _MOUNT_ATTR_NODEV, _MOUNT_ATTR_NOEXEC = 0x2, 0x4, 0x8

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def _syscall(number: int, *args: object) -> int:
    result = int(_libc.syscall(number, *args))
    if result < 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))
    return result


def open_instance() -> int:
    """A descriptor of the root of a new procfs instance, attached nowhere (close it to free it)."""
    context = _syscall(_SYS_FSOPEN, b"proc", _FSOPEN_CLOEXEC)
    try:
        _syscall(_SYS_FSCONFIG, context, _FSCONFIG_CMD_CREATE, None, None, 0)
        flags = _MOUNT_ATTR_NOSUID | _MOUNT_ATTR_NODEV | _MOUNT_ATTR_NOEXEC
        return _syscall(_SYS_FSMOUNT, context, _FSMOUNT_CLOEXEC, flags)
    finally:
        os.close(context)


class SysctlRoot:
    """Where a session looks sysctl files up: a private procfs instance (its `sys` directory), or the
    host's /proc where the kernel or our rights allow no instance (then as every other tool does)."""

    def __init__(self) -> None:
        self._fd: int | None = None
        self._namespaces: set[str | None] = set()
        self._usable = True

    def dir_fd(self, ns: str | None) -> int | None:
        """The directory descriptor to look `ns`'s sysctls up from (None: /proc)."""
        if ns not in self._namespaces and len(self._namespaces) >= RENEW_AFTER:
            self.close()
        if self._fd is None and self._usable:
            try:
                self._fd = open_instance()
            except OSError:  # no new mount API, or no right to mount here: /proc it is
                self._usable = False
        self._namespaces.add(ns)
        return self._fd

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
        self._fd = None
        self._namespaces.clear()
