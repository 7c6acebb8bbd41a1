"""The instance's settings that take effect without a restart (today: `public_url`, on which
webhook URLs are built), changed as events in the log: each change decided here, and the log's
history folded back to the values it holds. The others live in the config file and the
environment only, and are read once at start."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated, Any

import msgspec

from rivetr.domain.commands import ChangeInstanceSettings
from rivetr.domain.errors import InvalidCommand
from rivetr.domain.events import Event, InstanceSettingsChanged

STREAM = "instance-settings"

# where git hosts and browsers reach this Rivetr: a scheme, a host, maybe a path; no query,
# fragment or credentials (a webhook URL is built by appending to it)
PublicUrl = Annotated[str, msgspec.Meta(pattern=r"^https?://[^\s/?#@]+(/[^\s?#]*)?$")]

# each setting that may change while the instance runs, with the type its value must have
EDITABLE: Mapping[str, Any] = {"public_url": PublicUrl}


class InstanceSettingsState(msgspec.Struct, frozen=True, kw_only=True):
    values: Mapping[str, str] = msgspec.field(default_factory=dict)  # only those the log sets


def stream_id(_: str = "") -> str:
    return STREAM


def evolve(state: InstanceSettingsState, event: Event) -> InstanceSettingsState:
    if not isinstance(event, InstanceSettingsChanged):
        return state
    values = dict(state.values)
    for setting, value in event.changes.items():
        if value is None:
            values.pop(setting, None)
        else:
            values[setting] = value
    return InstanceSettingsState(values=values)


def fold(_: str, events: Iterable[Event]) -> InstanceSettingsState:
    state = InstanceSettingsState()
    for event in events:
        state = evolve(state, event)
    return state


def decide(state: InstanceSettingsState, command: ChangeInstanceSettings) -> list[Event]:
    """The changes that change something, as one event; none when nothing would change.

    Raises:
        InvalidCommand: a setting that needs a restart, one pinned by an environment
            variable, or a value of the wrong shape (naming the setting as the field).
    """
    changes: dict[str, str | None] = {}
    for setting, value in command.changes.items():
        if setting not in EDITABLE:
            raise InvalidCommand(
                f"{setting} is read at start: change it in the config file or the environment"
                " and restart",
                field=setting,
            )
        if setting in command.pinned:
            raise InvalidCommand(
                f"{setting} is set by {command.pinned[setting]}, which wins: change it there"
                " and restart",
                field=setting,
            )
        if value is not None:
            try:
                msgspec.convert(value, EDITABLE[setting])
            except msgspec.ValidationError as exc:
                reason = str(exc).split(" - at ")[0]
                raise InvalidCommand(f"{setting}: {reason}", field=setting) from None
        if state.values.get(setting) != value:
            changes[setting] = value
    return [InstanceSettingsChanged(changes=changes)] if changes else []
