"""Shared variables of a team, a project and an environment: decided on the stream of the team
(`team.variables_changed`) or of the project (`project.variables_changed`, for the project
itself or one of its environments), values sealed by the service as an app's env values are.

Each has scopes and may have a preview value, as an app's variables do (`domain/scopes.py`);
`visible` says which a reference may take in a build, a container or a preview. A deleted
team, project or environment takes its variables with it: one made again under the same name
starts without any."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

from rivetr.domain import projects, teams
from rivetr.domain.commands import ChangeProjectVariables, ChangeTeamVariables
from rivetr.domain.errors import NotFound
from rivetr.domain.events import (
    EnvironmentDeleted,
    Event,
    ProjectDeleted,
    ProjectVariablesChanged,
    TeamDeleted,
    TeamVariablesChanged,
    VariableScope,
)
from rivetr.domain.scopes import evolve_scopes, scope_changes, scope_of

Values = dict[str, str]  # name -> sealed value


class Shared(msgspec.Struct, frozen=True, kw_only=True):
    """One place's shared variables: values, scopes (none recorded: runtime and preview) and
    the values previews take instead, sealed."""

    values: Values = msgspec.field(default_factory=dict)
    scopes: dict[str, VariableScope] = msgspec.field(default_factory=dict)
    previews: Values = msgspec.field(default_factory=dict)

    def changed(self, event: TeamVariablesChanged | ProjectVariablesChanged) -> Shared:
        gone = set(event.unset)
        values = {k: v for k, v in self.values.items() if k not in gone}
        scopes = {k: v for k, v in self.scopes.items() if k not in gone}
        previews = {k: v for k, v in self.previews.items() if k not in gone}
        scopes, previews = evolve_scopes(scopes, previews, event)
        return Shared(values={**values, **event.set}, scopes=scopes, previews=previews)


class TeamVariables(msgspec.Struct, frozen=True, kw_only=True):
    team: teams.TeamState
    shared: Shared = msgspec.field(default_factory=Shared)


class ProjectVariables(msgspec.Struct, frozen=True, kw_only=True):
    project: projects.ProjectState
    own: Shared = msgspec.field(default_factory=Shared)  # the project's own
    environments: dict[str, Shared] = msgspec.field(default_factory=dict)

    def of(self, environment: str | None) -> Shared:
        """The variables of the project (None) or of one of its environments."""
        if environment is None:
            return self.own
        return self.environments.get(environment, Shared())


def fold_team(team: str, events: Iterable[Event]) -> TeamVariables:
    state = TeamVariables(team=teams.TeamState(team=team))
    for event in events:
        folded = teams.evolve(state.team, event)
        match event:
            case TeamVariablesChanged():
                state = TeamVariables(team=folded, shared=state.shared.changed(event))
            case TeamDeleted():
                state = TeamVariables(team=folded)
            case _:
                state = msgspec.structs.replace(state, team=folded)
    return state


def fold_project(project_key: str, events: Iterable[Event]) -> ProjectVariables:
    team, _, slug = project_key.partition("/")
    state = ProjectVariables(project=projects.initial_state(team, slug))
    for event in events:
        folded = projects.evolve(state.project, event)
        match event:
            case ProjectVariablesChanged() if event.environment is None:
                own = state.own.changed(event)
                state = msgspec.structs.replace(state, project=folded, own=own)
            case ProjectVariablesChanged(environment=str(environment)):
                environments = dict(state.environments)
                environments[environment] = state.of(environment).changed(event)
                state = msgspec.structs.replace(state, project=folded, environments=environments)
            case ProjectDeleted():
                state = ProjectVariables(project=folded)
            case EnvironmentDeleted():
                environments = dict(state.environments)
                environments.pop(event.environment, None)
                state = msgspec.structs.replace(state, project=folded, environments=environments)
            case _:
                state = msgspec.structs.replace(state, project=folded)
    return state


def decide_team(state: TeamVariables, command: ChangeTeamVariables) -> list[Event]:
    """Raises NotFound for a team that does not exist (the default team always does), and
    InvalidCommand for scopes of a variable there is not."""
    if not state.team.exists and state.team.team != teams.ROOT_TEAM:
        raise NotFound(f"no team {state.team.team!r}")
    change = _change(state.shared, command)
    return [TeamVariablesChanged(team=state.team.team, **change)] if change else []


def decide_project(state: ProjectVariables, command: ChangeProjectVariables) -> list[Event]:
    """Raises NotFound naming what is missing: the project, or its environment; and
    InvalidCommand for scopes of a variable there is not."""
    project = state.project
    if command.environment is None:
        if not project.exists:
            raise NotFound(f"no project {project.project!r} in team {project.team!r}")
    else:
        projects.require_environment(project, command.environment)
    change = _change(state.of(command.environment), command)
    if not change:
        return []
    return [
        ProjectVariablesChanged(
            team=project.team, project=project.project, environment=command.environment, **change
        )
    ]


def _change(
    shared: Shared, command: ChangeTeamVariables | ChangeProjectVariables
) -> dict[str, Any]:
    """The fields of the event, or nothing when all is as wanted already: sealing is
    deterministic, so an unchanged value is the same sealed text and needs no event."""
    wanted = command.variables
    set_ = {k: v for k, v in wanted.items() if v is not None and shared.values.get(k) != v}
    unset = sorted(k for k, v in wanted.items() if v is None and k in shared.values)
    names = (set(shared.values) - set(unset)) | set(set_)
    scopes, previews, no_preview = scope_changes(
        names,
        shared.scopes,
        shared.previews,
        command.scopes,
        command.preview,
        ("scopes", "preview"),
    )
    if not (set_ or unset or scopes or previews or no_preview):
        return {}
    return {
        "set": set_,
        "unset": unset,
        "scopes": scopes,
        "preview_values": previews,
        "preview_unset": no_preview,
    }


PHASES = {"build": "builds", "runtime": "running containers"}


def visible(
    levels: Mapping[str, Shared], phase: str, preview: bool
) -> tuple[dict[str, dict[str, str]], dict[str, dict[str, str]]]:
    """The shared variables (opened) a reference may take in `phase` ("build", "runtime") of
    a deployment, of a pull-request preview when `preview` (a preview value wins there), and
    those withheld, each with why: (scopes, withheld)."""
    given: dict[str, dict[str, str]] = {}
    withheld: dict[str, dict[str, str]] = {}
    for level, shared in levels.items():
        given[level], withheld[level] = {}, {}
        for key, value in shared.values.items():
            scope = scope_of(shared.scopes, key)
            if preview and not scope.preview:
                withheld[level][key] = "not given to previews"
            elif not getattr(scope, phase):
                withheld[level][key] = f"not given to {PHASES[phase]}"
            else:
                given[level][key] = shared.previews.get(key, value) if preview else value
    return given, withheld
