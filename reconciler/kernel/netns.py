"""Named network namespaces, in-process: create, remove, enter (setns), read and write sysctls.

A namespace is entered with setns() by the current thread only, never through a helper process.
"""

from __future__ import annotations

import ctypes
import errno
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from reconciler.errors import NamespaceGoneError, SysctlKeyError
from reconciler.kernel.names import decode

CLONE_NEWNET = 0x40000000
MS_REC, MS_BIND, MS_SHARED = 0x4000, 0x1000, 1 << 20
MNT_DETACH = 2
NETNS_DIR = Path(os.environ.get("NETRECONCILE_NETNS_DIR", "/run/netns"))

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}")


def path(name: str) -> Path:
    return NETNS_DIR / name


def list_names() -> list[str]:
    """Named namespaces (mount points under /run/netns; a leftover plain file is not one): one stat
    per entry (os.path.ismount takes two, and a path object each: 18 ms at 1000)."""
    return sorted(named_inodes())


def named_inodes() -> dict[str, int]:
    """Every named namespace with its inode, in one pass over the folder (a namespace's entry is a
    mount from nsfs, on another device than the folder; a leftover plain file is on the same). Each
    entry is looked at from the folder opened once (fstatat), not by its path walked again from /:
    1.8 ms rather than 2.3 at 1000."""
    found: dict[str, int] = {}
    try:
        fd = os.open(NETNS_DIR, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError):
        return found
    try:
        folder = os.fstat(fd).st_dev
        for name in os.listdir(fd):
            try:
                st = os.stat(name, dir_fd=fd, follow_symlinks=False)
            except FileNotFoundError:
                continue  # removed since it was listed
            if st.st_dev != folder:
                found[name] = st.st_ino
    finally:
        os.close(fd)
    return found


_shared: set[Path] = set()  # made shared by this process: once (MS_REC walks every namespace mounted below)


def _share_dir() -> None:
    """Make the netns directory a shared mount point, as `ip netns add` does (once per process: per
    namespace it cost time in the number already there, 48 µs at 3000)."""
    NETNS_DIR.mkdir(parents=True, exist_ok=True)
    if NETNS_DIR in _shared:
        return
    target = str(NETNS_DIR).encode()
    if _libc.mount(b"none", target, b"none", MS_SHARED | MS_REC, None) == 0:
        _shared.add(NETNS_DIR)
        return
    _check(_libc.mount(target, target, b"none", MS_BIND | MS_REC, None), "bind netns dir")
    _check(_libc.mount(b"none", target, b"none", MS_SHARED | MS_REC, None), "share netns dir")
    _shared.add(NETNS_DIR)


def create(name: str, prepare: Callable[[], None] = lambda: None) -> None:
    """Create /run/netns/NAME bound to a fresh namespace; FileExistsError if it is already there.

    `prepare` runs inside the new namespace before it gets its name, so whatever it sets (our
    ownership mark) is there from the moment the namespace can be seen.
    """
    _share_dir()
    if path(name).exists() and not os.path.ismount(path(name)):
        path(name).unlink()  # left by a create that was killed before its bind mount: not a namespace
    fd = os.open(path(name), os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0)
    os.close(fd)
    try:
        _unshare_and_bind(name, prepare)
    except BaseException:
        path(name).unlink(missing_ok=True)
        raise


def _unshare_and_bind(name: str, prepare: Callable[[], None]) -> None:
    """This thread moves to a new namespace, names it by a bind mount and comes back, as `entered` does
    (a thread started per namespace instead, whose exit let go of it, cost twice: 0.65 against 0.33
    ms a namespace at 1000)."""
    with _returning():
        _check(_libc.unshare(CLONE_NEWNET), "unshare")
        prepare()
        _check(_libc.mount(b"/proc/thread-self/ns/net", str(path(name)).encode(), b"none", MS_BIND, None), f"bind netns {name}")


class _Home(threading.local):
    """How deep this thread is in `entered` bodies (0: in its own namespace)."""

    depth = 0


_home = _Home()
_main_home = -1  # the main thread's own namespace, opened once: not once per namespace entered


@contextmanager
def _returning() -> Iterator[None]:
    """Run the body, which moves this thread to another namespace, then bring it back. The main thread
    outside any body keeps its namespace open for good (an open() per entry less: 46 -> 31 ms a
    thousand namespaces); another thread, or a body within a body, opens where it is each time."""
    global _main_home
    depth = _home.depth
    keep = depth == 0 and threading.current_thread() is threading.main_thread()
    if keep and _main_home < 0:
        _main_home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    home = _main_home if keep else os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    _home.depth = depth + 1
    try:
        yield
    finally:
        _home.depth = depth
        try:
            _check(_libc.setns(home, CLONE_NEWNET), "return to the host netns")
        finally:
            if not keep:
                os.close(home)


def held_by_processes() -> frozenset[tuple[int, int]]:
    """(device, inode) of every network namespace some process is in: one pass over /proc."""
    held = set()
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                st = os.stat(f"/proc/{entry.name}/ns/net")
            except OSError:
                continue  # gone meanwhile, or not ours to see
            held.add((st.st_dev, st.st_ino))
    return frozenset(held)


def processes_in(names: list[str]) -> dict[str, list[tuple[int, str]]]:
    """The processes (pid, command name, as the kernel has it: any bytes but NUL) in each of these named
    namespaces: one pass over /proc."""
    wanted = {ident: name for name in names if (ident := identity(name)) is not None}
    found: dict[str, list[tuple[int, str]]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            st = os.stat(f"/proc/{entry.name}/ns/net")
            name = wanted.get((st.st_dev, st.st_ino))
            if name is not None:
                with open(f"/proc/{entry.name}/comm", "rb") as comm:
                    found.setdefault(name, []).append((int(entry.name), decode(comm.read().removesuffix(b"\n"))))
        except OSError:
            continue  # gone meanwhile, or not ours to see
    return {name: sorted(procs) for name, procs in found.items()}


def identity(name: str) -> tuple[int, int] | None:
    """(device, inode) of a named namespace, comparable with held_by_processes()."""
    try:
        st = os.stat(path(name))
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


_kept: list[int] | None = None  # inside together(): descriptors of the namespaces removed so far


@contextmanager
def together() -> Iterator[None]:
    """The namespaces removed in the body are destroyed by the kernel together, after it: each is held
    by a descriptor until then. Each one's teardown otherwise starts at its unmount and runs beside the
    next unmounts, which it slows (each waits for an RCU grace period, longer while the kernel tears
    down), and the kernel batches fewer of them. Only where no name removed is made again in the body:
    the links of a namespace held stay, and take their names with them."""
    global _kept
    outer, _kept = _kept, ([] if _kept is None else _kept)
    try:
        yield
    finally:
        kept, _kept = _kept, outer
        if outer is None:
            for fd in kept:
                os.close(fd)


def remove(name: str) -> None:
    """Unmount and remove /run/netns/NAME; a namespace already gone is fine."""
    target = path(name)
    if _kept is not None:
        _keep(_kept, target)
    if _libc.umount2(str(target).encode(), MNT_DETACH) != 0 and ctypes.get_errno() not in (errno.EINVAL, errno.ENOENT):
        _check(-1, f"umount netns {name}")
    target.unlink(missing_ok=True)


def _keep(kept: list[int], target: Path) -> None:
    try:
        kept.append(os.open(target, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC))
    except OSError:
        pass  # gone already, or no descriptor left (the limit of open files): destroyed at its unmount


def open_fd(name: str) -> int:
    """A descriptor of /run/netns/NAME, to enter or name the namespace. Non-blocking: what is mounted
    there by hand may be a FIFO, whose open() would wait for a writer forever."""
    return os.open(path(name), os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)


@contextmanager
def entered(name: str | None) -> Iterator[None]:
    """Run the body with this thread in namespace `name` (None: stay where we are)."""
    if name is None:
        yield
        return
    try:
        target = open_fd(name)
    except FileNotFoundError as err:
        raise NamespaceGoneError(errno.ENOENT, f"netns {name} was removed while netreconcile was reading or "
                                               "changing it: run again") from err
    try:
        with _returning():
            _enter(name, target)
            yield
    finally:
        os.close(target)


def move(name: str) -> None:
    """Move this thread into namespace `name` for good: for a process of its own that reads namespaces
    one after another (kernel/forked.py's child), which need not go back between them."""
    try:
        target = open_fd(name)
    except FileNotFoundError as err:
        raise NamespaceGoneError(errno.ENOENT, f"netns {name} was removed while netreconcile was reading it: "
                                               "run again") from err
    try:
        _enter(name, target)
    finally:
        os.close(target)
    _forget_home()


def kept_home() -> int | None:
    """The descriptor of the main thread's home namespace kept open for good (None: none is kept yet)."""
    return _main_home if _main_home >= 0 else None


def _forget_home() -> None:
    """This thread lives elsewhere now: the main thread's kept namespace is no longer its home."""
    global _main_home
    if threading.current_thread() is threading.main_thread() and _main_home >= 0:
        os.close(_main_home)
        _main_home = -1


def _enter(name: str, fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) == 0:
        return
    code = ctypes.get_errno()
    if code == errno.EINVAL:  # what is mounted there now is no network namespace
        raise NamespaceGoneError(code, f"netns {name} cannot be entered: {path(name)} is no network namespace "
                                       "(removed or replaced meanwhile?): run again")
    _check(-1, f"enter netns {name}")


SYSCTL_ROOT = "/proc/sys"
SYSCTL_MAX_BYTES = 1 << 16  # far above any sysctl's value; a read never runs on without end


def valid_sysctl_key(key: str) -> bool:
    """A dotted key under net. whose parts can only name files below /proc/sys/net (no '/', no NUL, no
    empty part: '..' cannot be written either, dots being separators)."""
    parts = key.split(".")
    return len(parts) > 1 and parts[0] == "net" and all(p and "/" not in p and "\0" not in p for p in parts)


def sysctl_path(key: str, root: int | None = None) -> str:
    """The sysctl's file: under /proc/sys, or relative to the procfs instance `root` (procfs.py)."""
    if not valid_sysctl_key(key):
        raise SysctlKeyError(key)
    return "/".join((SYSCTL_ROOT if root is None else "sys", *key.split(".")))


def read_sysctl(key: str, root: int | None = None) -> str | None:
    """The value, blank runs collapsed; None when the kernel has no such sysctl here."""
    try:
        fd = os.open(sysctl_path(key, root), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK,
                     dir_fd=root)
    except FileNotFoundError:
        return None
    with os.fdopen(fd, "rb") as f:
        return " ".join(f.read(SYSCTL_MAX_BYTES).decode("utf-8", "replace").split())


def write_sysctl(key: str, value: str, root: int | None = None) -> None:
    """Write to the sysctl's file, which must exist (nothing is created, no symbolic link followed)."""
    fd = os.open(sysctl_path(key, root), os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK,
                 dir_fd=root)
    try:
        os.write(fd, value.encode())
    finally:
        os.close(fd)
