"""While apply waits for the resolver to load a state, it polls every few milliseconds, and a load takes
as long as the namespaces are many: each poll must not read the status file (an entry per namespace)
unless the resolver wrote it since the last poll, or the wait grows with the square of the namespaces."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from reconciler.appliers import resolver as applier
from reconciler.errors import ApplyError
from reconciler.kernel import processstate, resolverstate, runstate
from reconciler.model.dns import FORMAT_VERSION, Resolver

POLLS = 20


def write_status(digest: str) -> None:
    body = {"formatVersion": FORMAT_VERSION, "digest": digest, "serving": {f"ns{i}": i for i in range(100)}}
    with resolverstate.PROCESS.folder(make=True) as here:
        here.replace(resolverstate.STATUS, json.dumps(body).encode(), resolverstate.FILE_MODE)


def test_the_wait_reads_the_status_file_again_only_once_the_resolver_wrote_it(monkeypatch: pytest.MonkeyPatch,
                                                                              tmp_path: Path) -> None:
    monkeypatch.setattr(runstate, "RUN_DIR", tmp_path)
    reads: list[int] = []
    status = processstate.ProcessState.status

    def counted(self: processstate.ProcessState) -> dict[str, Any] | None:
        reads.append(1)
        return status(self)

    def polls(done: Callable[[], bool]) -> bool:
        for i in range(POLLS):
            if i == POLLS // 2:
                write_status("still-the-old-state")  # the resolver writes its status once, mid-wait
            assert not done()
        return False

    monkeypatch.setattr(processstate.ProcessState, "status", counted)
    monkeypatch.setattr(applier, "wait_until", polls)
    write_status("the-old-state")
    with pytest.raises(ApplyError, match="did not report serving"):
        applier._wait_serving(Resolver("the-new-state", ("ns1",)))
    assert len(reads) == 2 + 1  # the first poll, the poll after the write, and the error's own look
