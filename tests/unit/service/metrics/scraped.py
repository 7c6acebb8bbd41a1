"""Reading rendered metrics back in tests: each sample line as `name{labels}` -> its value."""

from __future__ import annotations

from rivetr.service.metrics.exposition import Family, render


def scraped(families: list[Family]) -> dict[str, float]:
    found = {}
    for line in render(families).splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            found[key] = float(value)
    return found
