"""Weighing a compose project key by key against tables of rules: a key is run, refused with
a reason, or read and ignored with a warning, and a key no rule names is refused. `support.py`
holds the tables of what Rivetr runs."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import msgspec

from rivetr.domain.compose.refusals import Collected, reading_order
from rivetr.domain.compose.where import DataPath, Location, dotted

RUN: Final = "run"  # a key Rivetr runs (or `policy.py` weighs)


@dataclass(frozen=True, slots=True)
class Refused:
    reason: str


@dataclass(frozen=True, slots=True)
class Ignored:
    warning: str


@dataclass(slots=True)
class Weighing:
    """The refusals and warnings found so far."""

    found: Collected
    _warnings: list[tuple[Location | None, str]] = field(default_factory=list)

    def warn(self, message: str, path: DataPath) -> None:
        at = self.found.where.of(path)
        text = f"{at}: {dotted(path)}: {message}" if at else f"{dotted(path)}: {message}"
        self._warnings.append((at, text))

    def warnings(self) -> tuple[str, ...]:
        """In the order of the file, as the refusals are."""
        ordered = sorted(self._warnings, key=lambda one: reading_order(one[0]))
        return tuple(text for _, text in ordered)


Weigh = Callable[[Any, DataPath, Weighing], None]
Rule = str | Refused | Ignored | Weigh
Rules = Mapping[str, Rule]


def weigh(part: msgspec.Struct, rules: Rules, path: DataPath, weighing: Weighing) -> None:
    """Each key `part` sets, by its rule; a key without a rule is refused."""
    for name, value in _set(part):
        at = (*path, name)
        match rules.get(name):
            case None:
                weighing.found.refuse(f"Rivetr does not run `{name}` here", at)
            case Refused(reason):
                weighing.found.refuse(reason, at)
            case Ignored(warning):
                weighing.warn(warning, at)
            case str():
                pass
            case check:
                check(value, at, weighing)


def _set(part: msgspec.Struct) -> list[tuple[str, Any]]:
    """The fields of `part` that are not at their defaults."""
    found = []
    for info in msgspec.structs.fields(part):
        value = getattr(part, info.name)
        if info.default is not msgspec.NODEFAULT:
            default = info.default
        elif info.default_factory is not msgspec.NODEFAULT:
            default = info.default_factory()
        else:
            default = msgspec.NODEFAULT
        if value != default:
            found.append((info.encode_name, value))
    return found


def each(rules: Rules) -> Weigh:
    """Weigh every Struct of a list or a mapping by `rules`."""

    def check(value: Any, path: DataPath, weighing: Weighing) -> None:
        items = value.items() if isinstance(value, Mapping) else enumerate(value)
        for key, part in items:
            weigh(part, rules, (*path, key), weighing)

    return check


def nested(rules: Rules) -> Weigh:
    def check(value: Any, path: DataPath, weighing: Weighing) -> None:
        weigh(value, rules, path, weighing)

    return check


def one_of(*allowed: object, reason: str) -> Weigh:
    """A value Rivetr runs only when it is one of `allowed`."""

    def check(value: Any, path: DataPath, weighing: Weighing) -> None:
        if value not in allowed:
            weighing.found.refuse(reason.format(value=value), path)

    return check
