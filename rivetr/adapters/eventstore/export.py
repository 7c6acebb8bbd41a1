"""Exporting the log (JSONL or CSV) with every chain field, and reading a JSONL export back so
it can be verified offline."""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import IO, Literal

import msgspec

from rivetr.adapters.eventstore.base import GENESIS_HASH, EventStore, RecordedEvent
from rivetr.adapters.eventstore.chain import verify_chain

FIELDS = RecordedEvent.__struct_fields__


class ExportedEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One line of a JSONL export. `data` is the stored JSON embedded verbatim (msgspec.Raw), so
    the exact bytes the hash covers survive the round trip."""

    position: int
    stream_id: str
    version: int
    type: str
    schema_version: int
    data: msgspec.Raw
    event_id: str
    recorded_at: str
    actor: str
    correlation_id: str | None
    causation_id: str | None
    prev_hash: str
    hash: str
    team: str | None = None  # absent from exports made before these fields existed
    source: str | None = None


_encoder = msgspec.json.Encoder()
_line_decoder = msgspec.json.Decoder(ExportedEvent)


async def store_pages(
    store: EventStore, after: int = 0, page: int = 5000
) -> AsyncIterator[list[RecordedEvent]]:
    while True:
        batch = await store.read_all(after=after, limit=page)
        if not batch:
            return
        yield batch
        after = batch[-1].position


async def verify_store(store: EventStore) -> int:
    """Walk the whole chain page by page (constant memory); return the number of events."""
    prev_hash, after, count = GENESIS_HASH, 0, 0
    async for batch in store_pages(store):
        count += verify_chain(batch, prev_hash, after)
        prev_hash, after = batch[-1].hash, batch[-1].position
    return count


async def write_export(
    store: EventStore, out: IO[str], fmt: Literal["jsonl", "csv"], after: int = 0
) -> int:
    count = 0
    writer = csv.writer(out) if fmt == "csv" else None
    if writer is not None:
        writer.writerow(FIELDS)
    async for batch in store_pages(store, after):
        if writer is not None:
            for event in batch:
                writer.writerow(
                    [event.data.decode() if f == "data" else getattr(event, f) for f in FIELDS]
                )
        else:
            out.writelines(_jsonl_line(event) for event in batch)
        count += len(batch)
    out.flush()
    return count


def _jsonl_line(event: RecordedEvent) -> str:
    fields = msgspec.structs.asdict(event)
    fields["data"] = msgspec.Raw(event.data)
    return _encoder.encode(ExportedEvent(**fields)).decode() + "\n"


def read_jsonl_export(lines: Iterable[bytes]) -> Iterator[RecordedEvent]:
    """Parse a JSONL export back into recorded events.

    Raises:
        ValueError: naming the first line that is not an exported event.
    """
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = _line_decoder.decode(line)
        except msgspec.DecodeError as exc:
            raise ValueError(f"line {number} is not an exported event: {exc}") from None
        fields = msgspec.structs.asdict(row)
        fields["data"] = bytes(row.data)
        yield RecordedEvent(**fields)
