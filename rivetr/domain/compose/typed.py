"""Plain loaded data made into the model's Structs, one key at a time, so that every refusal
names the key at fault (`services.web.ports[0]`) and its line: msgspec's own errors write a
mapping's key as `[...]`, which would lose the service's name.

A field of the model may carry `Parsed(parse)` in its `Annotated` type: `parse` turns what the
file wrote (a short syntax) into the long form before the field is built."""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import msgspec

from rivetr.domain.compose import units
from rivetr.domain.compose.where import ComposeError, DataPath, Where

EXTENSIONS = "extensions"  # the field that keeps a Struct's `x-*` keys, where it has one


@dataclass(frozen=True, slots=True)
class At:
    """Where a value sits in the loaded data: its path, and the map of the file's lines."""

    path: DataPath
    where: Where

    def child(self, part: str | int) -> At:
        return At((*self.path, part), self.where)

    def refuse(self, problem: str) -> ComposeError:
        return ComposeError(problem, key=self.path, where=self.where)

    def place(self, path: DataPath, written: DataPath) -> None:
        """Record that `path` of the long form was written where `written` was."""
        location = self.where.of(written)
        if location is not None:
            self.where.add(path, location)


Parse = Callable[[Any, At], Any]


@dataclass(frozen=True, slots=True)
class Parsed:
    """A field's short syntaxes: `parse(value, at)` returns the long form (or raises
    `units.UnitError` or `ComposeError`)."""

    parse: Parse


def build(value: Any, hint: Any, at: At) -> Any:
    """`value` as the type `hint`, its parts converted as compose-go converts them."""
    while get_origin(hint) is Annotated:
        hint, *extras = get_args(hint)
        for extra in extras:
            if isinstance(extra, Parsed):
                try:
                    value = extra.parse(value, at)
                except units.UnitError as exc:
                    raise at.refuse(str(exc)) from None
    origin = get_origin(hint)
    if hint is Any:
        return value
    if origin is Union or origin is types.UnionType:
        return _union(value, get_args(hint), at)
    if value is None:
        raise at.refuse(f"expected {_expected(hint)}, got nothing")
    if isinstance(hint, type) and issubclass(hint, msgspec.Struct):
        return _struct(value, hint, at)
    if origin is list:
        if not isinstance(value, list):
            raise at.refuse(f"expected a list, got {_shown(value)}")
        (item,) = get_args(hint)
        return [build(one, item, at.child(index)) for index, one in enumerate(value)]
    if origin is dict:
        if not isinstance(value, Mapping):
            raise at.refuse(f"expected a mapping, got {_shown(value)}")
        _, item = get_args(hint)
        return {str(key): build(one, item, at.child(str(key))) for key, one in value.items()}
    if origin is Literal:
        choices = get_args(hint)
        if value not in choices:
            raise at.refuse(f"expected one of {', '.join(map(str, choices))}, got {_shown(value)}")
        return value
    return _scalar(value, hint, at)


def _union(value: Any, members: tuple[Any, ...], at: At) -> Any:
    if value is None and type(None) in members:
        return None
    others = [member for member in members if member is not type(None)]
    if len(others) == 1:
        return build(value, others[0], at)
    for member in others:  # a scalar already of one member's type is kept as it is
        if type(value) is member:
            return value
    for member in others:
        if member is not str:
            try:
                return build(value, member, at)
            except ComposeError:
                continue
    return build(value, str, at) if str in others else build(value, others[0], at)


_SCALARS: dict[Any, Callable[[object], object]] = {
    str: units.text,
    int: units.whole,
    float: units.number,
    bool: units.boolean,
}


def _scalar(value: Any, hint: Any, at: At) -> Any:
    convert = _SCALARS.get(hint)
    if convert is None:
        raise TypeError(f"the compose model has a type the reader does not build: {hint!r}")
    try:
        return convert(value)
    except units.UnitError as exc:
        raise at.refuse(str(exc)) from None


def _struct(value: Any, cls: type[msgspec.Struct], at: At) -> msgspec.Struct:
    if not isinstance(value, Mapping):
        raise at.refuse(f"expected a mapping, got {_shown(value)}")
    fields = _fields(cls)
    built: dict[str, Any] = {}  # by attribute name
    extensions: dict[str, Any] = {}
    for raw_key, item in value.items():
        key = str(raw_key)
        if key.startswith("x-"):
            extensions[key] = item
            continue
        field = fields.get(key)
        if field is None or key == EXTENSIONS:
            raise at.child(key).refuse(
                f"unknown key `{key}`: the Compose Specification has no such key here"
            )
        if item is None and not field.required and not _takes_none(field.type):
            continue  # `ports:` with nothing under it is no ports, as compose-go reads it
        built[field.name] = build(item, field.type, at.child(key))
    missing = [key for key, field in fields.items() if field.required and field.name not in built]
    if missing:
        raise at.refuse(f"`{missing[0]}` is required here")
    if extensions and EXTENSIONS in fields:
        built[EXTENSIONS] = extensions
    return cls(**built)


@cache
def _fields(cls: type[msgspec.Struct]) -> dict[str, msgspec.structs.FieldInfo]:
    return {field.encode_name: field for field in msgspec.structs.fields(cls)}


def _takes_none(hint: Any) -> bool:
    while get_origin(hint) is Annotated:
        hint, *extras = get_args(hint)
        if any(isinstance(extra, Parsed) for extra in extras):
            return True  # its parser decides what nothing means
    return hint is Any or (
        get_origin(hint) in (Union, types.UnionType) and type(None) in get_args(hint)
    )


def _expected(hint: Any) -> str:
    if isinstance(hint, type) and issubclass(hint, msgspec.Struct):
        return "a mapping"
    named = {list: "a list", dict: "a mapping", str: "text", int: "a whole number"}
    return named.get(get_origin(hint) or hint, "a value")


def _shown(value: Any) -> str:
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."


class Spec(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True
):
    """A part of the model: only the Specification's keys (its `x-*` keys are read and
    dropped, except where a part keeps them in `extensions`)."""
