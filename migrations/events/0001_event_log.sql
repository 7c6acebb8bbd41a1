-- The append-only event log (see docs/ARCHITECTURE.md, "The event log").
CREATE TABLE events (
    position       INTEGER PRIMARY KEY,           -- global order, gap-free, starts at 1
    stream_id      TEXT    NOT NULL,
    version        INTEGER NOT NULL CHECK (version >= 1),
    type           TEXT    NOT NULL,
    schema_version INTEGER NOT NULL CHECK (schema_version >= 1),
    data           BLOB    NOT NULL,              -- msgspec JSON of the event body
    event_id       TEXT    NOT NULL UNIQUE,
    recorded_at    TEXT    NOT NULL,              -- ISO 8601, UTC
    actor          TEXT    NOT NULL,
    correlation_id TEXT,
    causation_id   TEXT,
    prev_hash      TEXT    NOT NULL,
    hash           TEXT    NOT NULL,
    UNIQUE (stream_id, version)                   -- the optimistic-concurrency guard
);

CREATE INDEX events_by_correlation ON events (correlation_id) WHERE correlation_id IS NOT NULL;

CREATE TRIGGER events_refuse_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'the event log is append-only: UPDATE refused');
END;

CREATE TRIGGER events_refuse_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'the event log is append-only: DELETE refused');
END;
