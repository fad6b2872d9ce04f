"""What every command knows of etcd without loading its client (reconciler/input/etcd.py, which only a
command with an etcd source needs): the scheme that names an etcd source, and the TLS and
authentication options given on the command line."""

from __future__ import annotations

from collections.abc import Iterable

SCHEME = "etcd://"
OPTIONS = ("cacert", "cert", "key", "user")  # --etcd-cacert ... --etcd-user, over $ETCDCTL_CACERT ... $ETCDCTL_USER
_given: tuple[str | None, ...] = (None,) * len(OPTIONS)


def is_url(text: str) -> bool:
    return text.startswith(SCHEME)


def configure(given: Iterable[str | None]) -> None:
    """The command line's options (None: not given), in OPTIONS' order, for every client made after."""
    global _given  # one process, one set of credentials, as etcdctl's environment
    _given = tuple(given)


def given() -> tuple[str | None, ...]:
    return _given
