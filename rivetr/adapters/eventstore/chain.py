"""The SHA-256 chain over the log: each event's hash covers its content and the previous hash,
so changing, removing or reordering any stored event breaks every hash after it."""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from collections.abc import Iterable

import msgspec

from rivetr.adapters.eventstore.base import GENESIS_HASH, EventMeta, RecordedEvent
from rivetr.adapters.eventstore.redaction import Redacted, refusal
from rivetr.domain import codec
from rivetr.domain.events import Event

_encode = msgspec.json.encode


def link_hash(
    prev_hash: str,
    position: int,
    stream_id: str,
    version: int,
    type_: str,
    schema_version: int,
    data: bytes,
    event_id: str,
    recorded_at: str,
    actor: str,
    correlation_id: str | None,
    causation_id: str | None,
    team: str | None = None,
    source: str | None = None,
    resource: str | None = None,
) -> str:
    header_fields: list[object] = [
        position,
        stream_id,
        version,
        type_,
        schema_version,
        event_id,
        recorded_at,
        actor,
        correlation_id,
        causation_id,
    ]
    # events from before these fields existed keep the hash they were recorded with
    if resource is not None:
        header_fields += [team, source, resource]
    elif team is not None or source is not None:
        header_fields += [team, source]
    header = _encode(header_fields)
    digest = hashlib.sha256(prev_hash.encode())
    digest.update(b"\n")
    digest.update(header)
    digest.update(b"\n")
    digest.update(data)
    return digest.hexdigest()


def time_ordered_id() -> str:
    """A UUID whose first 48 bits are the time in milliseconds, the rest random (RFC 9562's
    version 7): ids made one after another sort together, so the log's unique index takes
    each new one at its end, where a random one (version 4) dirtied a page of its own in every
    commit."""
    raw = bytearray((time.time_ns() // 1_000_000).to_bytes(6, "big") + os.urandom(10))
    raw[6] = 0x70 | (raw[6] & 0x0F)  # the version
    raw[8] = 0x80 | (raw[8] & 0x3F)  # the variant
    return str(uuid.UUID(bytes=bytes(raw)))


def chain_event(
    prev_hash: str,
    position: int,
    stream_id: str,
    version: int,
    event: Event,
    meta: EventMeta,
    recorded_at: str,
) -> RecordedEvent:
    """Encode `event` and link it after `prev_hash`: the one way an event enters the chain."""
    type_, schema_version, data = codec.encode(event)
    return chain_encoded(
        prev_hash, position, stream_id, version, (type_, schema_version, data), meta, recorded_at
    )


def chain_encoded(
    prev_hash: str,
    position: int,
    stream_id: str,
    version: int,
    encoded: tuple[str, int, bytes],
    meta: EventMeta,
    recorded_at: str,
) -> RecordedEvent:
    """Link an event already encoded (type, schema version, body) after `prev_hash`."""
    type_, schema_version, data = encoded
    event_id = time_ordered_id()
    fields = (
        stream_id,
        version,
        type_,
        schema_version,
        data,
        event_id,
        recorded_at,
        meta.actor,
        meta.correlation_id,
        meta.causation_id,
        meta.team,
        meta.source,
        meta.resource,
    )
    return RecordedEvent(
        position=position,
        stream_id=stream_id,
        version=version,
        type=type_,
        schema_version=schema_version,
        data=data,
        recorded_at=recorded_at,
        actor=meta.actor,
        correlation_id=meta.correlation_id,
        team=meta.team,
        source=meta.source,
        resource=meta.resource,
        event_id=event_id,
        causation_id=meta.causation_id,
        prev_hash=prev_hash,
        hash=link_hash(prev_hash, position, *fields),
    )


def expected_hash(event: RecordedEvent) -> str:
    return link_hash(
        event.prev_hash,
        event.position,
        event.stream_id,
        event.version,
        event.type,
        event.schema_version,
        event.data,
        event.event_id,
        event.recorded_at,
        event.actor,
        event.correlation_id,
        event.causation_id,
        event.team,
        event.source,
        event.resource,
    )


class ChainBroken(Exception):
    def __init__(self, position: int, reason: str) -> None:
        super().__init__(f"position {position}: {reason}")
        self.position = position
        self.reason = reason


def verify_chain(
    events: Iterable[RecordedEvent], prev_hash: str = GENESIS_HASH, after: int = 0
) -> int:
    """Walk events in order and check each link; return how many were checked.

    Raises:
        ChainBroken: naming the first position whose link, hash or numbering is wrong.
    """
    expected_position = after + 1
    count = 0
    for event in events:
        if event.position != expected_position:
            raise ChainBroken(expected_position, f"missing; next stored is {event.position}")
        if event.prev_hash != prev_hash:
            raise ChainBroken(event.position, "prev_hash does not match the previous event")
        if expected_hash(event) != event.hash:
            raise ChainBroken(event.position, "hash does not match the event's content")
        prev_hash = event.hash
        expected_position += 1
        count += 1
    return count


class ChainReport(msgspec.Struct, frozen=True):
    count: int
    gaps: int  # places where positions skip (a filtered export): links there cannot be checked
    # lines whose password hash the export replaced: their place in the chain is checked (the
    # hash they carry links to their neighbours'), their content is not proven
    redacted: int = 0


def verify_export(events: Iterable[RecordedEvent], *, filtered: bool = False) -> ChainReport:
    """Check an export: every event's hash must match its content and its recorded prev_hash,
    and wherever two positions follow each other (and at position 1) the link must hold. An
    export must be contiguous (from wherever it starts), since a missing event is exactly what
    tampering looks like; only a `filtered` one (by app or team) may skip positions, and then
    each contiguous run is checked and the gaps are counted.

    A line the export redacted (`Redacted`: a password hash replaced) cannot have its hash
    recomputed: it must be a redaction the server makes (only password hashes, of the events
    that carry them), and its carried hashes must link to its neighbours'.

    Raises:
        ChainBroken: naming the first position whose hash, link or order is wrong.
    """
    previous: RecordedEvent | None = None
    count = gaps = redacted = 0
    for event in events:
        if previous is not None and event.position <= previous.position:
            raise ChainBroken(event.position, f"out of order after {previous.position}")
        if isinstance(event, Redacted):
            if (refused := refusal(event)) is not None:
                raise ChainBroken(event.position, refused)
            redacted += 1
        elif expected_hash(event) != event.hash:
            raise ChainBroken(event.position, "hash does not match the event's content")
        if event.position == 1 and event.prev_hash != GENESIS_HASH:
            raise ChainBroken(1, "the first event does not start the chain")
        if previous is not None:
            if event.position == previous.position + 1:
                if event.prev_hash != previous.hash:
                    raise ChainBroken(event.position, "prev_hash does not match the previous event")
            elif filtered:
                gaps += 1
            else:
                raise ChainBroken(
                    previous.position + 1, f"missing; next exported is {event.position}"
                )
        previous = event
        count += 1
    return ChainReport(count, gaps, redacted)
