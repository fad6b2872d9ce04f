"""`python -m reconciler.resolver [--state-dir DIR] [--daemon] ...`: the embedded DNS resolver."""

from reconciler.resolver.main import main

raise SystemExit(main())
