"""Files written and deleted without ever following a symbolic link.

A folder is opened one component at a time from / with O_NOFOLLOW | O_DIRECTORY, and each component
must be a real directory owned by root (or by us) that other users cannot write to (unless it is
sticky, like /tmp: then they cannot remove or rename what is ours). Files are then created, read,
renamed and removed relative to that folder's descriptor (openat, renameat, unlinkat, all without
following a final symbolic link), so a link planted anywhere on the way is refused, never followed.
What stands in the way is a PathConflictError that names the path and says what to do.
"""

from __future__ import annotations

import errno
import os
import stat
from typing import Self

from reconciler.errors import PathConflictError

TRUSTED = frozenset({0, os.geteuid()})  # root, and whoever runs us (a test as another user)
FOLDER_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC  # NONBLOCK: a planted FIFO never hangs us
CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


class Folder:
    """An open directory, checked to be safe to write in, and its path (for messages). Closes on exit."""

    def __init__(self, fd: int, path: str) -> None:
        self.fd = fd
        self.path = path

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        os.close(self.fd)

    def where(self, name: str) -> str:
        return f"{self.path.rstrip('/')}/{name}"

    def sub(self, name: str, make: int | None = None, narrow: bool = False) -> Folder:
        """The folder `name` in this one (made with mode `make` when missing, if given). `narrow`: the
        folder is ours alone, and a looser mode than `make` (left by an older run) is narrowed to it
        rather than refused."""
        where = self.where(name)
        if name in ("", ".", "..") or "/" in name:
            raise PathConflictError(f"{where}: not a plain folder name")
        try:
            fd = os.open(name, FOLDER_FLAGS, dir_fd=self.fd)
        except FileNotFoundError:
            if make is None:
                raise
            _make_folder(self.fd, name, make)
            fd = os.open(name, FOLDER_FLAGS, dir_fd=self.fd)
        except OSError as err:
            if err.errno in (errno.ELOOP, errno.ENOTDIR):
                raise PathConflictError(self._in_the_way(name, "a directory")) from None
            raise
        folder = Folder(fd, where)
        try:
            if narrow and make is not None:
                folder._own()
                folder._narrow(make)
            folder.check()
        except BaseException:
            os.close(fd)
            raise
        return folder

    def check(self) -> None:
        """PathConflictError unless this folder is owned by root and only root may write to it."""
        st = self._own()
        if st.st_mode & 0o022 and not st.st_mode & stat.S_ISVTX:
            raise PathConflictError(f"{self.path} can be written by other users (mode {stat.S_IMODE(st.st_mode):o}); "
                                    f"netreconcile writes only into folders that root alone controls: chmod go-w it")

    def _own(self) -> os.stat_result:
        st = os.fstat(self.fd)
        if st.st_uid not in TRUSTED:
            raise PathConflictError(f"{self.path} is not owned by root; netreconcile writes only into folders that "
                                    f"root owns: remove it (or chown it to root) and run again")
        return st

    def _narrow(self, mode: int) -> None:
        current = stat.S_IMODE(os.fstat(self.fd).st_mode)
        if current & ~mode:
            os.fchmod(self.fd, current & mode)

    def read(self, name: str) -> bytes | None:
        """The content of our file `name` (None: there is none); PathConflictError when a symbolic
        link, something else than a regular file, or a file another user owns is there."""
        try:
            fd = os.open(name, READ_FLAGS, dir_fd=self.fd)
        except FileNotFoundError:
            return None
        except OSError as err:
            if err.errno == errno.ELOOP:
                raise PathConflictError(self._in_the_way(name, "a file")) from None
            raise
        try:
            self._check_file(fd, name)
            return _read_all(fd)
        finally:
            os.close(fd)

    def open(self, name: str, mode: int) -> int:
        """A read-write descriptor of our file `name`, created with `mode` if missing, and left with no
        permission beyond `mode`; PathConflictError as `read`."""
        try:
            fd = os.open(name, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, mode, dir_fd=self.fd)
        except OSError as err:
            if err.errno == errno.ELOOP:
                raise PathConflictError(self._in_the_way(name, "a file")) from None
            raise
        try:
            self._check_file(fd, name)
            if stat.S_IMODE(os.fstat(fd).st_mode) & ~mode:
                os.fchmod(fd, mode)
        except BaseException:
            os.close(fd)
            raise
        return fd

    def replace(self, name: str, data: bytes, mode: int) -> None:
        """Write `name` whole: a new file beside it, then renamed over it, so a reader never sees half a
        file. Whatever sits at the temporary name (left by a crash, or planted) is removed, not followed."""
        temporary = f".{name}.{os.getpid()}"
        fd = self._create(temporary, mode)
        try:
            try:
                _write_all(fd, data)
                os.fchmod(fd, mode)  # exactly `mode`, whatever the umask
            finally:
                os.close(fd)
            os.rename(temporary, name, src_dir_fd=self.fd, dst_dir_fd=self.fd)
        except BaseException:
            self.remove(temporary)
            raise

    def remove(self, name: str) -> None:
        """Remove the entry `name` itself (a symbolic link, not its target); already gone is fine."""
        try:
            os.unlink(name, dir_fd=self.fd)
        except FileNotFoundError:
            pass

    def remove_folder(self, name: str) -> None:
        """Remove the folder `name` if it is empty (never a symbolic link, never what it holds)."""
        try:
            os.rmdir(name, dir_fd=self.fd)
        except OSError as err:
            if err.errno not in (errno.ENOENT, errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR):
                raise

    def stat(self, name: str) -> os.stat_result | None:
        """The entry `name` itself (a symbolic link not followed; None: there is none)."""
        try:
            return os.stat(name, dir_fd=self.fd, follow_symlinks=False)
        except FileNotFoundError:
            return None

    def exists(self, name: str) -> bool:
        return self.stat(name) is not None

    def _create(self, name: str, mode: int) -> int:
        try:
            return os.open(name, CREATE_FLAGS, mode, dir_fd=self.fd)
        except FileExistsError:
            self.remove(name)
            return os.open(name, CREATE_FLAGS, mode, dir_fd=self.fd)

    def _check_file(self, fd: int, name: str) -> None:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise PathConflictError(f"{self.where(name)} is not a regular file; move it away and run again")
        if st.st_uid not in TRUSTED:
            raise PathConflictError(f"{self.where(name)} is not owned by root, so netreconcile did not write it; "
                                    f"move it away and run again")

    def _in_the_way(self, name: str, expected: str) -> str:
        where = self.where(name)
        try:
            link = stat.S_ISLNK(os.stat(name, dir_fd=self.fd, follow_symlinks=False).st_mode)
        except OSError:
            link = False
        if link:
            return f"{where} is a symbolic link; netreconcile never writes or deletes through one: remove it and run again"
        return f"{where} is not {expected}; move it away and run again"

def opened(path: str, make: int | None = None, narrow: bool = False) -> Folder:
    """The folder at absolute `path`, reached from / without following a symbolic link, each component
    checked (made with mode `make` when missing, if given; `narrow`: see Folder.sub, for the last
    component only). Use it in a `with`."""
    names = [p for p in path.split("/") if p]
    folder = Folder(os.open("/", FOLDER_FLAGS), "/")
    try:
        for i, name in enumerate(names):
            inner = folder.sub(name, make, narrow and i == len(names) - 1)
            os.close(folder.fd)
            folder = inner
    except BaseException:
        os.close(folder.fd)
        raise
    return folder


def _make_folder(parent: int, name: str, mode: int) -> None:
    try:
        os.mkdir(name, mode, dir_fd=parent)
    except FileExistsError:
        pass  # made meanwhile: opened and checked like any other


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    return b"".join(chunks)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
