"""The typed spec: a network's options are its driver's, one type per driver (an overlay holding its
own bridge's), so per-driver code narrows them with isinstance; memos on frozen objects stay outside
their values."""

from __future__ import annotations

from dataclasses import replace

from reconciler.frozen import Slot
from reconciler.input.manifest import load_text
from reconciler.input.spec import (
    BridgeOptions,
    LowerOptions,
    Network,
    OverlayOptions,
    default_bridge_name,
    derived_vni,
    overlay_link_names,
    parse_network,
)

NETWORKS = """\
apiVersion: netreconcile/v1
kind: Network
metadata: {name: br}
spec: {driver: bridge, bridge: {icc: false}, ipam: {subnet: 10.1.0.0/24}}
---
apiVersion: netreconcile/v1
kind: Network
metadata: {name: mv}
spec: {driver: macvlan, macvlan: {parent: eth0.60, mode: vepa}, ipam: {subnet: 10.2.0.0/24}}
---
apiVersion: netreconcile/v1
kind: Network
metadata: {name: iv}
spec: {driver: ipvlan, ipvlan: {mode: l3}, ipam: {subnet: 10.3.0.0/24}}
---
apiVersion: netreconcile/v1
kind: Network
metadata: {name: ov}
spec: {driver: overlay, ipam: {subnet: 10.4.0.0/24}}
"""


def networks() -> dict[str, Network]:
    return {d.name: parse_network(d) for d in load_text(NETWORKS, "test.yaml")}


def test_each_driver_has_its_own_options():
    n = networks()
    assert [type(n[name].options) for name in ("br", "mv", "iv", "ov")] == [
        BridgeOptions, LowerOptions, LowerOptions, OverlayOptions]
    assert [n[name].driver for name in ("br", "mv", "iv", "ov")] == ["bridge", "macvlan", "ipvlan", "overlay"]


def test_the_accessors_narrow_to_the_drivers_options():
    n = networks()
    assert n["br"].bridge == BridgeOptions(default_bridge_name("br"), icc=False)
    assert (n["br"].lower, n["br"].overlay) == (None, None)
    assert n["mv"].lower == LowerOptions("macvlan", "eth0.60", "vepa") and n["mv"].bridge is None
    assert n["mv"].lower.vlan == ("eth0", 60) and n["mv"].parent == "eth0.60"
    assert n["iv"].l3 and n["iv"].internal and n["iv"].parent is not None and n["iv"].parent.startswith("dm-")


def test_an_overlay_holds_its_own_bridge():
    ov = networks()["ov"]
    assert isinstance(ov.options, OverlayOptions)
    bridge_name, vxlan_name = overlay_link_names("ov")
    assert ov.options.bridge == BridgeOptions(bridge_name) and ov.bridge is ov.options.bridge
    assert (ov.options.vni, ov.options.vxlan, ov.options.vni_declared) == (derived_vni("ov"), vxlan_name, False)
    assert ov.lower is None and ov.parent is None and ov.mtu is None


def test_a_slot_keeps_a_memo_outside_the_value():
    """What a Slot keeps takes no part in equality, hash, repr or copies made by replace."""
    slot: Slot[str] = Slot("_note")
    br = networks()["br"]
    before = (hash(br), repr(br))
    assert slot.get(br) is None and slot.set(br, "seen") == "seen" and slot.get(br) == "seen"
    again = replace(br)
    assert again == br and (hash(again), repr(again)) == before and slot.get(again) is None
