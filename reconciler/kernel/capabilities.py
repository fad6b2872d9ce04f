"""What the running kernel supports: link kinds and nftables features, each tried for real.

Every probe runs in a throwaway network namespace: a short-lived thread unshares one of its own
(network namespaces are per thread), creates links there through our rtnetlink socket, and runs
`nft --check` from there, so the machine's network (or the namespace netreconcile was started in) is
never touched. The namespace, with whatever the probe made in it, goes away when the thread ends and
its socket is closed. Results are cached for the life of the process.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from reconciler.errors import KernelSupportError
from reconciler.kernel import linkreq, rtnl
from reconciler.kernel.netns import CLONE_NEWNET
from reconciler.kernel.rtnl_client import RtnlClient
from reconciler.model import IPVLAN_FLAGS, IPVLAN_MODES, MACVLAN_MODES

LINK_KINDS = ("bridge", "veth", "vxlan", "macvlan", "ipvlan", "vlan", "dummy")
ALWAYS_THERE = ("bridge", "veth")  # never probed by require(): see its docstring
NFT_TIMEOUT = 10.0
PROBE_TABLE = "nrprobe"
PROBE_VNI = 42

_libc = ctypes.CDLL(None, use_errno=True)
T = TypeVar("T")


@dataclass(frozen=True)
class LinkKind:
    """A link kind: the kernel option that builds it and the module that provides it."""

    config: str
    module: str
    needs_lower: bool = False  # made on top of another link (the probe gives it a veth of its own)


KINDS: dict[str, LinkKind] = {
    "bridge": LinkKind("CONFIG_BRIDGE", "bridge"),
    "veth": LinkKind("CONFIG_VETH", "veth"),
    "vxlan": LinkKind("CONFIG_VXLAN", "vxlan"),
    "macvlan": LinkKind("CONFIG_MACVLAN", "macvlan", needs_lower=True),
    "ipvlan": LinkKind("CONFIG_IPVLAN", "ipvlan", needs_lower=True),
    "vlan": LinkKind("CONFIG_VLAN_8021Q", "8021q", needs_lower=True),
    "dummy": LinkKind("CONFIG_DUMMY", "dummy"),
}


@dataclass(frozen=True)
class Finding:
    """One capability as probed, with its kernel option. When it is not supported, `answer` is the
    kernel's (or nft's) refusal, or, with `probe_failed`, an error that leaves support unknown
    (reported as unsupported), and `hint` says what to do when we know."""

    name: str
    supported: bool
    config: str
    hint: str = ""
    answer: str = ""
    probe_failed: bool = False


@dataclass(frozen=True)
class NftFeature:
    """An nftables feature, probed as one rule in a base chain of a table of its family."""

    config: str
    family: str
    chain: tuple[str, str, int]  # type, hook, priority
    expr: tuple[dict[str, Any], ...]


def _match(left: dict[str, Any], right: Any, op: str = "==") -> dict[str, Any]:
    return {"match": {"op": op, "left": left, "right": right}}


def _set_mark(value: dict[str, Any]) -> dict[str, Any]:
    return {"mangle": {"key": {"meta": {"key": "mark"}}, "value": value}}


SADDR = {"payload": {"protocol": "ip", "field": "saddr"}}
ACCEPT = {"accept": None}
FORWARD, PREROUTING = ("filter", "forward", 0), ("filter", "prerouting", 0)
NAT_OUT, NAT_IN = ("nat", "postrouting", 100), ("nat", "prerouting", -100)

NFT_FEATURES: dict[str, NftFeature] = {
    "inet": NftFeature("CONFIG_NF_TABLES_INET", "inet", FORWARD, (
        _match({"meta": {"key": "iifname"}}, "x"), _match(SADDR, {"prefix": {"addr": "192.0.2.0", "len": 24}}), ACCEPT)),
    "nat-masquerade": NftFeature("CONFIG_NFT_MASQ", "inet", NAT_OUT, (
        _match({"meta": {"key": "oifname"}}, "x", "!="), {"masquerade": None})),
    "nat-dnat": NftFeature("CONFIG_NFT_NAT", "inet", NAT_IN, (
        _match({"payload": {"protocol": "tcp", "field": "dport"}}, 80),
        {"dnat": {"family": "ip", "addr": "192.0.2.1", "port": 8080}})),
    "ct-state": NftFeature("CONFIG_NFT_CT", "inet", FORWARD, (
        _match({"ct": {"key": "state"}}, ["established", "related"], "in"), ACCEPT)),
    "numgen": NftFeature("CONFIG_NFT_NUMGEN", "inet", PREROUTING, (_set_mark({"numgen": {"mode": "inc", "mod": 2}}),)),
    "jhash": NftFeature("CONFIG_NFT_HASH", "inet", PREROUTING, (_set_mark({"jhash": {"mod": 2, "expr": SADDR}}),)),
    "fib": NftFeature("CONFIG_NFT_FIB_INET", "inet", PREROUTING, (
        _match({"fib": {"result": "type", "flags": ["daddr"]}}, "local"), ACCEPT)),
    "bridge-family": NftFeature("CONFIG_NF_TABLES_BRIDGE", "bridge", FORWARD, (
        _match({"payload": {"protocol": "ether", "field": "type"}}, "ip"), ACCEPT)),
}

# What the bridge driver writes: bridges, veth pairs, and our inet table with filter and nat chains,
# `ct state` and `masquerade` rules. `doctor` exits 0 only when all of it is there.
BRIDGE_LINKS, BRIDGE_NFT = ("bridge", "veth"), ("inet", "nat-masquerade", "ct-state")


def bridge_lacks(links: Iterable[Finding], nft: Iterable[Finding]) -> list[str]:
    """What the bridge driver needs that these findings lack, in BRIDGE_LINKS + BRIDGE_NFT order."""
    have = {f.name for f in (*links, *nft) if f.supported}
    return [name for name in BRIDGE_LINKS + BRIDGE_NFT if name not in have]


def missing_message(kind: str) -> str:
    """`kernel lacks ipvlan support (CONFIG_IPVLAN; try: modprobe ipvlan)`."""
    k = KINDS[kind]
    return f"kernel lacks {kind} support ({k.config}; try: modprobe {k.module})"


def require(kinds: Iterable[str], needed_by: Mapping[str, str] | None = None) -> None:
    """Raise KernelSupportError, one line per missing kind, unless the kernel has every kind given.

    Only the kinds given are probed, once per process. bridge and veth are never probed here: every
    driver needs them, a kernel without them is not one netreconcile supports (its first apply
    fails on the netlink error anyway), and so a plan of bridge networks pays nothing for this
    check. `netreconcile doctor` does probe them. `needed_by` puts before a kind's line what needs it
    (the manifest object, as `FILE:LINE:COL: Kind/name`).
    """
    wanted = [k for k in _ordered(kinds) if k not in ALWAYS_THERE]
    if not wanted:
        return
    lacking = [f for f in check_links(wanted) if not f.supported]
    if lacking:
        who = needed_by or {}
        raise KernelSupportError([f"{who[f.name]}: {_lacking_message(f)}" if f.name in who else _lacking_message(f)
                                  for f in lacking])


def _lacking_message(finding: Finding) -> str:
    if finding.probe_failed:
        return f"cannot tell whether the kernel supports {finding.name}: {finding.answer}"
    return missing_message(finding.name)


def check_links(kinds: Iterable[str]) -> tuple[Finding, ...]:
    """A Finding per kind given, in LINK_KINDS order; ValueError for a kind not in LINK_KINDS."""
    return _link_findings(_ordered(kinds))


def check_nft() -> tuple[Finding, ...]:
    """A Finding per nftables feature, in NFT_FEATURES order."""
    return _nft_findings()


def _ordered(kinds: Iterable[str]) -> tuple[str, ...]:
    wanted = set(kinds)
    unknown = wanted - set(LINK_KINDS)
    if unknown:
        raise ValueError(f"unknown link kind(s) {', '.join(sorted(unknown))}; known: {', '.join(LINK_KINDS)}")
    return tuple(k for k in LINK_KINDS if k in wanted)


@functools.cache
def _link_findings(kinds: tuple[str, ...]) -> tuple[Finding, ...]:
    if not kinds:
        return ()
    return in_throwaway_netns(lambda: _try_links(kinds))


@functools.cache
def _nft_findings() -> tuple[Finding, ...]:
    binary = shutil.which("nft")
    if binary is None:
        missing = "the nft command is missing: install the nftables package"
        return tuple(Finding(name, False, feature.config, answer=missing, probe_failed=True)
                     for name, feature in NFT_FEATURES.items())
    return in_throwaway_netns(lambda: _try_nft(binary))


def in_throwaway_netns(work: Callable[[], T]) -> T:
    """Run `work` in a short-lived thread that first moves to a fresh network namespace of its own."""
    results: list[T] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            if _libc.unshare(CLONE_NEWNET) != 0:
                code = ctypes.get_errno()
                raise OSError(code, f"cannot make a throwaway network namespace: {os.strerror(code)}")
            results.append(work())
        except BaseException as err:  # noqa: BLE001 - whatever it is, handed to the caller's thread
            errors.append(err)

    thread = threading.Thread(target=run, name="netreconcile-probe")
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return results[0]


def _try_links(kinds: tuple[str, ...]) -> tuple[Finding, ...]:
    sock = RtnlClient()
    try:
        return tuple(_try_link(sock, kind) for kind in kinds)
    finally:
        sock.close()


def _try_link(sock: RtnlClient, kind: str) -> Finding:
    k = KINDS[kind]
    try:
        parent = _lower(sock, kind) if k.needs_lower else None
    except OSError as err:
        return Finding(kind, False, k.config, answer=f"no veth to make it on: {_strerror(err)}", probe_failed=True)
    try:
        sock.new_link(f"probe-{kind}", kind, group=0, link=parent, data=_link_data(kind))
    except OSError as err:
        if err.errno == errno.EOPNOTSUPP:  # the kernel's "Unknown device type"
            return Finding(kind, False, k.config, f"modprobe {k.module}", _strerror(err))
        return Finding(kind, False, k.config, answer=_strerror(err), probe_failed=True)
    return Finding(kind, True, k.config)


def _lower(sock: RtnlClient, kind: str) -> int:
    """A veth of its own to make `kind` on: one link cannot carry both macvlan and ipvlan (EBUSY)."""
    sock.new_link(f"lower-{kind}", "veth", group=0)
    return sock.link_index(f"lower-{kind}")


def _strerror(err: OSError) -> str:
    return os.strerror(err.errno) if err.errno else str(err)


def _link_data(kind: str) -> bytes:
    """IFLA_INFO_DATA for a probe link: what the kernel insists on (vxlan's id) or what we use."""
    if kind == "vxlan":
        return rtnl.nla_u32(rtnl.IFLA_VXLAN_ID, PROBE_VNI)
    if kind == "macvlan":
        return linkreq.macvlan_data(MACVLAN_MODES["bridge"])
    if kind == "ipvlan":
        return linkreq.ipvlan_data(IPVLAN_MODES["l2"], IPVLAN_FLAGS["bridge"])
    if kind == "vlan":
        return linkreq.vlan_data(5)
    return b""  # a veth with no peer given gets one named by the kernel


class _NoAnswer(Exception):
    """nft gave no verdict (it hung): support is unknown."""


def _try_nft(binary: str) -> tuple[Finding, ...]:
    """All features in one check; only when that fails, one check per feature to tell which."""
    everything = [cmd for name, feature in NFT_FEATURES.items() for cmd in _ruleset(name, feature)]
    try:
        if _nft_check(binary, everything) == "":
            return tuple(Finding(name, True, feature.config) for name, feature in NFT_FEATURES.items())
    except _NoAnswer:
        pass
    return tuple(_nft_finding(binary, name, feature) for name, feature in NFT_FEATURES.items())


def _nft_finding(binary: str, name: str, feature: NftFeature) -> Finding:
    try:
        answer = _nft_check(binary, _ruleset(name, feature))
    except _NoAnswer as err:
        return Finding(name, False, feature.config, answer=str(err), probe_failed=True)
    return Finding(name, answer == "", feature.config, answer=answer)


def _ruleset(name: str, feature: NftFeature) -> list[dict[str, Any]]:
    table = {"family": feature.family, "table": PROBE_TABLE}
    kind, hook, prio = feature.chain
    chain = {**table, "name": f"probe-{name}", "type": kind, "hook": hook, "prio": prio, "policy": "accept"}
    return [
        {"add": {"table": {"family": feature.family, "name": PROBE_TABLE}}},
        {"add": {"chain": chain}},
        {"add": {"rule": {**table, "chain": chain["name"], "expr": list(feature.expr)}}},
    ]


def _nft_check(binary: str, commands: list[dict[str, Any]]) -> str:
    """`nft --check` of a JSON batch (the kernel validates it, nothing is committed): "" or nft's error."""
    try:
        result = subprocess.run([binary, "-c", "-j", "-f", "-"], input=json.dumps({"nftables": commands}),
                                capture_output=True, text=True, timeout=NFT_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise _NoAnswer(f"nft did not answer within {NFT_TIMEOUT:g} s") from None
    if result.returncode == 0:
        return ""
    errors = [line[line.index("Error:"):] for line in result.stderr.splitlines() if "Error:" in line]
    return errors[0] if errors else f"nft exited {result.returncode}: {result.stderr.strip()}"
