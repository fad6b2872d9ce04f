"""Applying, with appliers/: the preflight checks, the executor that runs a plan's steps in order, and
removal of what carries our mark; imports the kernel layer and below."""
