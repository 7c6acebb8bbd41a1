"""The notifier on the twins: a deployment's outcome reaches the channels that want it, once;
a failing channel is retried with back-off and each attempt recorded; a stalled one holds up
nobody else; a restart sends what was owed and nothing twice."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from rivetr import bootstrap
from rivetr.adapters.eventstore.base import EventMeta
from rivetr.domain import notices
from rivetr.domain.access import SYSTEM
from rivetr.domain.events import DeploymentFailed
from rivetr.domain.notification_commands import SetChannel
from rivetr.domain.notification_events import NoticeDelivered, NoticeFailed
from rivetr.service.reactors.notifier import RETRY_DELAYS_S
from tests.unit.service.reactors.house import House, create_app, until

pytestmark = pytest.mark.anyio

HOOK = "https://hooks.example.com/a"
OTHER = "https://hooks.example.com/b"


async def channel(services: Any, name: str, url: str, on: list[str], **filters: Any) -> str:
    made = await services.notifications.set(
        SYSTEM, SetChannel(name=name, kind="webhook", url=url, on=on, **filters)
    )
    found = await services.read.notifications.channel("default", name)
    assert made.signing_secret is not None
    return str(found.channel_id)


async def deploy(services: Any, expect: str) -> str:
    deployment_id = await services.deployments.request(SYSTEM, "web")
    state = await until(services, deployment_id, {expect, "failed", "rolled_back"})
    assert state.status == expect
    return str(deployment_id)


async def recorded(services: Any, channel_id: str, count: int) -> list[Any]:
    """The channel's first `count` attempts, once recorded."""
    with anyio.fail_after(5):
        while len(events := await services.store.read_stream(f"channel-{channel_id}")) < count:  # noqa: ASYNC110
            await anyio.sleep(0.005)
    return [e.event for e in events]


async def test_a_deployment_is_told_once_to_the_channel_that_wants_it(house: House) -> None:
    house.commit("v1")
    async with house.running() as services:
        await create_app(services)
        live = await channel(services, "live", HOOK, ["deployment.succeeded"])
        await channel(services, "failures", OTHER, ["deployment.failed"])

        deployment_id = await deploy(services, "live")

        [event] = await recorded(services, live, 1)
        assert isinstance(event, NoticeDelivered)
        [sent] = house.sender.sent
        assert sent.url == HOOK
        assert sent.signing_secret is not None
        assert sent.signing_secret.startswith("whsec_")
        assert sent.notice.title == "web: deployed"
        assert deployment_id in sent.notice.body
        assert "default/default/production" in sent.notice.body
        assert sent.key == f"{sent.notice.source_position}:{live}"


async def test_a_failing_channel_is_tried_again_with_back_off_until_it_gets_through(
    house: House,
) -> None:
    house.commit("v1")
    house.sender.failing[HOOK] = 2
    async with house.running() as services:
        await create_app(services)
        hook = await channel(services, "hook", HOOK, ["deployment.failed"])
        house.source.fail_next("branch 'main' not found in the repository")

        await deploy(services, "failed")

        first, second, third = await recorded(services, hook, 3)
        assert isinstance(first, NoticeFailed)
        assert isinstance(second, NoticeFailed)
        assert (first.attempt, second.attempt, first.final) == (1, 2, False)
        assert "answered 500" in first.reason
        assert isinstance(third, NoticeDelivered)
        assert third.attempt == 3
        assert list(RETRY_DELAYS_S[:2]) == [s for s in house.clock.slept if s in RETRY_DELAYS_S]
        assert "branch 'main' not found" in house.sender.sent[0].notice.body


async def test_a_channel_that_never_answers_gives_up_and_holds_up_no_other(house: House) -> None:
    house.commit("v1")
    house.sender.stalling.add(HOOK)
    house.sender.timeout_s = 0.05
    async with house.running() as services:
        await create_app(services)
        dead = await channel(services, "dead", HOOK, ["deployment.succeeded"])
        alive = await channel(services, "alive", OTHER, ["deployment.succeeded"])

        await deploy(services, "live")

        [delivered] = await recorded(services, alive, 1)
        assert isinstance(delivered, NoticeDelivered)
        attempts = await recorded(services, dead, len(RETRY_DELAYS_S) + 1)
        assert all(isinstance(a, NoticeFailed) for a in attempts)
        assert [a.final for a in attempts] == [False] * len(RETRY_DELAYS_S) + [True]
        assert "no answer within" in attempts[-1].reason


async def test_filters_keep_other_projects_and_other_kinds_out(house: House) -> None:
    house.commit("v1")
    async with house.running() as services:
        await create_app(services)
        await channel(services, "elsewhere", HOOK, ["deployment.succeeded"], projects=["shop"])
        staging = await channel(
            services, "staging", OTHER, ["deployment.succeeded"], environments=["staging"]
        )
        everything = await channel(services, "all", "https://all.example.com/", ["backup.failed"])

        await deploy(services, "live")
        await anyio.sleep(0.1)

        assert house.sender.attempts == []
        for channel_id in (staging, everything):
            assert await services.store.read_stream(f"channel-{channel_id}") == []


async def test_what_happened_while_rivetr_was_down_is_told_on_start_and_never_twice(
    house: House,
) -> None:
    house.commit("v1")
    async with house.running() as services:
        await create_app(services)
        hook = await channel(services, "hook", HOOK, ["deployment.failed"])
        first = await deploy(services, "live")
    # an event appended while no notifier ran (as a crash right after it was written)
    meta = EventMeta(actor="test", source="system", team="default")
    failed = DeploymentFailed(deployment_id=first, step="health", reason="it died")
    await house.store.append(f"deployment-{first}", None, [failed], meta)

    async with house.running() as services:
        [told] = await recorded(services, hook, 1)
        assert isinstance(told, NoticeDelivered)
    async with house.running() as services:
        await anyio.sleep(0.1)
        assert len(await services.store.read_stream(f"channel-{hook}")) == 1
    assert len(house.sender.sent) == 1
    assert "it died" in house.sender.sent[0].notice.body


async def test_a_notifier_that_crashed_is_started_again_and_tells_what_it_owed(
    house: House, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its supervisor starts it again on the same instance: nothing of the crashed run's
    queues is left, and the event it crashed on is read again and told."""
    monkeypatch.setattr(bootstrap, "_RESTART_DELAY_S", 0.01)
    made = notices.of_event
    crashes = []

    def crash_once(*args: Any) -> Any:
        if not crashes:
            crashes.append(args[2])
            raise RuntimeError("a bug in a notice")
        return made(*args)

    monkeypatch.setattr(notices, "of_event", crash_once)
    house.commit("v1")
    async with house.running() as services:
        await create_app(services)
        hook = await channel(services, "hook", HOOK, ["deployment.succeeded"])

        await deploy(services, "live")

        [told] = await recorded(services, hook, 1)
        assert isinstance(told, NoticeDelivered)
        assert told.source_position == crashes[0]
        assert len(house.sender.sent) == 1
