"""The embedded resolver process: started by apply as a daemon of its own (as netavark starts
aardvark-dns), given a new state by SIGHUP, stopped by SIGTERM when no endpoint needs it. Each step
waits until the process says (status.json) that it serves the state and namespaces asked for."""

from __future__ import annotations

from reconciler.appliers.process import READY_WITHIN, load, stop, wait_until
from reconciler.appliers.registry import Applier, Changed, register
from reconciler.errors import ApplyError
from reconciler.kernel import resolverstate
from reconciler.model.dns import Resolver

WHAT = "the DNS resolver"


@register("resolver")
class ResolverApplier(Applier[Resolver]):
    """One resolver process per host."""

    def create(self, obj: Resolver) -> None:
        load(resolverstate.PROCESS, obj.state, WHAT)
        _wait_serving(obj)

    def update(self, want: Resolver, changed: Changed) -> None:
        self.create(want)

    def delete(self, obj: Resolver) -> None:
        stop(resolverstate.PROCESS)


def _says_serving(status: dict[str, object] | None, obj: Resolver) -> bool:
    serving = status.get("serving") if status else None
    return (status is not None and status.get("digest") == obj.digest and isinstance(serving, dict)
            and all(ns in serving for ns in obj.serving))


class _Serving:
    """Whether the resolver serves `obj`: the status file says the state is loaded and every namespace
    served, then the full check: each socket in the namespace of that name. Asked every few milliseconds
    while the resolver loads: the status file (as long as the namespaces are many) is read again only
    once it was written again, so each wait costs a stat per poll, not a read of every namespace's entry
    per poll (polls as many as the load's time, itself as long as the namespaces are many)."""

    def __init__(self, obj: Resolver) -> None:
        self.obj = obj
        self.stamp: tuple[int, ...] | None = None
        self.checked = False

    def __call__(self) -> bool:
        stamp = resolverstate.PROCESS.stamp(resolverstate.STATUS)
        if self.checked and stamp == self.stamp:
            return False  # nothing written since the last check failed
        self.stamp, self.checked = stamp, True
        if not _says_serving(resolverstate.PROCESS.status(), self.obj):
            return False
        found = resolverstate.observe()
        return found is not None and found.digest == self.obj.digest and set(self.obj.serving) <= set(found.serving)


def _wait_serving(obj: Resolver) -> None:
    if wait_until(_Serving(obj)):
        return
    found = resolverstate.observe()
    missing = sorted(set(obj.serving) - set(found.serving if found else ()))
    raise ApplyError(f"the DNS resolver did not report serving {', '.join(missing) or 'its new state'} within "
                     f"{READY_WITHIN:.0f} s (see /run/netreconcile/resolver/)")
