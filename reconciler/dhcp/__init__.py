"""The DHCP lease keeper: one process keeping a lease per endpoint interface on an `ipam: {mode: dhcp}`
network (`codec`: the wire format, pure; `exchange`: the messages; `client`: one interface's RFC 2131
states; `netio`: its socket, address and route; `lease`: leases on disk; `keeper`; `main`). A layer of the commands (as the resolver): imports
process, kernel, model and errors."""
