"""Ports to the outside world: the event store, container engines, git, builders, proxy, ACME."""
