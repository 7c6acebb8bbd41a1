"""The Project aggregate: a team's projects and the environments each holds resources in.

Every team has a `default` project with a `production` environment without any event saying so:
the apps of a log written before projects existed live there (a derived default, never a
rewrite of the log). `production` is the first environment of every project and the one a
release is promoted to, so it is never deleted; a project or an environment is deleted only
when it holds nothing."""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from rivetr.domain.commands import (
    CreateEnvironment,
    CreateProject,
    DeleteEnvironment,
    DeleteProject,
    ProjectCommand,
)
from rivetr.domain.errors import AlreadyExists, InvalidCommand, NotFound
from rivetr.domain.events import (
    EnvironmentCreated,
    EnvironmentDeleted,
    Event,
    ProjectCreated,
    ProjectDeleted,
)

DEFAULT_PROJECT = "default"
PRODUCTION = "production"


class ProjectState(msgspec.Struct, frozen=True, kw_only=True):
    team: str
    project: str
    exists: bool = False
    name: str = ""
    environments: tuple[str, ...] = ()  # in the order they were made: production first


def key(team: str, project: str) -> str:
    """The aggregate's key: a project's slug is unique in its team only."""
    return f"{team}/{project}"


def stream_id(project_key: str) -> str:
    return f"project-{project_key}"


def initial_state(team: str, project: str) -> ProjectState:
    if project == DEFAULT_PROJECT:
        return ProjectState(
            team=team, project=project, exists=True, name="Default", environments=(PRODUCTION,)
        )
    return ProjectState(team=team, project=project)


def evolve(state: ProjectState, event: Event) -> ProjectState:
    match event:
        case ProjectCreated():
            return ProjectState(
                team=event.team,
                project=event.project,
                exists=True,
                name=event.name,
                environments=tuple(event.environments),
            )
        case ProjectDeleted():
            return ProjectState(team=state.team, project=state.project)
        case EnvironmentCreated():
            return msgspec.structs.replace(
                state, environments=(*state.environments, event.environment)
            )
        case EnvironmentDeleted():
            kept = tuple(e for e in state.environments if e != event.environment)
            return msgspec.structs.replace(state, environments=kept)
        case _:
            return state


def fold(project_key: str, events: Iterable[Event]) -> ProjectState:
    team, _, project = project_key.partition("/")
    state = initial_state(team, project)
    for event in events:
        state = evolve(state, event)
    return state


def has_environment(state: ProjectState, environment: str) -> bool:
    return state.exists and environment in state.environments


def require_environment(state: ProjectState, environment: str) -> None:
    """Raises NotFound naming what is missing: the project, or its environment."""
    if not state.exists:
        raise NotFound(f"no project {state.project!r} in team {state.team!r}", field="project")
    if environment not in state.environments:
        raise NotFound(
            f"no environment {environment!r} in project {state.project!r}", field="environment"
        )


def decide(state: ProjectState, command: ProjectCommand) -> list[Event]:
    """Raises AlreadyExists, NotFound or InvalidCommand when the command does not fit."""
    team, project = state.team, state.project
    if isinstance(command, CreateProject):
        if state.exists:
            raise AlreadyExists(f"team {team!r} already has a project {project!r}", field="project")
        environments = list(dict.fromkeys([PRODUCTION, *command.environments]))
        name = command.name.strip() or project
        return [ProjectCreated(team=team, project=project, name=name, environments=environments)]
    if not state.exists:
        raise NotFound(f"no project {project!r} in team {team!r}")
    match command:
        case DeleteProject():
            if project == DEFAULT_PROJECT:
                raise InvalidCommand("every team keeps its default project: it cannot be deleted")
            _empty(f"project {project!r}", command.holds)
            return [ProjectDeleted(team=team, project=project)]
        case CreateEnvironment():
            if command.environment in state.environments:
                raise AlreadyExists(
                    f"project {project!r} already has an environment {command.environment!r}",
                    field="environment",
                )
            return [EnvironmentCreated(team=team, project=project, environment=command.environment)]
        case DeleteEnvironment():
            require_environment(state, command.environment)
            if command.environment == PRODUCTION:
                raise InvalidCommand(
                    "production is where releases are promoted to: it cannot be deleted"
                )
            _empty(f"environment {command.environment!r}", command.holds)
            return [EnvironmentDeleted(team=team, project=project, environment=command.environment)]
    raise TypeError(f"not a project command: {type(command).__name__}")


def _empty(what: str, holds: list[str]) -> None:
    if holds:
        raise InvalidCommand(f"{what} still holds {', '.join(holds)}: move or delete them first")
