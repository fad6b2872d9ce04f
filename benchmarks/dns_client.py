"""python -m benchmarks.dns_client COUNT NAME... : one DNS client of the latency measurement, run
inside an endpoint's namespace (`ip netns exec`). It sends COUNT A queries over UDP to 127.0.0.11:53,
one at a time, cycling through the names (peers on its network), and times each round trip (send ->
matching reply) with perf_counter_ns. It prints `ready` once set up, waits for a line on stdin (so
that the clients of several namespaces start together), then prints one JSON line: the latencies in
microseconds of the answered queries, the queries that timed out or got no address, and the wall
time of the whole loop (the parse of each reply included).
"""

from __future__ import annotations

import json
import socket
import sys
import time

import dns.flags
import dns.message
import dns.rdatatype

SERVER = ("127.0.0.11", 53)
TIMEOUT_S = 2.0


def queries(names: list[str], count: int) -> list[tuple[int, bytes]]:
    """(id, wire) of each query, built beforehand so that only the round trip is timed."""
    built = []
    for i in range(count):
        message = dns.message.make_query(names[i % len(names)], dns.rdatatype.A)
        message.id = i % 65536
        built.append((message.id, message.to_wire()))
    return built


def ask(sock: socket.socket, query_id: int, wire: bytes) -> tuple[int | None, bytes | None]:
    """Nanoseconds to the reply with this id, and the reply; (None, None) on timeout."""
    started = time.perf_counter_ns()
    sock.send(wire)
    deadline = started + int(TIMEOUT_S * 1e9)
    while (left := deadline - time.perf_counter_ns()) > 0:
        sock.settimeout(left / 1e9)
        try:
            reply = sock.recv(4096)
        except TimeoutError:
            break
        took = time.perf_counter_ns() - started
        if len(reply) >= 2 and int.from_bytes(reply[:2], "big") == query_id:
            return took, reply
    return None, None


def answered(reply: bytes) -> bool:
    """NOERROR with at least one A record (checked after the timing, not inside it)."""
    message = dns.message.from_wire(reply)
    return message.rcode() == 0 and any(r.rdtype == dns.rdatatype.A and len(r) for r in message.answer)


def main() -> int:
    count, names = int(sys.argv[1]), sys.argv[2:]
    built = queries(names, count)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.connect(SERVER)
    print("ready", flush=True)
    sys.stdin.readline()
    latencies_us, timeouts, unanswered = [], 0, 0
    started = time.perf_counter()
    for query_id, wire in built:
        took, reply = ask(sock, query_id, wire)
        if took is None or reply is None:
            timeouts += 1
        elif answered(reply):
            latencies_us.append(took / 1000)
        else:
            unanswered += 1
    elapsed = time.perf_counter() - started
    print(json.dumps({"latencies_us": latencies_us, "timeouts": timeouts, "unanswered": unanswered,
                      "elapsed_s": elapsed}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
