"""Pure compilation of manifests into desired kernel objects, one module per driver. No I/O here.

planner (Planner, desired_state) uses builder (the Context, built once per plan), endpoint, drivers
(the registry) and through it bridge, lower, overlay; below them services, hostsfiles, firewall and
context. May import spec, model, ipam and plan; its modules never import this package.
"""

from reconciler.planners.builder import build_context, context_for
from reconciler.planners.planner import Planner, desired_state, exposure_notes
from reconciler.planners.sticky import sticky_addresses

__all__ = ["Planner", "build_context", "context_for", "desired_state", "exposure_notes", "sticky_addresses"]
