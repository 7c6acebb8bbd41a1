"""Projects and environments: making and deleting them, and moving an app between environments.

What a project or an environment still holds is read from the read model when it is to be
deleted (as a team's apps are), and named in the refusal."""

from __future__ import annotations

from typing import Any

import msgspec

from rivetr.adapters.eventstore.base import RecordedEvent
from rivetr.domain import application, projects
from rivetr.domain.access import Actor
from rivetr.domain.aggregates import APPS, PROJECTS
from rivetr.domain.application import AppState
from rivetr.domain.commands import DeleteEnvironment, DeleteProject, MoveApp, ProjectCommand
from rivetr.domain.errors import NotFound
from rivetr.domain.events import Event
from rivetr.projections.registry import ReadModel
from rivetr.service.commands.app_lookup import AppLookup
from rivetr.service.commands.handler import CommandHandler


class ProjectService:
    def __init__(self, handler: CommandHandler, read: ReadModel, lookup: AppLookup) -> None:
        self.handler = handler
        self.read = read
        self.lookup = lookup

    async def run(self, actor: Actor, command: ProjectCommand) -> list[RecordedEvent]:
        """Decide a project command; a deletion first learns what the project or environment
        still holds."""
        if isinstance(command, DeleteProject | DeleteEnvironment):
            environment = command.environment if isinstance(command, DeleteEnvironment) else None
            holds = await self.holdings(command.team, command.project, environment)
            command = msgspec.structs.replace(command, holds=holds)
        return await self.handler.execute(
            actor, command, PROJECTS, projects.key(command.team, command.project)
        )

    async def holdings(self, team: str, project: str, environment: str | None) -> list[str]:
        """What lives in a project (or one environment of it), as a refusal names it."""
        apps = await self.read.apps.placed(team, project, environment)
        held = [(f"app {app.name}", app.environment) for app in apps]
        held += [
            (f"database {db.name}", db.environment)
            for db in await self.read.databases.every([team])
            if db.project == project and environment in (None, db.environment)
        ]
        return [what + ("" if environment else f" (in {where})") for what, where in held]

    async def move(self, actor: Actor, command: MoveApp) -> list[RecordedEvent]:
        """Move an app to another environment of its team, checked against that project's
        stream in the same decision; then its previews, which live beside it. (Each is its own
        append: an event's metadata names one app, and the views place events by it.)"""
        app = await self.lookup.by_name(command.name)
        if not app.exists:
            raise NotFound(f"no application named {command.name!r}")
        recorded = await self._move(actor, app, command, with_parent=False)
        for preview in await self.read.apps.previews_of(app.name):
            state = await self.lookup.by_id(preview.id)
            if state.exists and state.preview_of == app.name:
                moving = msgspec.structs.replace(command, name=state.name)
                recorded += await self._move(actor, state, moving, with_parent=True)
        return recorded

    async def _move(
        self, actor: Actor, app: AppState, command: MoveApp, *, with_parent: bool
    ) -> list[RecordedEvent]:
        app_stream = APPS.at(app.app_id)
        project_stream = PROJECTS.at(projects.key(app.team, command.project))

        def together(states: list[Any], c: MoveApp) -> list[tuple[str, list[Event]]]:
            state, target = states
            moved = application.decide_move(state, target, c, with_parent=with_parent)
            return [(app_stream.stream_id, moved)]

        return await self.handler.execute_together(
            actor,
            command,
            reads=[app_stream, project_stream],
            decide=together,
            resource=app.app_id,
        )
