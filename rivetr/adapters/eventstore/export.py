"""Exporting the log (JSONL or CSV) with every chain field, and reading a JSONL export back so
it can be verified offline. Password hashes never leave: an export replaces them and says so on
the line (`redaction.py`)."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import IO, Literal

import msgspec

from rivetr.adapters.eventstore.base import GENESIS_HASH, EventStore, LoggedEvent, RecordedEvent
from rivetr.adapters.eventstore.chain import verify_chain
from rivetr.adapters.eventstore.redaction import Redacted, redact

FIELDS = RecordedEvent.__struct_fields__
CSV_FIELDS = (*FIELDS, "redacted")


class ExportedEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One line of a JSONL export. `data` is the stored JSON embedded verbatim (msgspec.Raw), so
    the exact bytes the hash covers survive the round trip; unless the line is `redacted`
    (present only then): those fields of `data` were replaced, and `hash` is the stored
    event's, carried."""

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
    resource: str | None = None
    redacted: list[str] | msgspec.UnsetType = msgspec.UNSET


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


# judged on the event as readers see it (its app and team filled in for an older log's,
# eventstore/legacy.py); the line exported is the event as stored, which the chain covers
Keep = Callable[[LoggedEvent], bool]


async def export_lines(
    store: EventStore,
    fmt: Literal["jsonl", "csv"],
    after: int = 0,
    *,
    since: str | None = None,
    until: str | None = None,
    keep: Keep | None = None,
) -> AsyncIterator[str]:
    """The log as export lines, page by page (constant memory): every event after `after`
    recorded in [`since`, `until`) (ISO 8601 UTC, compared as recorded) that `keep` keeps."""
    if fmt == "csv":
        yield _csv_line(CSV_FIELDS)
    async for batch in store_pages(store, after):
        filled = await _as_read(store, batch) if keep is not None else batch
        for event, seen in zip(batch, filled, strict=True):
            if since is not None and event.recorded_at < since:
                continue
            if until is not None and event.recorded_at >= until:
                continue
            if keep is not None and not keep(seen):
                continue
            if fmt == "csv":
                data, redacted = redact(event.data)
                values = [data.decode() if f == "data" else getattr(event, f) for f in FIELDS]
                yield _csv_line([*values, ",".join(redacted)])
            else:
                yield _jsonl_line(event)


async def _as_read(store: EventStore, batch: list[RecordedEvent]) -> Sequence[LoggedEvent]:
    """The same positions as readers get them (positions have no gaps)."""
    return await store.read_logged(after=batch[0].position - 1, limit=len(batch))


async def write_export(
    store: EventStore,
    out: IO[str],
    fmt: Literal["jsonl", "csv"],
    after: int = 0,
    *,
    since: str | None = None,
    until: str | None = None,
    keep: Keep | None = None,
) -> int:
    count = 0
    async for line in export_lines(store, fmt, after, since=since, until=until, keep=keep):
        out.write(line)
        count += 1
    out.flush()
    return count - (1 if fmt == "csv" else 0)


def recorded_form(value: str) -> str:
    """A time given as ISO 8601 (a date, or a time with or without its offset; no offset: UTC)
    in the form `recorded_at` has, so that the two compare as strings.

    Raises:
        ValueError: naming the value that is not a time.
    """
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC).isoformat(timespec="microseconds")
    except (ValueError, OverflowError):  # overflow: 0001-01-01T00:00+01:00 is before year 1 in UTC
        raise ValueError(f"{value!r} is not an ISO 8601 time (like 2026-11-27T10:00:00Z)") from None


def _csv_line(row: Iterable[object]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(row)
    return buffer.getvalue()


def _jsonl_line(event: RecordedEvent) -> str:
    fields = msgspec.structs.asdict(event)
    data, redacted = redact(event.data)
    fields["data"] = msgspec.Raw(data)
    if redacted:
        fields["redacted"] = list(redacted)
    return _encoder.encode(ExportedEvent(**fields)).decode() + "\n"


def read_jsonl_export(lines: Iterable[bytes]) -> Iterator[RecordedEvent]:
    """Parse a JSONL export back into recorded events (`Redacted` for a redacted line).

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
        redacted = fields.pop("redacted")
        if redacted is msgspec.UNSET:
            yield RecordedEvent(**fields)
        else:
            yield Redacted(**fields, redacted=tuple(redacted))
