"""A series as an SVG polyline: scaled from 0 to its peak, an idle series kept low."""

from __future__ import annotations

from rivetr.web.charts import HEIGHT, WIDTH, sparkline


def test_points_span_the_width_and_the_peak_touches_the_top() -> None:
    line = sparkline([0.0, 50.0, 100.0])
    assert line is not None
    points = [tuple(map(float, p.split(","))) for p in line.points.split()]
    assert [x for x, _ in points] == [0.0, WIDTH / 2, float(WIDTH)]
    assert points[0][1] == HEIGHT - 1
    assert points[2][1] == 1.0
    assert (line.latest, line.peak) == (100.0, 100.0)


def test_an_idle_series_stays_low_and_too_few_values_draw_nothing() -> None:
    line = sparkline([0.1, 0.2], floor=5.0)
    assert line is not None
    assert all(float(p.split(",")[1]) > HEIGHT - 4 for p in line.points.split())
    assert sparkline([1.0]) is None
    assert sparkline([]) is None
