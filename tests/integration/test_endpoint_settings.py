"""What an endpoint's namespace holds besides addresses: declared sysctls, IPv6 switched off where unused."""

from builders import converge, endpoint, host_veth, iface, network, out, plan, write

PING_GROUPS = "net.ipv4.ping_group_range"


def sysctl(sandbox, ns: str | None, key: str) -> str:
    prefix = f"ip netns exec {ns} " if ns else ""
    return " ".join(out(sandbox, f"{prefix}sysctl -n {key}").split())


def test_declared_sysctls_are_set_in_the_endpoint_and_repaired_after_drift(sandbox):
    path = write(sandbox, network("front", "172.20.0.0/24"),
                 endpoint("a", iface("front", "172.20.0.10"), sysctls={PING_GROUPS: "0 2147483647",
                                                                       "net.ipv4.conf.all.arp_ignore": 1}),
                 endpoint("b", iface("front", "172.20.0.11")))
    converge(sandbox, path)
    assert sysctl(sandbox, "a", PING_GROUPS) == "0 2147483647"
    assert sysctl(sandbox, "a", "net.ipv4.conf.all.arp_ignore") == "1"
    assert sysctl(sandbox, "b", PING_GROUPS) == "1 0"  # the kernel's default: only declared ones are set
    assert sysctl(sandbox, None, PING_GROUPS) == "1 0"  # and only inside the endpoint

    sandbox.sh(f"ip netns exec a sysctl -qw {PING_GROUPS}='1 0'")
    code, text = plan(sandbox, path)
    assert code == 2 and PING_GROUPS in text, text
    converge(sandbox, path)
    assert sysctl(sandbox, "a", PING_GROUPS) == "0 2147483647"


def test_interfaces_of_a_network_without_ipv6_have_it_disabled_but_loopback_keeps_it(sandbox):
    path = write(sandbox, network("front", "172.20.0.0/24"), endpoint("a", iface("front", "172.20.0.10")))
    veth = host_veth(converge(sandbox, path), "a")
    assert sysctl(sandbox, "a", "net.ipv6.conf.eth0.disable_ipv6") == "1"
    assert sysctl(sandbox, None, f"net.ipv6.conf.{veth}.disable_ipv6") == "1"
    assert sysctl(sandbox, None, "net.ipv6.conf.br-front.disable_ipv6") == "1"
    assert out(sandbox, "ip -n a -6 addr show dev eth0") == ""  # no link-local address, no autoconfiguration
    assert sysctl(sandbox, "a", "net.ipv6.conf.lo.disable_ipv6") == "0"
    assert "inet6 ::1/128" in out(sandbox, "ip -n a -6 addr show dev lo")
    assert sandbox.ping("a", "::1")
    assert sandbox.ping("a", "127.0.0.1")
