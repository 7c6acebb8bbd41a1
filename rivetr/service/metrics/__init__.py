"""/metrics: what Rivetr reports to Prometheus, read at scrape time from the read model and from
the counters the proxy, the event store and the samplers keep; never a second record."""
