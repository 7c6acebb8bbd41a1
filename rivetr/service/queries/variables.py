"""Reading shared variables as an actor may: the names and scopes of a team's, a project's or
an environment's shared variables (never a value), for those who read the team."""

from __future__ import annotations

import msgspec

from rivetr.domain.access import Actor, Permission
from rivetr.domain.projects import DEFAULT_PROJECT, PRODUCTION
from rivetr.domain.teams import ROOT_TEAM
from rivetr.projections.registry import ReadModel
from rivetr.projections.variables import ScopeView
from rivetr.service.queries.refusals import Absent


class SharedVariables(msgspec.Struct, frozen=True, kw_only=True):
    team: str
    project: str | None = None  # None: the team's own
    environment: str | None = None  # None: the project's own (or the team's)
    names: list[str]  # values are write-only
    scopes: list[ScopeView]  # each variable's scopes, by name


class VariableReads:
    def __init__(self, read: ReadModel) -> None:
        self.read = read

    async def names(
        self, actor: Actor, team: str, project: str | None = None, environment: str | None = None
    ) -> SharedVariables:
        """The names and scopes (never a value), once the team, project and environment exist
        and the actor reads the team (another team's are as absent as what does not exist)."""
        await self._existing(actor, team, project, environment)
        scopes = await self.read.variables.shared(team, project, environment)
        names = [scope.name for scope in scopes]
        return SharedVariables(
            team=team, project=project, environment=environment, names=names, scopes=scopes
        )

    async def _existing(
        self, actor: Actor, team: str, project: str | None, environment: str | None
    ) -> None:
        """Raise Absent unless the place exists and the actor reads it: the team's own
        variables its readers as a whole, a project's (and its environments') those who read
        that project (its role there)."""
        if not actor.can(Permission.READ, team, project):
            raise Absent(f"no team {team!r}" if project is None else f"no project {project!r}")
        if team != ROOT_TEAM and not await self.read.teams.every([team]):
            raise Absent(f"no team {team!r}")
        if project is None:
            return
        view = await self.read.projects.one(team, project)
        # a team's default project exists before anything made it (see domain/projects.py)
        environments = view.environments if view else []
        if project == DEFAULT_PROJECT and PRODUCTION not in environments:
            environments = [PRODUCTION, *environments]
        elif view is None:
            raise Absent(f"no project {project!r} in team {team!r}")
        if environment is not None and environment not in environments:
            raise Absent(f"no environment {environment!r} in project {project!r}")
