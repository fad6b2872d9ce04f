"""Careless and hostile input refused at validation, before anything changes (issue 15): each refusal
names the file, line and object; what is close to it but fine still validates."""

from __future__ import annotations

from ipaddress import ip_network
from pathlib import Path

import pytest

from reconciler.cli import EXIT_ERROR, build_parser
from reconciler.errors import ManifestError
from reconciler.input import yamlload
from reconciler.input.manifest import load_text
from reconciler.input.validate import load_manifests
from reconciler.input.validate_limits import BRIDGE_PORTS, special_range

REPO = Path(__file__).resolve().parents[2]
API = "apiVersion: netreconcile/v1\n"


def problems(tmp_path: Path, text: str) -> list[str]:
    """What validation reports for `text`, as `LINE:COL: Kind/name: message` (no problem: [])."""
    path = tmp_path / "m.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        load_manifests([str(path)])
    except ManifestError as err:
        return [str(p).removeprefix(f"{path}:") for p in err.problems]
    return []


def network(name: str, subnet: str, extra: str = "") -> str:
    return f"{API}kind: Network\nmetadata: {{name: {name}}}\nspec:\n  driver: bridge\n  ipam: {{subnet: \"{subnet}\"}}\n{extra}---\n"


def endpoint(name: str, interfaces: str, extra: str = "") -> str:
    return f"{API}kind: Endpoint\nmetadata: {{name: {name}}}\nspec:\n  interfaces: {interfaces}\n{extra}---\n"


# --- subnets over ranges the host uses itself ----------------------------------------------------------

@pytest.mark.parametrize("subnet, reason", [
    ("0.0.0.0/0", "overlaps 127.0.0.0/8 (loopback)"), ("0.0.0.0/1", "overlaps 127.0.0.0/8 (loopback)"),
    ("128.0.0.0/1", "overlaps 169.254.0.0/16 (link-local)"), ("127.0.0.0/8", "overlaps 127.0.0.0/8"),
    ("127.5.0.0/16", "overlaps 127.0.0.0/8"), ("169.254.0.0/24", "link-local"), ("224.0.0.0/4", "multicast"),
    ("239.255.0.0/16", "multicast"), ("0.0.0.0/8", "'this network'"), ("0.1.2.0/24", "'this network'"),
    ("240.0.0.0/4", "reserved"), ("255.255.255.0/24", "reserved"), ("10.0.0.0/7", "is wider than /8"),
    ("::/0", "overlaps ::1/128 (loopback)"), ("::/127", "overlaps ::1/128"), ("::/128", "overlaps ::/128 (the unspecified"),
    ("::ffff:0:0/96", "IPv4-mapped"), ("::ffff:10.0.0.0/120", "IPv4-mapped"), ("fe80::/64", "link-local"),
    ("febf:1::/64", "link-local"), ("ff00::/8", "multicast"), ("ff02::/64", "multicast"), ("fc00::/7", "is wider than /16"),
    ("2000::/3", "is wider than /16"),
])
def test_a_subnet_over_a_range_the_host_uses_is_refused(subnet, reason):
    found = special_range(ip_network(subnet))
    assert found is not None and reason in found, found


@pytest.mark.parametrize("subnet", ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "192.0.2.0/24",
                                    "1.0.0.0/8", "223.255.255.0/24", "126.255.255.252/30", "fd00::/16", "fd00:1::/64",
                                    "2001:db8::/32", "::2/127", "::fffe:0:0/96", "fec0::/16"])
def test_ordinary_subnets_are_not_special(subnet):
    assert special_range(ip_network(subnet)) is None


def test_the_whole_internet_as_a_subnet_is_refused_where_it_is_written(tmp_path):
    assert problems(tmp_path, network("all", "0.0.0.0/0") + endpoint("a", "[{network: all}]")) == [
        ("6:10: Network/all: subnet 0.0.0.0/0 overlaps 127.0.0.0/8 (loopback), which the host uses itself: choose a subnet "
         "inside a private range (10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16)")]


def test_a_subnet_in_a_list_is_refused_at_its_own_entry(tmp_path):
    text = (f"{API}kind: Network\nmetadata: {{name: n}}\nspec:\n  driver: bridge\n  enableIPv6: true\n  ipam:\n"
            "    subnets:\n    - {subnet: 172.20.0.0/24}\n    - {subnet: \"fe80::/64\"}\n")
    (found,) = problems(tmp_path, text)
    assert found.startswith("10:8: Network/n: subnet fe80::/64 overlaps fe80::/10 (link-local)"), found


@pytest.mark.parametrize("written, meant", [("10.88.0.77/24", "10.88.0.0/24"), ("172.20.0.1/16", "172.20.0.0/16"),
                                            ("fd00::1/64", "fd00::/64")])
def test_a_cidr_with_host_bits_names_the_network_meant(tmp_path, written, meant):
    six = "  enableIPv4: false\n  enableIPv6: true\n" if ":" in written else ""
    assert problems(tmp_path, network("n", written, six)) == [
        f"6:10: Network/n: subnet {written} has host bits set: the network is {meant} (write that)"]


# --- bridges: how many ports, and the MTU -----------------------------------------------------------------

def crowd(count: int, net: str = "big", host: str = "") -> str:
    spec = f"  host: {host}\n" if host else ""
    return "".join(endpoint(f"{host or 'e'}{i}", f"[{{network: {net}}}]", spec) for i in range(count))


def test_a_bridge_network_holds_as_many_endpoints_as_a_linux_bridge_has_ports(tmp_path):
    assert BRIDGE_PORTS == 1023
    assert problems(tmp_path, network("big", "10.1.0.0/16") + crowd(BRIDGE_PORTS)) == []
    (found,) = problems(tmp_path, network("big", "10.1.0.0/16") + crowd(BRIDGE_PORTS + 1))
    assert found == ("3:12: Network/big: 1024 endpoints attach to network 'big': a Linux bridge holds 1023 ports, room for "
                     f"1023 (the first over is 'e1023', at {tmp_path}/m.yaml:{4 + 6 * 1024}:12)"), found


def test_an_overlay_bridge_keeps_a_port_for_its_vxlan_link_on_each_host(tmp_path):
    hosts = "".join(f"{API}kind: Host\nmetadata: {{name: {h}}}\nspec: {{underlay: {{address: 10.10.0.{i}}}}}\n---\n"
                    for i, h in enumerate(("a", "b"), 11))
    overlay = f"{API}kind: Network\nmetadata: {{name: big}}\nspec:\n  driver: overlay\n  ipam: {{subnet: 10.1.0.0/16}}\n---\n"
    assert problems(tmp_path, hosts + overlay + crowd(BRIDGE_PORTS - 1, host="a") + crowd(9, host="b")) == []
    (found,) = problems(tmp_path, hosts + overlay + crowd(BRIDGE_PORTS, host="a"))
    assert "1023 endpoints attach to network 'big' on host 'a': a Linux bridge holds 1023 ports less its VXLAN link, room for 1022" in found


def test_an_mtu_below_ipv6s_minimum_is_refused_at_the_mtu(tmp_path):
    assert problems(tmp_path, network("n", "172.20.0.0/24", "  mtu: 1280\n")) == []
    (found,) = problems(tmp_path, network("n", "172.20.0.0/24", "  mtu: 1279\n"))
    assert found.startswith("7:3: Network/n: spec.mtu: 1279 is less than the minimum of 1280 (IPv6's minimum"), found


# --- names ---------------------------------------------------------------------------------------------

CONTROL = ["\x00", "\x01", "\x07", "\x08", "\t", "\n", "\r", "\x1b", "\x1f", "\x7f", "\x80", "\x85", "\x9b", "\x9f"]
PLACES = {  # where a name or value is written -> a document with NAME there (JSON-escaped)
    "metadata.name": f"{API}kind: Network\nmetadata: {{name: \"aNAME\"}}\nspec: {{driver: bridge}}\n",
    "netns": endpoint("a", "[]", "  netns: \"aNAME\"\n"),
    "interfaces.0.name": endpoint("a", "[{network: n, name: \"ethNAME\"}]"),
    "aliases": endpoint("a", "[{network: n, aliases: [\"wwwNAME\"]}]"),
    "labels": f"{API}kind: Network\nmetadata: {{name: n, labels: {{app: \"webNAME\"}}}}\nspec: {{driver: bridge}}\n",
    "label key": f"{API}kind: Network\nmetadata: {{name: n, labels: {{\"appNAME\": web}}}}\nspec: {{driver: bridge}}\n",
    "auxAddresses": f"{API}kind: Network\nmetadata: {{name: n}}\nspec:\n  driver: bridge\n"
                    "  ipam: {subnet: 172.20.0.0/24, auxAddresses: {\"rNAME\": 172.20.0.2}}\n",
    "bridge.name": network("n", "172.20.0.0/24", "  bridge: {name: \"brNAME\"}\n"),
    "sysctl value": endpoint("a", "[]", "  sysctls: {net.ipv4.ip_forward: \"1NAME\"}\n"),
    "selector": f"{API}kind: Service\nmetadata: {{name: s}}\nspec: {{network: n, selector: {{app: \"wNAME\"}}, ports: [{{port: 80}}]}}\n",
    "host interface": f"{API}kind: Host\nmetadata: {{name: h}}\nspec: {{underlay: {{address: 10.0.0.1, interface: \"eNAME\"}}}}\n",
}


@pytest.mark.parametrize("place", sorted(PLACES))
@pytest.mark.parametrize("char", CONTROL, ids=[f"U+{ord(c):04X}" for c in CONTROL])
def test_a_control_character_is_refused_in_every_name_and_value(tmp_path, place, char):
    escaped = f"\\x{ord(char):02x}"
    found = problems(tmp_path, PLACES[place].replace("NAME", escaped))
    assert any(f"holds the control character U+{ord(char):04X}: names and values must be printable" in p for p in found), found
    assert all(p.isprintable() for p in found), found


INVISIBLE = {"\u202e": "format character U+202E (RIGHT-TO-LEFT OVERRIDE)", "\u200d": "format character U+200D (ZERO WIDTH JOINER)",
             "\ufeff": "format character U+FEFF (ZERO WIDTH NO-BREAK SPACE)", "\u200b": "format character U+200B (ZERO WIDTH SPACE)",
             "\u2066": "format character U+2066 (LEFT-TO-RIGHT ISOLATE)", "\U000e0041": "format character U+E0041 (TAG LATIN CAPITAL LETTER A)",
             "\u2028": "line separator U+2028", "\u2029": "paragraph separator U+2029"}


@pytest.mark.parametrize("place", sorted(PLACES))
@pytest.mark.parametrize("char", INVISIBLE, ids=[f"U+{ord(c):04X}" for c in INVISIBLE])
def test_an_invisible_or_line_breaking_character_is_refused_in_every_name_and_value(tmp_path, place, char):
    escaped = f"\\u{ord(char):04x}" if ord(char) < 0x10000 else f"\\U{ord(char):08x}"
    found = problems(tmp_path, PLACES[place].replace("NAME", escaped))
    assert any(f"holds the {INVISIBLE[char]}: names and values must be printable" in p for p in found), found
    assert all(p.isprintable() for p in found), found


def test_a_surrogate_pair_escaped_as_json_writes_it_is_one_character_and_a_lone_surrogate_is_refused(tmp_path):
    label = f"{API}kind: Network\nmetadata: {{name: n, labels: {{app: \"LABEL\"}}}}\nspec: {{driver: bridge, ipam: {{subnet: 172.20.0.0/24}}}}\n"
    path = tmp_path / "m.yaml"
    path.write_text(label.replace("LABEL", "\\ud83d\\ude00"), encoding="utf-8")
    assert load_manifests([str(path)]).networks[0].labels == (("app", "\U0001f600"),)
    (found,) = problems(tmp_path, label.replace("LABEL", "a\\ud83d"))
    assert "metadata.labels.app: value 'a\\ud83d' holds the surrogate U+D83D: names and values must be printable" in found


def test_a_file_is_searched_for_surrogate_escapes_once_not_once_per_document(monkeypatch):
    searched: list[int] = []

    class Counting:
        def search(self, text: str) -> object:
            searched.append(len(text))
            return PATTERN.search(text)

    PATTERN = yamlload.SURROGATE_ESCAPE
    monkeypatch.setattr(yamlload, "SURROGATE_ESCAPE", Counting())
    doc = f"{API}kind: Network\nmetadata: {{name: nNUM, labels: {{app: \"LABEL\"}}}}\nspec: {{driver: bridge}}\n"
    docs = [doc.replace("NUM", str(i)).replace("LABEL", "x") for i in range(100)]
    assert len(load_text("---\n".join(docs), "m.yaml")) == 100 and len(searched) == 1
    docs[99] = docs[99].replace('"x"', '"\\ud83d\\ude00"')  # in the last document: still joined
    assert load_text("---\n".join(docs), "m.yaml")[99].data["metadata"]["labels"] == {"app": "\U0001f600"}


def test_annotations_may_hold_invisible_characters_and_problems_never_print_them(tmp_path):
    note = "\\u202e \\u200d \\u2028 \\ufeff"
    text = f"{API}kind: Network\nmetadata:\n  name: n\n  annotations: {{note: \"{note}\"}}\n"
    assert problems(tmp_path, text + "spec: {driver: bridge, ipam: {subnet: 172.20.0.0/24}}\n") == []
    (found,) = problems(tmp_path, text + "spec: {driver: bridge, ipam: {subnet: 172.20.0.0/24}, mtu: \"\\u202e1500\"}\n")
    assert found.isprintable() and "\\u202e" in found, found


def test_annotations_are_free_text(tmp_path):
    text = f"{API}kind: Network\nmetadata:\n  name: n\n  annotations: {{note: \"line one\\nline two\\ttab\"}}\n" \
           "spec: {driver: bridge, ipam: {subnet: 172.20.0.0/24}}\n"
    assert problems(tmp_path, text) == []


@pytest.mark.parametrize("name", ["localhost", "ip6-localhost", "ip6-loopback", "ip6-allnodes", "localhost.localdomain",
                                  "db.localhost"])
def test_names_the_hosts_files_already_give_are_refused_for_endpoints_aliases_and_services(tmp_path, name):
    base = network("n", "172.20.0.0/24")
    assert problems(tmp_path, base + endpoint(name, "[{network: n}]")) == [
        f"10:12: Endpoint/{name}: endpoint name {name!r} is a name every hosts file already gives the loopback: choose another"]
    assert problems(tmp_path, base + endpoint("a", f"[{{network: n, aliases: [{name}]}}]")) == [
        f"12:39: Endpoint/a: alias {name!r} is a name every hosts file already gives the loopback: choose another"]
    service = f"{API}kind: Service\nmetadata: {{name: {name}}}\nspec: {{network: n, selector: {{a: b}}, ports: [{{port: 80}}]}}\n"
    assert problems(tmp_path, base + service) == [
        f"10:12: Service/{name}: service name {name!r} is a name every hosts file already gives the loopback: choose another"]


def test_one_name_on_different_networks_is_no_collision(tmp_path):
    text = (network("front", "172.20.0.0/24") + network("back", "172.21.0.0/24")
            + endpoint("web", "[{network: front, aliases: [db, web]}]") + endpoint("db", "[{network: back, aliases: [api]}]")
            + endpoint("api", "[{network: front, aliases: [cache, cache]}]")
            + f"{API}kind: Service\nmetadata: {{name: cache2}}\nspec: {{network: back, selector: {{a: b}}, ports: [{{port: 80}}]}}\n")
    assert problems(tmp_path, text) == []


def test_an_alias_taken_on_two_networks_is_reported_once_per_network(tmp_path):
    text = (network("front", "172.20.0.0/24") + network("back", "172.21.0.0/24")
            + endpoint("web", "[{network: front}, {network: back}]")
            + endpoint("api", "[{network: front, aliases: [web]}, {network: back, aliases: [web]}]"))
    assert [p.split(": ", 2)[2] for p in problems(tmp_path, text)] == [
        f"alias 'web' is already the name of endpoint 'web' on network 'front' (at {tmp_path}/m.yaml:17:12)",
        f"alias 'web' is already the name of endpoint 'web' on network 'back' (at {tmp_path}/m.yaml:17:12)"]


def test_interface_and_bridge_names_the_kernel_takes_still_validate(tmp_path):
    text = (network("front", "172.20.0.0/24", "  bridge: {name: nrx-br}\n") + network("back-end_2", "172.21.0.0/24")
            + endpoint("a", "[{network: front, name: all0}, {network: back-end_2, name: eth_1-x}]"))
    assert problems(tmp_path, text) == []


def test_a_netns_of_255_bytes_is_fine_and_of_256_refused(tmp_path):
    base = network("n", "172.20.0.0/24")
    assert problems(tmp_path, base + endpoint("a", "[{network: n}]", f"  netns: {'é' * 127}x\n")) == []
    assert problems(tmp_path, base + endpoint("a", "[{network: n}]", f"  netns: {'é' * 127}xy\n")) == [
        "13:3: Endpoint/a: netns is 256 bytes long: a namespace is a file under /run/netns, whose name takes at most 255 bytes"]


# --- sysctls ---------------------------------------------------------------------------------------------

def test_blank_runs_in_a_sysctl_value_are_collapsed_as_the_kernel_reads_them_back(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(network("n", "172.20.0.0/24") + endpoint("a", "[{network: n}]",
                    "  sysctls: {net.ipv4.ping_group_range: \"  0    2147483647 \", net.ipv4.ip_forward: 1}\n"))
    (ep,) = load_manifests([str(path)]).endpoints
    assert ep.sysctls == (("net.ipv4.ip_forward", "1"), ("net.ipv4.ping_group_range", "0 2147483647"))


@pytest.mark.parametrize("key", ["net.ipv4.ip_forward", "net.ipv4.conf.eth0.rp_filter", "net.core.somaxconn",
                                 "net.ipv6.conf.all.disable_ipv6", "net.netfilter.nf_conntrack_max"])
def test_plain_sysctl_keys_validate(tmp_path, key):
    assert problems(tmp_path, network("n", "172.20.0.0/24") + endpoint("a", "[{network: n}]", f"  sysctls: {{{key}: 1}}\n")) == []


@pytest.mark.parametrize("key", ["net..ipv4", "net.ipv4.", "net", "net.ipv4..x", "net.ipv4.conf.eth0/1.x", "kernel.x",
                                 ".net.x", "net.ipv4.x y"])
def test_sysctl_keys_that_are_not_a_dotted_path_under_net_are_refused(tmp_path, key):
    found = problems(tmp_path, network("n", "172.20.0.0/24") + endpoint("a", "[{network: n}]", f"  sysctls: {{\"{key}\": 1}}\n"))
    assert len(found) == 1 and f"{key!r} does not match" in found[0], found


# --- duplicate keys: the same verdict on libyaml's path and on PyYAML's ------------------------------------

DUPLICATED = "a: 1\nb:\n  c: 2\n  \"c\": 3\na: 4\n"


@pytest.mark.parametrize("text", [DUPLICATED, DUPLICATED + "# é\n"], ids=["ascii (libyaml)", "non-ascii (PyYAML)"])
def test_a_key_written_twice_is_refused_naming_both_places(text):
    with pytest.raises(ManifestError) as caught:
        load_text(text, "m.yaml")
    assert [str(p) for p in caught.value.problems] == [
        ("m.yaml:4:3: Document/?: invalid YAML: key 'c' is written twice in one mapping (first at line 3, column 3; "
         "YAML would keep only the last): remove one"),
        ("m.yaml:5:1: Document/?: invalid YAML: key 'a' is written twice in one mapping (first at line 1, column 1; "
         "YAML would keep only the last): remove one")]


@pytest.mark.skipif(yamlload._FastLoader is None, reason="PyYAML without libyaml")
@pytest.mark.parametrize("text, count", [(DUPLICATED, 2), ("x: &m {a: 1, a: 2}\ny: *m\nz: *m\n", 1),
                                         ("- {a: 1}\n- {a: 1, b: 2, b: 3}\n", 1)])
def test_both_parsers_find_the_same_duplicates(text, count):
    def verdict(loader: type) -> list[str]:
        with pytest.raises(ManifestError) as caught:
            yamlload._load(loader, text, "m.yaml")
        return [str(p) for p in caught.value.problems]

    assert verdict(yamlload._FastLoader) == verdict(yamlload._Loader)
    assert len(verdict(yamlload._Loader)) == count  # a mapping reached through several aliases is reported once


@pytest.mark.parametrize("text", ["a: 1\nb: {a: 2}\n", "base: &b {x: 1}\nc:\n  <<: *b\n  x: 2\n", "- {a: 1}\n- {a: 2}\n",
                                  "a: 1\n---\na: 2\n", "'1': a\n1: b\n"])
def test_the_same_key_in_different_mappings_or_over_a_merge_is_fine(text):
    load_text(text, "m.yaml")


def test_a_manifest_with_a_key_written_twice_names_its_object(tmp_path):
    text = network("n", "172.20.0.0/24", "  driver: macvlan\n")
    assert problems(tmp_path, text) == [
        ("7:3: Network/n: invalid YAML: key 'driver' is written twice in one mapping (first at line 5, column 3; "
         "YAML would keep only the last): remove one")]


# --- the command line ------------------------------------------------------------------------------------

def usage_error(capsys, *argv: str) -> str:
    """Parse `argv` in-process (a command line that parses is never run: nothing may touch this machine's
    network); it must be a usage error, exit 1. Returns stderr."""
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(list(argv))
    assert exited.value.code == EXIT_ERROR
    return capsys.readouterr().err


@pytest.mark.parametrize("value", ["0", "-1", "-0.5", "nan", "NaN", "inf", "-inf", "1e308", "86400.5", "sixty", "", "9" * 400])
def test_a_confirm_timeout_that_is_not_a_sane_number_of_seconds_is_a_usage_error(capsys, value):
    stderr = usage_error(capsys, "apply", "manifests/", f"--confirm-timeout={value}")
    assert "usage: netreconcile" in stderr and "argument --confirm-timeout: " in stderr, stderr
    assert "above 0 and at most 86400" in stderr, stderr


@pytest.mark.parametrize("value, seconds", [("60", 60.0), ("0.5", 0.5), ("86400", 86400.0), ("1e3", 1000.0)])
def test_a_sane_confirm_timeout_parses(value, seconds):
    assert build_parser().parse_args(["apply", "m/", "--confirm-timeout", value]).confirm_timeout == seconds


@pytest.mark.parametrize("flag, value", [(f, v) for f in ("--resync", "--debounce") for v in (
    "9" * 400, "9" * 400 + "h", "9" * 400 + ".5ms", "-1", "nan", "inf", "1e3", "", "ten", "86401", "25h")] + [
    ("--debounce", "61"), ("--debounce", "2m")])
def test_a_watch_duration_that_is_not_a_sane_number_of_seconds_is_a_usage_error(capsys, flag, value):
    stderr = usage_error(capsys, "watch", "manifests/", f"{flag}={value}")
    assert "usage: netreconcile watch" in stderr and f"argument {flag}: {value!r}: a duration" in stderr, stderr


@pytest.mark.parametrize("flag, value, seconds", [
    ("--resync", "0", 0.0), ("--resync", "30s", 30.0), ("--resync", "5m", 300.0), ("--resync", "24h", 86400.0),
    ("--resync", "250ms", 0.25), ("--debounce", "0.2s", 0.2), ("--debounce", "0", 0.0), ("--debounce", "1m", 60.0)])
def test_a_sane_watch_duration_parses(flag, value, seconds):
    args = build_parser().parse_args(["watch", "m/", flag, value])
    assert getattr(args, flag.removeprefix("--")) == seconds


# --- hosts ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("address, what", [("0.0.0.0", "the unspecified address"), ("::", "the unspecified address"),
                                           ("127.0.0.1", "a loopback address"), ("::1", "a loopback address"),
                                           ("224.0.0.1", "a multicast address"), ("ff02::1", "a multicast address"),
                                           ("255.255.255.255", "the broadcast address")])
def test_an_underlay_address_no_other_host_can_reach_is_refused(tmp_path, address, what):
    host = f"{API}kind: Host\nmetadata: {{name: h}}\nspec: {{underlay: {{address: \"{address}\"}}}}\n"
    assert problems(tmp_path, host) == [
        f"4:19: Host/h: underlay address {address} is {what}: a VTEP needs an address of this host that the others reach"]
    assert problems(tmp_path, host.replace(address, "10.10.0.11")) == []
