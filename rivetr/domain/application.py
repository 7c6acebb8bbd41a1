"""The Application aggregate: its state folded from events, and the decisions on its commands."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import TypeVar

import msgspec

from rivetr.domain.commands import (
    ChangeAppSettings,
    ClosePreview,
    CreateApp,
    DeleteApp,
    DisableWebhook,
    MoveApp,
    OpenPreview,
    SetWebhookSecret,
)
from rivetr.domain.errors import AlreadyExists, InvalidCommand, NotFound
from rivetr.domain.events import (
    AppCreated,
    AppDeleted,
    AppEnvChanged,
    AppGitCredentialsChanged,
    AppMoved,
    AppSettingsChanged,
    AppVariableScopesChanged,
    Event,
    VariableScope,
    WebhookDisabled,
    WebhookSecretSet,
)
from rivetr.domain.git_credentials import NONE, recorded_change
from rivetr.domain.projects import DEFAULT_PROJECT, PRODUCTION, ProjectState, require_environment
from rivetr.domain.scale_events import AppScaled, Scale
from rivetr.domain.scopes import carried, decide_scopes, evolve_scopes
from rivetr.domain.settings import BuildSettings, HealthCheck, Resources, host_of, path_of
from rivetr.domain.teams import ROOT_TEAM

AppCommand = (
    CreateApp | ChangeAppSettings | DeleteApp | SetWebhookSecret | DisableWebhook | ClosePreview
)
PREVIEW_LIMIT = 63  # an app name is a DNS label
_SCALAR_SETTINGS = ("git_url", "branch", "build", "port", "health", "resources", "previews")
_S = TypeVar("_S", bound=msgspec.Struct)


class AppState(msgspec.Struct, frozen=True, kw_only=True):
    """One application as the log says it is now, known by its id. `exists` is false before
    creation and after deletion. A deleted app's name may be taken by a new app, which gets an
    id (and a stream) of its own: nothing of the old one carries over."""

    app_id: str
    name: str = ""
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
    watch_paths: tuple[str, ...] = ()
    previews: bool = False
    previews_from_forks: bool = False
    webhook_secret: str | None = None  # sealed; None: webhooks refused
    preview_of: str | None = None
    pr_number: int | None = None
    project: str = DEFAULT_PROJECT
    environment: str = PRODUCTION
    # where each variable goes (none recorded: runtime and preview), and the value a preview
    # takes instead (sealed)
    env_scopes: dict[str, VariableScope] = msgspec.field(default_factory=dict)
    env_preview: dict[str, str] = msgspec.field(default_factory=dict)
    scale: Scale = msgspec.field(default_factory=Scale)  # one copy, here, until scaled


def stream_id(app_id: str) -> str:
    """The app's stream. Apps created before ids (id "<name>.<position>") share the stream of
    their name, one after the other; `fold` picks an app's own events out of it."""
    return f"app-{app_id.partition('.')[0]}"


def initial_state(app_id: str, name: str = "") -> AppState:
    return AppState(app_id=app_id, name=name)


def evolve(state: AppState, event: Event) -> AppState:
    """Fold one event into the state. Events of other aggregates leave it unchanged."""
    match event:
        case AppCreated():
            return AppState(
                app_id=event.app_id,
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
                watch_paths=tuple(event.watch_paths),
                previews=event.previews,
                preview_of=event.preview_of,
                pr_number=event.pr_number,
                previews_from_forks=event.previews_from_forks,
                project=event.project,
                environment=event.environment,
            )
        case AppMoved():
            return msgspec.structs.replace(
                state, project=event.project, environment=event.environment
            )
        case AppSettingsChanged():
            changes = {
                field: value
                for field in (
                    "git_url",
                    "branch",
                    "build",
                    "port",
                    "health",
                    "resources",
                    "previews",
                    "previews_from_forks",
                )
                if (value := getattr(event, field)) is not msgspec.UNSET
            }
            for field in ("domains", "watch_paths"):
                if (listed := getattr(event, field)) is not msgspec.UNSET:
                    changes[field] = tuple(listed)
            return msgspec.structs.replace(state, **changes)
        case AppScaled():
            return msgspec.structs.replace(state, scale=event.scale)
        case WebhookSecretSet():
            return msgspec.structs.replace(state, webhook_secret=event.secret)
        case WebhookDisabled():
            return msgspec.structs.replace(state, webhook_secret=None)
        case AppEnvChanged():
            env = {k: v for k, v in state.env.items() if k not in event.unset}
            env.update(event.set)
            # a variable removed takes its scope and preview value with it
            kept = {k: v for k, v in state.env_scopes.items() if k not in event.unset}
            previewed = {k: v for k, v in state.env_preview.items() if k not in event.unset}
            return msgspec.structs.replace(state, env=env, env_scopes=kept, env_preview=previewed)
        case AppVariableScopesChanged():
            kept, previewed = evolve_scopes(state.env_scopes, state.env_preview, event)
            return msgspec.structs.replace(state, env_scopes=kept, env_preview=previewed)
        case AppGitCredentialsChanged():
            return msgspec.structs.replace(
                state, git_token=event.token, deploy_key=event.deploy_key
            )
        case AppDeleted():
            return initial_state(state.app_id, state.name)
        case _:
            return state


def fold(app_id: str, events: Iterable[Event]) -> AppState:
    """The app `app_id` from its stream's events: only those from its own creation on (an
    older stream may hold apps of the same name before and after it)."""
    state = initial_state(app_id)
    mine = False
    for event in events:
        if isinstance(event, AppCreated):
            mine = event.app_id == app_id
        if mine:
            state = evolve(state, event)
    return state


def decide(state: AppState, command: AppCommand) -> list[Event]:
    """Decide which events a command produces against the current state.

    Raises:
        AlreadyExists: creating an application whose id is taken (names are claims: `claims.py`).
        NotFound: changing or deleting an application that does not exist.
        InvalidCommand: a change that leaves the application inconsistent.
    """
    match command:
        case CreateApp():
            if state.exists:
                raise AlreadyExists(f"application {state.app_id} already exists")
            _check_health(command.health)
            return [
                AppCreated(
                    app_id=state.app_id,
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
                    watch_paths=_unique(command.watch_paths),
                    previews=command.previews,
                    previews_from_forks=command.previews_from_forks,
                    project=command.project,
                    environment=command.environment,
                ),
                *_credentials(state, command.name, command.git_token, command.deploy_key),
            ]
        case ChangeAppSettings():
            _require(state)
            return _decide_change(state, command)
        case DeleteApp():
            _require(state)
            return [AppDeleted(name=state.name)]
        case SetWebhookSecret():
            _require(state)
            if state.webhook_secret == command.secret:
                return []
            rotated = state.webhook_secret is not None and not command.reseal
            return [WebhookSecretSet(name=state.name, secret=command.secret, rotated=rotated)]
        case DisableWebhook():
            _require(state)
            return [] if state.webhook_secret is None else [WebhookDisabled(name=state.name)]
        case ClosePreview():
            if not state.exists:
                return []  # closed already (or never opened): a repeated delivery is fine
            if state.preview_of is None:
                raise InvalidCommand(f"{state.name!r} is not a preview app")
            return [AppDeleted(name=state.name)]
    raise TypeError(f"not an application command: {type(command).__name__}")


def decide_create(state: AppState, home: ProjectState, command: CreateApp) -> list[Event]:
    """Create the app in an environment that exists (`home` is its project)."""
    require_environment(home, command.environment)
    return decide(state, command)


def decide_move(
    state: AppState, target: ProjectState, command: MoveApp, *, with_parent: bool = False
) -> list[Event]:
    """Move the app to an existing environment of its team's projects; where it is already,
    nothing happens. A preview moves only `with_parent`: it lives beside the app it previews."""
    _require(state)
    if state.preview_of is not None and not with_parent:
        raise InvalidCommand(f"{state.name!r} is a preview: it lives beside the app it previews")
    require_environment(target, command.environment)
    if (state.project, state.environment) == (command.project, command.environment):
        return []
    return [
        AppMoved(
            name=state.name,
            from_project=state.project,
            from_environment=state.environment,
            project=command.project,
            environment=command.environment,
        )
    ]


def preview_name(app: str, pr_number: int) -> str:
    """`<app>-pr-<n>`, with the app's name cut short enough to stay a DNS label."""
    suffix = f"-pr-{pr_number}"
    return app[: PREVIEW_LIMIT - len(suffix)].rstrip("-") + suffix


def preview_domains(parent: AppState, pr_number: int) -> list[str]:
    """Each of the parent's domains as pr-<n>.<domain> (a wildcard's, under its base)."""
    return _unique(
        [f"pr-{pr_number}.{host_of(d).removeprefix('*.')}{path_of(d)}" for d in parent.domains]
    )


def decide_preview(parent: AppState, state: AppState, command: OpenPreview) -> list[Event]:
    """The preview app of a pull request (a new app, `state`): the parent's settings on the
    PR's branch, each of the parent's domains as pr-<n>.<domain>."""
    if not parent.exists:
        raise NotFound(f"no application named {parent.name!r}")
    if state.exists:
        raise AlreadyExists(f"application {state.app_id} already exists")
    return [
        AppCreated(
            app_id=state.app_id,
            name=command.name,
            team=parent.team,
            git_url=command.git_url or parent.git_url,
            branch=command.branch,
            build=parent.build,
            port=parent.port,
            domains=preview_domains(parent, command.pr_number),
            health=parent.health,
            env=dict(command.env),
            resources=parent.resources,
            preview_of=parent.name,
            pr_number=command.pr_number,
            project=parent.project,
            environment=parent.environment,
        ),
        *_credentials(state, command.name, command.git_token, command.deploy_key),
        *carried(command.name, set(command.env), parent.env_scopes),
    ]


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
    for field in ("domains", "watch_paths"):
        listed = getattr(command, field)
        if listed is not msgspec.UNSET and tuple(_unique(listed)) != getattr(state, field):
            changes[field] = _unique(listed)
    for flag in ("previews", "previews_from_forks"):
        value = getattr(command, flag)
        if value is not msgspec.UNSET and value != getattr(state, flag):
            changes[flag] = value
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
    names = set(state.env)
    for event in events:
        if isinstance(event, AppEnvChanged):
            names = (names - set(event.unset)) | set(event.set)
    events += decide_scopes(
        state.name,
        names,
        state.env_scopes,
        state.env_preview,
        command.env_scopes,
        command.env_preview,
    )
    events.extend(_credentials(state, state.name, command.git_token, command.deploy_key))
    return events


def _credentials(
    state: AppState,
    name: str,
    token: str | msgspec.UnsetType | None,
    deploy_key: str | msgspec.UnsetType | None,
) -> list[Event]:
    """An event when the credentials differ from those the app has (none before creation)."""
    before = (state.git_token, state.deploy_key) if state.exists else NONE
    return recorded_change(before, token, deploy_key, partial(AppGitCredentialsChanged, name=name))


def _require(state: AppState) -> None:
    if not state.exists:
        raise NotFound(f"no application named {state.name or state.app_id!r}")


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
