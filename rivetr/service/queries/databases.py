"""Reading databases, their backups and restores, and a team's backup targets as an actor may:
a database is read by whoever reads its project; an id the actor may not read is answered
as absent, never as forbidden (it would say the id exists)."""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from rivetr.adapters.runtime.base import ContainerError, ContainerRuntime, EngineUnavailable
from rivetr.domain.access import Actor
from rivetr.domain.errors import NotFound
from rivetr.domain.events import VariablesResolved
from rivetr.domain.teams import ROOT_TEAM
from rivetr.projections.base import tag
from rivetr.projections.databases import BackupView, DatabaseView, RestoreView, TargetView
from rivetr.projections.registry import ReadModel
from rivetr.service.queries.placed import readable
from rivetr.service.reactors.database_containers import container_name

_RESOLVED = tag(VariablesResolved)
# each kind's URL scheme, and what follows the database's name (MongoDB's user lives in admin)
_SCHEMES = {
    "postgres": ("postgresql", ""),
    "mysql": ("mysql", ""),
    "mariadb": ("mysql", ""),
    "redis": ("redis", ""),
    "mongodb": ("mongodb", "?authSource=admin"),
}
MASK = "********"


class Connection(msgspec.Struct, frozen=True, kw_only=True):
    """How an app of the database's environment reaches it: by reference, so the password is
    opened only at deploy time; the URL is shown with its password masked."""

    database_id: str
    host: str  # the stable name on the environment's internal network
    port: int
    user: str
    database: str
    url: str  # the password masked
    reference: str  # what to put in an app's variable: `${{<name>.URL}}`
    public_port: int | None
    bind_address: str


def connection_of(view: DatabaseView) -> Connection:
    scheme, suffix = _SCHEMES.get(view.kind, (view.kind, ""))
    where = f"{view.name}:{view.port}/{view.database}{suffix}"
    return Connection(
        database_id=view.database_id,
        host=view.name,
        port=view.port,
        user=view.user,
        database=view.database,
        url=f"{scheme}://{view.user}:{MASK}@{where}",
        reference=f"${{{{{view.name}.URL}}}}",
        public_port=view.public_port,
        bind_address=view.bind_address,
    )


class DatabaseLogs(msgspec.Struct, frozen=True, kw_only=True):
    database_id: str
    output: str  # the server's last lines, stdout and stderr as the engine keeps them


class DatabaseReads:
    def __init__(
        self, read: ReadModel, runtime: Callable[[], ContainerRuntime | None] = lambda: None
    ) -> None:
        self.read = read
        self.runtime = runtime

    async def logs(self, actor: Actor, database_id: str, tail: int = 200) -> DatabaseLogs:
        """The database server's last `tail` lines of output.

        Raises:
            NotFound: no such database for this actor, or no container for it (yet).
            EngineUnavailable: no container engine is connected.
        """
        await self.one(actor, database_id)
        runtime = self.runtime()
        if runtime is None:
            raise EngineUnavailable("no container engine is connected")
        try:
            output = await runtime.container_logs(container_name(database_id), tail=tail)
        except ContainerError:
            raise NotFound(f"database {database_id} has no container (yet)") from None
        return DatabaseLogs(database_id=database_id, output=output)

    async def every(
        self,
        actor: Actor,
        team: str | None = None,
        project: str | None = None,
        environment: str | None = None,
    ) -> list[DatabaseView]:
        return await readable(actor, self.read.databases.every, team, project, environment)

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

    async def restore(self, actor: Actor, restore_id: str) -> RestoreView:
        """A restore, for whoever reads the database it went into."""
        view = await self.read.databases.restore(restore_id)
        if view is not None:
            database = await self.read.databases.one(view.database_id)
            if database is not None and actor.may_read(database.team, database.project):
                return view
        raise NotFound(f"no restore with id {restore_id}")

    async def connection(self, actor: Actor, database_id: str) -> Connection:
        return connection_of(await self.one(actor, database_id))

    async def apps_using(self, view: DatabaseView) -> list[str]:
        """The apps of the database's environment whose live release took a value of it, by
        the references its deployment resolved (names and sources, never a value): the apps
        to redeploy once its password changed."""
        live = await self.read.deployments.live()
        found = []
        for app in await self.read.apps.placed(view.team, view.project, view.environment):
            deployment = live.get(app.id)
            if deployment is None:
                continue
            for step in await self.read.deployments.steps(deployment.id):
                used = step.detail.get("used", []) if step.type == _RESOLVED else []
                if any(isinstance(u, dict) and u.get("source") == view.name for u in used):
                    found.append(app.name)
                    break
        return found

    async def targets(self, actor: Actor, team: str) -> list[TargetView]:
        """A team's targets, for whoever reads the team as a whole."""
        # the instance's own team exists before any event made it
        if not actor.may_read(team) or (
            team != ROOT_TEAM and not await self.read.teams.every([team])
        ):
            raise NotFound(f"no team {team!r}")
        return await self.read.databases.targets(team)
