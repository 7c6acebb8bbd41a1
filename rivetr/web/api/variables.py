"""/api/v1/teams/{team}/variables, /api/v1/projects/{team}/{project}/variables and
.../environments/{environment}/variables: shared variables, names on GET, values write-only on
PATCH (null removes one), answered with the apps that take the change up at their next
deployment; and /api/v1/apps/{name}/variables: the scopes of an app's variables."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, get, patch
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from rivetr.domain.access import Actor
from rivetr.domain.commands import (
    ChangeProjectVariables,
    ChangeTeamVariables,
    SharedValues,
    Slug,
    TeamSlug,
    VariableScopeInput,
)
from rivetr.domain.settings import AppName, EnvName
from rivetr.projections.variables import ScopeView
from rivetr.service.commands.variables import VariablesChanged, VariableService
from rivetr.service.queries.apps import AppReads
from rivetr.service.queries.variables import SharedVariables, VariableReads


class VariablesPatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    variables: SharedValues = msgspec.field(default_factory=dict)  # name -> plain value, or null
    # name -> where it goes (build, runtime, preview); name -> a value for previews, or null
    scopes: dict[EnvName, VariableScopeInput] = msgspec.field(default_factory=dict)
    preview: SharedValues = msgspec.field(default_factory=dict)


class VariablesController(Controller):
    path = "/"
    tags = ["variables"]

    @get("/apps/{name:str}/variables")
    async def app_variable_scopes(
        self,
        name: FromPath[AppName],
        app_reads: NamedDependency[AppReads],
        actor: NamedDependency[Actor],
    ) -> list[ScopeView]:
        """Each of the app's variables with its scopes, and whether previews take a value of
        their own (never a value). Change them with PATCH /apps/{name}: `env_scopes`,
        `env_preview`."""
        return await app_reads.variable_scopes_of(await app_reads.readable(actor, name))

    @get("/teams/{team:str}/variables")
    async def team_variables(
        self,
        team: FromPath[TeamSlug],
        variable_reads: NamedDependency[VariableReads],
        actor: NamedDependency[Actor],
    ) -> SharedVariables:
        """The names of the team's shared variables (values are never answered)."""
        return await variable_reads.names(actor, team)

    @patch("/teams/{team:str}/variables")
    async def change_team_variables(
        self,
        team: FromPath[TeamSlug],
        data: JSONBody[VariablesPatch],
        variables: NamedDependency[VariableService],
        actor: NamedDependency[Actor],
    ) -> VariablesChanged:
        command = ChangeTeamVariables(team=team, **_fields(data))
        return await variables.change(actor, command)

    @get("/projects/{team:str}/{project:str}/variables")
    async def project_variables(
        self,
        team: FromPath[TeamSlug],
        project: FromPath[Slug],
        variable_reads: NamedDependency[VariableReads],
        actor: NamedDependency[Actor],
    ) -> SharedVariables:
        return await variable_reads.names(actor, team, project)

    @patch("/projects/{team:str}/{project:str}/variables")
    async def change_project_variables(
        self,
        team: FromPath[TeamSlug],
        project: FromPath[Slug],
        data: JSONBody[VariablesPatch],
        variables: NamedDependency[VariableService],
        actor: NamedDependency[Actor],
    ) -> VariablesChanged:
        command = ChangeProjectVariables(team=team, project=project, **_fields(data))
        return await variables.change(actor, command)

    @get("/projects/{team:str}/{project:str}/environments/{environment:str}/variables")
    async def environment_variables(
        self,
        team: FromPath[TeamSlug],
        project: FromPath[Slug],
        environment: FromPath[Slug],
        variable_reads: NamedDependency[VariableReads],
        actor: NamedDependency[Actor],
    ) -> SharedVariables:
        return await variable_reads.names(actor, team, project, environment)

    @patch("/projects/{team:str}/{project:str}/environments/{environment:str}/variables")
    async def change_environment_variables(
        self,
        team: FromPath[TeamSlug],
        project: FromPath[Slug],
        environment: FromPath[Slug],
        data: JSONBody[VariablesPatch],
        variables: NamedDependency[VariableService],
        actor: NamedDependency[Actor],
    ) -> VariablesChanged:
        command = ChangeProjectVariables(
            team=team, project=project, environment=environment, **_fields(data)
        )
        return await variables.change(actor, command)


def _fields(data: VariablesPatch) -> dict[str, Any]:
    return {"variables": data.variables, "scopes": data.scopes, "preview": data.preview}
