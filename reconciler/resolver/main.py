"""The resolver's entry point: options, logging, the optional detach (--daemon), the signals.

Readiness: status.json is written once the sockets of the loaded state are open; with --daemon the
command returns only then (0), or says why the resolver could not start (1).
SIGHUP: load state.json again. SIGTERM, SIGINT: close every socket, remove status.json, exit 0.
"""

from __future__ import annotations

import argparse
import gc
import logging
import sys

from reconciler.errors import NetreconcileError
from reconciler.kernel.listing import mount_changes
from reconciler.model.dns import Read
from reconciler.process import daemon, heap, serve
from reconciler.resolver import files
from reconciler.resolver.server import Options, Resolver

log = logging.getLogger("netreconcile.resolver")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m reconciler.resolver",
                                     description="The embedded DNS resolver: 127.0.0.11:53 in every asker's namespace.")
    parser.add_argument("--state-dir", default=files.STATE_DIR, help="where state.json is read and status.json written")
    parser.add_argument("--daemon", action="store_true",
                        help="detach; return once serving (status.json written); log to resolver.log there")
    parser.add_argument("--upstream-timeout", type=float, default=1.5, metavar="SECONDS",
                        help="how long each upstream server is waited for (3 servers at most)")
    parser.add_argument("--tcp-idle", type=float, default=10.0, metavar="SECONDS",
                        help="an idle TCP client's connection is closed after this")
    parser.add_argument("--port", type=int, default=53, help=argparse.SUPPRESS)  # tests without root
    # apply starts the Python early (reconciler/appliers/process.py): the modules loaded, nothing done until told
    parser.add_argument("--when-told", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.when_told and sys.stdin.readline() != "go\n":
        return 0  # never told: the apply that started it ended before its step
    options = Options(port=args.port, upstream_timeout=args.upstream_timeout, tcp_idle=args.tcp_idle)
    return serve.main(files.files(args.state_dir), args.daemon, log, lambda report: run(args.state_dir, options, report))


async def run(state_dir: str, options: Options, report: daemon.Report) -> None:
    """Serve until SIGTERM: load, say ready, reload on SIGHUP."""
    resolver = Resolver(options, mount_changes())
    loads = _Loads(state_dir, resolver)
    await serve.serve(files.files(state_dir), report, loads.load_once, loads.gone, resolver.close, log)


class _Loads:
    """state.json loaded into the resolver, and status.json written after."""

    def __init__(self, state_dir: str, resolver: Resolver) -> None:
        self.state_dir = state_dir
        self.resolver = resolver
        self.digest = ""
        self.read: Read | None = None  # the state loaded last, with the JSON it was read from
        self.let_go = False  # sockets closed since the last full collection: their garbage is frozen

    def gone(self, name: str) -> None:
        """A namespace was removed: let go of it now, and say so in status.json."""
        if self.resolver.forget(name):
            self.let_go = True
            files.write_status(self.state_dir, self.digest, self.resolver.served())

    async def load_once(self, fatal: bool) -> None:
        """Load state.json and write status.json. A state that cannot be read stops a start (`fatal`);
        on a reload it is logged and the state served so far stays (status.json keeps its digest)."""
        try:
            self.read, digest = files.read_state(self.state_dir, self.read)
        except (NetreconcileError, OSError) as err:
            if fatal:
                raise
            log.error("reload refused, still serving the state loaded before: %s", err)
            return
        state = self.read.state
        closed = self.resolver.closed
        serving = await self.resolver.load(state)
        self.digest = digest
        files.write_status(self.state_dir, digest, serving)
        log.info("serving %d of %d askers, state %s", len(serving), len(state.askers), digest)
        self.let_go |= self.resolver.closed != closed  # sockets closed: the askers gone, those replaced
        if fatal:  # the start: the collector off since (__main__.py), what was made lives on, frozen unscanned
            heap.settle(collect=False)
            gc.enable()
        else:
            heap.settle(full=self.let_go)  # sockets closed since the last full pass: what was frozen may be garbage
        self.let_go = False

