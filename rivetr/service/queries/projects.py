"""Reading projects as an actor may: each project with its environments and, in each, its
resources with where their releases stand; and the place (projects, an environment) that the
event stream and the audit history are filtered by. Whether an actor reads a project is
decided by `may_read` alone, so that it can be narrowed per project in one place."""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from rivetr.domain.access import Actor, Permission
from rivetr.projections.apps import AppView
from rivetr.projections.databases import DatabaseView
from rivetr.projections.deployments import DeploymentView
from rivetr.projections.projects import ProjectView
from rivetr.projections.registry import ReadModel
from rivetr.projections.runner import ProjectionRunner
from rivetr.projections.stacks import StackView
from rivetr.service.queries.refusals import Absent
from rivetr.service.reactors.placement import PlaceEvents


def may_read(actor: Actor, team: str, project: str) -> bool:
    """Whether the actor reads the project, its environments and what they hold: its role
    there (a project role, else its team role)."""
    return actor.may_read(team, project)


def _read_teams(actor: Actor) -> frozenset[str] | None:
    """The teams where the actor reads something (None: all), to narrow queries before
    `may_read` decides project by project."""
    places = actor.readable_places()
    return None if places is None else places.team_names()


class ResourceView(msgspec.Struct, frozen=True, kw_only=True):
    """A resource of an environment and where it stands, as the apps list shows an app."""

    kind: str  # "app", "database" or "stack"
    name: str
    id: str
    live_deployment: str | None  # the deployment its live release came from (None: not live)
    live_commit: str | None
    latest_deployment: str | None  # its newest deployment...
    latest_status: str | None  # ...and where that stands (queued, building, live, failed...)
    # (a database has no deployments: its status, starting, running, stopped, failed...; a
    # stack's are its releases: the live one, and the newest with its status)


class EnvironmentView(msgspec.Struct, frozen=True, kw_only=True):
    environment: str
    resources: list[ResourceView]  # by name


class ProjectDetail(msgspec.Struct, frozen=True, kw_only=True):
    team: str
    project: str  # the slug, unique in its team
    name: str
    created_at: str
    created_by: str
    environments: list[EnvironmentView]  # production first, then in the order they were made


class Place(msgspec.Struct, frozen=True, kw_only=True):
    """What a filter by project (and environment) takes: projects as (team, slug), in the
    teams the reader reads, and one environment of them, or all."""

    projects: frozenset[tuple[str, str]]
    environment: str | None = None


class ProjectReads:
    def __init__(self, read: ReadModel, runner: ProjectionRunner) -> None:
        self.read = read
        self.runner = runner

    async def visible(self, actor: Actor) -> list[ProjectDetail]:
        """Every project the actor reads, by team then slug, with what each holds."""
        teams = _read_teams(actor)
        found = [
            p for p in await self.read.projects.every(teams) if may_read(actor, p.team, p.project)
        ]
        return await self._detailed(found, await self.read.apps.every(teams))

    async def readable(self, actor: Actor, team: str, project: str) -> ProjectDetail:
        """The project, if it exists and the actor reads it: else absent, either way alike."""
        found = await self.read.projects.one(team, project)
        if found is None or not may_read(actor, team, project):
            raise Absent(f"no project {project!r} in team {team!r}")
        [detail] = await self._detailed([found], await self.read.apps.placed(team, project))
        return detail

    async def creatable_in(self, actor: Actor, team: str | None = None) -> list[ProjectView]:
        """The projects the actor may create an app in (or move one to), of every team or of
        `team`: a form's choices."""
        teams = sorted({*actor.teams, *actor.projects}) if team is None else [team]
        return [
            p
            for p in await self.read.projects.every(teams)
            if actor.can(Permission.MANAGE_APPS, p.team, p.project)
        ]

    async def place(self, actor: Actor, project: str | None, environment: str | None) -> Place:
        """The place a filter names: `team/project`, a project's slug in whichever team the
        actor reads it, or (None) every project it reads; with an environment of it (those
        that have it, for several), or every one.

        Raises:
            Absent: no such project (or environment) that the actor reads.
        """
        team, _, slug = (project or "").rpartition("/")
        teams = [team] if team else _read_teams(actor)
        found = [
            p
            for p in await self.read.projects.every(teams)
            if project is None or p.project == slug
            if may_read(actor, p.team, p.project)
        ]
        if not found:
            raise Absent(f"no project {project!r} that you may read")
        if environment is not None:
            found = [p for p in found if environment in p.environments]
            if not found:
                where = f" in project {project!r}" if project is not None else ""
                raise Absent(f"no environment {environment!r}{where} that you may read")
        return Place(projects=frozenset(_key(p) for p in found), environment=environment)

    async def following(
        self, actor: Actor, project: str | None, environment: str | None
    ) -> PlaceEvents:
        """What picks the events of a place (as `place` reads it) out of the live stream:
        those of the apps, databases and stacks there now, as they come and go, and the
        project's own."""
        place = await self.place(actor, project, environment)
        since = self.runner.position  # the read model has reached it when asked who is there
        held: set[str] = set()
        for team, project in place.projects:
            apps = await self.read.apps.placed(team, project, place.environment)
            held.update(app.id for app in apps)
        teams = sorted({team for team, _ in place.projects})
        held.update(
            database.database_id
            for database in await self.read.databases.every(teams)
            if (database.team, database.project) in place.projects
            and place.environment in (None, database.environment)
        )
        held.update(
            stack.stack_id
            for stack in await self.read.stacks.every(teams)
            if (stack.team, stack.project) in place.projects
            and place.environment in (None, stack.environment)
        )
        return PlaceEvents(place.projects, place.environment, held, since)

    async def _detailed(
        self, projects: list[ProjectView], apps: Iterable[AppView]
    ) -> list[ProjectDetail]:
        latest = await self.read.deployments.latest()
        live = await self.read.deployments.live()
        placed: dict[tuple[str, str, str], list[ResourceView]] = {}
        for app in sorted(apps, key=lambda a: a.name):
            resource = _resource(app, live.get(app.id), latest.get(app.id))
            placed.setdefault((app.team, app.project, app.environment), []).append(resource)
        teams = {p.team for p in projects}
        for database in await self.read.databases.every(teams):
            where = (database.team, database.project, database.environment)
            placed.setdefault(where, []).append(_database(database))
        for stack in await self.read.stacks.every(teams):
            where = (stack.team, stack.project, stack.environment)
            placed.setdefault(where, []).append(_stack(stack))
        for resources in placed.values():
            resources.sort(key=lambda r: (r.kind != "app", r.name))
        return [
            ProjectDetail(
                team=p.team,
                project=p.project,
                name=p.name,
                created_at=p.created_at,
                created_by=p.created_by,
                environments=[
                    EnvironmentView(environment=e, resources=placed.get((p.team, p.project, e), []))
                    for e in p.environments
                ],
            )
            for p in projects
        ]


def _database(database: DatabaseView) -> ResourceView:
    return ResourceView(
        kind="database",
        name=database.name,
        id=database.database_id,
        live_deployment=None,
        live_commit=None,
        latest_deployment=None,
        latest_status=database.status,
    )


def _stack(stack: StackView) -> ResourceView:
    return ResourceView(
        kind="stack",
        name=stack.name,
        id=stack.stack_id,
        live_deployment=stack.live_release_id,
        live_commit=None,
        latest_deployment=stack.last_release_id,
        latest_status=stack.last_status,
    )


def _key(project: ProjectView) -> tuple[str, str]:
    return project.team, project.project


def _resource(
    app: AppView, live: DeploymentView | None, latest: DeploymentView | None
) -> ResourceView:
    return ResourceView(
        kind="app",
        name=app.name,
        id=app.id,
        live_deployment=live.id if live else None,
        live_commit=(live.commit_sha or live.commit) if live else None,
        latest_deployment=latest.id if latest else None,
        latest_status=latest.status if latest else None,
    )
