"""`netreconcile push DIR etcd://…/prefix`: validated manifests into etcd, in one transaction."""

from __future__ import annotations

import argparse
import json

from reconciler.cli.command import EXIT_OK, Command, debug, etcd_options
from reconciler.cli.render import FORMAT_VERSION
from reconciler.errors import UsageError
from reconciler.input import etcdconf
from reconciler.input.validate import load_manifests

PUSH_HELP = "validate a manifests directory and replace an etcd prefix's keys with its files, in one transaction"
PUSH_DESCRIPTION = PUSH_HELP + """

Each file (*.yaml, *.yml, below DIR) becomes the key <prefix><its path below DIR>; keys of the prefix
that no file has are deleted (not the hosts' status keys under <prefix>.status/). Invalid manifests
are refused and nothing is written. The transaction holds only if no other push wrote since this one
read the prefix: of two concurrent pushes one wins, the other changes nothing and says so (exit 1).
Prints the new revision; the hosts' watches converge on it (`netreconcile status --fleet`)."""


def _arguments(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("folder", metavar="DIR", help="manifests directory (or one file)")
    sub.add_argument("target", metavar="etcd://HOST:2379/prefix/", help="the etcd cluster and key prefix")
    sub.add_argument("--dry-run", action="store_true", help="show the keys it would add, change and delete; write nothing")
    etcd_options(sub)
    debug(sub)


def _push(args: argparse.Namespace) -> int:
    # Here: every command builds this one's parser, and only it (and `status --fleet`) talks to etcd.
    from reconciler.fleet import push
    from reconciler.input import etcd  # (as push: see above)

    url = etcd.EtcdURL.parse(args.target)
    client = etcd.Client(url)
    files, changes = push.plan(args.folder, url, client)
    for sign, keys in (("+", changes.add), ("~", changes.change), ("-", changes.delete)):
        for key in keys:
            print(f"  {sign} {url.name(key)}")
    counts = f"{len(changes.add)} to add, {len(changes.change)} to change, {len(changes.delete)} to delete"
    if args.dry_run:
        print(f"Dry run: {counts}; nothing written (etcd at revision {changes.read_at}).")
    elif not changes:
        print(f"Nothing to push: {url} holds these manifests (revision {changes.read_at}).")
    else:
        revision = push.push(files, changes, url, client)
        print(f"Pushed: {len(changes.add)} added, {len(changes.change)} changed, {len(changes.delete)} deleted; "
              f"revision {revision}.")
    return EXIT_OK


PUSH = Command("push", PUSH_HELP, "example: netreconcile push manifests/ 'etcd://10.0.0.5:2379/netreconcile/' --dry-run",
               _arguments, _push, PUSH_DESCRIPTION)


def status_fleet(args: argparse.Namespace) -> int:
    """`status --fleet etcd://…`: one line per Host the manifests declare: converged on revision N, behind,
    failing (with the error) or silent."""
    if len(args.paths) != 1 or not etcdconf.is_url(args.paths[0]):
        raise UsageError("status --fleet takes one etcd source: etcd://HOST:2379/prefix/")
    # Here: only this command and push talk to etcd (see _push).
    from reconciler.fleet.status import fleet
    from reconciler.input import etcd  # (as fleet: see above)

    url = etcd.EtcdURL.parse(args.paths[0])
    hosts = [h.name for h in load_manifests(args.paths).hosts]
    wanted, states = fleet(hosts, etcd.Client(url).range(url.prefix), url)
    if args.output == "json":
        print(json.dumps({"formatVersion": FORMAT_VERSION, "source": str(url), "revision": wanted, "hosts": [
            {"host": s.host, "state": s.state, "revision": s.revision, "detail": s.detail} for s in states]},
            indent=2))
        return EXIT_OK
    for state in states:
        print(state)
    converged = sum(s.state == "converged" for s in states)
    print(f"\n{converged} of {len(states)} host(s) converged on the manifests of revision {wanted}")
    return EXIT_OK
