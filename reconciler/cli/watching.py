"""The `watch` command: its options, read into the watch's Options (reconciler/watch/)."""

from __future__ import annotations

import argparse

from reconciler.cli.command import Command, debug, guards, host, paths
from reconciler.cli.options import debounce, resync
from reconciler.planning.guards import Limits

WATCH_HELP = "keep the kernel converged: reconcile on file changes, kernel drift, SIGHUP and every --resync"
WATCH_DESCRIPTION = WATCH_HELP + """

Each reconcile is a full `apply`, with the same guards (--allow-empty, --max-delete, --force) and the
same rollback. While the manifests are invalid, the problems are logged and the last manifests that
were valid and applied stay enforced: drift is repaired towards them, nothing is pruned. A guard's
refusal changes nothing. Kernel drift on our links, addresses and routes is seen at once (rtnetlink
events, also from the endpoint namespaces); nftables and sysctl changes (an external `nft flush
ruleset`) raise no such event and are repaired at the next --resync, or at once on SIGHUP.

The lock is held only during each reconcile, not for the watch's whole life: a one-off `apply` or
`destroy` can run between two reconciles (the next one converges on these manifests again).

On an etcd source (etcd://HOST:2379/prefix/), etcd's watch of the prefix is the trigger, followed
from the revision applied (resumed after a disconnect, with backoff; a full resync when that revision
was compacted), and this host's status goes to <prefix>.status/<--host> under a lease it renews.

Signals: SIGTERM and SIGINT stop it (exit 0) once the current reconcile is done; SIGHUP forces a
full resync. Readiness is sent to $NOTIFY_SOCKET after the first reconcile (systemd Type=notify)."""


def _arguments(sub: argparse.ArgumentParser) -> None:
    paths(sub)
    debug(sub)
    sub.add_argument("--resync", type=resync, default=30.0, metavar="DURATION",
                     help="full reconcile at least this often, e.g. 30s, 5m (default 30s; 0: never)")
    sub.add_argument("--debounce", type=debounce, default=0.2, metavar="DURATION",
                     help="wait for this much quiet after a change before reconciling (default 0.2s)")
    sub.add_argument("--log-format", choices=("text", "json"), default="text", help="one line, or one JSON object, per event")
    sub.add_argument("--metrics-addr", metavar="HOST:PORT", help="serve Prometheus metrics there, e.g. 127.0.0.1:9464")
    guards(sub)
    sub.add_argument("--no-wait", action="store_true",
                     help="when another netreconcile holds the lock, skip that reconcile and retry soon, instead of waiting")
    host(sub)


def _watch(args: argparse.Namespace) -> int:
    # watchdog only for this command: the others start without it
    from reconciler import watch

    limits = Limits(allow_empty=args.allow_empty, max_delete=args.max_delete, force=args.force)
    options = watch.Options(limits=limits, resync=args.resync, debounce=args.debounce, wait=not args.no_wait,
                            log_format=args.log_format, metrics_addr=args.metrics_addr, host=args.host)
    return watch.run(args.paths, options)


WATCH = Command("watch", WATCH_HELP, "example: netreconcile watch /etc/netreconcile/manifests --log-format json",
                _arguments, _watch, WATCH_DESCRIPTION)
