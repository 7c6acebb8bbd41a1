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
from rivetr.domain.aggregates import PROJECT_VARIABLES, TEAM_VARIABLES, Aggregate
from rivetr.domain.commands import ChangeProjectVariables, ChangeTeamVariables
from rivetr.domain.events import ProjectVariablesChanged, TeamVariablesChanged
from rivetr.domain.reference_grants import check_references, values_of
from rivetr.domain.references import Scopes, reached
from rivetr.domain.variables import Shared
from rivetr.projections.registry import ReadModel
from rivetr.service.commands.app_lookup import AppLookup
from rivetr.service.commands.handler import CommandHandler, folded
from rivetr.service.commands.secrets import open_app, open_shared, seal_shared

VariablesCommand = ChangeTeamVariables | ChangeProjectVariables


def previews_of(where: str) -> str:
    """What the preview values of a place's shared variables are sealed for."""
    return f"{where}:preview"


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
    scoped: list[str] = msgspec.field(default_factory=list)  # scopes or preview value changed


class SharedScopes:
    """The shared variables an app's references resolve against, opened from the team's and
    the project's streams (the log, not the read model: what a deployment uses is what was
    decided, even a moment ago)."""

    def __init__(self, store: EventStore, secrets: SecretBox) -> None:
        self.store = store
        self.secrets = secrets

    async def opened(self, team: str, project: str, environment: str) -> dict[str, Shared]:
        """The team's, the project's and the environment's shared variables, values and
        preview values in plain text, for an app that lives there.

        Raises:
            SecretError: a value does not open.
        """
        team_state = await folded(self.store, TEAM_VARIABLES.at(team))
        held = await folded(self.store, PROJECT_VARIABLES.at(projects.key(team, project)))
        return {
            "team": self.open(place(team), team_state.shared),
            "project": self.open(place(team, project), held.own),
            "environment": self.open(place(team, project, environment), held.of(environment)),
        }

    async def databases(
        self, team: str, project: str, environment: str
    ) -> dict[str, dict[str, str]]:
        """The environment's databases as reference scopes (`${{<name>.URL}}`)."""
        from rivetr.service.commands.database_scopes import database_scopes

        return await database_scopes(self.store, self.secrets, team, project, environment)

    def open(self, where: str, shared: Shared) -> Shared:
        return msgspec.structs.replace(
            shared,
            values=open_shared(self.secrets, where, shared.values),
            previews=open_shared(self.secrets, previews_of(where), shared.previews),
        )

    async def scopes(self, team: str, project: str, environment: str) -> Scopes:
        """The plain values of the three levels' shared variables, whatever their scopes."""
        opened = await self.opened(team, project, environment)
        return {level: shared.values for level, shared in opened.items()}


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
        scoped: set[str] = set()
        for event in (r.event for r in recorded):
            if isinstance(event, TeamVariablesChanged | ProjectVariablesChanged):
                set_ += sorted(event.set)
                unset += event.unset
                scoped |= {*event.scopes, *event.preview_values, *event.preview_unset}
        project = command.project if isinstance(command, ChangeProjectVariables) else None
        environment = command.environment if isinstance(command, ChangeProjectVariables) else None
        changed = [*set_, *unset, *sorted(scoped)]
        apps = await self.picking_up(command.team, project, environment, changed)
        return VariablesChanged(
            team=command.team,
            project=project,
            environment=environment,
            set=set_,
            unset=unset,
            apps=apps,
            scoped=sorted(scoped),
        )

    async def _run(self, actor: Actor, command: VariablesCommand) -> list[RecordedEvent]:
        check_references(actor, command.team, values_of([command]))
        aggregate: Aggregate[Any, Any]
        if isinstance(command, ChangeTeamVariables):
            where = place(command.team)
            aggregate, key = TEAM_VARIABLES, command.team
        else:
            where = place(command.team, command.project, command.environment)
            aggregate, key = PROJECT_VARIABLES, projects.key(command.team, command.project)
        sealed = msgspec.structs.replace(
            command,
            variables=seal_shared(self.secrets, where, command.variables),
            preview=seal_shared(self.secrets, previews_of(where), command.preview),
        )
        return await self.handler.execute(actor, sealed, aggregate, key)  # type: ignore[misc]

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
        """Seal every shared variable (and preview value) again with the newest key (after
        `rotate`); return how many events that appended."""
        appended = 0
        for team, project, environment in await self.read.variables.places():
            if project is None:
                state = await folded(self.handler.store, TEAM_VARIABLES.at(team))
                plain = self.shared.open(place(team), state.shared)
                command: VariablesCommand = ChangeTeamVariables(
                    team=team, variables={**plain.values}, preview={**plain.previews}
                )
            else:
                key = projects.key(team, project)
                held = await folded(self.handler.store, PROJECT_VARIABLES.at(key))
                plain = self.shared.open(place(team, project, environment), held.of(environment))
                command = ChangeProjectVariables(
                    team=team,
                    project=project,
                    environment=environment,
                    variables={**plain.values},
                    preview={**plain.previews},
                )
            appended += len(await self._run(actor, command))
        return appended
