"""A throwaway network + mount namespace, and commands run inside it with their time and peak RSS.

The recipe is tests/sandbox.py's (one recipe for tests and benchmarks): a `sleep` process holds `unshare --net --mount --propagation private` with private tmpfs on /run/netns,
/etc/netns and /run/netreconcile. Every command enters it with nsenter; killing the holder makes
everything created inside vanish. The machine's own network is never touched.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Self

REPO = Path(__file__).resolve().parent.parent


def _tests_sandbox():
    spec = importlib.util.spec_from_file_location("netreconcile_tests_sandbox", REPO / "tests" / "sandbox.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_recipe = _tests_sandbox()
SETUP, can_sandbox = _recipe.SETUP, _recipe.can_sandbox
BYTECODE = REPO / "benchmarks" / "results" / "pycache"


def _env() -> dict[str, str]:
    """The tests' environment, but with Python's bytecode cached (in BYTECODE, out of the checkout):
    an installed netreconcile runs compiled modules, and a shell with PYTHONDONTWRITEBYTECODE (the
    development machine's) would have each command compile the whole package again (about 0.1 s)."""
    env = _recipe.sandbox_env()
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(BYTECODE)
    return env


@dataclass(frozen=True)
class Finished:
    """One command's outcome: exit code, output, wall time, and peak RSS (ru_maxrss, KiB)."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float
    max_rss_kib: int


class Sandbox:
    """A private network + mount namespace; use as a context manager."""

    def __init__(self) -> None:
        self.holder = subprocess.Popen(
            ["unshare", "--net", "--mount", "--propagation", "private", "sh", "-c", SETUP],
            stdout=subprocess.PIPE, text=True,
        )
        if self.holder.stdout.readline().strip() != "ready":
            self.close()
            raise RuntimeError("sandbox did not start (root and unshare are needed)")

    def run(self, argv: list[str]) -> Finished:
        """Run argv inside the sandbox. nsenter execs argv in place, so wait4 gives its own peak RSS."""
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            started = time.perf_counter()
            proc = subprocess.Popen(["nsenter", "-t", str(self.holder.pid), "--net", "--mount", "--", *argv],
                                    stdout=out, stderr=err, env=_env())
            _, status, usage = os.wait4(proc.pid, 0)
            seconds = time.perf_counter() - started
            proc.returncode = os.waitstatus_to_exitcode(status)
            out.seek(0)
            err.seek(0)
            return Finished(proc.returncode, out.read(), err.read(), seconds, usage.ru_maxrss)

    def popen(self, argv: list[str], stdin: bool = False) -> subprocess.Popen:
        """Start argv inside the sandbox, its stdout a text pipe (for a long-running `watch`, a DNS
        client); its stdin too if asked."""
        return subprocess.Popen(["nsenter", "-t", str(self.holder.pid), "--net", "--mount", "--", *argv],
                                stdin=subprocess.PIPE if stdin else None, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=_env())

    def sh(self, command: str) -> str:
        """Run a shell command inside the sandbox (setup and checks, not timed); its stdout."""
        done = self.run(["sh", "-c", command])
        if done.returncode != 0:
            raise RuntimeError(f"command failed ({done.returncode}): {command}\n{done.stdout}{done.stderr}")
        return done.stdout

    def close(self) -> None:
        """Kill every process left in the sandbox's network namespace (the resolver daemon an apply
        started, if a destroy did not stop it), then the holder."""
        try:
            netns = os.stat(f"/proc/{self.holder.pid}/ns/net").st_ino
        except OSError:  # the holder never started or is already gone: nothing to find it by
            netns = None
        for pid in _recipe.processes_in(netns) if netns else []:
            if pid != self.holder.pid:
                _recipe._kill(pid)
        self.holder.kill()
        self.holder.wait()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
