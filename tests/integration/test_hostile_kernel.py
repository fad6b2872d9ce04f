"""Hostile input from the kernel and the host, not from manifests: links, namespaces and processes
made by hand with names that are not text (bytes that are not UTF-8, ESC), objects that vanish while
they are read. Every command survives them without a traceback, never adopts nor deletes them, and
shows their names escaped."""

from __future__ import annotations

import json
import os
import stat
import sys
import time

from builders import (
    assert_unchanged,
    converge,
    endpoint,
    host_veth,
    network,
    plan,
    run_fails_cleanly,
    snapshot,
    status,
    write,
)

from reconciler.kernel.runstate import APPLIED
from reconciler.model import OWNER_GROUP, ROUTE_PROTO
from reconciler.watch.gate import QUIET

# Link names the kernel accepts (at most 15 bytes, no '/', ':' nor white space), written for printf.
NOT_UTF8, WITH_ESC = r"a\377b", r"e\033c"
IN_NS, IN_NS_PEER = r"x\377y", r"q\376z"
LINKS = "ip -o link show | cat -v"  # cat -v: the raw bytes would not decode as text in the test


def p(raw: str) -> str:
    """The shell words that make a name from its printf form."""
    return f"\"$(printf '{raw}')\""


def hostile_links(sandbox, ns: str) -> None:
    """A pair in the host whose names hold 0xff and ESC, and one in `ns` holding 0xff and 0xfe."""
    sandbox.sh(f"ip link add {p(NOT_UTF8)} type veth peer name {p(WITH_ESC)}")
    sandbox.sh(f"ip -n {ns} link add {p(IN_NS)} type veth peer name {p(IN_NS_PEER)}")


def clean(result) -> str:
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    assert "internal error" not in result.stderr, result.stderr
    return result.stdout


def test_links_whose_names_are_not_text_are_foreign_to_every_command(sandbox):
    path = write(sandbox, network("a", "172.20.0.0/24"), endpoint("e0", "a"), endpoint("e1", "a"))
    converge(sandbox, path)
    hostile_links(sandbox, "e1")
    before = snapshot(sandbox, LINKS, "ip -n e1 -o link show | cat -v", "ip netns list")
    for args in (["plan", "--detailed-exitcode"], ["plan", "-o", "json"], ["status"], ["status", "-o", "json"],
                 ["graph", "--live", "-o", "dot"], ["apply"]):
        result = sandbox.nr(args[0], str(path), *args[1:], check=False)
        clean(result)
        assert result.returncode == 0, f"{args}: exit {result.returncode}\n{result.stderr}"
    assert_unchanged(sandbox, before)

    refused = run_fails_cleanly(sandbox, "destroy", str(path))
    assert "foreign link x\\xffy" in refused, refused
    assert_unchanged(sandbox, before)
    clean(sandbox.nr("destroy", str(path), "--force"))
    assert "aM-^?b@e^[c" in sandbox.sh(LINKS).stdout, "the host's hand-made pair is not ours to delete"


def test_a_link_carrying_our_mark_under_a_name_that_is_not_text_is_never_adopted(sandbox):
    """We never make such a name (manifests are text): a hand-made link with our group is not ours."""
    path = write(sandbox, network("a", "172.20.0.0/24"), endpoint("e0", "a"))
    converge(sandbox, path)
    sandbox.sh(f"ip link add {p(NOT_UTF8)} group {OWNER_GROUP} type bridge")
    before = snapshot(sandbox, LINKS)
    assert sandbox.plan_exitcode(path) == 0
    for args in (["apply"], ["status"], ["destroy"]):
        clean(sandbox.nr(args[0], str(path), *args[1:]))
    assert "aM-^?b:" in sandbox.sh(LINKS).stdout
    assert "br-a" not in sandbox.sh(LINKS).stdout, before


def test_namespaces_whose_names_are_not_text_are_foreign_even_with_our_mark(sandbox):
    path = write(sandbox, network("a", "172.20.0.0/24"), endpoint("e0", "a"))
    converge(sandbox, path)
    marked = r"m\377k"
    for raw in (r"n\377s", r"e\033s", marked):
        sandbox.sh(f"ip netns add {p(raw)}")
    sandbox.sh(f"ip -n {p(marked)} link set lo group {OWNER_GROUP} up")  # our mark, by hand
    before = snapshot(sandbox, "ls /run/netns | cat -v")
    assert sandbox.plan_exitcode(path) == 0
    for args in (["plan", "-o", "json"], ["status"], ["status", "-o", "json"], ["graph", "--live", "-o", "dot"],
                 ["apply"]):
        result = sandbox.nr(args[0], str(path), *args[1:], check=False)
        assert result.returncode == 0 and "m\\udcffk" not in clean(result), f"{args}: {result.stdout}{result.stderr}"
    assert_unchanged(sandbox, before)
    clean(sandbox.nr("destroy", str(path)))
    assert sandbox.sh("ls /run/netns | cat -v").stdout.split() == ["e^[s", "mM-^?k", "nM-^?s"]


def test_the_watch_hears_and_repairs_past_links_whose_names_are_not_text(sandbox):
    from test_watch import base, converges, watching

    def host_veths() -> list[str]:
        listed = sandbox.sh("ip -o link show type veth | cat -v").stdout.splitlines()
        return [line.split(": ")[1].split("@")[0] for line in listed]

    folder = base(sandbox)
    with watching(sandbox, folder) as watch:
        time.sleep(QUIET + 0.1)  # the watch takes kernel events right after its own apply as that apply's
        hostile_links(sandbox, "a")
        sandbox.sh(f"ip link set {p(NOT_UTF8)} up && ip link set {p(NOT_UTF8)} mtu 1400")
        veth = next(v for v in host_veths() if v.startswith("nr-"))
        sandbox.sh(f"ip link del {veth}")
        converges(sandbox, folder, lambda: veth in host_veths())
        assert sandbox.ping("a", "172.20.0.11")
    log = watch.log.read_bytes()
    assert b"Traceback" not in log and b"failed" not in log, log.decode(errors="backslashreplace")


def test_a_record_of_sysctls_damaged_by_hand_makes_a_removal_read_nothing_outside_proc_sys_net(sandbox):
    """The record of the last apply names the sysctls a rollback restores in a removed namespace: one
    naming a FIFO by its absolute path (a read that would never end) or escaping by '..' is skipped."""
    path = write(sandbox, network("a", "172.20.0.0/24"), endpoint("e0", "a"), endpoint("e1", "a"))
    converge(sandbox, path)
    fifo = sandbox.workdir / "fifo"
    os.mkfifo(fifo)
    record = json.loads(sandbox.sh(f"cat {APPLIED}").stdout)
    record["sysctls"]["e1"] = [str(fifo), "net/../../../" + str(fifo), "net.ipv4.ip_forward\0"]
    sandbox.sh(f"cat > {APPLIED} <<'EOF'\n{json.dumps(record)}\nEOF")
    pruned = write(sandbox, network("a", "172.20.0.0/24"), endpoint("e0", "a"), name="m2/net.yaml")
    result = sandbox.sh(f"{sys.executable} -m reconciler apply {pruned}", check=False, timeout=20)
    assert result.returncode == 0 and "- netns e1" in clean(result), result.stdout + result.stderr
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_a_process_whose_name_holds_parentheses_a_newline_and_bytes_that_are_not_text_is_named_exactly(sandbox):
    path = write(sandbox, network("a", "172.20.0.0/24"), endpoint("e0", "a"), endpoint("e1", "a"))
    converge(sandbox, path)
    odd = r"s) (x\n\377\033y"  # its command name: the first 15 bytes of the program's file name
    pid = int(sandbox.sh(f"cp /bin/sleep {sandbox.workdir}/{p(odd)} && "
                         f"ip netns exec e1 {sandbox.workdir}/{p(odd)} 1000 </dev/null >/dev/null 2>&1 & echo $!").stdout)
    try:
        pruned = write(sandbox, network("a", "172.20.0.0/24"), endpoint("e0", "a"), name="m2/net.yaml")
        planned = json.loads(clean(sandbox.nr("plan", str(pruned), "-o", "json")))
        removal = next(c for c in planned["changes"] if c["kind"] == "netns")
        assert removal["foreign"] == [f"process {pid} (s) (x\n\\xff\x1by)"], removal
        assert f"process {pid} (s) (x" in run_fails_cleanly(sandbox, "apply", str(pruned))
    finally:
        sandbox.sh(f"kill {pid}", check=False)


def test_the_watch_logs_a_marked_link_whose_name_is_not_text_escaped(sandbox):
    from test_watch import base, watching

    folder = base(sandbox)
    with watching(sandbox, folder, "--log-format", "json") as watch:
        time.sleep(QUIET + 0.1)
        sandbox.sh(f"ip link add {p(NOT_UTF8)} group {OWNER_GROUP} type bridge")
        line = watch.wait_for(r"kernel event")
    assert json.loads(line)["detail"] == "link a\\xffb changed", line
    assert "\\udc" not in watch.log.read_text(), "no lone surrogate (raw bytes of the name) in the log"


def test_mounts_under_run_netns_that_are_no_namespace_neither_hang_nor_break_a_command(sandbox):
    """A FIFO bind-mounted there would block an open() for reading forever; a folder or a plain file
    mounted there cannot be entered: each is foreign, and every command goes on."""
    from test_watch import base, watching

    folder = base(sandbox)
    converge(sandbox, folder)
    fifo = sandbox.workdir / "fifo"
    os.mkfifo(fifo)
    (sandbox.workdir / "plain").write_text("not a namespace\n")
    sandbox.sh(f"touch /run/netns/ff /run/netns/pf && mount --bind {fifo} /run/netns/ff && "
               f"mount --bind {sandbox.workdir}/plain /run/netns/pf && "
               "mkdir /run/netns/dd && mount -t tmpfs none /run/netns/dd")
    try:
        for args in (["plan", "--detailed-exitcode"], ["status"], ["graph", "--live", "-o", "dot"], ["apply"]):
            command = " ".join([sys.executable, "-m", "reconciler", args[0], str(folder), *args[1:]])
            result = sandbox.sh(command, check=False, timeout=20)
            assert result.returncode == 0, f"{args}: exit {result.returncode}\n{clean(result)}{result.stderr}"
        with watching(sandbox, folder):
            pass
        clean(sandbox.nr("destroy", str(folder)))
        assert sorted(sandbox.sh("ls /run/netns").stdout.split()) == ["dd", "ff", "pf"]
    finally:
        sandbox.sh(f"timeout 2 sh -c 'echo > {fifo}'", check=False)  # frees a reader left blocked by a regression


# A namespace removed by hand at a chosen moment of an observation: a Reader (where observe reads
# namespaces from, as the watch's cache is one) that runs `ip netns del` at that moment.
RACE = """
import subprocess, sys
from reconciler import engine
from reconciler.errors import NetreconcileError
from reconciler.kernel.session import Kernel
from reconciler.kernel.observe import Reader
from reconciler.input.validate import load_manifests

class Racing(Reader):
    def {hook}(self, name, *args):
        {before}
        state = super().{hook}(name, *args)
        {after}
        return state

try:
    with Kernel() as kernel:
        plan = engine.plan(load_manifests([sys.argv[1]]), kernel, Racing())
    print("plan:", *(str(step) for step in plan.steps), sep="\\n")
except NetreconcileError as err:
    print("error:", err)
"""
GONE = "subprocess.run(['ip', 'netns', 'del', name], check=True) if name == 'e1' else None"


def race(sandbox, path, hook: str, before: str = "pass", after: str = "pass") -> str:
    script = sandbox.write("race.py", RACE.format(hook=hook, before=before, after=after))
    result = sandbox.sh(f"{sys.executable} {script} {path}", check=False)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stdout + result.stderr
    return result.stdout


def test_a_namespace_removed_after_it_was_read_and_before_its_sysctls_is_a_clear_error(sandbox):
    sysctls = {"net.ipv4.ping_group_range": "0 1"}
    path = write(sandbox, network("a", "172.20.0.0/24"), endpoint("e0", "a"), endpoint("e1", "a", sysctls=sysctls))
    converge(sandbox, path)
    said = race(sandbox, path, "namespace_state", after=GONE)
    assert said.startswith("error: netns e1 was removed while netreconcile was reading or changing it"), said


def test_a_namespace_removed_between_listing_and_reading_is_absent_not_foreign(sandbox):
    path = write(sandbox, network("a", "172.20.0.0/24"), endpoint("e0", "a"), endpoint("e1", "a"))
    converge(sandbox, path)
    said = race(sandbox, path, "namespace_state", before=GONE)
    assert said.startswith("plan:") and "\n+ netns e1\n" in said + "\n", said


def test_a_route_with_our_mark_through_a_link_whose_name_is_not_text_is_never_adopted(sandbox):
    path = write(sandbox, network("a", "172.20.0.0/24"), endpoint("e0", "a"))
    converge(sandbox, path)
    for ns, raw, dst in ((None, NOT_UTF8, "203.0.113.0/24"), ("e0", IN_NS, "198.51.100.0/24")):
        ip = f"ip -n {ns}" if ns else "ip"
        sandbox.sh(f"{ip} link add {p(raw)} type veth peer name {p(raw + 'p')} && {ip} link set {p(raw)} up && "
                   f"{ip} link set {p(raw + 'p')} up && {ip} route add {dst} dev {p(raw)} proto {ROUTE_PROTO}")
    routes = snapshot(sandbox, "ip route | cat -v", "ip -n e0 route | cat -v")
    assert sandbox.plan_exitcode(path) == 0
    for args in (["status"], ["apply"]):
        clean(sandbox.nr(args[0], str(path), *args[1:]))
    assert_unchanged(sandbox, routes)


def test_our_veth_moved_to_a_bridge_whose_name_is_not_text_is_planned_back_with_that_name_escaped(sandbox):
    path = write(sandbox, network("a", "172.20.0.0/24"), endpoint("e0", "a"))
    veth = host_veth(converge(sandbox, path), "e0")
    sandbox.sh(f"ip link add {p(NOT_UTF8)} type bridge && ip link set {veth} master {p(NOT_UTF8)}")
    code, planned = plan(sandbox, path)
    assert code == 2 and "master: a\\xffb -> br-a" in planned, planned
    drifted = next(o for o in status(sandbox, path) if o["kind"] == "veth")
    assert drifted["detail"] == "master: a\\xffb -> br-a", drifted
    clean(sandbox.nr("apply", str(path)))
    assert sandbox.plan_exitcode(path) == 0


def test_an_alias_of_ours_rewritten_by_hand_with_bytes_that_are_not_text_is_shown_escaped_and_repaired(sandbox):
    path = write(sandbox, network("a", "172.20.0.0/24"), endpoint("e0", "a"))
    converge(sandbox, path)
    alias = r"netreconcile:network/\377"
    sandbox.sh(f"ip link set br-a alias {p(alias)}")
    code, planned = plan(sandbox, path)
    assert code == 2 and "owner: network/\\xff -> network/a" in planned, planned
    assert "\\udc" not in sandbox.nr("plan", str(path), "-o", "json").stdout
    clean(sandbox.nr("apply", str(path)))
    assert sandbox.plan_exitcode(path) == 0


# A bug in an applier (here: a route's create raising ValueError, as a malformed value would) in the
# middle of an apply: the steps already done must be undone all the same.
BUGGY_APPLY = """
import sys
from reconciler import engine
from reconciler.appliers.routes import RouteApplier
from reconciler.errors import ApplyError
from reconciler.kernel.session import Kernel
from reconciler.input.validate import load_manifests

def create(self, obj):
    raise ValueError("injected bug")

RouteApplier.create = create
try:
    with Kernel() as kernel:
        engine.apply(load_manifests([sys.argv[1]]), kernel)
except ApplyError as err:
    print("error:", err)
"""


def test_an_unexpected_exception_in_a_step_is_rolled_back_like_any_failure(sandbox):
    from test_safety import state

    base = write(sandbox, network("a", "172.20.0.0/24"), endpoint("e0", "a"))
    converge(sandbox, base)
    before = state(sandbox)
    more = write(sandbox, network("a", "172.20.0.0/24"), endpoint("e0", "a"), endpoint("e1", "a"), name="m2/net.yaml")
    script = sandbox.write("buggy.py", BUGGY_APPLY)
    result = sandbox.sh(f"{sys.executable} {script} {more}", check=False)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stdout + result.stderr
    assert "unexpected ValueError: injected bug" in result.stdout and "Rolled back" in result.stdout, result.stdout
    assert state(sandbox) == before


CREATE = """
import os, sys
from reconciler.kernel import netns
home = os.stat("/proc/thread-self/ns/net").st_ino
def refuse():
    raise OSError(5, "refused while the namespace is made")
for name, prepare in (("made", lambda: None), ("failed", refuse)):
    try:
        netns.create(name, prepare)
    except OSError as err:
        print(name, "error:", err)
    print(name, "home" if os.stat("/proc/thread-self/ns/net").st_ino == home else "AWAY",
          "named" if os.path.ismount(netns.path(name)) else "absent" if not os.path.lexists(netns.path(name)) else "LEFT")
"""


def test_a_namespace_made_comes_back_home_and_one_whose_making_fails_leaves_no_entry(sandbox):
    script = sandbox.write("create.py", CREATE)
    result = sandbox.sh(f"{sys.executable} {script}", check=False)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stdout + result.stderr
    assert result.stdout.splitlines() == ["made home named", "failed error: [Errno 5] refused while the namespace is made",
                                          "failed home absent"], result.stdout


ECHO = """
from reconciler.appliers.common import namespace_fd
from reconciler.kernel import netns
from reconciler.kernel.linkreq import veth_data
from reconciler.kernel.rtnl_client import RtnlClient
from reconciler.kernel.session import Kernel
netns.create("e")
with Kernel() as kernel, namespace_fd("e") as fd:
    for n in range(3):  # other links first: the indexes differ from a fresh namespace's
        kernel.raw("e").new_link(f"pad{n}", "bridge", group=0)
    made = kernel.raw(None).new_link("h0", "veth", group=7, data=veth_data("c0", 7, None, None, fd))
    print(made.name, made.index == kernel.raw(None).link_index("h0"), made.link == kernel.raw("e").link_index("c0"))
"""


def test_a_veth_made_is_echoed_with_both_ends_indexes(sandbox):
    # the veth applier keeps these instead of asking for them: a wrong one would change another link
    script = sandbox.write("echo.py", ECHO)
    result = sandbox.sh(f"{sys.executable} {script}", check=False)
    assert result.stdout.split() == ["h0", "True", "True"], result.stdout + result.stderr


BORN_ELSEWHERE = """
from reconciler.appliers.common import namespace_fd
from reconciler.kernel import netns
from reconciler.kernel.session import Kernel
netns.create("e")
with Kernel() as kernel, namespace_fd("e") as fd:
    kernel.raw("e")  # a socket of ours in that namespace, which may hold the same port id as the host's
    print(kernel.raw(None).new_link("born", "bridge", group=0, netns_fd=fd))
    print(kernel.raw("e").link_index("lo"), kernel.raw("e").link_index("born") > 1)
"""


def test_a_link_born_in_another_namespace_leaves_no_echo_on_our_socket_there(sandbox):
    # an echo sent from there goes to our port id there: read as the answer to the next request
    script = sandbox.write("born.py", BORN_ELSEWHERE)
    result = sandbox.sh(f"{sys.executable} {script}", check=False)
    assert result.stdout.split() == ["None", "1", "True"], result.stdout + result.stderr
