"""Readiness and status for systemd (Type=notify)."""

from __future__ import annotations

import os
import socket


def sd_notify(message: str) -> None:
    """Tell systemd through $NOTIFY_SOCKET, if set; '@' names an abstract socket."""
    address = os.environ.get("NOTIFY_SOCKET", "")
    if not address:
        return
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.connect("\0" + address[1:] if address.startswith("@") else address)
        sock.sendall(message.encode())
