"""A tiny TCP service for the tutorials, standing in for a web server: no dependency beyond Python.

  whoami.py serve NAME PORT          answer every connection to PORT with NAME; returns once the
                                     server listens, leaving it running in the background
  whoami.py ask HOST PORT [TIMES]    connect TIMES times (default 1), print each answer; exit 1 if
                                     a connection failed
"""

import os
import socket
import sys


def serve(name: str, port: int) -> None:
    server = socket.create_server(("::", port), family=socket.AF_INET6, dualstack_ipv6=True, backlog=64)
    if os.fork():
        return
    os.setsid()
    quiet = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(quiet, fd)
    while True:
        connection, _ = server.accept()
        with connection:
            connection.sendall(f"{name}\n".encode())


def ask(host: str, port: int, times: int) -> int:
    failed = 0
    for _ in range(times):
        try:
            with socket.create_connection((host, port), timeout=2) as connection:
                print(connection.recv(64).decode().strip())
        except OSError as error:
            print(f"no answer: {error.strerror or error}")
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    if command == "serve":
        serve(args[0], int(args[1]))
    else:
        sys.exit(ask(args[0], int(args[1]), int(args[2]) if len(args) > 2 else 1))
