"""The host's upstream servers and search domains, read from resolv.conf (reconciler/resolver/upstream.py)."""

from __future__ import annotations

from reconciler.kernel.resolvconf import ResolvConf, parse, read
from reconciler.resolver.upstream import choose_servers, host_servers

STUB = "# This is /run/systemd/resolve/stub-resolv.conf\nnameserver 127.0.0.53\noptions edns0 trust-ad\nsearch corp.example lab.example\n"
RESOLVED = "nameserver 192.0.2.1\nnameserver 2001:db8::1\nnameserver 192.0.2.2\nnameserver 192.0.2.3\nsearch corp.example\n"


def test_nameservers_in_order_comments_and_junk_left_out():
    conf = parse("# nameserver 10.9.9.9\nnameserver 192.0.2.1 # main\n nameserver\tfe80::1%eth0\n"
                 "nameserver not-an-address\nnameserver\n; nameserver 10.8.8.8\noptions ndots:2\n")
    assert conf.servers == ("192.0.2.1", "fe80::1%eth0")


def test_the_last_search_or_domain_line_gives_the_search_domains():
    assert parse("search a.example b.example\n").search == ("a.example", "b.example")
    assert parse("search a.example\ndomain c.example\n").search == ("c.example",)
    assert parse("domain c.example\nsearch a.example b.example\n").search == ("a.example", "b.example")
    assert parse("search .\n").search == ()
    assert parse("nameserver 192.0.2.1\n").search == ()


def test_a_local_stub_only_is_replaced_by_systemd_resolveds_upstream_list_at_most_three():
    assert choose_servers(parse(STUB), parse(RESOLVED)) == ("192.0.2.1", "2001:db8::1", "192.0.2.2")


def test_a_stub_without_an_upstream_list_is_kept_we_forward_from_the_hosts_namespace():
    assert choose_servers(parse(STUB), None) == ("127.0.0.53",)
    assert choose_servers(parse("nameserver ::1\n"), ResolvConf()) == ("::1",)


def test_real_servers_beside_a_stub_are_used_as_they_are():
    assert choose_servers(parse("nameserver 127.0.0.53\nnameserver 192.0.2.9\n"), parse(RESOLVED)) == (
        "127.0.0.53", "192.0.2.9")


def test_read_from_files(tmp_path):
    host, systemd = tmp_path / "resolv.conf", tmp_path / "systemd.conf"
    host.write_text(STUB)
    assert host_servers(host, systemd) == ("127.0.0.53",)
    systemd.write_text(RESOLVED)
    assert host_servers(host, systemd) == ("192.0.2.1", "2001:db8::1", "192.0.2.2")
    assert read(host).search == ("corp.example", "lab.example")
    assert host_servers(tmp_path / "missing", systemd) == ()
    assert read(tmp_path / "missing") is None
