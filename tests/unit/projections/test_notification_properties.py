"""For any generated history of teams made and deleted, channels set and removed (decided by the
domain) and notices delivered or failed on them, the notifications view applied as events
arrive equals it rebuilt from zero; each team's channels are what the domain folds; and where
a channel stands (`told_through`) is the last event a settled notice told of."""

from __future__ import annotations

import tempfile
from pathlib import Path

import anyio
from hypothesis import given, settings
from hypothesis import strategies as st

from rivetr.adapters.eventstore.base import EventMeta
from rivetr.domain import notifications, teams
from rivetr.domain.commands import CreateTeam, DeleteTeam
from rivetr.domain.errors import DomainError
from rivetr.domain.events import Event
from rivetr.domain.notification_commands import RemoveChannel, SetChannel
from rivetr.domain.notification_events import NoticeDelivered, NoticeFailed
from tests.unit.projections.two_runners import TwoRunners

TEAMS = ["default", "acme"]
NAMES = ["alerts", "pager"]
steps = st.tuples(
    st.sampled_from(
        ["create", "delete", "set", "set", "remove", "sent", "sent", "failed", "gave up"]
    ),
    st.sampled_from(TEAMS),
    st.sampled_from(NAMES),
    st.sampled_from(["slack", "webhook"]),
    st.integers(min_value=1, max_value=500),
)


def decided(history: list[Event], step: tuple[str, str, str, str, int]) -> list[Event]:
    kind, team, name, channel_kind, _ = step
    if kind in ("set", "remove"):
        state = notifications.fold(team, history)
        if kind == "remove":
            return notifications.decide_removal(state, RemoveChannel(team=team, name=name))
        url = "https://h.example.com/" if channel_kind == "webhook" else "slack://a/b/c"
        command = SetChannel(team=team, name=name, kind=channel_kind, url=url, on=["backup.failed"])  # type: ignore[arg-type]
        return notifications.decide(state, command, f"{team}-{name}-{len(history)}", "sealed")
    state_of_team = teams.fold(team, history)
    if kind == "create":
        return teams.decide(state_of_team, CreateTeam(team=team, name=team, owner="ann@x.io"))
    return teams.decide(state_of_team, DeleteTeam(team=team))


def attempt(kind: str, team: str, channel: str, channel_id: str, source: int) -> Event:
    common = {
        "channel_id": channel_id,
        "team": team,
        "channel": channel,
        "key": f"{source}:{channel_id}",
        "notice": "backup.failed",
        "title": "db: backup failed",
        "attempt": 1,
        "source_position": source,
    }
    if kind == "sent":
        return NoticeDelivered(**common)  # type: ignore[arg-type]
    return NoticeFailed(**common, reason="500", final=kind == "gave up")  # type: ignore[arg-type]


async def check(directory: Path, history: list[tuple[str, str, str, str, int]]) -> None:
    streams: dict[str, list[Event]] = {team: [] for team in TEAMS}
    settled: dict[str, int] = {}
    async with TwoRunners(directory, ["notify_channels", "notify_deliveries"]) as runners:
        for number, step in enumerate(history):
            kind, team, name, _, source = step
            meta = EventMeta(actor=f"user:{number}", team=team)
            if kind in ("sent", "failed", "gave up"):
                held = notifications.fold(team, streams[team]).channels.get(name)
                if held is None:
                    continue
                event = attempt(kind, team, name, held.channel_id, source)
                await runners.append(f"channel-{held.channel_id}", [event], meta)
                if kind != "failed":
                    settled[held.channel_id] = max(settled.get(held.channel_id, 0), source)
                continue
            try:
                events = decided(streams[team], step)
            except DomainError:
                continue
            if events:
                await runners.append(teams.stream_id(team), events, meta)
                streams[team] += events
        built = await runners.same_from_zero()
        read = await runners.read()
        try:
            for team, of_team in streams.items():
                folded = notifications.fold(team, of_team).channels
                shown = await read.notifications.channels([team])
                assert {c.name: c.as_set() for c in shown} == folded
                for channel in shown:
                    told = await read.notifications.told_through(channel.channel_id)
                    assert told == settled.get(channel.channel_id)
        finally:
            await read.close()
        await runners.same_rebuilt(built)


@given(st.lists(steps, min_size=5, max_size=60))
@settings(max_examples=60, deadline=None)
def test_the_view_applied_as_events_arrive_equals_it_rebuilt_and_the_domain(
    history: list[tuple[str, str, str, str, int]],
) -> None:
    with tempfile.TemporaryDirectory() as directory:
        anyio.run(check, Path(directory), history)
