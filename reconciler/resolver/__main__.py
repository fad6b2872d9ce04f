"""`python -m reconciler.resolver [--state-dir DIR] [--daemon] ...`: the embedded DNS resolver.

The cyclic collector stays off until the first state is served (reconciler/resolver/main.py): what is
made until then (modules, the sockets of every asker) lives on, and its passes (a full one among
them) cost 30 ms of a start at 1000 askers, which apply waits for."""

import gc

gc.disable()

from reconciler.resolver.main import main  # after the collector is off (see above)

raise SystemExit(main())
