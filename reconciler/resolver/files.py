"""The resolver's files under /run/netreconcile/resolver/ (reconciler.process.files): state.json, the
state to serve, read here; status.json, the namespaces served, written here."""

from __future__ import annotations

from reconciler.errors import ResolverStateError
from reconciler.model.dns import DnsState, digest_of
from reconciler.process.files import ProcessFiles

STATE_DIR = "/run/netreconcile/resolver"
STATUS_FORMAT = 1


def files(state_dir: str) -> ProcessFiles:
    return ProcessFiles(state_dir, "resolver")


def read_state(state_dir: str) -> tuple[DnsState, str]:
    """The state to serve and its digest: of the document as written (what the planner computed it
    of), not of the state written out again; an empty one when there is no state.json yet."""
    return files(state_dir).read_state(_parsed, (DnsState(), DnsState().digest), ResolverStateError)


def _parsed(document: str) -> tuple[DnsState, str]:
    return DnsState.from_json(document), digest_of(document)


def write_status(state_dir: str, digest: str, serving: dict[str, int]) -> None:
    files(state_dir).write_status({"formatVersion": STATUS_FORMAT, "digest": digest, "serving": dict(sorted(serving.items()))})
