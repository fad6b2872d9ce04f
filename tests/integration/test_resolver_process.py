"""The resolver process (python -m reconciler.resolver) with real clients inside namespaces: dig and
glibc (getent) at 127.0.0.11, dnsmasq upstreams behind a veth, a dead upstream (its packets dropped by
nftables), reloads by SIGHUP and the stop by SIGTERM."""

from __future__ import annotations

import json
import re
import shlex
import sys
import time

import pytest

from reconciler.model.dns import DnsAsker, DnsNetwork, DnsState

UP1, UP2, UP3 = "198.51.100.53", "198.51.100.54", "198.51.100.55"  # dnsmasq: UP3 REFUSES every query
DEAD = ("198.51.100.97", "198.51.100.98", "198.51.100.99")  # in the upstream's namespace, dropped there
RUN = "/run/netreconcile/resolver"
MANY = tuple(f"10.7.0.{i}" for i in range(1, 61))
FRONT = DnsNetwork(ttl=7, names={"web": ("10.0.0.2", "fd00::2"), "db": ("10.0.0.3",),
                                 "api": ("10.0.0.4", "10.0.0.5", "10.0.0.6", "10.0.0.7"), "many": MANY},
                   ptr={"10.0.0.2": "web.front", "fd00::2": "web.front"})
BACK = DnsNetwork(ttl=30, names={"cache": ("10.9.0.8",)}, ptr={"10.9.0.8": "cache.back"})
DNSMASQ = ("timeout 300 dnsmasq -k --no-resolv --no-hosts --bind-interfaces --port 53 --user=root --pid-file= "
           "--listen-address={address} {records} >/dev/null 2>&1 </dev/null & echo $!")


def state(**askers: DnsAsker) -> DnsState:
    return DnsState(networks={"front": FRONT, "back": BACK}, askers=askers)


STATE = state(a=DnsAsker(networks=("front",)),
              b=DnsAsker(networks=("back",), servers=(UP3, UP1, UP2)),
              i=DnsAsker(networks=("back",), forward=False))


class Lab:
    """Askers a, b, i (lo only), an upstream namespace with two dnsmasq servers behind the veth `uplink`,
    and the resolver started with --daemon."""

    def __init__(self, sandbox) -> None:
        self.box = sandbox
        self.upstreams: list[str] = []

    def build(self, namespaces: tuple[str, ...] = ("a", "b", "i")) -> None:
        for ns in namespaces:
            self.netns(ns)
        self.box.sh("ip netns add up && ip -n up link set lo up && ip link add uplink type veth peer name upstream0 netns up"
                    " && ip addr add 198.51.100.1/24 dev uplink && ip link set uplink up && ip -n up link set upstream0 up"
                    " && ip -n up addr add 198.51.100.2/24 dev upstream0"
                    + "".join(f" && ip -n up addr add {a}/32 dev lo" for a in (UP1, UP2, UP3, *DEAD)))
        self.box.sh("ip netns exec up nft 'add table inet dead; add chain inet dead in { type filter hook input priority 0; };"
                    f" add rule inet dead in ip daddr {{ {', '.join(DEAD)} }} drop'")
        self.dnsmasq(UP1, "--address=/example.test/192.0.2.7 --address=/#/")  # NXDOMAIN for the rest
        self.dnsmasq(UP2, "--address=/example.test/192.0.2.8 --address=/gone.test/192.0.2.66")
        self.dnsmasq(UP3, "")
        resolv = self.box.write("host-resolv.conf", f"nameserver {UP1}\nsearch lab.example\n")
        self.box.sh(f"mount --bind {resolv} /etc/resolv.conf && mkdir -p -m 700 {RUN}")
        # DNS only: the uplink also sends IPv6 router solicitations and the like on its own, at any time
        self.box.sh("nft 'add table inet count; add chain inet count out { type filter hook output priority 0; };"
                    " add rule inet count out oifname uplink meta l4proto { udp, tcp } th dport 53 counter'")

    def netns(self, ns: str) -> None:
        self.box.sh(f"ip netns add {ns} && ip -n {ns} link set lo up && mkdir -p /etc/netns/{ns} && "
                    f"printf 'nameserver 127.0.0.11\\noptions ndots:0 timeout:2 attempts:1\\n' > /etc/netns/{ns}/resolv.conf")

    def dnsmasq(self, address: str, records: str) -> None:
        pid = self.box.sh(f"ip netns exec up {DNSMASQ.format(address=address, records=records)}").stdout.split()[0]
        self.upstreams.append(pid)
        self.box.sh(f"for i in $(seq 50); do ip netns exec up ss -lun | grep -q '{address}:53 ' && exit 0; sleep 0.1; done; exit 1")

    def write_state(self, doc: DnsState) -> None:
        source = self.box.write("state.json", doc.to_json())
        self.box.sh(f"cp {source} {RUN}/.state.json.new && mv {RUN}/.state.json.new {RUN}/state.json")

    def start(self, doc: DnsState = STATE, *flags: str) -> None:
        self.write_state(doc)
        self.box.sh(" ".join([shlex.quote(sys.executable), "-m", "reconciler.resolver", "--daemon", *flags]))

    def status(self) -> dict | None:
        said = self.box.sh(f"cat {RUN}/status.json", check=False)
        return json.loads(said.stdout) if said.returncode == 0 else None

    def reload(self, doc: DnsState) -> None:
        self.write_state(doc)
        self.box.sh(f"kill -HUP {self.status()['pid']}")
        deadline = time.monotonic() + 10
        while (self.status() or {}).get("digest") != doc.digest:
            assert time.monotonic() < deadline, "the resolver did not reload"
            time.sleep(0.05)

    def dig(self, ns: str, args: str) -> str:
        return self.box.sh(f"ip netns exec {ns} dig @127.0.0.11 +tries=1 +time=8 {args}", check=False).stdout

    def short(self, ns: str, args: str) -> list[str]:
        return self.dig(ns, f"+short {args}").split()

    def rcode(self, ns: str, args: str) -> str:
        found = re.search(r"status: (\w+)", self.dig(ns, args))
        return found.group(1) if found else "(no answer)"

    def millis(self, ns: str, args: str) -> int:
        return int(re.search(r"Query time: (\d+) msec", self.dig(ns, args)).group(1))

    def inode(self, ns: str) -> int:
        return int(self.box.sh(f"stat -L -c %i /run/netns/{ns}").stdout)

    def uplink_packets(self) -> int:
        return int(re.search(r"packets (\d+)", self.box.sh("nft list table inet count").stdout).group(1))

    def close(self) -> None:
        for pid in self.upstreams:  # in a namespace of their own: the sandbox's close would not see them
            self.box.sh(f"kill {pid}", check=False)


@pytest.fixture
def lab(sandbox):
    built = Lab(sandbox)
    try:
        built.build()
        built.start()
        yield built
    finally:
        built.close()


def test_names_of_the_askers_networks_and_nxdomain_for_those_of_others(lab):
    assert lab.short("a", "web") == ["10.0.0.2"]
    assert lab.short("a", "WEB.") == ["10.0.0.2"]
    assert lab.short("b", "cache") == ["10.9.0.8"]
    assert lab.short("i", "cache") == ["10.9.0.8"]
    assert lab.rcode("a", "cache") == "NXDOMAIN"  # forwarded: UP1 has no such name (ndots:0 asks it as is)
    assert re.search(r"web\.\s+7\s+IN\s+A\s+10\.0\.0\.2", lab.dig("a", "web"))


def test_several_addresses_come_in_more_than_one_order(lab):
    orders = lab.box.sh("ip netns exec a sh -c 'for n in $(seq 15); do dig @127.0.0.11 +short api | tr \"\\n\" \" \"; "
                        "echo; done'").stdout.strip().splitlines()
    assert len(orders) == 15 and all(sorted(o.split()) == ["10.0.0.4", "10.0.0.5", "10.0.0.6", "10.0.0.7"] for o in orders)
    assert len(set(orders)) > 1


def test_aaaa_of_a_name_without_ipv6_is_an_empty_noerror_and_ptr_answers(lab):
    assert lab.short("a", "web AAAA") == ["fd00::2"]
    assert lab.rcode("a", "db AAAA") == "NOERROR" and lab.short("a", "db AAAA") == []
    assert lab.short("a", "-x 10.0.0.2") == ["web.front."]
    assert lab.short("a", "-x fd00::2") == ["web.front."]
    assert lab.short("b", "-x 10.9.0.8") == ["cache.back."]


def test_glibc_resolves_through_it(lab):
    assert lab.box.sh("ip netns exec a getent hosts web").stdout.split() == ["fd00::2", "web"]
    ahosts = lab.box.sh("ip netns exec a getent ahosts web").stdout
    assert "10.0.0.2" in ahosts and "fd00::2" in ahosts
    assert lab.box.sh("ip netns exec a getent ahosts db").stdout.split()[0] == "10.0.0.3"
    assert lab.box.sh("ip netns exec a getent hosts www.example.test").stdout.split() == ["192.0.2.7", "www.example.test"]
    assert lab.box.sh("ip netns exec a getent hosts cache", check=False).returncode == 2  # not on a's networks


def test_forwarding_to_the_hosts_servers_and_to_the_askers_own(lab):
    assert lab.short("a", "www.example.test") == ["192.0.2.7"]  # the bind-mounted /etc/resolv.conf: UP1
    assert lab.short("b", "www.example.test") == ["192.0.2.7"]  # b's servers: UP3 refuses, UP1 answers


def test_nxdomain_is_passed_through_not_asked_again(lab):
    assert lab.rcode("b", "x.gone.test") == "NXDOMAIN"  # from UP1; UP2 would have answered 192.0.2.66


def test_a_dead_upstream_then_a_live_one_answers_and_all_dead_is_servfail_within_the_bound(lab):
    lab.reload(state(d=DnsAsker(networks=("front",), servers=(DEAD[0], UP2)),
                     z=DnsAsker(networks=("front",), servers=DEAD)))
    # reload() waited for a status.json listing d and z: askers whose namespace did not exist yet
    assert set(lab.status()["serving"]) == set()
    for ns in ("d", "z"):
        lab.netns(ns)
    lab.reload(state(d=DnsAsker(networks=("front",), servers=(DEAD[0], UP2)),
                     z=DnsAsker(networks=("front",), servers=DEAD), a=DnsAsker(networks=("front",))))
    assert set(lab.status()["serving"]) == {"a", "d", "z"}
    assert lab.short("d", "www.example.test") == ["192.0.2.8"]
    assert 1400 <= lab.millis("d", "www.example.test") < 3000
    started = time.monotonic()
    assert lab.rcode("z", "www.example.test") == "SERVFAIL"
    took = time.monotonic() - started
    assert 4.4 <= took < 5.0, took
    assert lab.short("a", "web") == ["10.0.0.2"]


def test_a_query_waiting_on_upstream_does_not_hold_up_other_askers(lab):
    lab.netns("z")
    lab.reload(state(a=DnsAsker(networks=("front",)), z=DnsAsker(networks=("front",), servers=DEAD)))
    lab.box.sh("ip netns exec z dig @127.0.0.11 +tries=1 +time=8 www.example.test >/dev/null 2>&1 &")
    time.sleep(0.3)
    started = time.monotonic()
    assert lab.short("a", "web") == ["10.0.0.2"] and lab.short("a", "www.example.test") == ["192.0.2.7"]
    assert time.monotonic() - started < 1.0


def test_an_internal_asker_is_refused_what_it_does_not_know_and_nothing_leaves(lab):
    before = lab.uplink_packets()
    assert lab.rcode("i", "www.example.test") == "SERVFAIL"
    assert lab.rcode("i", "-x 192.0.2.7") == "SERVFAIL"
    assert lab.box.sh("ip netns exec i getent hosts www.example.test", check=False).returncode == 2
    assert lab.uplink_packets() == before
    assert lab.short("b", "www.example.test") == ["192.0.2.7"]
    assert lab.uplink_packets() > before  # the counter does count what is forwarded


def test_truncated_over_udp_whole_over_tcp(lab):
    cut = lab.dig("a", "+noedns +ignore many")
    assert re.search(r"flags:[^;]* tc", cut)
    assert 0 < len(re.findall(r"IN\s+A\s+10\.7\.0\.", cut)) < 60
    assert sorted(lab.short("a", "+tcp many")) == sorted(MANY)
    assert sorted(lab.short("a", "+noedns many")) == sorted(MANY)  # dig retries over TCP on TC
    assert sorted(lab.short("a", "+bufsize=4096 +ignore many")) == sorted(MANY)


def test_tcp_serves_several_queries_on_one_connection(lab):
    said = lab.box.sh("ip netns exec a dig @127.0.0.11 +tcp +keepopen +short web db cache", check=False).stdout.split()
    assert said == ["10.0.0.2", "10.0.0.3"]


def test_status_lists_the_inode_of_each_namespace_served_and_leaves_out_one_that_is_not_there(lab):
    status = lab.status()
    assert status["digest"] == STATE.digest and status["formatVersion"] == 1
    assert status["serving"] == {ns: lab.inode(ns) for ns in ("a", "b", "i")}
    lab.reload(state(a=DnsAsker(networks=("front",)), ghost=DnsAsker(networks=("front",))))
    assert lab.status()["serving"] == {"a": lab.inode("a")}
    assert lab.short("a", "web") == ["10.0.0.2"]


def test_sighup_adds_and_removes_askers_without_losing_a_query_of_the_kept_one(lab):
    lab.netns("c")
    pid = lab.status()["pid"]
    loop = "for n in $(seq 400); do dig @127.0.0.11 +tries=1 +time=2 +short web; done"
    lab.box.sh(f"ip netns exec a sh -c '{loop}' > {lab.box.workdir}/loop.out 2>&1 & echo $! > {lab.box.workdir}/loop.pid")
    time.sleep(0.5)
    lab.reload(state(a=DnsAsker(networks=("front",)), c=DnsAsker(networks=("back",))))
    lab.reload(state(a=DnsAsker(networks=("front",)), c=DnsAsker(networks=("front", "back"))))
    lab.box.sh(f"while kill -0 $(cat {lab.box.workdir}/loop.pid) 2>/dev/null; do sleep 0.1; done", timeout=120)
    answers = (lab.box.workdir / "loop.out").read_text().split()
    assert answers == ["10.0.0.2"] * 400
    assert lab.status()["pid"] == pid and set(lab.status()["serving"]) == {"a", "c"}
    assert lab.short("c", "cache") == ["10.9.0.8"] and lab.short("c", "web") == ["10.0.0.2"]
    assert "connection refused" in lab.dig("b", "cache")


def test_a_namespace_removed_is_let_go_at_once_without_a_reload(lab):
    # its socket would keep the removed namespace alive, and the links in it: status must drop it unasked
    assert "a" in lab.status()["serving"]
    lab.box.sh("ip netns del a")
    deadline = time.monotonic() + 5
    while "a" in lab.status()["serving"] and time.monotonic() < deadline:
        time.sleep(0.01)
    assert "a" not in lab.status()["serving"] and "b" in lab.status()["serving"]


def test_a_namespace_replaced_under_its_name_is_served_again_after_sighup(lab):
    old = lab.inode("a")
    lab.box.sh("ip netns del a")
    lab.netns("a")
    assert lab.inode("a") != old
    lab.reload(state(a=DnsAsker(networks=("front",)), b=DnsAsker(networks=("back",), servers=(UP1,))))  # b kept
    assert lab.status()["serving"]["a"] == lab.inode("a")
    assert lab.short("a", "web") == ["10.0.0.2"]


def test_a_namespace_mounted_again_under_its_name_without_removing_it_is_served_again_after_sighup(lab):
    """No entry removed, so no inotify event: only the mount table says the name is another
    namespace now (what the resolver's listing kept since its last load is looked at again there)."""
    lab.netns("spare")
    lab.box.sh("umount /run/netns/a && mount --bind /run/netns/spare /run/netns/a")
    assert lab.inode("a") == lab.inode("spare")
    lab.reload(state(a=DnsAsker(networks=("front",)), b=DnsAsker(networks=("back",), servers=(UP1,))))
    assert lab.status()["serving"]["a"] == lab.inode("a")
    assert lab.short("a", "web") == ["10.0.0.2"]


def test_a_namespace_named_after_the_start_then_mounted_again_under_its_name_is_served_again(lab):
    """The same for a namespace whose mount the resolver saw made: only the entry whose mounts
    changed is looked at again, and it is (a kept listing would keep the sockets of the old one)."""
    lab.netns("late")
    lab.reload(state(a=DnsAsker(networks=("front",)), late=DnsAsker(networks=("front",))))
    assert lab.status()["serving"]["late"] == lab.inode("late")
    lab.netns("spare")
    lab.box.sh("umount /run/netns/late && mount --bind /run/netns/spare /run/netns/late")
    lab.reload(state(late=DnsAsker(networks=("front",))))
    assert lab.status()["serving"] == {"late": lab.inode("spare")}
    assert lab.short("late", "web") == ["10.0.0.2"]


def test_sigterm_closes_everything_and_removes_status(lab):
    pid = lab.status()["pid"]
    lab.box.sh(f"kill -TERM {pid}; for n in $(seq 50); do kill -0 {pid} 2>/dev/null || exit 0; sleep 0.1; done; exit 1")
    assert lab.status() is None
    assert "connection refused" in lab.dig("a", "web")


def test_a_second_resolver_refuses_to_start_and_says_which_runs(lab):
    said = lab.box.sh(f"{shlex.quote(sys.executable)} -m reconciler.resolver --daemon", check=False)
    assert said.returncode == 1 and f"another resolver runs (pid {lab.status()['pid']})" in said.stderr
    assert lab.short("a", "web") == ["10.0.0.2"]


def test_a_state_that_cannot_be_read_stops_a_start_and_is_refused_on_reload(sandbox):
    lab = Lab(sandbox)
    lab.netns("a")
    sandbox.sh(f"mkdir -p -m 700 {RUN} && echo '{{\"formatVersion\": 9}}' > {RUN}/state.json")
    said = sandbox.sh(f"{shlex.quote(sys.executable)} -m reconciler.resolver --daemon", check=False)
    assert said.returncode == 1 and "state.json: not a resolver state" in said.stderr
    lab.start(state(a=DnsAsker(networks=("front",), forward=False)))
    sandbox.sh(f"echo garbage > {RUN}/state.json && kill -HUP {lab.status()['pid']} && sleep 0.5")
    assert lab.status()["digest"] == state(a=DnsAsker(networks=("front",), forward=False)).digest
    assert lab.short("a", "web") == ["10.0.0.2"]
    assert "reload refused" in sandbox.sh(f"cat {RUN}/resolver.log").stdout


def test_more_askers_than_the_soft_limit_of_open_files_allows_are_served(sandbox):
    lab = Lab(sandbox)
    names = [f"n{i}" for i in range(40)]  # 80 sockets, a soft limit of 64 descriptors
    sandbox.sh("; ".join(f"ip netns add {ns}; ip -n {ns} link set lo up" for ns in names))
    sandbox.sh(f"mkdir -p -m 700 {RUN}")
    lab.write_state(state(**{ns: DnsAsker(networks=("front",), forward=False) for ns in names}))
    sandbox.sh(f"ulimit -S -n 64 && {shlex.quote(sys.executable)} -m reconciler.resolver --daemon")
    assert set(lab.status()["serving"]) == set(names)
    assert lab.short("n39", "web") == ["10.0.0.2"]
