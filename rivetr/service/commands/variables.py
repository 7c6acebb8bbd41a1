"""Shared variables of teams, projects and environments: changed as commands with their values
sealed for their place, answered with the apps that take the change up at their next
deployment, and opened for the pipeline to resolve an app's references against."""

from __future__ import annotations

from typing import Any

import msgspec

from rivetr.adapters.eventstore.base import EventStore, RecordedEvent
from rivetr.adapters.secrets import SecretBox, SecretError
from rivetr.domain import projects
from rivetr.domain.access import Actor
from rivetr.domain.aggregates import PROJECT_VARIABLES, TEAM_VARIABLES, Stream
from rivetr.domain.application import AppState
from rivetr.domain.commands import ChangeProjectVariables, ChangeTeamVariables
from rivetr.domain.events import ProjectVariablesChanged, TeamVariablesChanged
from rivetr.domain.references import Resolution, Scopes, reached, resolve
from rivetr.domain.variables import ProjectVariables, TeamVariables
from rivetr.projections.registry import ReadModel
from rivetr.service.commands.app_lookup import AppLookup
from rivetr.service.commands.handler import CommandHandler
from rivetr.service.commands.secrets import open_app, open_shared, seal_shared

VariablesCommand = ChangeTeamVariables | ChangeProjectVariables


def place(team: str, project: str | None = None, environment: str | None = None) -> str:
    """What a shared variable's value is sealed for: its team, project or environment."""
    if project is None:
        return f"team:{team}"
    if environment is None:
        return f"project:{team}/{project}"
    return f"environment:{team}/{project}/{environment}"


class VariablesChanged(msgspec.Struct, frozen=True, kw_only=True):
    """What a change did: the names set and removed (never a value), and the apps that take
    it up at their next deployment (their values reach a changed name)."""

    team: str
    project: str | None = None
    environment: str | None = None
    set: list[str]
    unset: list[str]
    apps: list[str]


class SharedScopes:
    """The shared variables an app's references resolve against, opened from the team's and
    the project's streams (the log, not the read model: what a deployment uses is what was
    decided, even a moment ago)."""

    def __init__(self, store: EventStore, secrets: SecretBox) -> None:
        self.store = store
        self.secrets = secrets

    async def scopes(self, team: str, project: str, environment: str) -> Scopes:
        """The plain values of the team's, the project's and the environment's shared
        variables, for resolving the references of an app that lives there.

        Raises:
            SecretError: a value does not open.
        """
        shared = await self.fold(TEAM_VARIABLES.at(team))
        held = await self.fold(PROJECT_VARIABLES.at(projects.key(team, project)))
        return {
            "team": open_shared(self.secrets, place(team), shared.values),
            "project": open_shared(self.secrets, place(team, project), held.values),
            "environment": open_shared(
                self.secrets, place(team, project, environment), held.of(environment)
            ),
        }

    async def resolve(self, app: AppState) -> Resolution:
        """The references of `app`'s values (opened) resolved where it lives.

        Raises:
            UnresolvedReference: naming the chain. SecretError: a shared value does not open.
        """
        return resolve(app.env, await self.scopes(app.team, app.project, app.environment))

    async def fold(self, stream: Stream[Any]) -> Any:
        history = await self.store.read_stream(stream.stream_id)
        return stream.fold(recorded.event for recorded in history)


class VariableService:
    def __init__(
        self, handler: CommandHandler, read: ReadModel, lookup: AppLookup, secrets: SecretBox
    ) -> None:
        self.handler = handler
        self.read = read
        self.lookup = lookup
        self.secrets = secrets
        self.shared = SharedScopes(handler.store, secrets)

    async def change(self, actor: Actor, command: VariablesCommand) -> VariablesChanged:
        """Seal the values, decide and append the change; answer what it changed and which
        apps take it up.

        Raises:
            InvalidCommand: a value is given sealed. NotFound: no such team, project or
                environment. Forbidden: the actor may not change the team's apps' values.
        """
        recorded = await self._run(actor, command)
        set_: list[str] = []
        unset: list[str] = []
        for event in (r.event for r in recorded):
            if isinstance(event, TeamVariablesChanged | ProjectVariablesChanged):
                set_ += sorted(event.set)
                unset += event.unset
        project = command.project if isinstance(command, ChangeProjectVariables) else None
        environment = command.environment if isinstance(command, ChangeProjectVariables) else None
        apps = await self.picking_up(command.team, project, environment, [*set_, *unset])
        return VariablesChanged(
            team=command.team,
            project=project,
            environment=environment,
            set=set_,
            unset=unset,
            apps=apps,
        )

    async def _run(self, actor: Actor, command: VariablesCommand) -> list[RecordedEvent]:
        if isinstance(command, ChangeTeamVariables):
            sealed = seal_shared(self.secrets, place(command.team), command.variables)
            return await self.handler.execute(
                actor,
                msgspec.structs.replace(command, variables=sealed),
                TEAM_VARIABLES,
                command.team,
            )
        where = place(command.team, command.project, command.environment)
        sealed = seal_shared(self.secrets, where, command.variables)
        return await self.handler.execute(
            actor,
            msgspec.structs.replace(command, variables=sealed),
            PROJECT_VARIABLES,
            projects.key(command.team, command.project),
        )

    async def picking_up(
        self, team: str, project: str | None, environment: str | None, names: list[str]
    ) -> list[str]:
        """The apps within the team (project, environment) whose values reach one of `names`
        of that level, directly or through other shared variables."""
        if not names:
            return []
        level = "team" if project is None else "project" if environment is None else "environment"
        changed = {(level, name) for name in names}
        if project is None:
            views = await self.read.apps.every([team])
        else:
            views = await self.read.apps.placed(team, project, environment)
        scopes: dict[tuple[str, str], Scopes] = {}
        found = []
        for view in views:
            app = await self.lookup.by_id(view.id)
            try:
                env = open_app(self.secrets, app).env
                at = (app.project, app.environment)
                if at not in scopes:
                    scopes[at] = await self.shared.scopes(team, *at)
            except SecretError:
                continue  # a value that does not open: its deployment will say so
            if reached(env, scopes[at]) & changed:
                found.append(view.name)
        return sorted(found)

    async def reseal(self, actor: Actor) -> int:
        """Seal every shared variable again with the newest key (after `rotate`); return how
        many events that appended."""
        appended = 0
        for team, project, environment in await self.read.variables.places():
            command: VariablesCommand
            if project is None:
                state: TeamVariables = await self._fold(TEAM_VARIABLES.at(team))
                plain = open_shared(self.secrets, place(team), state.values)
                command = ChangeTeamVariables(team=team, variables={**plain})
            else:
                key = projects.key(team, project)
                held: ProjectVariables = await self._fold(PROJECT_VARIABLES.at(key))
                where = place(team, project, environment)
                plain = open_shared(self.secrets, where, held.of(environment))
                command = ChangeProjectVariables(
                    team=team, project=project, environment=environment, variables={**plain}
                )
            appended += len(await self._run(actor, command))
        return appended

    async def _fold(self, stream: Stream[Any]) -> Any:
        return await self.shared.fold(stream)
