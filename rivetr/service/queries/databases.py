"""Reading databases, their backups and restores, and a team's backup targets as an actor may:
a database is read by whoever reads its project; an id the actor may not read is answered
as absent, never as forbidden (it would say the id exists)."""

from __future__ import annotations

from rivetr.domain.access import Actor
from rivetr.domain.errors import NotFound
from rivetr.projections.databases import BackupView, DatabaseView, RestoreView, TargetView
from rivetr.projections.registry import ReadModel


class DatabaseReads:
    def __init__(self, read: ReadModel) -> None:
        self.read = read

    async def every(
        self,
        actor: Actor,
        team: str | None = None,
        project: str | None = None,
        environment: str | None = None,
    ) -> list[DatabaseView]:
        places = actor.readable_places()
        teams = None if places is None else places.team_names()
        if team is not None:
            teams = frozenset({team}) if teams is None or team in teams else frozenset()
        return [
            view
            for view in await self.read.databases.every(teams)
            if actor.may_read(view.team, view.project)
            and project in (None, view.project)
            and environment in (None, view.environment)
        ]

    async def one(self, actor: Actor, database_id: str) -> DatabaseView:
        view = await self.read.databases.one(database_id)
        if view is None or not actor.may_read(view.team, view.project):
            raise NotFound(f"no database with id {database_id}")
        return view

    async def backups(self, actor: Actor, database_id: str) -> list[BackupView]:
        await self.one(actor, database_id)
        return await self.read.databases.backups_of(database_id)

    async def backup(self, actor: Actor, backup_id: str) -> BackupView:
        view = await self.read.databases.backup(backup_id)
        if view is None or not actor.may_read(view.team, view.project):
            raise NotFound(f"no backup with id {backup_id}")
        return view

    async def restores(self, actor: Actor, database_id: str) -> list[RestoreView]:
        await self.one(actor, database_id)
        return await self.read.databases.restores_of(database_id)

    async def targets(self, actor: Actor, team: str) -> list[TargetView]:
        """A team's targets, for whoever reads the team as a whole."""
        if not actor.may_read(team):
            raise NotFound(f"no team {team!r}")
        return await self.read.databases.targets(team)
