"""netreconcile: declarative reconciler for Linux container networking."""
