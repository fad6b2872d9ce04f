"""Benchmarks: netreconcile next to the CNI reference bridge plugin, in one run (`python -m benchmarks`)."""
