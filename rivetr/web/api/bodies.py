"""Request bodies made from commands: every field of the command but those the path gives."""

from __future__ import annotations

from typing import Any

import msgspec


def body_of(command: type[msgspec.Struct], name: str, *taken: str) -> type[msgspec.Struct]:
    """A request body: every field of `command` but those the path gives (`taken`)."""
    return msgspec.defstruct(
        name,
        [
            (field.name, field.type, _default_of(field))
            for field in msgspec.structs.fields(command)
            if field.name not in taken
        ],
        kw_only=True,
        frozen=True,
        forbid_unknown_fields=True,
    )


def _default_of(field: msgspec.structs.FieldInfo) -> Any:
    if field.default_factory is not msgspec.NODEFAULT:
        return msgspec.field(default_factory=field.default_factory)
    return field.default
