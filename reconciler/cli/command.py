"""What every subcommand is made of: its help, the options it reads, the function that runs it and
the exit code it returns; the parser they are registered in; and the options several share."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import NoReturn

from reconciler.cli.options import share
from reconciler.input import etcdconf
from reconciler.input.spec import Manifests
from reconciler.input.validate import load_manifests
from reconciler.kernel.parsecache import ParseCache

EXIT_OK, EXIT_ERROR, EXIT_CHANGES = 0, 1, 2


class Parser(argparse.ArgumentParser):
    """argparse, but a command line it cannot read exits 1 (an error), never 2 (plan: changes)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_ERROR, f"{self.prog}: error: {message}\n")


@dataclass(frozen=True)
class Command:
    """One subcommand: what its --help says (`description` defaults to `help`), the options it adds to
    its parser (`arguments`), and what runs it (`run`, returning the exit code)."""

    name: str
    help: str
    epilog: str
    arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]
    description: str = ""

    def add_to(self, commands: argparse._SubParsersAction[Parser]) -> None:
        sub = commands.add_parser(self.name, help=self.help, description=self.description or self.help,
                                  epilog=self.epilog, formatter_class=argparse.RawDescriptionHelpFormatter)
        self.arguments(sub)


HOST_HELP = ("the declared Host this machine is (default: the Host whose underlay address is configured here); "
             "only its endpoints are built locally")
MAX_DELETE_HELP = ("refuse when more than this share of the manifest objects last applied (on every host) is gone "
                   "from the source; before any apply was recorded, of the objects owned here (default 50%%)")
FORCE_HELP = "delete more than --max-delete allows, and remove namespaces holding foreign links or processes"
ALLOW_EMPTY_HELP = "let manifests that declare nothing delete everything"


def paths(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("paths", nargs="+", metavar="PATH",
                     help="manifest files or directories (*.yaml, *.yml, recursive), or etcd://HOST:2379[,HOST:2379]/prefix/")
    etcd_options(sub)


def etcd_options(sub: argparse.ArgumentParser) -> None:
    """TLS and authentication for etcd sources; the environment variables etcdctl reads by default."""
    group = sub.add_argument_group("etcd sources")
    group.add_argument("--etcd-cacert", metavar="FILE", help="CA bundle of the etcd servers (default $ETCDCTL_CACERT)")
    group.add_argument("--etcd-cert", metavar="FILE", help="client certificate (default $ETCDCTL_CERT)")
    group.add_argument("--etcd-key", metavar="FILE", help="client certificate's key (default $ETCDCTL_KEY)")
    group.add_argument("--etcd-user", metavar="USER:PASSWORD", help="etcd user and password (default $ETCDCTL_USER)")


def use_etcd_options(args: argparse.Namespace) -> None:
    """The command line's etcd options, over the environment's, for every etcd client of this command."""
    etcdconf.configure(getattr(args, f"etcd_{n}", None) for n in etcdconf.OPTIONS)


def debug(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show a traceback on errors")


def output(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("-o", "--output", choices=("text", "json"), default="text", help="output format")


def host(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--host", metavar="NAME", help=HOST_HELP)


def guards(sub: argparse.ArgumentParser) -> None:
    """The delete guards of apply and watch: --allow-empty, --max-delete, --force."""
    sub.add_argument("--allow-empty", action="store_true", help=ALLOW_EMPTY_HELP)
    sub.add_argument("--max-delete", type=share, default=0.5, metavar="SHARE", help=MAX_DELETE_HELP)
    sub.add_argument("--force", action="store_true", help=FORCE_HELP)


def manifests(args: argparse.Namespace) -> Manifests:
    """The valid manifests, applied as the Host named by --host (if given)."""
    with ParseCache() as parsed:
        m = load_manifests(args.paths, parsed)
    # the same object without --host: what validation cached on it (networks by name, attachments) kept
    return m if args.host is None else replace(m, host=args.host)
