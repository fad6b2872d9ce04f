"""Two processes for the endpoints of a large plan: the kernel lets two creators of namespaces and
veths overlap (one `ip -batch` of 1000 against two of 500 at once: about 1.4 s against 1.0 on two
cores), and the Python around each request runs on both cores.

Only runs of endpoint blocks are split: a block is the creation of a namespace followed by the
creations of what lives in it alone (its veth, addresses, routes, sysctls, files). Runs of deletions
(what lives in a namespace, then the namespace: a destroy) are found too, but the executor keeps them
in one process: two unmounting at once wait on each other. Blocks touch
nothing of one another, so either process may run any of them; the host objects they use (bridges)
come before in the plan. A forked worker runs every other block with a kernel session of its own and
writes each step it finished (or its failure) to a pipe as it goes; the parent runs the others, stops
at the first failure of either, and hands back the steps done, in plan order, for the undo.
"""

from __future__ import annotations

import gc
import os
import select
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from reconciler.applying import switches
from reconciler.planning.plan import Action, Step

MIN_BLOCKS = 64  # below, forking (a few ms) and the worker's own session cost more than they gain
ENDPOINT_KINDS = frozenset({"veth", "address", "route", "sysctl", "hosts", "resolvconf"})
RECORD = struct.Struct("!iI")  # step number (negative: it failed), length of the failure's text

Block = tuple[int, int]  # indexes [start, end) into the plan's steps
RunStep = Callable[[int, Step], None]  # runs step number n (1-based); raises on failure


@dataclass(frozen=True)
class Segment:
    """Steps [start, end) of a plan: run one by one, or split by `blocks` over two processes."""

    start: int
    end: int
    blocks: tuple[Block, ...] = ()


def segments(steps: Sequence[Step]) -> list[Segment]:
    """The plan cut into sequential parts and runs of at least min_blocks() endpoint blocks."""
    least = min_blocks()
    out: list[Segment] = []
    plain, i = 0, 0
    while i < len(steps):
        blocks = _blocks_from(steps, i)
        if len(blocks) < least:
            i = blocks[-1][1] if blocks else i + 1
            continue
        if plain < i:
            out.append(Segment(plain, i))
        out.append(Segment(i, blocks[-1][1], tuple(blocks)))
        plain = i = blocks[-1][1]
    if plain < len(steps):
        out.append(Segment(plain, len(steps)))
    return out


def min_blocks() -> int:
    return switches.parallel_from(MIN_BLOCKS)


def _blocks_from(steps: Sequence[Step], i: int) -> list[Block]:
    blocks: list[Block] = []
    while (end := _created_block(steps, i) or _deleted_block(steps, i)) is not None:
        blocks.append((i, end))
        i = end
    return blocks


def _created_block(steps: Sequence[Step], i: int) -> int | None:
    """The end of the block starting at i: a namespace created, then what is created in it."""
    if i >= len(steps) or not (steps[i].action is Action.CREATE and steps[i].obj.kind == "netns"):
        return None
    ns, end = steps[i].obj.netns, i + 1
    while end < len(steps) and _lives_in(steps[end], Action.CREATE, ns):
        end += 1
    return end


def _deleted_block(steps: Sequence[Step], i: int) -> int | None:
    """The end of the block starting at i: what is deleted of a namespace, then the namespace."""
    end = i
    while end < len(steps) and steps[end].obj.kind != "netns" and _lives_in(steps[end], Action.DELETE, steps[i].obj.netns):
        end += 1
    last = steps[end] if end < len(steps) else None
    if last is None or last.action is not Action.DELETE or last.obj.kind != "netns" or last.obj.netns != steps[i].obj.netns:
        return None
    return end + 1


def _lives_in(step: Step, action: Action, ns: str | None) -> bool:
    obj = step.obj
    where = getattr(obj, "ns", None) if obj.kind == "veth" else obj.netns
    return step.action is action and obj.kind in ENDPOINT_KINDS and where == ns


@dataclass
class Outcome:
    """What a split run did: the numbers of the steps done, and the first failure (number, text, error)."""

    done: list[int] = field(default_factory=list)
    failure: tuple[int, str, BaseException | None] | None = None


def run_split(steps: Sequence[Step], blocks: Sequence[Block], run: RunStep, worker_run: Callable[[], RunStep],
              describe: Callable[[Exception], str]) -> Outcome:
    """Run the blocks, every other one in a forked worker (whose steps run with `worker_run()`, made
    after the fork); return the steps done by both, sorted, and the first failure."""
    ours, theirs = list(blocks[0::2]), list(blocks[1::2])
    (results_r, results_w), (stop_r, stop_w), pid = _forked_worker()
    if pid == 0:  # the worker: never returns
        os.close(results_r)
        os.close(stop_w)
        _worker(steps, theirs, worker_run, describe, results_w, stop_r)
    os.close(results_w)
    os.close(stop_r)
    try:
        os.set_blocking(results_r, False)
        outcome, worker = Outcome(), _Reader(results_r)
        _run_ours(steps, ours, run, describe, outcome, worker)
        if outcome.failure is not None:
            _tell_stop(stop_w)
        worker.read_to_end()
    finally:
        os.close(stop_w)
        os.close(results_r)
        _, status = os.waitpid(pid, 0)
        gc.unfreeze()
    return _merged(outcome, worker, status, steps, theirs)


def _run_ours(steps: Sequence[Step], ours: list[Block], run: RunStep, describe: Callable[[Exception], str],
              outcome: Outcome, worker: _Reader) -> None:
    for start, end in ours:
        worker.read_available()
        if worker.failure is not None:
            return
        for i in range(start, end):
            try:
                run(i + 1, steps[i])
            except Exception as err:  # noqa: BLE001 - whatever it is (a bug too), what was done is undone
                outcome.failure = (i + 1, describe(err), err)
                return
            outcome.done.append(i + 1)


def _merged(outcome: Outcome, worker: _Reader, status: int, steps: Sequence[Step], theirs: list[Block]) -> Outcome:
    done = sorted(outcome.done + worker.done)
    failure = outcome.failure or worker.failure
    if failure is None and status != 0:
        reported = set(worker.done)
        lost = next((i + 1 for s, e in theirs for i in range(s, e) if i + 1 not in reported), len(steps))
        failure = (lost, f"the worker process ended unexpectedly ({_status(status)})", None)
    if outcome.failure and worker.failure and worker.failure[0] < outcome.failure[0]:
        failure = worker.failure
    return Outcome(done, failure)


def _status(status: int) -> str:
    return f"signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status) else f"exit status {os.waitstatus_to_exitcode(status)}"


class _Reader:
    """The parent's end of the worker's pipe: records parsed as they come."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buffer = b""
        self.done: list[int] = []
        self.failure: tuple[int, str, BaseException | None] | None = None

    def read_available(self) -> None:
        try:
            while chunk := os.read(self.fd, 1 << 16):
                self._parse(chunk)
        except BlockingIOError:
            pass

    def read_to_end(self) -> None:
        os.set_blocking(self.fd, True)
        while chunk := os.read(self.fd, 1 << 16):
            self._parse(chunk)

    def _parse(self, chunk: bytes) -> None:
        self.buffer += chunk
        while len(self.buffer) >= RECORD.size:
            number, length = RECORD.unpack_from(self.buffer)
            if len(self.buffer) < RECORD.size + length:
                return
            text = self.buffer[RECORD.size:RECORD.size + length].decode("utf-8", "replace")
            self.buffer = self.buffer[RECORD.size + length:]
            if number > 0:
                self.done.append(number)
            elif self.failure is None:
                self.failure = (-number, text, None)


class NoWorker(Exception):
    """No worker could be started (no pipe or no process to be had): nothing has run, nothing is held."""


def _forked_worker() -> tuple[tuple[int, int], tuple[int, int], int]:
    """The results pipe, the stop pipe and the fork's pid (0: this is the worker); NoWorker if any fails."""
    opened: list[int] = []
    gc.freeze()  # in the worker, collections would write to every page it shares; in both, they scan the plan
    try:
        results = os.pipe()
        opened += results
        stop = os.pipe()
        opened += stop
        return results, stop, os.fork()
    except OSError as err:
        gc.unfreeze()
        for fd in opened:
            os.close(fd)
        raise NoWorker(str(err)) from err


def _tell_stop(stop: int) -> None:
    try:
        os.write(stop, b"x")
    except BrokenPipeError:
        pass  # the worker has ended already, its blocks all run: nothing to stop, its steps are told


def _worker(steps: Sequence[Step], blocks: list[Block], worker_run: Callable[[], RunStep],
            describe: Callable[[Exception], str], out: int, stop: int) -> None:
    code = 1
    try:
        code = _work(steps, blocks, worker_run(), describe, out, stop)
    except Exception as err:  # noqa: BLE001 - told to the parent; `finally` ends the worker on anything
        _send(out, -(blocks[0][0] + 1 if blocks else 1), f"the worker process failed: {describe(err)}")
    finally:
        os._exit(code)


def _work(steps: Sequence[Step], blocks: list[Block], run: RunStep, describe: Callable[[Exception], str],
          out: int, stop: int) -> int:
    for start, end in blocks:
        if select.select([stop], [], [], 0)[0]:
            return 0  # the parent failed: stop between blocks, each finished step already told
        for i in range(start, end):
            try:
                run(i + 1, steps[i])
            except Exception as err:  # noqa: BLE001 - told to the parent, which undoes
                _send(out, -(i + 1), describe(err))
                return 0
            _send(out, i + 1, "")
    return 0


def _send(out: int, number: int, text: str) -> None:
    data = text.encode()
    os.write(out, RECORD.pack(number, len(data)) + data)
