"""While apply waits for the resolver to load a state, it checks the resolver's status every
millisecond, and a load takes as long as the namespaces are many: each check must not read the status
file (an entry per namespace) unless the resolver wrote it since the last one, nor stat every
namespace served when the step changed one."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from reconciler.appliers import process as processes
from reconciler.appliers import resolver as applier
from reconciler.errors import ApplyError
from reconciler.kernel import netns, processstate, resolverstate, runstate
from reconciler.model.dns import FORMAT_VERSION, Resolver

POLLS = 20
NAMES = tuple(f"ns{i}" for i in range(100))


def write_status(digest: str, serving: dict[str, int] | None = None) -> None:
    serving = {name: i for i, name in enumerate(NAMES)} if serving is None else serving
    body = {"formatVersion": FORMAT_VERSION, "digest": digest, "serving": serving, "pid": os.getpid()}
    with resolverstate.PROCESS.folder(make=True) as here:
        here.replace(resolverstate.STATUS, json.dumps(body).encode(), resolverstate.FILE_MODE)


@pytest.fixture
def run_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setattr(runstate, "RUN_DIR", tmp_path)
    monkeypatch.setattr(processstate.ProcessState, "running", lambda self, pid: pid == os.getpid())
    return tmp_path


def test_the_wait_reads_the_status_file_again_only_once_the_resolver_wrote_it(monkeypatch: pytest.MonkeyPatch,
                                                                              run_dir: Path) -> None:
    reads: list[int] = []
    status = processstate.ProcessState.status

    def counted(self: processstate.ProcessState) -> dict[str, Any] | None:
        reads.append(1)
        return status(self)

    def polls(done: Callable[[], bool], folder: str | None = None) -> bool:
        for i in range(POLLS):
            if i == POLLS // 2:
                write_status("still-the-old-state")  # the resolver writes its status once, mid-wait
            assert not done()
        return False

    monkeypatch.setattr(processstate.ProcessState, "status", counted)
    monkeypatch.setattr(applier, "wait_until", polls)
    write_status("the-old-state")
    want = Resolver("the-new-state", ("ns1",))
    with pytest.raises(ApplyError, match="did not report serving"):
        applier._wait_serving(want, applier._Serving(want, resolverstate.PROCESS))
    assert len(reads) == 1 + 1 + 1  # what it served before, the check after the write, the error's own look


def test_a_check_stats_only_the_namespaces_whose_sockets_the_load_opened(monkeypatch: pytest.MonkeyPatch,
                                                                        run_dir: Path) -> None:
    """One asker added to 100: the check stats the new one's namespace, not every one served (the
    resolver compared those it kept while it loaded), and lists no folder, reads no state."""
    stats: list[str] = []
    now = {"ns100": 500, "ns5": 5}
    monkeypatch.setattr(applier, "inode", lambda name: stats.append(name) or now.get(name))
    monkeypatch.setattr(netns, "named_inodes", lambda: pytest.fail("listed every namespace"))
    monkeypatch.setattr(resolverstate, "observe", lambda *a: pytest.fail("observed the whole resolver"))
    write_status("old")
    check = applier._Serving(Resolver("new", (*NAMES, "ns100")), resolverstate.PROCESS)
    assert not check()  # nothing written since it was asked

    write_status("new", {**{name: i for i, name in enumerate(NAMES)}, "ns100": 500})
    assert check() and stats == ["ns100"]

    stats.clear()
    write_status("new", {**{name: i for i, name in enumerate(NAMES)}, "ns100": 500, "ns5": 999})
    assert not check() and stats == ["ns5"]  # a socket reopened in a namespace that is not the named one now


def test_a_status_written_before_the_resolver_was_asked_is_not_taken_for_its_answer(run_dir: Path) -> None:
    """The state's digest may be the one served already (an update of the namespaces only): what the
    status said before the resolver was asked is no answer, even when it lists them all."""
    write_status("same")
    assert not applier._Serving(Resolver("same", NAMES), resolverstate.PROCESS)()


def test_the_wait_looks_every_millisecond_for_a_second_then_every_poll(monkeypatch: pytest.MonkeyPatch) -> None:
    """A reload at 1000 askers takes about 10 ms: a 5 ms poll made each step wait 2.5 ms more on
    average; a slow start (an emulated VM) is still looked at every POLL seconds, not a thousand times
    a second."""
    clock = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    monkeypatch.setattr(processes.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(processes.time, "sleep", sleep)
    assert not processes.wait_until(lambda: False, within=3.0)
    assert set(slept[:900]) == {processes.FINE_POLL} == {0.001}
    assert set(slept[-100:-1]) == {processes.POLL} and sum(slept) == pytest.approx(3.0)


def test_the_wait_wakes_when_the_resolver_writes_its_status_not_a_poll_later(monkeypatch: pytest.MonkeyPatch,
                                                                            run_dir: Path) -> None:
    """The status is written under a new name then renamed over the old (safefs replace): inotify on the
    folder wakes the wait at once; the poll (made long here) is only the fallback."""
    monkeypatch.setattr(processes, "FINE_POLL", 2.0)
    write_status("old")
    want = Resolver("new", NAMES)
    check = applier._Serving(want, resolverstate.PROCESS)
    monkeypatch.setattr(applier, "inode", lambda name: None)  # every socket kept (the status's inodes are as before)
    writer = threading.Timer(0.05, write_status, ("new",))
    writer.start()
    started = time.monotonic()
    applier._wait_serving(want, check, str(run_dir / "resolver"))
    writer.join()
    assert time.monotonic() - started < 1.0


def test_the_status_is_parsed_again_only_once_written_again(monkeypatch: pytest.MonkeyPatch, run_dir: Path) -> None:
    """A plan of the watch looks at the resolver's status several times (observe, the descriptors'
    check, the step, verify): it is parsed once per file written; a status written again, even the
    same bytes (under another inode), is parsed again, and one removed is none."""
    parsed: list[str] = []
    real = processstate.ProcessState.read
    monkeypatch.setattr(processstate.ProcessState, "read", lambda self, name: parsed.append(name) or real(self, name))
    write_status("first")
    first = [resolverstate.PROCESS.live_status() for _ in range(3)]
    assert len(parsed) == 1 and first[0] is not None and first[0]["digest"] == "first"

    write_status("second")
    assert resolverstate.PROCESS.live_status()["digest"] == "second" and len(parsed) == 2  # type: ignore[index]
    write_status("second")
    assert resolverstate.PROCESS.status() is not None and len(parsed) == 3
    with resolverstate.PROCESS.folder() as here:
        here.remove(resolverstate.STATUS)
    assert resolverstate.PROCESS.status() is None
