"""One contract for every event-store backend: what the rest of Rivetr may rely on.

Each test runs against `SqliteEventStore` (a real file) and `InMemoryEventStore`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from datetime import datetime, timedelta

import msgspec
import pytest

from rivetr.adapters.eventstore import (
    ANY_VERSION,
    NO_STREAM,
    ConcurrencyError,
    EventMeta,
    EventStore,
    LoggedEvent,
    RecordedEvent,
    StreamAppend,
)
from rivetr.adapters.eventstore.chain import ChainBroken, verify_chain
from rivetr.domain.codec import InvalidEvent
from rivetr.domain.events import AppCreated, AppDeleted, AppEnvChanged, EngineLost, Event
from tests.contract.conftest import SLOW_POLL

pytestmark = pytest.mark.anyio

META = EventMeta(actor="test:contract")
WAIT = 5.0  # how long a test waits for something that should happen at once


def lost(n: int) -> EngineLost:
    return EngineLost(reason=f"reason {n}")


async def read_everything(store: EventStore) -> list[RecordedEvent]:
    return await store.read_all(after=0, limit=1_000_000)


def assert_log_is_consistent(log: list[RecordedEvent]) -> None:
    """Positions 1..n without gaps, versions 1..m within each stream, and an intact chain."""
    assert [e.position for e in log] == list(range(1, len(log) + 1))
    streams: dict[str, list[int]] = {}
    for e in log:
        streams.setdefault(e.stream_id, []).append(e.version)
    for stream_id, versions in streams.items():
        assert versions == list(range(1, len(versions) + 1)), stream_id
    assert verify_chain(log) == len(log)


# --- appending -------------------------------------------------------------------------------


async def test_append_returns_recorded_events_with_gap_free_positions_and_stream_versions(
    store: EventStore,
) -> None:
    first = await store.append("app-a", NO_STREAM, [lost(1), lost(2)], META)
    second = await store.append("app-b", NO_STREAM, [lost(3)], META)
    third = await store.append("app-a", 2, [lost(4)], META)

    assert [(e.position, e.stream_id, e.version) for e in first + second + third] == [
        (1, "app-a", 1),
        (2, "app-a", 2),
        (3, "app-b", 1),
        (4, "app-a", 3),
    ]
    assert await store.head() == 4
    assert await read_everything(store) == first + second + third


async def test_append_without_events_is_refused(store: EventStore) -> None:
    with pytest.raises(ValueError, match="at least one event"):
        await store.append("app-a", NO_STREAM, [], META)
    assert await store.head() == 0


async def test_read_stream_returns_only_that_stream_in_version_order(store: EventStore) -> None:
    await store.append("app-a", NO_STREAM, [lost(1)], META)
    await store.append("app-b", NO_STREAM, [lost(2)], META)
    await store.append("app-a", 1, [lost(3), lost(4)], META)

    stream = await store.read_stream("app-a")

    assert [(e.version, e.event) for e in stream] == [(1, lost(1)), (2, lost(3)), (3, lost(4))]
    assert await store.read_stream("app-missing") == []


async def test_read_all_pages_by_position(store: EventStore) -> None:
    for n in range(1, 8):
        await store.append(f"s-{n % 3}", ANY_VERSION, [lost(n)], META)

    pages, after = [], 0
    while page := await store.read_all(after=after, limit=3):
        pages.append([e.position for e in page])
        after = page[-1].position

    assert pages == [[1, 2, 3], [4, 5, 6], [7]]
    assert [e.position for e in await store.read_all(after=5)] == [6, 7]
    assert await store.read_all(after=7) == []


async def test_read_logged_is_read_all_without_the_chain_fields(store: EventStore) -> None:
    for n in range(5):
        await store.append(
            f"app-{n % 2}", ANY_VERSION, [lost(n)], EventMeta(actor="a", correlation_id=f"c{n}")
        )

    full = await store.read_all(after=1, limit=3)
    logged = await store.read_logged(after=1, limit=3)

    assert [
        LoggedEvent(**{f: getattr(e, f) for f in LoggedEvent.__struct_fields__}) for e in full
    ] == [LoggedEvent(**{f: getattr(e, f) for f in LoggedEvent.__struct_fields__}) for e in logged]
    assert [e.position for e in logged] == [2, 3, 4]
    assert [e.event for e in logged] == [lost(1), lost(2), lost(3)]


async def test_event_bodies_round_trip_equal_to_what_was_appended(store: EventStore) -> None:
    events: list[Event] = [
        AppCreated(
            app_id="a1", name="web", git_url="https://example.com/w.git", domains=["w.example.com"]
        ),
        AppEnvChanged(name="web", set={"A": "1"}, unset=["B"]),
        AppDeleted(name="web"),
    ]
    await store.append("app-web", NO_STREAM, events, META)

    assert [e.event for e in await store.read_stream("app-web")] == events
    assert [e.type for e in await read_everything(store)] == [
        "app.created",
        "app.env_changed",
        "app.deleted",
    ]


async def test_meta_is_recorded_on_every_event(store: EventStore) -> None:
    meta = EventMeta(actor="token:ci", correlation_id="deployment-7", causation_id="evt-3")
    await store.append("app-a", NO_STREAM, [lost(1), lost(2)], meta)

    for e in await read_everything(store):
        assert (e.actor, e.correlation_id, e.causation_id) == (
            "token:ci",
            "deployment-7",
            "evt-3",
        )


async def test_team_and_source_are_recorded_and_covered_by_the_chain(store: EventStore) -> None:
    meta = EventMeta(actor="user:ana@example.com", team="acme", source="token:ci")
    await store.append("app-a", NO_STREAM, [lost(1)], META)
    await store.append("app-a", 1, [lost(2)], meta)

    old, new = await read_everything(store)
    assert (old.team, old.source) == (None, None)
    assert (new.actor, new.team, new.source) == ("user:ana@example.com", "acme", "token:ci")
    assert verify_chain([old, new]) == 2
    with pytest.raises(ChainBroken, match="hash does not match"):
        verify_chain([old, msgspec.structs.replace(new, team="other")])


async def test_the_resource_is_recorded_read_back_and_covered_by_the_chain(
    store: EventStore,
) -> None:
    await store.append("app-a", NO_STREAM, [lost(1)], META)
    await store.append("app-a", 1, [lost(2)], EventMeta(actor="cli", resource="k3j9x2m4q8w7"))

    old, new = await read_everything(store)
    [logged_old, logged_new] = await store.read_logged()
    assert (old.resource, logged_old.resource) == (None, None)
    assert (new.team, new.source, new.resource) == (None, None, "k3j9x2m4q8w7")
    assert logged_new.resource == "k3j9x2m4q8w7"
    assert verify_chain([old, new]) == 2
    with pytest.raises(ChainBroken, match="hash does not match"):
        verify_chain([old, msgspec.structs.replace(new, resource="other")])


async def test_each_part_of_an_append_may_name_its_own_resource(store: EventStore) -> None:
    """One append that creates two apps (a clone) records each app's events, and the claims
    each makes, under that app's id; a stream may have two parts, one after the other."""
    await store.append("claims", NO_STREAM, [lost(1)], META)
    meta = EventMeta(actor="cli", team="acme")

    recorded = await store.append_together(
        [
            StreamAppend("app-a", NO_STREAM, [lost(2)], resource="a"),
            StreamAppend("claims", 1, [lost(3)], resource="a"),
            StreamAppend("app-b", NO_STREAM, [lost(4)], resource="b"),
            StreamAppend("claims", 1, [lost(5)], resource="b"),
            StreamAppend("project-acme/shop", NO_STREAM, [lost(6)]),
        ],
        meta,
    )

    assert [(e.stream_id, e.version, e.resource, e.team) for e in recorded] == [
        ("app-a", 1, "a", "acme"),
        ("claims", 2, "a", "acme"),
        ("app-b", 1, "b", "acme"),
        ("claims", 3, "b", "acme"),
        ("project-acme/shop", 1, None, "acme"),
    ]
    log = await read_everything(store)
    assert [e.resource for e in log] == [None, "a", "a", "b", "b", None]
    assert_log_is_consistent(log)


async def test_appending_together_records_every_stream_or_none(store: EventStore) -> None:
    await store.append("claims", NO_STREAM, [lost(1)], META)

    recorded = await store.append_together(
        [
            StreamAppend("app-a", NO_STREAM, [lost(2), lost(3)]),
            StreamAppend("claims", 1, [lost(4)]),
        ],
        META,
    )
    assert [(e.stream_id, e.version, e.position) for e in recorded] == [
        ("app-a", 1, 2),
        ("app-a", 2, 3),
        ("claims", 2, 4),
    ]

    with pytest.raises(ConcurrencyError) as refused:  # claims moved on: app-b is not recorded
        await store.append_together(
            [StreamAppend("app-b", NO_STREAM, [lost(5)]), StreamAppend("claims", 1, [lost(6)])],
            META,
        )
    assert refused.value.stream_id == "claims"
    with pytest.raises(InvalidEvent):  # one bad event refuses every stream's part
        await store.append_together(
            [
                StreamAppend("app-b", NO_STREAM, [AppCreated(app_id="a1", name="b")]),
                StreamAppend("claims", 2, [AppCreated(app_id="a1", name="c", port=0)]),
            ],
            META,
        )
    log = await read_everything(store)
    assert [e.stream_id for e in log] == ["claims", "app-a", "app-a", "claims"]
    assert await store.read_stream("app-b") == []
    assert_log_is_consistent(log)


async def test_meta_without_correlation_or_causation_reads_back_as_none(store: EventStore) -> None:
    await store.append("app-a", NO_STREAM, [lost(1)], META)

    [e] = await read_everything(store)
    assert (e.actor, e.correlation_id, e.causation_id) == ("test:contract", None, None)


async def test_recorded_at_is_a_timezone_aware_utc_iso_timestamp(store: EventStore) -> None:
    [e] = await store.append("app-a", NO_STREAM, [lost(1)], META)

    recorded_at = datetime.fromisoformat(e.recorded_at)
    assert recorded_at.utcoffset() == timedelta(0)


async def test_every_event_gets_its_own_event_id(store: EventStore) -> None:
    await store.append("app-a", NO_STREAM, [lost(1), lost(2)], META)
    await store.append("app-b", NO_STREAM, [lost(3)], META)

    ids = [e.event_id for e in await read_everything(store)]
    assert len(set(ids)) == 3


# --- optimistic concurrency ------------------------------------------------------------------


async def test_no_stream_refuses_to_append_to_an_existing_stream(store: EventStore) -> None:
    await store.append("app-a", NO_STREAM, [lost(1)], META)

    with pytest.raises(ConcurrencyError) as refused:
        await store.append("app-a", NO_STREAM, [lost(2)], META)

    assert (refused.value.stream_id, refused.value.expected, refused.value.actual) == (
        "app-a",
        0,
        1,
    )
    assert len(await store.read_stream("app-a")) == 1


async def test_stale_expected_version_is_refused_and_appends_nothing(store: EventStore) -> None:
    await store.append("app-a", NO_STREAM, [lost(1), lost(2)], META)
    before = await read_everything(store)

    with pytest.raises(ConcurrencyError):
        await store.append("app-a", 1, [lost(3), lost(4)], META)
    with pytest.raises(ConcurrencyError):
        await store.append("app-a", 5, [lost(5)], META)
    with pytest.raises(ConcurrencyError):
        await store.append("app-new", 1, [lost(6)], META)

    assert await read_everything(store) == before
    assert await store.head() == 2


async def test_any_version_skips_the_check(store: EventStore) -> None:
    await store.append("app-a", ANY_VERSION, [lost(1)], META)
    await store.append("app-a", ANY_VERSION, [lost(2)], META)
    await store.append("app-a", 2, [lost(3)], META)

    assert [e.version for e in await store.read_stream("app-a")] == [1, 2, 3]


async def test_positions_continue_after_a_refused_append(store: EventStore) -> None:
    await store.append("app-a", NO_STREAM, [lost(1)], META)
    with pytest.raises(ConcurrencyError):
        await store.append("app-a", NO_STREAM, [lost(2)], META)
    [e] = await store.append("app-b", NO_STREAM, [lost(3)], META)

    assert e.position == 2
    assert_log_is_consistent(await read_everything(store))


async def test_an_event_that_would_not_read_back_is_refused_whole(store: EventStore) -> None:
    await store.append("app-a", NO_STREAM, [AppCreated(app_id="a1", name="a")], META)
    out_of_bounds = AppCreated(
        app_id="a1", name="b", pr_number=2**63
    )  # past what SQLite or a view holds

    with pytest.raises(InvalidEvent, match=r"app.created cannot be recorded.*pr_number"):
        await store.append(
            "app-b", NO_STREAM, [AppCreated(app_id="a1", name="b"), out_of_bounds], META
        )

    [e] = await store.append("app-b", NO_STREAM, [AppCreated(app_id="a1", name="b")], META)
    assert (e.position, e.version) == (2, 1)
    assert_log_is_consistent(await read_everything(store))


async def test_a_refused_event_does_not_hold_back_the_appends_beside_it(store: EventStore) -> None:
    async def append(stream_id: str, event: Event) -> object:
        try:
            return await store.append(stream_id, NO_STREAM, [event], META)
        except InvalidEvent as exc:
            return exc

    outcomes = await asyncio.gather(
        append("app-a", AppCreated(app_id="a1", name="a")),
        append("app-b", AppCreated(app_id="a1", name="b", port=0)),
        append("app-c", AppCreated(app_id="a1", name="c")),
    )

    assert isinstance(outcomes[1], InvalidEvent)
    log = await read_everything(store)
    assert [e.stream_id for e in log] == ["app-a", "app-c"]
    assert_log_is_consistent(log)


async def test_many_concurrent_appends_each_land_once_or_are_refused(store: EventStore) -> None:
    streams = [f"app-{n}" for n in range(10)]
    for stream_id in streams:
        await store.append(stream_id, NO_STREAM, [lost(0)], META)

    # 200 callers: most append whatever the version; some race on version 1 (at most one per
    # stream can win); some still believe the stream does not exist (always stale).
    callers: list[tuple[str, int | None, int]] = []
    for n in range(200):
        expected = [ANY_VERSION, ANY_VERSION, 1, NO_STREAM][n % 4]
        callers.append((streams[n % 10], expected, 1 + n % 3))
    counter = itertools.count(1)

    async def call(stream_id: str, expected: int | None, size: int):
        events = [lost(next(counter)) for _ in range(size)]
        try:
            return await store.append(stream_id, expected, events, META), events
        except ConcurrencyError as exc:
            return exc, events

    outcomes = await asyncio.gather(*(call(*c) for c in callers))

    log = await read_everything(store)
    assert_log_is_consistent(log)
    by_id = {e.event_id: e for e in log}
    won_on_version_1: dict[str, int] = {}
    recorded_count = len(streams)
    for (stream_id, expected, size), (result, events) in zip(callers, outcomes, strict=True):
        if expected is NO_STREAM:
            assert isinstance(result, ConcurrencyError)
            continue
        if expected == 1 and isinstance(result, ConcurrencyError):
            continue
        assert isinstance(result, list), result
        if expected == 1:
            won_on_version_1[stream_id] = won_on_version_1.get(stream_id, 0) + 1
            assert [e.version for e in result] == list(range(2, 2 + size))
        # recorded exactly as returned, once, with the caller's events in order
        assert [by_id[e.event_id] for e in result] == result
        assert [e.event for e in result] == events
        assert [e.stream_id for e in result] == [stream_id] * size
        positions = [e.position for e in result]
        assert positions == list(range(positions[0], positions[0] + size))
        recorded_count += size
    assert all(wins <= 1 for wins in won_on_version_1.values())
    assert len(log) == recorded_count
    # nothing of a refused append reached the log
    recorded_bodies = [e.event for e in log]
    for result, events in outcomes:
        if isinstance(result, ConcurrencyError):
            assert not any(event in recorded_bodies for event in events)


# --- following the log -----------------------------------------------------------------------


async def test_subscribe_yields_the_backlog_then_wakes_on_a_later_append(
    store: EventStore,
) -> None:
    await store.append("app-a", NO_STREAM, [lost(1), lost(2), lost(3)], META)

    async with contextlib.aclosing(store.subscribe(after=1)) as events:  # type: ignore[type-var]
        async with asyncio.timeout(WAIT):
            backlog = [await anext(events), await anext(events)]
        assert [e.position for e in backlog] == [2, 3]

        waiting = asyncio.ensure_future(anext(events))
        await asyncio.sleep(0.05)
        assert not waiting.done(), "the subscription yielded an event that does not exist"
        await store.append("app-b", NO_STREAM, [lost(4)], META)
        async with asyncio.timeout(WAIT):
            woken = await waiting

    assert (woken.position, woken.event) == (4, lost(4))


async def test_subscribe_from_the_start_sees_every_event_in_order(store: EventStore) -> None:
    for n in range(1, 6):
        await store.append("app-a", ANY_VERSION, [lost(n)], META)

    seen = []
    async with contextlib.aclosing(store.subscribe()) as events:  # type: ignore[type-var]
        async with asyncio.timeout(WAIT):
            async for e in events:
                seen.append(e.event)
                if len(seen) == 5:
                    break

    assert seen == [lost(n) for n in range(1, 6)]


async def test_wait_for_new_returns_at_its_timeout_when_nothing_comes(store: EventStore) -> None:
    await store.append("app-a", NO_STREAM, [lost(1)], META)
    loop = asyncio.get_running_loop()

    started = loop.time()
    async with asyncio.timeout(WAIT):
        head = await store.wait_for_new(after=1, timeout=0.2)

    assert head == 1
    assert loop.time() - started >= 0.15


async def test_wait_for_new_returns_at_once_when_the_head_is_already_past(
    store: EventStore,
) -> None:
    await store.append("app-a", NO_STREAM, [lost(1), lost(2)], META)

    async with asyncio.timeout(1):
        assert await store.wait_for_new(after=0, timeout=SLOW_POLL) == 2


async def test_wait_for_new_wakes_on_an_append(store: EventStore) -> None:
    waiting = asyncio.ensure_future(store.wait_for_new(after=0))
    await asyncio.sleep(0.05)
    assert not waiting.done()

    await store.append("app-a", NO_STREAM, [lost(1)], META)

    async with asyncio.timeout(WAIT):
        assert await waiting == 1


async def test_first_append_finds_the_events_recorded_together_under_a_correlation_id(
    store: EventStore,
) -> None:
    asked = EventMeta(actor="test:contract", correlation_id="req-1")
    assert await store.first_append("req-1") == []
    await store.append("other", None, [lost(0)], META)
    first = await store.append_together(
        [StreamAppend("a", None, [lost(1), lost(2)]), StreamAppend("b", None, [lost(3)])], asked
    )
    # later events of the same flow (a deployment's steps) are not the request's
    await store.append("a", None, [lost(4)], asked)

    assert await store.first_append("req-1") == first
    assert [e.position for e in first] == [2, 3, 4]
    assert await store.first_append("req-2") == []
