"""A throwaway network + mount namespace per test: the machine's own network is never touched.

A `sleep` process holds the namespaces (`unshare --net --mount`, with private tmpfs on /run/netns,
/etc/netns, /run/netreconcile and /var/lib/netreconcile, where the DHCP lease keeper keeps leases); every command runs inside them through nsenter, and killing the
holder makes everything created inside vanish.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# Seconds a command may take; tests/vm/run raises it (Python runs ~20x slower in the emulated VM).
COMMAND_TIMEOUT = float(os.environ.get("NETRECONCILE_TEST_TIMEOUT", "60"))
SETUP = (
    "mkdir -p /run/netns /etc/netns /run/netreconcile /var/lib/netreconcile && "
    "mount -t tmpfs none /run/netns && mount -t tmpfs none /etc/netns && "
    "mount -t tmpfs none /run/netreconcile && mount -t tmpfs none /var/lib/netreconcile && ip link set lo up && echo ready && exec sleep infinity"
)


class Sandbox:
    """Run shell commands and netreconcile inside one private network + mount namespace."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.holder = subprocess.Popen(
            ["unshare", "--net", "--mount", "--propagation", "private", "sh", "-c", SETUP],
            stdout=subprocess.PIPE, text=True,
        )
        if self.holder.stdout.readline().strip() != "ready":
            raise RuntimeError("sandbox did not start")

    def sh(self, command: str, check: bool = True, timeout: float | None = None) -> subprocess.CompletedProcess:
        argv = ["nsenter", "-t", str(self.holder.pid), "--net", "--mount", "sh", "-c", command]
        timeout = timeout if timeout is not None else COMMAND_TIMEOUT
        result = subprocess.run(argv, check=False, capture_output=True, text=True, timeout=timeout, env=sandbox_env())
        if check and result.returncode != 0:
            raise AssertionError(f"command failed ({result.returncode}): {command}\n{result.stdout}\n{result.stderr}")
        return result

    def nr(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run `netreconcile ARGS` inside the sandbox."""
        command = " ".join(shlex.quote(a) for a in (sys.executable, "-m", "reconciler", *args))
        return self.sh(command, check=check)

    def apply(self, path: Path | str) -> subprocess.CompletedProcess:
        return self.nr("apply", str(path))

    def plan_exitcode(self, path: Path | str) -> int:
        return self.nr("plan", str(path), "--detailed-exitcode", check=False).returncode

    def ping(self, ns: str | None, address: str, count: int = 1, wait: float = 1, within: int = 0) -> bool:
        """One echo from `ns` (None: the sandbox's root netns); `wait` seconds for the reply. `within`:
        instead, echoes once a second until the first reply, for at most that many seconds."""
        prefix = f"ip netns exec {ns} " if ns else ""
        timing = f"-c 1 -w {within}" if within else f"-c {count} -W {wait}"
        return self.sh(f"{prefix}ping -n -q {timing} {address}", check=False).returncode == 0

    def unreachable(self, ns: str | None, address: str) -> bool:
        """True when no reply comes back: a reply on a local veth takes well under a millisecond."""
        return not self.ping(ns, address, wait=0.3)

    def write(self, name: str, text: str) -> Path:
        path = self.workdir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def close(self) -> None:
        """Kill the holder and every process left in the sandbox's network namespace or in a namespace
        named in its /run/netns (a server a test started in a LAN namespace, a daemon netreconcile
        started), so nothing outlives the test: a named namespace lives as long as a process in it."""
        netns = {os.stat(f"/proc/{self.holder.pid}/ns/net").st_ino} | named_namespaces(self.holder.pid)
        for pid in processes_in(*netns):
            if pid != self.holder.pid:
                _kill(pid)
        self.holder.kill()
        self.holder.wait()


def named_namespaces(holder: int) -> set[int]:
    """The inodes of the namespaces mounted in the sandbox's /run/netns, seen through its holder's root."""
    found = set()
    try:
        entries = list(os.scandir(f"/proc/{holder}/root/run/netns"))
    except OSError:
        return found
    for entry in entries:
        try:
            found.add(os.stat(entry.path).st_ino)
        except OSError:
            continue
    return found


def processes_in(*netns: int) -> list[int]:
    """The processes whose network namespace has one of these inodes."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}/ns/net").st_ino in netns:
                    found.append(int(entry))
            except OSError:
                continue
    return found


def _kill(pid: int) -> None:
    try:
        os.kill(pid, 9)
    except ProcessLookupError:
        pass


def sandbox_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
    # `python3` in a test's command is the Python running the tests (the venv's, with every dependency)
    env["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), env.get("PATH", "")])
    return env


def can_sandbox() -> bool:
    if os.geteuid() != 0:
        return False
    probe = subprocess.run(["unshare", "--net", "--mount", "true"], check=False, capture_output=True)
    return probe.returncode == 0
