"""The field types the compose model's parts share: each a plain type, annotated with how the
file's other shapes of it are read (`Seconds` from `1m30s`, `Labels` from `K=V` items)."""

from __future__ import annotations

from typing import Annotated, Any

from rivetr.domain.compose import long_form, units
from rivetr.domain.compose.typed import At, Parsed


def _seconds(value: Any, at: At) -> Any:
    return value if value is None else units.seconds(value)


def _bytes(value: Any, at: At) -> Any:
    return value if value is None else units.byte_size(value)


Seconds = Annotated[float, Parsed(_seconds)]  # a Go duration, in seconds
Bytes = Annotated[int, Parsed(_bytes)]  # a size, in bytes (-1: unlimited)
Strings = Annotated[list[str], Parsed(long_form.string_list)]  # one string or a list
Command = Annotated[list[str], Parsed(long_form.command)]  # a shell line split into words
Labels = Annotated[dict[str, str], Parsed(long_form.labels)]  # a mapping or `K=V` items
# a mapping or `K=V` items; a bare `K` (None) takes its value from the stack's variables
Variables = Annotated[dict[str, str | None], Parsed(long_form.environment)]
Options = dict[str, str]  # a driver's options: numbers are taken as their text
Hosts = Annotated[dict[str, list[str]], Parsed(long_form.extra_hosts)]
Mode = Annotated[int, Parsed(long_form.mode)]  # a file mode; text is octal
