"""The scalar forms a compose file writes as text, read as compose-go reads them: Go durations
(`1m30s`) to seconds, byte sizes (`512m`, `1gb`) to bytes, YAML 1.1 booleans (`yes`, `off`),
and the numbers interpolation left as strings (`"${PORT}"` became `"8080"`)."""

from __future__ import annotations

import math
import re
from typing import Final

# Go's time.ParseDuration units, in seconds
_DURATION_UNITS: Final = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_DURATION_PART: Final = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
# docker/go-units RAMInBytes: binary multiples, an optional `i` and `b`, any case
_SIZE: Final = re.compile(r"(\d+(?:\.\d+)?) ?([kmgtp])?i?b?", re.IGNORECASE)
_SIZE_UNITS: Final = {None: 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}
_TRUE: Final = frozenset({"true", "yes", "y", "on"})
_FALSE: Final = frozenset({"false", "no", "n", "off"})


class UnitError(ValueError):
    """A value that is not in the form its key wants; the message says the form."""


def seconds(value: object) -> float:
    """A Go duration (`1m30s`, `10s`, `1h`, `500ms`, `0`) in seconds.

    Raises:
        UnitError: not a duration (a bare number has no unit, so it is refused).
    """
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise UnitError(f"expected a duration such as 10s or 1m30s, got {value!r}")
    text = str(value).strip()
    sign, body = (-1.0, text[1:]) if text[:1] == "-" else (1.0, text.removeprefix("+"))
    if body == "0":
        return 0.0
    total, end = 0.0, 0
    for part in _DURATION_PART.finditer(body):
        if part.start() != end:
            break
        total += float(part.group(1)) * _DURATION_UNITS[part.group(2)]
        end = part.end()
    if end == 0 or end != len(body):
        raise UnitError(f"expected a duration such as 10s or 1m30s, got {value!r}")
    return sign * total


def duration_text(value: float) -> str:
    """`seconds` written back as Go writes a duration, to the millisecond (`1m30.5s`)."""
    millis = round(abs(value) * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if hours or minutes else "")
    if rest or not text:
        whole, fraction = divmod(rest, 1000)
        text += f"{whole}.{fraction:03d}".rstrip("0").rstrip(".") + "s"
    return ("-" if value < 0 and millis else "") + text


def byte_size(value: object) -> int:
    """A size in bytes: a number, or text with a binary unit (`512m`, `1gb`, `20G`, `1.5k`);
    -1 (unlimited, as `memswap_limit` takes it) is kept.

    Raises:
        UnitError: not a size.
    """
    if isinstance(value, int) and not isinstance(value, bool) and value >= -1:
        return value
    if isinstance(value, float) and value.is_integer() and value >= -1:
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if text == "-1":
            return -1
        found = _SIZE.fullmatch(text)
        if found is not None:
            unit = found.group(2).lower() if found.group(2) else None
            return int(float(found.group(1)) * _SIZE_UNITS[unit])
    raise UnitError(f"expected a size such as 512m or 1gb, got {value!r}")


def boolean(value: object) -> bool:
    """A boolean, or its text as YAML 1.1 writes it (`true`, `yes`, `on`, `n`...), as compose-go
    reads an interpolated one.

    Raises:
        UnitError: neither.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
    raise UnitError(f"expected true or false, got {value!r}")


def number(value: object) -> float:
    """A number (`cpus: 0.5`, `cpus: "1.5"`), finite.

    Raises:
        UnitError: not a finite number.
    """
    if isinstance(value, bool):
        raise UnitError(f"expected a number, got {value!r}")
    try:
        result = float(value) if isinstance(value, int | float | str) else math.nan
    except ValueError:
        result = math.nan
    if not math.isfinite(result):
        raise UnitError(f"expected a number, got {value!r}")
    return result


def whole(value: object) -> int:
    """A whole number (`retries: "3"`, `replicas: 2`).

    Raises:
        UnitError: not a whole number.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip(), 10)
        except ValueError:
            pass
    raise UnitError(f"expected a whole number, got {value!r}")


def text(value: object) -> str:
    """A string; numbers and booleans written unquoted are taken as their text (`user: 1000`,
    a label `42`, an environment value `true`), as compose-go takes them."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str):
        return value
    raise UnitError(f"expected text, got {type(value).__name__}")
