"""What the long-running processes that apply starts (the DNS resolver, the DHCP lease keeper) share:
detaching with a readiness pipe (`daemon`), and their files under /run/netreconcile/<name>/ (`files`:
a lock held while one runs, status written whole, a log), `serve` (lock, signals, reloads) and
`netnswatch`, and `heap` (the collector between two rounds of work, which the watch shares). A layer of the commands: may import the engine's layers below (kernel, model, errors)."""
