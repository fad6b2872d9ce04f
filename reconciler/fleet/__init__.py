"""A fleet on etcd: manifests pushed to an etcd prefix in one transaction, each host's watch reporting its
status under `<prefix>/.status/<host>` (kept alive by a lease), and the fleet's convergence read back.

May import the input layer (the etcd client, the manifests' loading) and the kernel's run state; the CLI
and the watch import it.
"""
