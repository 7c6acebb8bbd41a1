"""The Prometheus text exposition format (version 0.0.4), written by hand: a metric family is a
name, a HELP line, a TYPE and its samples. A few dozen lines instead of prometheus_client, whose
registry and import would cost memory in every idle process for what is one string per scrape
(https://prometheus.io/docs/instrumenting/exposition_formats/)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Literal, NamedTuple

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
Kind = Literal["counter", "gauge", "histogram"]


class Family(NamedTuple):
    name: str  # rivetr_..., a counter's ending in _total
    help: str
    kind: Kind
    # each sample as written after the name: `{app="web"} 3`, `_bucket{le="0.1"} 2` (`sample`
    # and `histogram` write them): written once, as a scrape of many apps has thousands
    samples: list[str]


def render(families: Iterable[Family]) -> str:
    """The text Prometheus scrapes: each family's HELP and TYPE, then its samples."""
    lines = []
    for family in families:
        name = family.name
        lines.append(f"# HELP {name} {_help(family.help)}")
        lines.append(f"# TYPE {name} {family.kind}")
        lines += [name + sample for sample in family.samples]
    lines.append("")
    return "\n".join(lines)


def sample(labels: str, value: float, suffix: str = "") -> str:
    """One sample of a family: its labels (from `labels`) and value, and a histogram's
    suffix."""
    return f"{suffix}{labels} {number(value)}"


@lru_cache(maxsize=4096)
def labels(*pairs: tuple[str, str]) -> str:
    """Label pairs as a sample carries them, each value escaped: `{app="web"}`, or "" for
    none. The same few label sets come back every scrape: each is written once."""
    if not pairs:
        return ""
    return "{" + ",".join(f'{name}="{_escape(value)}"' for name, value in pairs) + "}"


def histogram(base: str, cumulative: Sequence[tuple[float, int]], total: float) -> list[str]:
    """A histogram's samples under the labels `base` (from `labels`): a bucket per (upper
    bound, observations at or below it), the last +Inf, whose count is the histogram's; then
    the sum and the count."""
    bounds = tuple(bound for bound, _ in cumulative)
    written = [
        f"_bucket{where} {count}"
        for where, (_, count) in zip(_bucket_labels(base, bounds), cumulative, strict=True)
    ]
    count = cumulative[-1][1] if cumulative else 0
    written += [sample(base, total, "_sum"), f"_count{base} {count}"]
    return written


def number(value: float) -> str:
    """A sample value as the format spells it: integers without a point, +Inf, NaN."""
    if type(value) is int:
        return str(value)
    if value != value:
        return "NaN"
    if value in (math.inf, -math.inf):
        return "+Inf" if value > 0 else "-Inf"
    return repr(value)


@lru_cache(maxsize=1024)
def _bucket_labels(base: str, bounds: tuple[float, ...]) -> tuple[str, ...]:
    """Each bucket's labels: `base`'s and its `le`, the bound spelt as a number is."""
    inner = base[1:-1] + "," if base else ""
    spelt = [number(int(b) if float(b).is_integer() else b) for b in bounds]
    return tuple(f'{{{inner}le="{bound}"}}' for bound in spelt)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")
