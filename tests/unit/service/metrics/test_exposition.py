"""The Prometheus text format as written: HELP and TYPE before each family's samples, labels
escaped, numbers spelt as the format has them, histograms cumulative with +Inf, _sum, _count."""

from __future__ import annotations

import math

from rivetr.adapters.histograms import Histogram
from rivetr.service.metrics.exposition import (
    Family,
    histogram,
    labels,
    number,
    render,
    sample,
)


def test_a_family_is_its_help_and_type_then_its_samples() -> None:
    text = render(
        [
            Family(
                "rivetr_things_total",
                "Things, counted.",
                "counter",
                [sample(labels(("app", "web"), ("code", "200")), 3), sample("", 1.5)],
            )
        ]
    )
    assert text == (
        "# HELP rivetr_things_total Things, counted.\n"
        "# TYPE rivetr_things_total counter\n"
        'rivetr_things_total{app="web",code="200"} 3\n'
        "rivetr_things_total 1.5\n"
    )


def test_label_values_and_help_are_escaped() -> None:
    text = render(
        [Family("rivetr_x", 'a\\b\nc "q"', "gauge", [sample(labels(("app", 'a"b\\c\nd')), 1)])]
    )
    assert '# HELP rivetr_x a\\\\b\\nc "q"\n' in text
    assert 'rivetr_x{app="a\\"b\\\\c\\nd"} 1\n' in text


def test_numbers_are_spelt_as_the_format_has_them() -> None:
    assert [number(v) for v in (0, 7, 2.0, 0.25, math.inf, -math.inf, math.nan)] == [
        "0",
        "7",
        "2.0",
        "0.25",
        "+Inf",
        "-Inf",
        "NaN",
    ]
    assert number(1e300) == "1e+300"


def test_a_histogram_is_cumulative_up_to_inf_with_its_sum_and_count() -> None:
    seen = Histogram((0.1, 1.0))
    for value in (0.05, 0.1, 0.5, 3.0):
        seen.observe(value)

    assert histogram(labels(("app", "web")), seen.cumulative(), seen.sum) == [
        '_bucket{app="web",le="0.1"} 2',  # a value on a bound belongs to its bucket
        '_bucket{app="web",le="1"} 3',
        '_bucket{app="web",le="+Inf"} 4',
        '_sum{app="web"} 3.65',
        '_count{app="web"} 4',
    ]
    assert histogram("", seen.cumulative(), seen.sum)[0] == '_bucket{le="0.1"} 2'
