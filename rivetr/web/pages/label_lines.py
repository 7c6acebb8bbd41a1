"""Labels as a form types them, one KEY=VALUE a line (a server's labels, the labels an app's
copies must find on a server): read into a dict, each key and value checked as the engine and
the API take them, and refused by its line number with what a key or a value may hold, rather
than the pattern the API's decoder would quote."""

from __future__ import annotations

import typing
from typing import Any

import msgspec

from rivetr.domain.errors import InvalidCommand
from rivetr.domain.swarm_events import LabelKey, LabelValue


def parse_labels(text: str, field: str) -> dict[str, str]:
    """The labels `text` sets: blank lines and `#` comments skipped, spaces around each key
    and value dropped.

    Raises:
        InvalidCommand: naming `field` and the line that is no KEY=VALUE, whose key or value
            a label cannot hold, or that sets a key a line before it set.
    """
    labels: dict[str, str] = {}
    for number, typed in enumerate(text.splitlines(), 1):
        line = typed.strip()
        if not line or line.startswith("#"):
            continue
        key, equals, value = (part.strip() for part in line.partition("="))
        if not equals or not key:
            raise InvalidCommand(f"line {number} is not KEY=VALUE: {line!r}", field=field)
        checked(key, LabelKey, f"line {number}: {key!r} is not a label key", field)
        checked(value, LabelValue, f"line {number}: the value of {key} is not a label's", field)
        if key in labels:
            raise InvalidCommand(f"line {number}: {key} is set twice", field=field)
        labels[key] = value
    return labels


def label_lines(labels: dict[str, str]) -> str:
    """`labels` as the form shows them: one KEY=VALUE a line, by key."""
    return "\n".join(f"{key}={value}" for key, value in sorted(labels.items()))


def checked(value: str, kind: Any, said: str, field: str) -> str:
    """`value`, if it is a `kind` (an Annotated str with a described pattern).

    Raises:
        InvalidCommand: naming `field`: what was `said`, then what a `kind` may hold.
    """
    try:
        return str(msgspec.convert(value, kind))
    except msgspec.ValidationError:
        raise InvalidCommand(f"{said} ({rule_of(kind)})", field=field) from None


def rule_of(kind: Any) -> str:
    """What an Annotated type's msgspec.Meta says it holds."""
    said = [m.description for m in typing.get_args(kind)[1:] if isinstance(m, msgspec.Meta)]
    return next((d for d in said if d), "see the API's schema")
