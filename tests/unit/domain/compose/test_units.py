"""Durations, sizes and booleans read as compose-go reads them from text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rivetr.domain.compose.units import (
    UnitError,
    boolean,
    byte_size,
    duration_text,
    number,
    seconds,
    whole,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10s", 10.0),
        ("1m30s", 90.0),
        ("1h", 3600.0),
        ("500ms", 0.5),
        ("1.5s", 1.5),
        ("2h45m", 9900.0),
        ("0", 0.0),
        ("-1s", -1.0),
        ("100us", 0.0001),
    ],
)
def test_a_go_duration_is_read_in_seconds(text: str, expected: float) -> None:
    assert seconds(text) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["10", "s", "1x", "1m 30s", "", "1.2.3s", True, 10])
def test_a_duration_without_its_unit_is_refused(text: object) -> None:
    with pytest.raises(UnitError, match="duration"):
        seconds(text)


@given(st.integers(min_value=0, max_value=10**9))
def test_a_duration_written_back_reads_the_same(millis: int) -> None:
    assert seconds(duration_text(millis / 1000)) == pytest.approx(millis / 1000)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("512m", 512 << 20),
        ("1gb", 1 << 30),
        ("1024", 1024),
        (1024, 1024),
        ("50M", 50 << 20),
        ("1.5k", 1536),
        ("20 GiB", 20 << 30),
        ("10b", 10),
        (-1, -1),
        ("-1", -1),
    ],
)
def test_a_size_is_read_in_bytes_with_binary_units(value: object, expected: int) -> None:
    assert byte_size(value) == expected


@pytest.mark.parametrize("value", ["12q", "m", "-2", -5, True, "1e3"])
def test_what_is_not_a_size_is_refused(value: object) -> None:
    with pytest.raises(UnitError, match="size"):
        byte_size(value)


@given(st.integers(min_value=0, max_value=2**40), st.sampled_from(["", "k", "m", "g", "kb", "MiB"]))
def test_a_size_with_a_unit_is_its_number_times_the_unit(amount: int, unit: str) -> None:
    scale = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "kb": 1 << 10, "MiB": 1 << 20}
    assert byte_size(f"{amount}{unit}") == amount * scale[unit]


def test_yaml_1_1_booleans_and_interpolated_numbers_are_read() -> None:
    assert [boolean(v) for v in ("yes", "On", "TRUE", "n", "off", False)] == [
        True,
        True,
        True,
        False,
        False,
        False,
    ]
    assert (whole("8080"), whole(3.0), number("0.5"), number(2)) == (8080, 3, 0.5, 2.0)
    for bad in (lambda: boolean("maybe"), lambda: whole("8080x"), lambda: number("nan")):
        with pytest.raises(UnitError):
            bad()
