"""The resolver's files under /run/netreconcile/resolver/ (reconciler.process.files): state.json, the
state to serve, read here; status.json, the namespaces served, written here."""

from __future__ import annotations

from reconciler.errors import ResolverStateError
from reconciler.model.dns import DnsState, Read, digest_of, read
from reconciler.process.files import ProcessFiles

STATE_DIR = "/run/netreconcile/resolver"
STATUS_FORMAT = 1


def files(state_dir: str) -> ProcessFiles:
    return ProcessFiles(state_dir, "resolver")


def read_state(state_dir: str, last: Read | None = None) -> tuple[Read, str]:
    """The state to serve (what is the same as in `last` reused: model.dns.read) and its digest: of
    the document as written (what the planner computed it of), not of the state written out again;
    an empty one when there is no state.json yet."""
    return files(state_dir).read_state(lambda document: (read(document, last), digest_of(document)),
                                       (Read(DnsState()), DnsState().digest), ResolverStateError)


def write_status(state_dir: str, digest: str, serving: dict[str, int]) -> None:
    files(state_dir).write_status({"formatVersion": STATUS_FORMAT, "digest": digest, "serving": serving})  # sorted as written
