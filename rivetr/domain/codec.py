"""Turning events into stored bytes and back, upcasting old shapes on the way in."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from rivetr.domain.errors import DomainError, InvalidCommand
from rivetr.domain.events import EVENT_TYPES, AnyEvent, Event, event_tag, schema_version

# (old body, the event's position in the log) -> the body one version on
Upcaster = Callable[[dict[str, Any], int], dict[str, Any]]


class UnknownEventType(ValueError):
    """A stored event has a type this code does not know (written by a newer Rivetr?)."""


class UnreadableEvent(DomainError):
    """A stored event that does not decode as its type (a value an older Rivetr let in, or a
    type from a newer one). Its stream cannot be decided on any more; every other can."""

    title = "Unreadable event"
    status = 409


class InvalidEvent(InvalidCommand):
    """An event that would not read back as its own type (a number past its bound, say): the
    log refuses it, since a reader could never make sense of it afterwards."""


_encoder = msgspec.json.Encoder()
_decoders: dict[str, msgspec.json.Decoder[Any]] = {}


def _decoder_for(tag: str) -> msgspec.json.Decoder[Any]:
    decoder = _decoders.get(tag)
    if decoder is None:
        event_type = EVENT_TYPES.get(tag)
        if event_type is None:
            raise UnknownEventType(tag)
        decoder = _decoders[tag] = msgspec.json.Decoder(event_type)
    return decoder


def _domain_to_domains(old: dict[str, Any], position: int) -> dict[str, Any]:
    domain = old.pop("domain", None)
    old["domains"] = [domain] if domain else []
    return old


def legacy_app_id(name: str, position: int) -> str:
    """The id of an app created before apps had ids: its name and where it was created. A
    dot is in no app name and no minted id, so the two kinds never meet."""
    return f"{name}.{position}"


def _app_id_from_creation(old: dict[str, Any], position: int) -> dict[str, Any]:
    old["app_id"] = legacy_app_id(old["name"], position)
    return old


# (type, from_version) -> function turning that shape into the shape of from_version + 1.
UPCASTERS: dict[tuple[str, int], Upcaster] = {
    ("app.created", 1): _domain_to_domains,
    ("app.created", 2): _app_id_from_creation,
}


def encode(event: Event) -> tuple[str, int, bytes]:
    """Return the event's tag, current schema version and JSON body.

    Structs are not checked when they are built, only when they are decoded: the body is
    decoded once here, so that nothing enters the log that its readers would refuse.

    Raises:
        InvalidEvent: the event breaks a constraint of its type.
    """
    tag = event_tag(event)
    data = _encoder.encode(event)
    try:
        _decoder_for(tag).decode(data)
    except msgspec.ValidationError as exc:
        raise InvalidEvent(f"{tag} cannot be recorded: {exc}") from exc
    return tag, schema_version(tag), data


def decode(tag: str, version: int, data: bytes, position: int = 0) -> AnyEvent:
    """Decode a stored event, upcasting it first when it was written in an older shape. Some
    upcasters need to know where the event stands in the log (`position`).

    Raises:
        UnknownEventType: when no event type with that tag exists.
        msgspec.ValidationError: when the body does not fit the shape it claims.
    """
    current = schema_version(tag)
    if version == current:
        # a decoder for the one type the row names: msgspec checks the body's tag against it,
        # and skips trying the rest of the union (a rebuild decodes every event of the log)
        event: AnyEvent = _decoder_for(tag).decode(data)
        return event
    if version > current:
        raise UnknownEventType(f"{tag} v{version} is newer than this Rivetr knows (v{current})")
    body: dict[str, Any] = msgspec.json.decode(data)
    for step in range(version, current):
        body = UPCASTERS[(tag, step)](body, position)
    body["type"] = tag
    return msgspec.convert(body, AnyEvent)  # type: ignore[no-any-return]
