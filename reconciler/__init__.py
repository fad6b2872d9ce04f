"""netreconcile: declarative reconciler for Linux container networking."""

__version__ = "0.1.0"
