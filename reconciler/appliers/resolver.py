"""The embedded resolver process: started by apply as a daemon of its own (as netavark starts
aardvark-dns), given a new state by SIGHUP, stopped by SIGTERM when no endpoint needs it. Each step
waits until the process says (status.json) that it serves the state and namespaces asked for; an apply
may put that wait off (`Deferred`) until it has read the kernel back."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from contextvars import ContextVar

from reconciler.appliers.process import READY_WITHIN, early, load, stop, wait_until
from reconciler.appliers.registry import Applier, Changed, register
from reconciler.errors import ApplyError
from reconciler.kernel import resolverstate
from reconciler.kernel.processstate import ProcessState, inode
from reconciler.model.dns import Resolver
from reconciler.planning.plan import Action, Plan

WHAT = "the DNS resolver"


@register("resolver")
class ResolverApplier(Applier[Resolver]):
    """One resolver process per host."""

    def create(self, obj: Resolver) -> None:
        serving = _Serving(obj, resolverstate.PROCESS)
        load(resolverstate.PROCESS, obj.state, WHAT)
        deferred = _DEFERRED.get()
        if deferred is not None and deferred.obj is obj:
            deferred.pending = serving
            return
        _wait_serving(obj, serving)

    def update(self, want: Resolver, changed: Changed) -> None:
        self.create(want)

    def delete(self, obj: Resolver) -> None:
        stop(resolverstate.PROCESS)


class Deferred:
    """The wait of the step that loads `obj` (that very object), put off: within `deferring`, that step
    tells the resolver to load its state and returns; the resolver loads on the other core while the
    steps after it run and the apply reads the kernel back; then `settle` waits as the step would have
    (the same ApplyError). A step loading any other object (a rollback's) still waits in its place."""

    def __init__(self, obj: Resolver | None) -> None:
        self.obj = obj
        self.pending: _Serving | None = None

    @contextmanager
    def deferring(self) -> Iterator[None]:
        token = _DEFERRED.set(self)
        try:
            yield
        finally:
            _DEFERRED.reset(token)

    def settle(self) -> bool:
        """Waits for the step put off, if one was (True: the resolver's status since says it serves
        what it was asked to); once."""
        serving, self.pending = self.pending, None
        if serving is None:
            return False
        _wait_serving(serving.obj, serving, serving.process.state_dir())
        return True


_DEFERRED: ContextVar[Deferred | None] = ContextVar("resolver_deferred", default=None)


@contextmanager
def started_early() -> Iterator[Callable[[Plan], None]]:
    """Told of a plan before its first step: the resolver's Python started at once when the plan
    starts it (a step creates or replaces one, and none runs now), so that it loads its modules while
    the steps before its own run, not at its step (0.1 to 0.15 s; reconciler/appliers/process.py);
    ended with the body if unused."""
    with ExitStack() as stack:
        def planned(plan: Plan) -> None:
            if any(s.obj.kind == "resolver" and s.action in (Action.CREATE, Action.REPLACE) for s in plan.steps) \
                    and resolverstate.PROCESS.pid_of_status() is None:
                stack.enter_context(early(resolverstate.PROCESS))
        yield planned


class _Serving:
    """Whether the resolver serves `obj`, made before it is asked to: its status, written since, says
    it loaded the state of that digest and serves every namespace asked for, and each socket it opened
    since (an inode other than before) is in the namespace of that name now. Those it kept it compared
    with /run/netns itself while it loaded (one pass; verify reads them all again after the apply): so a
    check costs what the step changed, not a stat of every namespace. Asked every millisecond while
    the resolver loads: the status is read again only once written again (a stat per poll)."""

    def __init__(self, obj: Resolver, process: ProcessState) -> None:
        self.obj = obj
        self.process = process
        self.stamp = process.stamp(resolverstate.STATUS)
        self.before = _served(process.live_status())

    def __call__(self) -> bool:
        stamp = self.process.stamp(resolverstate.STATUS)
        if stamp == self.stamp:
            return False  # not written since the last check (or since it was asked)
        self.stamp = stamp
        status = self.process.live_status()
        serving = _served(status)
        if status is None or status.get("digest") != self.obj.digest or not set(self.obj.serving) <= serving.keys():
            return False
        return all(serving[ns] == self.before.get(ns) or inode(ns) == serving[ns] for ns in self.obj.serving)


def _served(status: dict[str, object] | None) -> dict[str, int]:
    serving = status.get("serving") if status else None
    return {ns: n for ns, n in serving.items() if isinstance(n, int)} if isinstance(serving, dict) else {}


def _wait_serving(obj: Resolver, serving: _Serving, folder: str | None = None) -> None:
    """Until the resolver serves `obj`; woken by inotify on `folder` (the watch's: a one-shot apply's
    instance, closed at its exit, would wait out a grace period there) rather than by the poll."""
    if wait_until(serving, folder=folder):
        return
    found = resolverstate.observe()
    missing = sorted(set(obj.serving) - set(found.serving if found else ()))
    raise ApplyError(f"the DNS resolver did not report serving {', '.join(missing) or 'its new state'} within "
                     f"{READY_WITHIN:.0f} s (see /run/netreconcile/resolver/)")
