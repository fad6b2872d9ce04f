"""The lease keeper's entry point: options, logging, the optional detach (--daemon), the signals.

Readiness: status.json is written once every interface of the loaded state has its socket (leases
come after); with --daemon the command returns only then (0), or says why the keeper could not start.
SIGHUP: load state.json again (the leases of interfaces gone are released). SIGTERM, SIGINT: stop,
the leases kept (on disk and on the interfaces, until they expire) for the next start to ask for again.
"""

from __future__ import annotations

import argparse
import asyncio
import logging

from reconciler.dhcp.keeper import Keeper
from reconciler.dhcp.lease import LEASE_DIR, LeaseFiles
from reconciler.errors import NetreconcileError
from reconciler.model.dhcp import DhcpState
from reconciler.process import daemon, serve
from reconciler.process.files import ProcessFiles

log = logging.getLogger("netreconcile.dhcp")
STATE_DIR = "/run/netreconcile/dhcp"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m reconciler.dhcp",
                                     description="The DHCP lease keeper: a lease from the LAN's server for every endpoint interface on a dhcp network.")
    parser.add_argument("--state-dir", default=STATE_DIR, help="where state.json is read and status.json written")
    parser.add_argument("--lease-dir", default=LEASE_DIR, help="where leases are kept across restarts")
    parser.add_argument("--daemon", action="store_true",
                        help="detach; return once every interface has its socket; log to dhcp.log in the state dir")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    files = ProcessFiles(args.state_dir, "dhcp")
    return serve.main(files, args.daemon, log, lambda report: run(files, LeaseFiles(args.lease_dir), report))


async def run(files: ProcessFiles, leases: LeaseFiles, report: daemon.Report) -> None:
    keeper = Keeper(leases)
    writer = asyncio.get_running_loop().create_task(_write_status(files, keeper))
    loads = _Loads(files, keeper)

    def close() -> None:
        writer.cancel()
        keeper.close()

    await serve.serve(files, report, loads.load_once, keeper.forget_namespace, close, log)


def read_state(files: ProcessFiles) -> DhcpState:
    return files.read_state(DhcpState.from_json, DhcpState())


async def _write_status(files: ProcessFiles, keeper: Keeper) -> None:
    """status.json after every change (changes coming together make one write); conflicts logged."""
    said: list[list[str]] = []
    while True:
        await keeper.written.wait()
        keeper.written.clear()
        status = keeper.status()
        files.write_status(status)
        conflicts = keeper.conflicts()
        for conflict in conflicts:
            if conflict not in said:
                log.warning("conflict: %s was given to %s at once (does the server ignore client identifiers?)",
                            conflict[0], " and ".join(conflict[1:]))
        said = conflicts


class _Loads:
    """state.json loaded into the keeper, status.json written at once."""

    def __init__(self, files: ProcessFiles, keeper: Keeper) -> None:
        self.files, self.keeper = files, keeper

    async def load_once(self, fatal: bool) -> None:
        try:
            state = read_state(self.files)
        except (NetreconcileError, OSError) as err:
            if fatal:
                raise
            log.error("reload refused, still keeping the leases of the state loaded before: %s", err)
            return
        self.keeper.load(state)
        self.files.write_status(self.keeper.status())
        log.info("keeping %d of %d interfaces, state %s", len(self.keeper.clients), len(state.clients), state.digest)
