"""Run inside a sandbox by test_nsread_trim.py: this namespace's links, each parsed from the kernel's
message and from nsread's trimmed one, with the two dumps' sizes, as JSON."""

import json

from reconciler.kernel import nsread, rtnl
from reconciler.kernel.rtnl_client import EVERY_LINK, RtnlClient

client = RtnlClient()
whole = client.dump_bytes(rtnl.RTM_GETLINK, EVERY_LINK)
client.close()
trimmed = nsread.trimmed_links(whole)
print(json.dumps({"whole": [repr(rtnl.parse_link(m)) for _, m in rtnl.messages(whole)],
                  "trimmed": [repr(rtnl.parse_link(m)) for _, m in rtnl.messages(trimmed)],
                  "sizes": [len(whole), len(trimmed)]}))
