"""/api/v1/teams/{team}/variables, /api/v1/projects/{team}/{project}/variables and
.../environments/{environment}/variables: shared variables, names on GET, values write-only on
PATCH (null removes one), answered with the apps that take the change up at their next
deployment; and /api/v1/apps/{name}/variables: the scopes of an app's variables."""

from __future__ import annotations

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
)
from rivetr.domain.settings import AppName
from rivetr.projections.variables import ScopeView
from rivetr.service.commands.variables import VariablesChanged, VariableService
from rivetr.service.queries.apps import AppReads
from rivetr.service.queries.variables import SharedVariables, VariableReads


class VariablesPatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    variables: SharedValues  # name -> plain value (write-only), or null to remove it


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
        command = ChangeTeamVariables(team=team, variables=data.variables)
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
        command = ChangeProjectVariables(team=team, project=project, variables=data.variables)
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
            team=team, project=project, environment=environment, variables=data.variables
        )
        return await variables.change(actor, command)
