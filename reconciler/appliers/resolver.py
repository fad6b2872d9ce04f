"""The embedded resolver process: started by apply as a daemon of its own (as netavark starts
aardvark-dns), given a new state by SIGHUP, stopped by SIGTERM when no endpoint needs it. Each step
waits until the process says (status.json) that it serves the state and namespaces asked for."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from reconciler.appliers.registry import Applier, Changed, register
from reconciler.errors import ApplyError
from reconciler.kernel import resolverstate
from reconciler.model.dns import Resolver

READY_WITHIN = 60.0  # seconds for the process to start, load a state and open its sockets (an emulated VM is slow)
STOP_WITHIN = 3.0
POLL = 0.005


@register("resolver")
class ResolverApplier(Applier[Resolver]):
    """One resolver process per host."""

    def create(self, obj: Resolver) -> None:
        with resolverstate.folder(make=True) as here:
            here.replace(resolverstate.STATE, obj.state.encode(), resolverstate.FILE_MODE)
        pid = resolverstate.pid_of_status()
        if pid is None:
            _start()
        else:
            os.kill(pid, signal.SIGHUP)
        _wait_serving(obj)

    def update(self, want: Resolver, changed: Changed) -> None:
        self.create(want)

    def delete(self, obj: Resolver) -> None:
        pid = resolverstate.pid_of_status()
        if pid is not None:
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + STOP_WITHIN
            while resolverstate.running(pid) and time.monotonic() < deadline:
                time.sleep(POLL)
            if resolverstate.running(pid):
                os.kill(pid, signal.SIGKILL)
        resolverstate.remove_files()


def _says_serving(status: dict[str, object] | None, obj: Resolver) -> bool:
    serving = status.get("serving") if status else None
    return (status is not None and status.get("digest") == obj.digest and isinstance(serving, dict)
            and all(ns in serving for ns in obj.serving))


def _start() -> None:
    """The process, detached (its own session, no terminal): it outlives this command. It returns once
    it serves, or says why it cannot."""
    try:
        done = subprocess.run([sys.executable, "-m", resolverstate.MODULE, "--daemon", "--state-dir",
                               resolverstate.state_dir()], check=False, stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True, timeout=READY_WITHIN)
    except subprocess.TimeoutExpired:
        raise ApplyError(f"the DNS resolver did not start within {READY_WITHIN:.0f} s "
                         f"(see {resolverstate.state_dir()}/resolver.log)") from None
    if done.returncode != 0:
        why = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit status {done.returncode}"
        raise ApplyError(f"the DNS resolver did not start: {why}")


def _wait_serving(obj: Resolver) -> None:
    """Until the status file says the state is loaded and every namespace served (a cheap read), then
    once the full check: each socket in the namespace of that name."""
    deadline = time.monotonic() + READY_WITHIN
    while time.monotonic() < deadline:
        if _says_serving(resolverstate.status(), obj):
            found = resolverstate.observe()
            if found is not None and found.digest == obj.digest and set(obj.serving) <= set(found.serving):
                return
        time.sleep(POLL)
    found = resolverstate.observe()
    missing = sorted(set(obj.serving) - set(found.serving if found else ()))
    raise ApplyError(f"the DNS resolver did not report serving {', '.join(missing) or 'its new state'} within "
                     f"{READY_WITHIN:.0f} s (see /run/netreconcile/resolver/)")
