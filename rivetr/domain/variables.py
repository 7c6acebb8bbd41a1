"""Shared variables of a team, a project and an environment: decided on the stream of the team
(`team.variables_changed`) or of the project (`project.variables_changed`, for the project
itself or one of its environments), values sealed by the service as an app's env values are.

A deleted team, project or environment takes its variables with it: one made again under the
same name starts without any."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

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
)

Values = dict[str, str]  # name -> sealed value


class TeamVariables(msgspec.Struct, frozen=True, kw_only=True):
    team: teams.TeamState
    values: Values = msgspec.field(default_factory=dict)


class ProjectVariables(msgspec.Struct, frozen=True, kw_only=True):
    project: projects.ProjectState
    values: Values = msgspec.field(default_factory=dict)  # the project's own
    environments: dict[str, Values] = msgspec.field(default_factory=dict)

    def of(self, environment: str | None) -> Values:
        """The values of the project (None) or of one of its environments."""
        if environment is None:
            return self.values
        return self.environments.get(environment, {})


def changed(values: Mapping[str, str], set_: Mapping[str, str], unset: Iterable[str]) -> Values:
    gone = set(unset)
    kept = {name: value for name, value in values.items() if name not in gone}
    return {**kept, **set_}


def fold_team(team: str, events: Iterable[Event]) -> TeamVariables:
    state = TeamVariables(team=teams.TeamState(team=team))
    for event in events:
        folded = teams.evolve(state.team, event)
        match event:
            case TeamVariablesChanged():
                values = changed(state.values, event.set, event.unset)
                state = TeamVariables(team=folded, values=values)
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
                values = changed(state.values, event.set, event.unset)
                state = msgspec.structs.replace(state, project=folded, values=values)
            case ProjectVariablesChanged(environment=str(environment)):
                environments = dict(state.environments)
                environments[environment] = changed(
                    environments.get(environment, {}), event.set, event.unset
                )
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
    """Raises NotFound for a team that does not exist (the default team always does)."""
    if not state.team.exists and state.team.team != teams.ROOT_TEAM:
        raise NotFound(f"no team {state.team.team!r}")
    set_, unset = _difference(state.values, command.variables)
    if not set_ and not unset:
        return []
    return [TeamVariablesChanged(team=state.team.team, set=set_, unset=unset)]


def decide_project(state: ProjectVariables, command: ChangeProjectVariables) -> list[Event]:
    """Raises NotFound naming what is missing: the project, or its environment."""
    project = state.project
    if command.environment is None:
        if not project.exists:
            raise NotFound(f"no project {project.project!r} in team {project.team!r}")
    else:
        projects.require_environment(project, command.environment)
    set_, unset = _difference(state.of(command.environment), command.variables)
    if not set_ and not unset:
        return []
    return [
        ProjectVariablesChanged(
            team=project.team,
            project=project.project,
            environment=command.environment,
            set=set_,
            unset=unset,
        )
    ]


def _difference(
    values: Mapping[str, str], wanted: Mapping[str, str | None]
) -> tuple[Values, list[str]]:
    """What to set and what to remove: sealing is deterministic, so an unchanged value is the
    same sealed text and needs no event."""
    set_ = {k: v for k, v in wanted.items() if v is not None and values.get(k) != v}
    unset = sorted(k for k, v in wanted.items() if v is None and k in values)
    return set_, unset
