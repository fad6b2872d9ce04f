"""The host: rtnetlink, namespaces, nftables, events, capabilities, and our files under /run and
/etc/netns read and written without following links; imports planning and below."""
