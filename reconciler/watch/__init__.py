"""`netreconcile watch`: keep the kernel converged on the manifests (a GitOps loop).

Every trigger leads to the same full, level-based reconcile as `apply`, with the same guards and
rollback (reconciler/watch/reconcile.py; while the source is invalid, the last valid manifests applied stay
enforced): a manifest changed (watchdog, debounced: files.py), the kernel changed one of our objects
(rtnetlink multicast, the events of our own applies muted: gate.py), the periodic resync (the backstop:
at most --resync from one full reconcile to the next, whatever else runs; forced too when events were
lost), or SIGHUP. Triggers wait in one queue (triggers.py); one loop in the main thread reconciles
(loop.py). The lock is held only during each reconcile, so a one-off `apply` can run between two. No
rtnetlink event tells of nftables or sysctl changes: those wait for the resync.

May import the commands' engine (reconcile, runstate, events, metrics); nothing imports it but the CLI.
"""

from reconciler.watch.loop import Options, run

__all__ = ["Options", "run"]
