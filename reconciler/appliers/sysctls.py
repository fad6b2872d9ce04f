"""Sysctls, written under /proc/sys from inside their namespace. Never removed (not prunable)."""

from __future__ import annotations

from reconciler.appliers.registry import Applier, register
from reconciler.model import Sysctl


@register("sysctl")
class SysctlApplier(Applier[Sysctl]):
    """A sysctl set from inside its namespace."""

    def create(self, obj: Sysctl) -> None:
        self.kernel.write_sysctl(obj.ns, obj.name, obj.value)

    def delete(self, obj: Sysctl) -> None:
        """Sysctls are not owned objects: leaving the value is what Docker does too."""
