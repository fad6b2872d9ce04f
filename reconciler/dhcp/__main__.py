"""`python -m reconciler.dhcp [--state-dir DIR] [--lease-dir DIR] [--daemon]`: the DHCP lease keeper."""

from reconciler.dhcp.main import main

raise SystemExit(main())
