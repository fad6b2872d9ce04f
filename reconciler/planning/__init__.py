"""Planning, with planners/: the plan (steps, diff), the guards and host checks on it, all pure
(no I/O); imports only the input layer and below."""
