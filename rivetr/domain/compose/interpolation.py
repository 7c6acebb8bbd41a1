"""Compose's interpolation of `$VAR` and `${VAR...}` in values, as the Compose Specification and
compose-go read it: `${VAR:-default}`, `${VAR-default}`, `${VAR:?err}`, `${VAR?err}`,
`${VAR:+replacement}`, `${VAR+replacement}`, nested in one another, and `$$` for a `$`.

`${{scope.KEY}}` is not interpolation here: it is Rivetr's reference to a shared variable or a
resource's output, resolved at deploy time (`rivetr/domain/references.py`), so it is left as it
is written (`$${{` is `$` then the text `{{`, so still a reference: `$$${{` leaves the `$${{`
that references read as a literal `${{`). A template is parsed whole before anything is looked
up, so a typo is refused even in a default that is not taken."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from rivetr.domain.compose.bounds import MAX_VALUE_CHARACTERS
from rivetr.domain.compose.nodes import Map, Seq, refusal
from rivetr.domain.compose.where import DataPath, Location

Lookup = Callable[[str], str | None]

_NAME: Final = re.compile(r"[_A-Za-z][_A-Za-z0-9]*")
_OPERATORS: Final = (":-", ":?", ":+", "-", "?", "+")
_REFERENCE: Final = "${{"


class TemplateError(ValueError):
    """A value that is not a valid template, or names a required variable that is not set."""


@dataclass(frozen=True, slots=True)
class Variable:
    name: str
    operator: str  # "" for `$VAR` and `${VAR}`
    argument: tuple[Part, ...] = ()


Part = str | Variable


def parse(text: str) -> tuple[Part, ...]:
    """The literal text and the variables of `text`, in order.

    Raises:
        TemplateError: a `$` that starts nothing, or a `${` that is not closed or names no
            variable.
    """
    parts, _ = _parse(text, 0, nested=False)
    return parts


def _parse(text: str, start: int, *, nested: bool) -> tuple[tuple[Part, ...], int]:
    parts: list[Part] = []
    literal: list[str] = []
    at = start
    while True:
        dollar = text.find("$", at)
        brace = text.find("}", at) if nested else -1
        if brace >= 0 and (dollar < 0 or brace < dollar):
            literal.append(text[at:brace])
            return _joined(parts, literal), brace
        if dollar < 0:
            if nested:
                raise TemplateError(f"{text!r}: a `${{` is not closed by `}}`")
            literal.append(text[at:])
            return _joined(parts, literal), len(text)
        literal.append(text[at:dollar])
        following = text[dollar + 1 : dollar + 2]
        if following == "$":
            literal.append("$")
            at = dollar + 2
        elif text.startswith(_REFERENCE, dollar):
            end = text.find("}}", dollar + 3)
            at = dollar + 3 if end < 0 else end + 2
            literal.append(text[dollar:at])
        elif following == "{":
            variable, at = _braced(text, dollar + 2)
            parts += [*_joined((), literal), variable]
            literal = []
        else:
            name = _NAME.match(text, dollar + 1)
            if name is None:
                raise TemplateError(
                    f"{text!r}: a `$` that starts no variable (write `$$` for a `$`)"
                )
            parts += [*_joined((), literal), Variable(name.group(), "")]
            literal = []
            at = name.end()


def _braced(text: str, start: int) -> tuple[Variable, int]:
    name = _NAME.match(text, start)
    if name is None:
        raise TemplateError(f"{text!r}: `${{` is followed by no variable name")
    at = name.end()
    if text.startswith("}", at):
        return Variable(name.group(), ""), at + 1
    operator = next((op for op in _OPERATORS if text.startswith(op, at)), None)
    if operator is None:
        raise TemplateError(
            f"{text!r}: `${{{name.group()}` goes on with neither `}}` nor one of :- - :? ? :+ +"
        )
    argument, end = _parse(text, at + len(operator), nested=True)
    return Variable(name.group(), operator, argument), end + 1


def _joined(parts: tuple[Part, ...] | list[Part], literal: list[str]) -> tuple[Part, ...]:
    text = "".join(literal)
    return (*parts, text) if text else tuple(parts)


def substitute(text: str, lookup: Lookup) -> tuple[str, list[str]]:
    """`text` with its variables replaced, and the names of the unset ones read as "".

    Raises:
        TemplateError: `text` is not a valid template, a `:?`/`?` variable is missing (the
            message is the one written after it), or the result is too long.
    """
    if "$" not in text:
        return text, []
    unset: list[str] = []
    value = _render(parse(text), lookup, unset)
    if len(value) > MAX_VALUE_CHARACTERS:
        raise TemplateError(f"a value interpolates to over {MAX_VALUE_CHARACTERS:,} characters")
    return value, unset


def _render(parts: tuple[Part, ...], lookup: Lookup, unset: list[str]) -> str:
    out: list[str] = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
            continue
        value = lookup(part.name)
        empty = value is None or (value == "" and part.operator.startswith(":"))
        match part.operator:
            case "":
                if value is None:
                    unset.append(part.name)
                out.append(value or "")
            case ":-" | "-":
                out.append(_render(part.argument, lookup, unset) if empty else value or "")
            case ":?" | "?":
                if empty:
                    message = _render(part.argument, lookup, unset)
                    raise TemplateError(
                        f"required variable {part.name} is missing a value: {message}"
                    )
                out.append(value or "")
            case _:  # ":+" and "+"
                out.append("" if empty else _render(part.argument, lookup, unset))

    return "".join(out)


def interpolate(root: Map, lookup: Lookup) -> list[tuple[str, Location | None]]:
    """Interpolate every text value of `root` in place (keys are left as written).

    Returns:
        Each variable read as "" because it is not set, with where it was first used.

    Raises:
        ComposeError: a value is not a valid template or misses a required variable; named
            with its key and line.
    """
    unset: dict[str, Location | None] = {}

    def walk(value: Any, path: DataPath, at: Location | None) -> Any:
        if isinstance(value, Map):
            for key, item, key_at in value.entries():
                value[key] = walk(item, (*path, key), key_at or at)
        elif isinstance(value, Seq):
            for index, item, item_at in value.entries():
                value[index] = walk(item, (*path, index), item_at or at)
        elif isinstance(value, str):
            try:
                text, names = substitute(value, lookup)
            except TemplateError as exc:
                raise refusal(str(exc), path, at) from exc
            for name in names:
                unset.setdefault(name, at)
            return text
        return value

    walk(root, (), None)
    return list(unset.items())
