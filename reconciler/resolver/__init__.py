"""The embedded DNS resolver, Docker's 127.0.0.11: one long-running process holding a UDP and a TCP
socket on 127.0.0.11:53 inside every asker's namespace, answering the names of its networks from the
state the planner wrote, forwarding the rest from the host's namespace. A command: may import every
layer below (model, kernel); only the commands layer (cli, watch) may import it."""
