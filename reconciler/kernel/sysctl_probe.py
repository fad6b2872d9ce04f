"""Endpoint sysctls tried for real before any change: whether this kernel has each key in a network
namespace other than the host's, takes the value, and reads it back as written.

What an endpoint's namespace offers is not what the host's does (some keys exist only in the host's,
some are read-only elsewhere), and what the kernel accepts depends on the key's handler, so both are
tried where it cannot matter: in a throwaway namespace (capabilities.in_throwaway_netns), with the
endpoint's sysctls written in the order apply writes them, and its interfaces that they name made as
bridges (an interface's sysctls are the same whatever its kind). The namespace goes away with the
probe; the host's is only read. One probe per distinct set of sysctls, cached for the process's life
(the watch plans again and again).
"""

from __future__ import annotations

import errno
import functools
import os
from pathlib import Path

from reconciler.input.spec import Endpoint, where
from reconciler.kernel import capabilities
from reconciler.kernel.rtnl_client import RtnlClient
from reconciler.model import sysctl_interface

Sysctls = tuple[tuple[str, str], ...]
REFUSED_HERE = (errno.EACCES, errno.EPERM)


def problems(endpoints: tuple[Endpoint, ...]) -> list[str]:
    """One message per endpoint sysctl this kernel would refuse: `endpoint NAME (FILE:LINE): sysctls.KEY: why`."""
    out = []
    for endpoint in endpoints:
        if endpoint.sysctls:
            for key, why in faults(in_apply_order(endpoint.sysctls)):
                at = where(endpoint, "spec", "sysctls", key)
                out.append(f"endpoint {endpoint.name} ({at.file}:{at.line}): sysctls.{key}: {why}")
    return out


def in_apply_order(sysctls: Sysctls) -> Sysctls:
    """As the plan orders them: the namespace's own first, then the interfaces' (once these are made)."""
    return tuple(sorted(sysctls, key=lambda item: (sysctl_interface(item[0]) is not None, item[0])))


@functools.cache
def faults(sysctls: Sysctls) -> tuple[tuple[str, str], ...]:
    """(key, why) for each sysctl the kernel would refuse, written in this order in a fresh namespace."""
    found = capabilities.in_throwaway_netns(lambda: _try(sysctls))
    return tuple((key, _missing(key) if why is None else why) for key, why in found)


def _try(sysctls: Sysctls) -> list[tuple[str, str | None]]:
    """In the throwaway namespace: (key, why) per refusal; why None when the key is not there."""
    _make_interfaces({name for key, _ in sysctls if (name := sysctl_interface(key)) not in (None, "lo")})
    out = []
    for key, value in sysctls:
        path = _path(key)
        if not path.is_file():
            out.append((key, "names a folder of sysctls, not a sysctl" if path.is_dir() else None))
        elif why := _write_fault(path, value):
            out.append((key, why))
    return out


def _make_interfaces(names: set[str]) -> None:
    sock = RtnlClient()
    try:
        for name in sorted(names):
            sock.new_link(name, "bridge", group=0)
    finally:
        sock.close()


def _write_fault(path: Path, value: str) -> str | None:
    """Why the kernel refuses `value` at `path`, or reads it back otherwise; None when it takes it."""
    try:
        path.write_text(value)
    except OSError as err:
        if err.errno in REFUSED_HERE:
            return f"the kernel lets only the machine's initial network namespace write it ({_strerror(err)})"
        return f"the kernel refuses the value {value!r} ({_strerror(err)})"
    try:
        back = " ".join(path.read_text().split())
    except OSError as err:
        return f"cannot be read back ({_strerror(err)}): netreconcile compares every sysctl it sets with the kernel's"
    if back != value:
        return f"the kernel takes the value {value!r} but reads it back as {back!r}: write {back!r}"
    return None


def _missing(key: str) -> str:
    """Read in the caller's thread, in the namespace netreconcile runs in (the host's)."""
    if _path(key).is_file():
        return "this kernel has it in the host's network namespace, but not in an endpoint's"
    return "this kernel has no such sysctl"


def _path(key: str) -> Path:
    return Path("/proc/sys", *key.split("."))


def _strerror(err: OSError) -> str:
    return os.strerror(err.errno) if err.errno else str(err)
