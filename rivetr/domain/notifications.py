"""A team's notification channels, decided on the team's stream: which kind of service each one
is, whether its URL is one that kind takes, and what it is told about. A team deleted and made
again under the same slug starts with no channels."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, get_args
from urllib.parse import urlsplit

import msgspec

from rivetr.domain import teams
from rivetr.domain.errors import InvalidCommand, NotFound
from rivetr.domain.events import Event, TeamCreated, TeamDeleted
from rivetr.domain.notification_commands import RemoveChannel, SetChannel
from rivetr.domain.notification_events import (
    ChannelKind,
    ChannelRemoved,
    ChannelSet,
    NoticeKind,
)

# the URL schemes each kind is given in: apprise's own, and the https:// URL the service
# itself hands out where apprise reads that too (a Slack, Discord or Teams workflow webhook)
SCHEMES: Final[dict[ChannelKind, frozenset[str]]] = {
    "email": frozenset({"mailto", "mailtos"}),
    "slack": frozenset({"slack", "https"}),
    "discord": frozenset({"discord", "https"}),
    "telegram": frozenset({"tgram", "https"}),
    "mattermost": frozenset({"mmost", "mmosts"}),
    "teams": frozenset({"workflow", "workflows", "https"}),
    "ntfy": frozenset({"ntfy", "ntfys"}),
    "gotify": frozenset({"gotify", "gotifys"}),
    "pushover": frozenset({"pover"}),
    "webhook": frozenset({"https", "http"}),
}
# what a channel may subscribe to: every notice but the test, which each channel takes
SUBSCRIBABLE: Final[tuple[NoticeKind, ...]] = tuple(
    kind for kind in get_args(NoticeKind) if kind != "test"
)
# of the instance, not of one team's apps: told to the channels of the instance's own team
INSTANCE_NOTICES: Final = frozenset(
    {"engine.lost", "engine.back", "host.threshold", "host.storage"}
)


class TeamChannels(msgspec.Struct, frozen=True, kw_only=True):
    team: str
    channels: dict[str, ChannelSet] = msgspec.field(default_factory=dict)


def evolve(state: TeamChannels, event: Event) -> TeamChannels:
    match event:
        case ChannelSet():
            return msgspec.structs.replace(state, channels={**state.channels, event.name: event})
        case ChannelRemoved():
            kept = {n: c for n, c in state.channels.items() if n != event.name}
            return msgspec.structs.replace(state, channels=kept)
        case TeamCreated() | TeamDeleted():
            return TeamChannels(team=state.team)
        case _:
            return state


def fold(team: str, events: Iterable[Event]) -> TeamChannels:
    state = TeamChannels(team=team)
    for event in events:
        state = evolve(state, event)
    return state


def stream_id(team: str) -> str:
    return teams.stream_id(team)


def channel_stream(channel_id: str) -> str:
    """Where the notices sent on one channel are recorded."""
    return f"channel-{channel_id}"


def check_url(kind: ChannelKind, url: str) -> None:
    """Raises InvalidCommand (field `url`) for a URL the kind is never given in."""
    scheme = urlsplit(url).scheme.lower() if "://" in url else ""
    if scheme not in SCHEMES[kind]:
        given = ", ".join(f"{s}://" for s in sorted(SCHEMES[kind]))
        raise InvalidCommand(
            f"a {kind} channel's URL starts with one of {given}"
            + (f", not {scheme}://" if scheme else ""),
            field="url",
        )


def check_subscriptions(on: list[NoticeKind]) -> None:
    if not on:
        raise InvalidCommand("a channel is told about at least one kind of notice", field="on")
    if "test" in on:
        raise InvalidCommand(
            "every channel takes a test notice when asked: leave 'test' out", field="on"
        )


def decide(
    state: TeamChannels, command: SetChannel, channel_id: str, fresh_secret: str
) -> list[Event]:
    """`channel_id`: a new channel's id, kept for a channel replaced; `fresh_secret` (sealed):
    the signing secret a webhook channel takes unless it keeps its own (it stays a webhook and
    no new one is asked for). The URL comes sealed: `check_url` read it before."""
    check_subscriptions(command.on)
    held = state.channels.get(command.name)
    secret = None
    if command.kind == "webhook":
        kept = held.signing_secret if held is not None and held.kind == "webhook" else None
        secret = kept if kept is not None and not command.new_secret else fresh_secret
    return [
        ChannelSet(
            team=state.team,
            name=command.name,
            channel_id=held.channel_id if held is not None else channel_id,
            kind=command.kind,
            url=command.url,
            signing_secret=secret,
            on=sorted(set(command.on)),
            projects=sorted(set(command.projects)),
            environments=sorted(set(command.environments)),
        )
    ]


def channel(state: TeamChannels, name: str) -> ChannelSet:
    """Raises NotFound naming the team's channels."""
    found = state.channels.get(name)
    if found is None:
        known = ", ".join(sorted(state.channels)) or "none"
        raise NotFound(
            f"team {state.team!r} has no notification channel {name!r} (it has: {known})"
        )
    return found


def decide_removal(state: TeamChannels, command: RemoveChannel) -> list[Event]:
    held = channel(state, command.name)
    return [ChannelRemoved(team=state.team, name=held.name, channel_id=held.channel_id)]
