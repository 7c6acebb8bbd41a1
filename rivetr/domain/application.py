"""The Application aggregate: its state folded from events, and the decisions on its commands."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

import msgspec

from rivetr.domain.commands import ChangeAppSettings, CreateApp, DeleteApp
from rivetr.domain.errors import AlreadyExists, InvalidCommand, NotFound
from rivetr.domain.events import (
    AppCreated,
    AppDeleted,
    AppEnvChanged,
    AppGitCredentialsChanged,
    AppSettingsChanged,
    Event,
)
from rivetr.domain.settings import BuildSettings, HealthCheck, Resources
from rivetr.domain.teams import ROOT_TEAM

AppCommand = CreateApp | ChangeAppSettings | DeleteApp
_S = TypeVar("_S", bound=msgspec.Struct)


class AppState(msgspec.Struct, frozen=True, kw_only=True):
    """An application as the log says it is now. `exists` is false before creation and after
    deletion; a deleted name can be created again and continues the same stream."""

    name: str
    exists: bool = False
    team: str = ROOT_TEAM
    git_url: str | None = None
    branch: str = "main"
    build: BuildSettings = msgspec.field(default_factory=BuildSettings)
    port: int = 8080
    domains: tuple[str, ...] = ()
    health: HealthCheck = msgspec.field(default_factory=HealthCheck)
    resources: Resources = msgspec.field(default_factory=Resources)
    env: dict[str, str] = msgspec.field(default_factory=dict)
    git_token: str | None = None
    deploy_key: str | None = None


def git_auth(token: str | None, deploy_key: str | None) -> list[str]:
    """Which git credentials are set ("deploy_key", "token"), never their values."""
    return [kind for kind, value in (("deploy_key", deploy_key), ("token", token)) if value]


def stream_id(name: str) -> str:
    return f"app-{name}"


def initial_state(name: str) -> AppState:
    return AppState(name=name)


def evolve(state: AppState, event: Event) -> AppState:
    """Fold one event into the state. Events of other aggregates leave it unchanged."""
    match event:
        case AppCreated():
            return AppState(
                name=event.name,
                exists=True,
                team=event.team,
                git_url=event.git_url,
                branch=event.branch,
                build=event.build,
                port=event.port,
                domains=tuple(event.domains),
                health=event.health,
                resources=event.resources,
                env=dict(event.env),
            )
        case AppSettingsChanged():
            changes = {
                field: value
                for field in ("git_url", "branch", "build", "port", "health", "resources")
                if (value := getattr(event, field)) is not msgspec.UNSET
            }
            if event.domains is not msgspec.UNSET:
                changes["domains"] = tuple(event.domains)
            return msgspec.structs.replace(state, **changes)
        case AppEnvChanged():
            env = {k: v for k, v in state.env.items() if k not in event.unset}
            env.update(event.set)
            return msgspec.structs.replace(state, env=env)
        case AppGitCredentialsChanged():
            return msgspec.structs.replace(
                state, git_token=event.token, deploy_key=event.deploy_key
            )
        case AppDeleted():
            return initial_state(state.name)
        case _:
            return state


def fold(name: str, events: Iterable[Event]) -> AppState:
    state = initial_state(name)
    for event in events:
        state = evolve(state, event)
    return state


def decide(state: AppState, command: AppCommand) -> list[Event]:
    """Decide which events a command produces against the current state.

    Raises:
        AlreadyExists: creating an application whose name is taken.
        NotFound: changing or deleting an application that does not exist.
        InvalidCommand: a change that leaves the application inconsistent.
    """
    match command:
        case CreateApp():
            if state.exists:
                raise AlreadyExists(f"an application named {command.name!r} already exists")
            _check_health(command.health)
            return [
                AppCreated(
                    name=command.name,
                    team=command.team or ROOT_TEAM,
                    git_url=command.git_url,
                    branch=command.branch,
                    build=_plain(command.build, BuildSettings),
                    port=command.port,
                    domains=_unique(command.domains),
                    health=_plain(command.health, HealthCheck),
                    env=dict(command.env),
                    resources=_plain(command.resources, Resources),
                ),
                *_credentials(state, command.name, command.git_token, command.deploy_key),
            ]
        case ChangeAppSettings():
            _require(state)
            return _decide_change(state, command)
        case DeleteApp():
            _require(state)
            return [AppDeleted(name=state.name)]


def _decide_change(state: AppState, command: ChangeAppSettings) -> list[Event]:
    changes: dict[str, object] = {}
    for field in ("git_url", "branch", "port"):
        value = getattr(command, field)
        if value is not msgspec.UNSET and value != getattr(state, field):
            changes[field] = value
    if command.build is not msgspec.UNSET:
        build = _plain(command.build, BuildSettings)
        if build != state.build:
            changes["build"] = build
    if command.health is not msgspec.UNSET:
        health = _plain(command.health, HealthCheck)
        if health != state.health:
            changes["health"] = health
    if command.resources is not msgspec.UNSET:
        resources = _plain(command.resources, Resources)
        if resources != state.resources:
            changes["resources"] = resources
    if command.domains is not msgspec.UNSET:
        domains = _unique(command.domains)
        if tuple(domains) != state.domains:
            changes["domains"] = domains
    new_health = changes.get("health", state.health)
    assert isinstance(new_health, HealthCheck)
    _check_health(new_health)

    events: list[Event] = []
    if changes:
        events.append(AppSettingsChanged(name=state.name, **changes))  # type: ignore[arg-type]
    if command.env is not msgspec.UNSET:
        to_set = {k: v for k, v in command.env.items() if v is not None and state.env.get(k) != v}
        to_unset = sorted(k for k, v in command.env.items() if v is None and k in state.env)
        if to_set or to_unset:
            events.append(AppEnvChanged(name=state.name, set=to_set, unset=to_unset))
    token = state.git_token if command.git_token is msgspec.UNSET else command.git_token
    key = state.deploy_key if command.deploy_key is msgspec.UNSET else command.deploy_key
    events.extend(_credentials(state, state.name, token, key))
    return events


def _credentials(
    state: AppState, name: str, token: str | None, deploy_key: str | None
) -> list[Event]:
    """An event when the credentials differ from those the app has (none before creation)."""
    before = (state.git_token, state.deploy_key) if state.exists else (None, None)
    if (token, deploy_key) == before:
        return []
    return [AppGitCredentialsChanged(name=name, token=token, deploy_key=deploy_key)]


def _require(state: AppState) -> None:
    if not state.exists:
        raise NotFound(f"no application named {state.name!r}")


def _check_health(health: HealthCheck) -> None:
    if health.timeout_s > health.boot_deadline_s:
        raise InvalidCommand(
            f"health.timeout_s ({health.timeout_s}) must not exceed "
            f"health.boot_deadline_s ({health.boot_deadline_s})"
        )


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _plain(value: msgspec.Struct, as_type: type[_S]) -> _S:
    """Turn a strict input Struct into the tolerant type events carry."""
    return msgspec.convert(msgspec.to_builtins(value), as_type)
