"""The Prometheus text exposition format (version 0.0.4), written by hand: a metric family is a
name, a HELP line, a TYPE and its samples. A few dozen lines instead of prometheus_client, whose
registry and import would cost memory in every idle process for what is one string per scrape
(https://prometheus.io/docs/instrumenting/exposition_formats/)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Literal, NamedTuple

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
Labels = tuple[tuple[str, str], ...]
Kind = Literal["counter", "gauge", "histogram"]


class Sample(NamedTuple):
    labels: Labels
    value: float
    suffix: str = ""  # a histogram's _bucket, _sum, _count


class Family(NamedTuple):
    name: str  # rivetr_..., a counter's ending in _total
    help: str
    kind: Kind
    samples: list[Sample]


def render(families: Iterable[Family]) -> str:
    """The text Prometheus scrapes: each family's HELP and TYPE, then its samples."""
    lines = []
    for family in families:
        lines.append(f"# HELP {family.name} {_help(family.help)}")
        lines.append(f"# TYPE {family.name} {family.kind}")
        for sample in family.samples:
            lines.append(
                f"{family.name}{sample.suffix}{_labels(sample.labels)} {number(sample.value)}"
            )
    lines.append("")
    return "\n".join(lines)


def histogram(
    labels: Labels, cumulative: Sequence[tuple[float, int]], total: float
) -> list[Sample]:
    """A histogram's samples: a bucket per (upper bound, observations at or below it), the
    last +Inf, whose count is the histogram's; then the sum and the count."""
    samples = [
        Sample((*labels, ("le", number(bound))), count, "_bucket") for bound, count in cumulative
    ]
    count = cumulative[-1][1] if cumulative else 0
    samples += [Sample(labels, total, "_sum"), Sample(labels, count, "_count")]
    return samples


def number(value: float) -> str:
    """A sample value as the format spells it: integers without a point, +Inf, NaN."""
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(value)


def _labels(labels: Labels) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{name}="{_escape(value)}"' for name, value in labels)
    return "{" + inner + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")
