"""Tiny server-rendered charts: a series of numbers as the points of an SVG polyline."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

WIDTH, HEIGHT = 240, 48


class Sparkline(msgspec.Struct, frozen=True):
    points: str  # for <polyline points="...">
    latest: float
    peak: float


def sparkline(values: Sequence[float], floor: float = 1.0) -> Sparkline | None:
    """None for fewer than two values. The scale runs from 0 to the peak (at least `floor`, so
    an idle line stays low rather than filling the chart)."""
    if len(values) < 2:
        return None
    peak = max(max(values), floor)
    step = WIDTH / (len(values) - 1)
    points = " ".join(
        f"{i * step:.1f},{HEIGHT - (v / peak) * (HEIGHT - 2) - 1:.1f}" for i, v in enumerate(values)
    )
    return Sparkline(points=points, latest=values[-1], peak=max(values))
