"""Our nftables table through both paths, libnftables in-process and the `nft -j` fallback
(NETRECONCILE_NFT=cli): the same table written and read, the same refusal of a table that is not ours;
the fallback taken when the library does not load, and a command run in the caller's namespace."""

from __future__ import annotations

import json
import shlex
import sys

from builders import assert_unchanged, endpoint, iface, network, out, snapshot, write

PATHS = ("lib", "cli")
HAND_MADE = "add table inet netreconcile; add chain inet netreconcile filter-FORWARD"


def nr(sandbox, mode: str, *args: str, check: bool = True, prefix: str = ""):
    command = " ".join(shlex.quote(a) for a in (sys.executable, "-m", "reconciler", *args))
    return sandbox.sh(f"{prefix}NETRECONCILE_NFT={mode} {command}", check=check)


def table(sandbox, prefix: str = "") -> list[dict]:
    """Our table as `nft -j` lists it, without the handles (numbered anew by each table made)."""
    items = json.loads(out(sandbox, f"{prefix}nft -j list table inet netreconcile"))["nftables"]
    return [{kind: {k: v for k, v in body.items() if k != "handle"}} for item in items for kind, body in item.items()]


def manifests(sandbox):
    nets = [network("a", "172.20.0.0/24"), network("b", "172.21.0.0/24"), network("c", "172.22.0.0/24", internal=True)]
    eps = [endpoint("a1", iface("a", "172.20.0.10")), endpoint("b1", iface("b", "172.21.0.10")),
           endpoint("c1", iface("c", "172.22.0.10"))]
    return write(sandbox, *nets, *eps)


def test_both_paths_write_and_read_the_same_table_and_refuse_a_foreign_one_alike(sandbox):
    path = manifests(sandbox)
    tables = {}
    for mode in PATHS:
        nr(sandbox, mode, "apply", str(path))
        tables[mode] = table(sandbox)
        for reader in PATHS:  # what one path wrote, the other reads as converged
            assert "No changes" in nr(sandbox, reader, "plan", str(path)).stdout, (mode, reader)
        nr(sandbox, mode, "destroy", str(path))
        assert "netreconcile" not in out(sandbox, "nft list tables")
    assert tables["lib"] == tables["cli"] and "managed-by-netreconcile" in json.dumps(tables["lib"])

    sandbox.sh(f"nft '{HAND_MADE}'")
    before = snapshot(sandbox, "nft -j list ruleset", "ip -d link")
    refusals = {}
    for mode in PATHS:
        result = nr(sandbox, mode, "apply", str(path), check=False)
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
        assert_unchanged(sandbox, before)
        refusals[mode] = [result.stderr]
        for call in ("nft.write_table(None)", "nft.write_table(nft.NftTable.of([], []), existing=False)"):
            direct = sandbox.sh(f"NETRECONCILE_NFT={mode} python3 -c 'from reconciler.kernel import nft; {call}'",
                                check=False)
            assert direct.returncode != 0 and "nft transaction failed" in direct.stderr, direct.stderr
            refusals[mode].append(direct.stderr.strip().splitlines()[-1])
            assert_unchanged(sandbox, before)
    assert refusals["lib"] == refusals["cli"]
    assert "already exists and is not managed by netreconcile" in refusals["lib"][0]


def logging_nft(sandbox, library_dir: str = "") -> str:
    """A directory holding an `nft` that logs each call and runs the real one; its log's path."""
    bin_dir, log = sandbox.workdir / "bin", sandbox.workdir / "nft.log"
    bin_dir.mkdir(exist_ok=True)
    env = f"LD_LIBRARY_PATH={library_dir} " if library_dir else ""
    (bin_dir / "nft").write_text(f'#!/bin/sh\necho "$@" >> {log}\n{env}exec /usr/sbin/nft "$@"\n')
    (bin_dir / "nft").chmod(0o755)
    return f"PATH={bin_dir}:$PATH "


def calls(sandbox) -> list[str]:
    log = sandbox.workdir / "nft.log"
    return log.read_text().splitlines() if log.exists() else []


def test_the_library_forks_no_nft_and_nft_is_the_fallback_where_the_library_does_not_load(sandbox):
    path = manifests(sandbox)
    nr(sandbox, "lib", "apply", str(path), prefix=logging_nft(sandbox))
    assert calls(sandbox) == []
    expected = table(sandbox)
    nr(sandbox, "lib", "destroy", str(path))

    # The library made unloadable in the sandbox's own mount namespace; the real nft, which links it,
    # still runs from a copy.
    library = out(sandbox, "realpath /usr/lib/x86_64-linux-gnu/libnftables.so.1").strip()
    copy = sandbox.workdir / "lib"
    sandbox.sh(f"mkdir -p {copy} && cp {library} {copy}/libnftables.so.1 && mount --bind /dev/null {library}")
    shim = logging_nft(sandbox, str(copy))
    probe = sandbox.sh("python3 -c 'from reconciler.kernel import nft; print(nft.library())'")
    assert probe.stdout.strip() == "None"
    nr(sandbox, "lib", "apply", str(path), prefix=shim)
    assert table(sandbox, f"LD_LIBRARY_PATH={copy} ") == expected
    assert "-j -f -" in calls(sandbox) and "-j list table inet netreconcile" in calls(sandbox)
    assert "No changes" in nr(sandbox, "lib", "plan", str(path), prefix=shim).stdout


def test_a_command_runs_in_the_namespace_of_the_calling_thread(sandbox):
    sandbox.sh("ip netns add other && ip netns exec other nft add table inet elsewhere && nft add table inet here")
    script = ("from reconciler.kernel import libnft, netns, nft\n"
              "lib = nft.library()\n"
              "assert lib is not None\n"
              "with netns.entered('other'):\n"
              "    inside = lib.run('list tables').stdout\n"
              "print(inside, lib.run('list tables').stdout, sep='|')\n")
    inside, home = sandbox.sh(f"python3 -c {shlex.quote(script)}").stdout.strip().split("|")
    assert '"elsewhere"' in inside and '"here"' not in inside, inside
    assert '"here"' in home and '"elsewhere"' not in home, home
