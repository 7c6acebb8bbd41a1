"""The Stack aggregate: a compose stack's settings in its environment, where its compose file
comes from, which domains reach which service, and its variables (sealed). Its releases are
aggregates of their own (`stack_releases`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import partial

import msgspec

from rivetr.domain import projects
from rivetr.domain.databases import RESERVED_NAMES
from rivetr.domain.errors import AlreadyExists, InvalidCommand, NotFound
from rivetr.domain.event_base import Event
from rivetr.domain.git_credentials import NONE, recorded_change
from rivetr.domain.projects import ProjectState
from rivetr.domain.stack_commands import (
    ChangeStackSettings,
    CreateStack,
    DeleteStack,
    DeployStack,
    DisableStackWebhook,
    RollBackStack,
    SetStackVariables,
    SetStackWebhookSecret,
    StackRouteInput,
    refuse_credentials_inline,
)
from rivetr.domain.stack_events import (
    StackCreated,
    StackDeleted,
    StackGitCredentialsChanged,
    StackReleaseRequested,
    StackRoute,
    StackSettingsChanged,
    StackVariablesChanged,
    StackWebhookDisabled,
    StackWebhookSecretSet,
)
from rivetr.domain.stack_releases import SERVED, StackReleaseState


class StackState(msgspec.Struct, frozen=True, kw_only=True):
    stack_id: str
    exists: bool = False
    deleted: bool = False
    name: str = ""
    team: str = ""
    project: str = ""
    environment: str = ""
    git_url: str | None = None
    branch: str = "main"
    compose_path: str = "compose.yaml"
    compose: str | None = None
    routes: tuple[StackRoute, ...] = ()
    variables: dict[str, str] = msgspec.field(default_factory=dict)  # sealed values
    template: str | None = None
    watch_paths: tuple[str, ...] = ()
    webhook_secret: str | None = None  # sealed; None: webhooks refused
    # a private repository's credentials (sealed; None: none), as an app's
    git_token: str | None = None
    deploy_key: str | None = None

    @property
    def domains(self) -> list[str]:
        return [domain for route in self.routes for domain in route.domains]


def stream_id(stack_id: str) -> str:
    return f"stack-{stack_id}"


def evolve(state: StackState, event: Event) -> StackState:
    match event:
        case StackCreated():
            return StackState(
                stack_id=event.stack_id,
                exists=True,
                name=event.name,
                team=event.team,
                project=event.project,
                environment=event.environment,
                git_url=event.git_url,
                branch=event.branch,
                compose_path=event.compose_path,
                compose=event.compose,
                routes=tuple(event.routes),
                variables=dict(event.variables),
                template=event.template,
                watch_paths=tuple(event.watch_paths),
            )
        case StackSettingsChanged():
            changed = {
                field: value
                for field in ("git_url", "branch", "compose_path", "compose")
                if (value := getattr(event, field)) is not msgspec.UNSET
            }
            if not isinstance(event.routes, msgspec.UnsetType):
                changed["routes"] = tuple(event.routes)
            if not isinstance(event.watch_paths, msgspec.UnsetType):
                changed["watch_paths"] = tuple(event.watch_paths)
            return msgspec.structs.replace(state, **changed)
        case StackVariablesChanged():
            return msgspec.structs.replace(state, variables=dict(event.variables))
        case StackGitCredentialsChanged():
            return msgspec.structs.replace(
                state, git_token=event.token, deploy_key=event.deploy_key
            )
        case StackWebhookSecretSet():
            return msgspec.structs.replace(state, webhook_secret=event.secret)
        case StackWebhookDisabled():
            return msgspec.structs.replace(state, webhook_secret=None)
        case StackDeleted():
            return msgspec.structs.replace(state, deleted=True)
    return state


def fold(stack_id: str, events: Iterable[Event]) -> StackState:
    state = StackState(stack_id=stack_id)
    for event in events:
        state = evolve(state, event)
    return state


def require(state: StackState) -> None:
    if not state.exists or state.deleted:
        raise NotFound(f"no stack with id {state.stack_id}")


def routes(given: Iterable[StackRouteInput]) -> list[StackRoute]:
    return [StackRoute(service=r.service, port=r.port, domains=list(r.domains)) for r in given]


def decide_create(
    state: StackState,
    home: ProjectState,
    command: CreateStack,
    sealed: Mapping[str, str],
    template: str | None = None,
) -> list[Event]:
    """`sealed` holds the command's variables, sealed by the service (and its git
    credentials, sealed in the command).

    Raises:
        AlreadyExists: the id is taken.
        NotFound: no such environment.
        InvalidCommand: a name references would mistake for a scope.
    """
    if state.exists:
        raise AlreadyExists(f"a stack with id {state.stack_id} already exists")
    if command.name in RESERVED_NAMES:
        raise InvalidCommand(
            f"{command.name!r} is how shared variables are referenced: choose another name",
            field="name",
        )
    projects.require_environment(home, command.environment)
    assert command.team is not None
    return [
        StackCreated(
            stack_id=state.stack_id,
            name=command.name,
            team=command.team,
            project=command.project,
            environment=command.environment,
            git_url=command.git_url,
            branch=command.branch,
            compose_path=command.compose_path,
            compose=command.compose,
            routes=routes(command.routes),
            variables=dict(sealed),
            template=template,
            watch_paths=list(command.watch_paths),
        ),
        *recorded_change(NONE, command.git_token, command.deploy_key, _credentials(state)),
    ]


def _credentials(state: StackState) -> partial[StackGitCredentialsChanged]:
    return partial(StackGitCredentialsChanged, stack_id=state.stack_id)


def decide_settings(state: StackState, command: ChangeStackSettings) -> list[Event]:
    """New settings, and new git credentials (sealed in the command by the service); a stack
    switched to inline drops its credentials, which were for the repository it left.

    Raises:
        NotFound: no such stack.
        InvalidCommand: no source left, or two; credentials given to an inline stack.
    """
    require(state)
    git_url = state.git_url if command.git_url is msgspec.UNSET else command.git_url
    compose = state.compose if command.compose is msgspec.UNSET else command.compose
    if (git_url is None) == (compose is None):
        raise InvalidCommand(
            "a stack takes its compose file from a repository (git_url) or inline (compose):"
            " set one and null the other",
            field="compose",
        )
    token, key = command.git_token, command.deploy_key
    if git_url is None:
        refuse_credentials_inline(git_url, token, key)
        token, key = None, None
    changed = StackSettingsChanged(
        stack_id=state.stack_id,
        git_url=command.git_url,
        branch=command.branch,
        compose_path=command.compose_path,
        compose=command.compose,
        routes=msgspec.UNSET
        if isinstance(command.routes, msgspec.UnsetType)
        else routes(command.routes),
        watch_paths=msgspec.UNSET
        if isinstance(command.watch_paths, msgspec.UnsetType)
        else list(command.watch_paths),
    )
    # credentials alone change no setting: no empty settings event beside theirs
    given = (command.git_token, command.deploy_key) != (msgspec.UNSET, msgspec.UNSET)
    only_credentials = given and changed == StackSettingsChanged(stack_id=state.stack_id)
    return [
        *([] if only_credentials else [changed]),
        *recorded_change((state.git_token, state.deploy_key), token, key, _credentials(state)),
    ]


def decide_variables(
    state: StackState, command: SetStackVariables, sealed: Mapping[str, str]
) -> list[Event]:
    """`sealed` holds the command's new values, sealed by the service; a null removes."""
    require(state)
    variables = dict(state.variables)
    for name, value in command.variables.items():
        if value is None:
            variables.pop(name, None)
        else:
            variables[name] = sealed[name]
    if variables == state.variables:
        return []
    return [StackVariablesChanged(stack_id=state.stack_id, variables=variables)]


def decide_delete(state: StackState, command: DeleteStack) -> list[Event]:
    require(state)
    return [StackDeleted(stack_id=command.stack_id)]


def decide_webhook_secret(state: StackState, command: SetStackWebhookSecret) -> list[Event]:
    """`command.secret` is sealed by the service.

    Raises:
        NotFound: no such stack.
        InvalidCommand: an inline stack: no repository pushes to it.
    """
    require(state)
    if state.git_url is None:
        raise InvalidCommand(
            "an inline stack has no repository to push to: give it a git_url to deploy it on push",
            field="git_url",
        )
    if state.webhook_secret == command.secret:
        return []
    if command.reseal and state.webhook_secret is None:
        return []  # turned off meanwhile: nothing to seal again
    rotated = state.webhook_secret is not None and not command.reseal
    return [
        StackWebhookSecretSet(
            stack_id=state.stack_id, secret=command.secret, rotated=rotated, resealed=command.reseal
        )
    ]


def decide_webhook_disabled(state: StackState, command: DisableStackWebhook) -> list[Event]:
    """Raises NotFound (no such stack); turning off a webhook that is off changes nothing."""
    require(state)
    return [] if state.webhook_secret is None else [StackWebhookDisabled(stack_id=state.stack_id)]


def decide_deploy(state: StackState, command: DeployStack, release_id: str) -> list[Event]:
    require(state)
    if command.commit is not None and state.git_url is None:
        raise InvalidCommand("an inline stack has no commits to deploy", field="commit")
    return [
        StackReleaseRequested(
            release_id=release_id,
            stack_id=state.stack_id,
            commit=command.commit,
            trigger=command.trigger,
        )
    ]


def decide_rollback(
    state: StackState, command: RollBackStack, target: StackReleaseState, release_id: str
) -> list[Event]:
    """Raises NotFound (no such stack or release of it) or InvalidCommand (a release that
    never served, or one without an image for each service)."""
    require(state)
    if target.status == "new" or target.stack_id != state.stack_id:
        raise NotFound(f"stack {state.stack_id} has no release {command.to}")
    if target.status not in SERVED:
        raise InvalidCommand(
            f"release {command.to} never served ({target.status}); only one that did can be"
            " gone back to",
            field="to",
        )
    images = {name: run.image for name, run in target.services.items() if run.image is not None}
    return [
        StackReleaseRequested(
            release_id=release_id,
            stack_id=state.stack_id,
            commit=target.commit_sha,
            trigger="rollback",
            rollback_of=command.to,
            images=images,
        )
    ]
