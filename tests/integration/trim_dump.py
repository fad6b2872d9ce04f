"""Run inside a sandbox by test_nsread_trim.py: this namespace's links, each parsed from the kernel's
message and from nsread's trimmed one, with the two dumps' sizes, and observe's Link of each made both
ways (Link.of a parsed message, Link.read of a trimmed one, as a one-shot observe's parent reads), as JSON."""

import json
import socket

from reconciler.kernel import nsread, rtnl
from reconciler.kernel.observe_objects import Link
from reconciler.kernel.rtnl_client import EVERY_LINK, RtnlClient

COUNTERS = {3, 6}  # IFLA_INET6_STATS, IFLA_INET6_ICMP6STATS


def counters(m):
    spec = rtnl.attrs(m, rtnl.IFINFOMSG.size).get(rtnl.IFLA_AF_SPEC)
    inet6 = rtnl.attrs(spec).get(socket.AF_INET6) if spec is not None else None
    return sorted(rtnl.attrs(inet6).keys() & COUNTERS) if inet6 is not None else None


client = RtnlClient()
whole = client.dump_bytes(rtnl.RTM_GETLINK, EVERY_LINK)
client.close()
trimmed = nsread.trimmed_links(whole)
print(json.dumps({"whole": [repr(rtnl.parse_link(m)) for _, m in rtnl.messages(whole)],
                  "trimmed": [repr(rtnl.parse_link(m)) for _, m in rtnl.messages(trimmed)],
                  "sizes": [len(whole), len(trimmed)],
                  "link_of": [repr(Link.of(rtnl.parse_link(m))) for _, m in rtnl.messages(whole)],
                  "link_read": [repr(Link.read(m)) for _, m in rtnl.messages(trimmed)],
                  "counters": [counters(m) for _, m in rtnl.messages(whole)]}))
