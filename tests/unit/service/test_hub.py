"""The event hub: resuming after a disconnect gets every event once, under concurrent appends;
a reader that falls behind is cut off without slowing the others; filters and redaction."""

from __future__ import annotations

import random

import anyio
import anyio.lowlevel
import msgspec
import pytest

from rivetr.adapters.eventstore.base import ANY_VERSION, EventMeta
from rivetr.domain.events import (
    AppCreated,
    AppEnvChanged,
    AppMoved,
    BuildStarted,
    DeploymentRequested,
    WebhookDisabled,
)
from rivetr.domain.places import Places
from rivetr.service.reactors.hub import Delivery, EventHub, StreamFilter

pytestmark = pytest.mark.anyio


async def append(hub: EventHub, n: int, team: str = "default") -> None:
    created = AppCreated(app_id=f"a{n}", name=f"a{n}", team=team)
    await hub.store.append(f"app-a{n}", ANY_VERSION, [created], EventMeta(actor="t", team=team))


async def take(
    hub: EventHub, after: int | None, count: int, wanted: StreamFilter | None = None
) -> list[Delivery]:
    """Read `count` events the way a stream's reader does (its history, then what the hub
    pushes), then drop the connection."""
    got: list[Delivery] = []
    subscription = await hub.subscribe(wanted or StreamFilter(), after)
    try:
        with anyio.fail_after(10):
            async for delivery in hub.catch_up(subscription):
                got.append(delivery)
                if len(got) == count:
                    return got
            subscription.push_to(got.append)
            while len(got) < count:  # noqa: ASYNC110 (the hub appends on its own turn)
                await anyio.sleep(0.001)
    finally:
        hub.unsubscribe(subscription)
    return got[:count]  # what came after is lost with the connection, and read again


@pytest.mark.parametrize("seed", range(5))
async def test_resuming_after_each_disconnect_gets_every_event_exactly_once(hub, seed) -> None:
    total, shuffle = 300, random.Random(seed)
    for n in range(20):  # a history before the reader arrives
        await append(hub, n)
    seen: list[int] = []

    async def writer() -> None:
        for n in range(20, total):
            await append(hub, n)
            if shuffle.random() < 0.3:
                await anyio.lowlevel.checkpoint()

    async with anyio.create_task_group() as group:
        group.start_soon(writer)
        last = 0
        while len(seen) < total:
            chunk = await take(hub, last, min(shuffle.randint(1, 40), total - len(seen)))
            seen += [d.position for d in chunk]
            last = seen[-1]

    assert seen == list(range(1, total + 1))


async def test_a_reader_from_now_gets_only_what_follows(hub) -> None:
    await append(hub, 1)
    assert [d.position for d in await take(hub, 0, 1)] == [1]  # the hub has published it
    async with anyio.create_task_group() as group:
        got: list[Delivery] = []

        async def read() -> None:
            got.extend(await take(hub, None, 1))

        group.start_soon(read)
        await anyio.sleep(0.1)
        await append(hub, 2)
    assert [d.position for d in got] == [2]


async def test_a_reader_that_falls_behind_while_catching_up_is_cut_off_alone(hub) -> None:
    slow = await hub.subscribe(StreamFilter(), 0, limit=5)
    fast_got = []
    with anyio.fail_after(10):
        history = hub.catch_up(slow)
        with pytest.raises(StopAsyncIteration):
            await anext(history)  # registered, no history: the hub now queues for it
        async with anyio.create_task_group() as group:

            async def fast() -> None:
                fast_got.extend(await take(hub, 0, 30))

            group.start_soon(fast)
            for n in range(30):
                await append(hub, n)
    assert slow.cut
    assert not slow.pending  # what it missed is read again from the store when it resumes
    assert [d.position for d in fast_got] == list(range(1, 31))
    hub.unsubscribe(slow)


async def test_filters_by_app_through_its_deployments_by_type_and_by_team(hub) -> None:
    # each event records the app it concerns, as the services append them
    meta = EventMeta(actor="t", team="acme", resource="web")
    store = hub.store
    await store.append(
        "app-web", ANY_VERSION, [AppCreated(app_id="web", name="web", team="acme")], meta
    )
    await store.append(
        "app-api",
        ANY_VERSION,
        [AppCreated(app_id="api", name="api", team="zeta")],
        EventMeta(actor="t", team="acme", resource="api"),
    )
    await store.append(
        "deployment-d1",
        ANY_VERSION,
        [
            DeploymentRequested(deployment_id="d1", app="web", app_id="web", branch="main"),
            BuildStarted(deployment_id="d1", builder="dockerfile"),
        ],
        meta,
    )
    await store.append(
        "app-x", ANY_VERSION, [AppCreated(app_id="x", name="x")], EventMeta(actor="t")
    )

    web = await take(hub, 0, 3, StreamFilter(app="web"))
    assert [d.type for d in web] == [
        "app.created",
        "deployment.requested",
        "deployment.build_started",
    ]
    builds = await take(hub, 0, 1, StreamFilter(types=("deployment.b*",)))
    assert [d.position for d in builds] == [4]
    acme = await take(hub, 0, 4, StreamFilter(teams=frozenset({"acme"})))
    assert [d.position for d in acme] == [1, 2, 3, 4]  # not the event of no team (5)
    one = await take(hub, 0, 1, StreamFilter(stream="app-api"))
    assert msgspec.json.decode(one[0].json)["data"]["name"] == "api"


async def test_sealed_values_are_never_streamed(hub) -> None:
    await hub.store.append(
        "app-web",
        ANY_VERSION,
        [AppEnvChanged(name="web", set={"DB": "rvs1:k1:c2VhbGVk"}), WebhookDisabled(name="web")],
        EventMeta(actor="t"),
    )
    [changed, _] = await take(hub, 0, 2)
    assert b"rvs1:" not in changed.json
    assert msgspec.json.decode(changed.json)["data"]["set"] == {"DB": "sealed"}


async def test_the_first_reader_after_a_quiet_spell_is_not_handed_the_spell_again(hub) -> None:
    for n in range(50):  # appended while nobody reads: the hub stays dormant
        await append(hub, n)
    assert hub.position == 0
    got = await take(hub, 0, 50, wanted=None)
    assert [d.position for d in got] == list(range(1, 51))
    async with anyio.create_task_group() as group:
        later: list[Delivery] = []

        async def read() -> None:
            later.extend(await take(hub, 50, 1))

        group.start_soon(read)
        await anyio.sleep(0.05)
        assert hub.position == 50  # resumed after the reader's own history
        await append(hub, 50)
    assert [d.position for d in later] == [51]


async def test_a_quiet_log_is_not_read_again_while_a_reader_waits(hub, monkeypatch) -> None:
    reads = 0
    read_logged = hub.store.read_logged

    async def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        nonlocal reads
        reads += 1
        return await read_logged(*args, **kwargs)

    waits: list[float | None] = []
    wait_for_new = hub.store.wait_for_new

    async def waited(after: int, timeout: float | None = None) -> int:
        waits.append(timeout)
        return await wait_for_new(after, timeout)

    monkeypatch.setattr(hub.store, "read_logged", counted)
    monkeypatch.setattr(hub.store, "wait_for_new", waited)
    async with anyio.create_task_group() as group:
        got: list[Delivery] = []

        async def read() -> None:
            got.extend(await take(hub, None, 1))

        group.start_soon(read)
        await anyio.sleep(0.2)
        quiet = reads
        await anyio.sleep(0.3)
        assert reads == quiet  # nothing new: the hub waits on the head, reading nothing
        assert waits == [None]  # and no timer wakes it to read again
        await append(hub, 1)
    assert [d.position for d in got] == [1]


async def make_and_move_apps(hub: EventHub) -> None:
    """p0 made in shop, p1 made in blog, each changed, then p1 moved to shop."""
    for n, project in enumerate(("shop", "blog")):
        meta = EventMeta(actor="t", team="a", resource=f"p{n}")
        made = AppCreated(app_id=f"p{n}", name=f"p{n}", team="a", project=project)
        changed = AppEnvChanged(name=f"p{n}", unset=["X"])
        await hub.store.append(f"app-p{n}", ANY_VERSION, [made, changed], meta)
    moved = AppMoved(
        name="p1",
        from_project="blog",
        from_environment="production",
        project="shop",
        environment="production",
    )
    meta = EventMeta(actor="t", team="a", resource="p1")
    await hub.store.append("app-p1", ANY_VERSION, [moved], meta)


@pytest.mark.parametrize("live", [False, True])
async def test_a_reader_of_one_project_learns_where_apps_are_as_they_are_made_and_moved(
    hub, live
) -> None:
    """Apps made (or moved) after the reader's list of apps was read are placed by their
    own events as they pass, read from the history or pushed live."""
    shop_only = Places(teams=frozenset(), hidden=frozenset(), projects=frozenset({("a", "shop")}))
    wanted = StreamFilter(teams=frozenset({"a"}), places=shop_only)
    got: list[Delivery] = []
    if live:
        async with anyio.create_task_group() as group:

            async def read() -> None:
                got.extend(await take(hub, None, 3, wanted))

            group.start_soon(read)
            await anyio.sleep(0.1)
            await make_and_move_apps(hub)
    else:
        await make_and_move_apps(hub)
        got = await take(hub, 0, 3, wanted)

    assert [(d.app, d.type) for d in got] == [
        ("p0", "app.created"),
        ("p0", "app.env_changed"),
        ("p1", "app.moved"),
    ]
