"""Where mounts were made or removed since the last look, by the ids of this mount namespace's mounts
(listmount(2) and statmount(2), Linux 6.8): what kernel.listing.Listing asks where the kernel has it."""

from __future__ import annotations

import ctypes
import os
import platform
import struct

SYS_STATMOUNT, SYS_LISTMOUNT = 457, 458  # the same on every architecture of the common table
ARCHES = ("x86_64", "aarch64")  # those it was checked on
LSMT_ROOT = 0xFFFFFFFFFFFFFFFF  # every mount of the caller's mount namespace, recursively
STATMOUNT_MNT_POINT = 0x10
REQUEST = struct.Struct("=IIQQ")  # struct mnt_id_req (version 0): size, spare, mnt_id, param
MNT_POINT_AT, STRINGS_AT = 108, 512  # in struct statmount: the offset of the mount point in its strings
BATCH = 4096
PATH_MAX = 4096
_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def list_ids() -> list[int]:
    """The ids of every mount here (unique: an id is never given again while the system runs)."""
    found: list[int] = []
    buffer = (ctypes.c_uint64 * BATCH)()
    while True:
        request = REQUEST.pack(REQUEST.size, 0, LSMT_ROOT, found[-1] if found else 0)
        n = _libc.syscall(ctypes.c_long(SYS_LISTMOUNT), ctypes.c_char_p(request), buffer,
                          ctypes.c_size_t(BATCH), ctypes.c_uint(0))
        if n < 0:
            code = ctypes.get_errno()
            raise OSError(code, f"listmount: {os.strerror(code)}")
        found += buffer[:n]
        if n < BATCH:
            return found


def mount_point(mount_id: int) -> bytes | None:
    """Where the mount of that id is (None: it is gone)."""
    request = REQUEST.pack(REQUEST.size, 0, mount_id, STATMOUNT_MNT_POINT)
    size = STRINGS_AT + 2 * PATH_MAX
    buffer = ctypes.create_string_buffer(size)
    if _libc.syscall(ctypes.c_long(SYS_STATMOUNT), ctypes.c_char_p(request), buffer, ctypes.c_size_t(size), ctypes.c_uint(0)) < 0:
        code = ctypes.get_errno()
        if code == 2:  # ENOENT: unmounted since it was listed
            return None
        raise OSError(code, f"statmount: {os.strerror(code)}")
    raw = buffer.raw
    start = STRINGS_AT + struct.unpack_from("=I", raw, MNT_POINT_AT)[0]
    return raw[start:raw.index(b"\0", start)]


class MountIds:
    """The mounts here by id, to tell where mounts were made or removed since the last look."""

    def __init__(self) -> None:
        self.known = set(list_ids())
        self.points: dict[int, bytes] = {}  # where each known mount is: told when it is removed
        for mount_id in self.known:
            point = mount_point(mount_id)
            if point is not None:  # else removed since: MountIds.changed finds it gone, unknown
                self.points[mount_id] = point

    @classmethod
    def opened(cls) -> MountIds | None:
        """One, or None where the kernel cannot tell (older than 6.8, another architecture)."""
        if platform.machine() not in ARCHES:
            return None
        try:
            return cls()
        except OSError:
            return None

    def changed(self) -> set[bytes] | None:
        """The mount points of the mounts made or removed since the last call; None when it cannot
        be told (a mount removed whose point was never read, one made went before it was read)."""
        try:
            now = set(list_ids())
            made, gone = now - self.known, self.known - now
            self.known = now
            points: set[bytes] = set()
            for mount_id in made:
                point = mount_point(mount_id)
                if point is None:
                    return None
                self.points[mount_id] = point
                points.add(point)
        except OSError:
            return None
        for mount_id in gone:
            point = self.points.pop(mount_id, None)
            if point is None:
                return None
            points.add(point)
        return points
