"""The projections the service runs, in one list, and the read model: one connection to read.db
and each projection's queries on it. A new projection is its module and a line in each here."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import aiosqlite

from rivetr.projections.apps import AppQueries, AppsProjection
from rivetr.projections.audit import AuditProjection, AuditQueries
from rivetr.projections.base import Projection
from rivetr.projections.certificates import CertificateQueries, CertificatesProjection
from rivetr.projections.counterparts import CounterpartQueries, CounterpartsProjection
from rivetr.projections.databases import DatabaseQueries, DatabasesProjection
from rivetr.projections.deployments import DeploymentQueries, DeploymentsProjection
from rivetr.projections.instance_settings import (
    InstanceSettingQueries,
    InstanceSettingsProjection,
)
from rivetr.projections.jobs import JobQueries, JobsProjection
from rivetr.projections.notifications import NotificationQueries, NotificationsProjection
from rivetr.projections.projects import ProjectQueries, ProjectsProjection
from rivetr.projections.stack_allowances import (
    StackAllowanceQueries,
    StackAllowancesProjection,
)
from rivetr.projections.stacks import StackQueries, StacksProjection
from rivetr.projections.teams import TeamQueries, TeamsProjection
from rivetr.projections.tokens import TokenQueries, TokensProjection
from rivetr.projections.users import UserQueries, UsersProjection
from rivetr.projections.variables import VariableQueries, VariablesProjection
from rivetr.projections.webhooks import WebhookQueries, WebhooksProjection


def all_projections() -> list[Projection]:
    return [
        AppsProjection(),
        TokensProjection(),
        AuditProjection(),
        DeploymentsProjection(),
        UsersProjection(),
        TeamsProjection(),
        WebhooksProjection(),
        CertificatesProjection(),
        InstanceSettingsProjection(),
        ProjectsProjection(),
        VariablesProjection(),
        CounterpartsProjection(),
        DatabasesProjection(),
        StacksProjection(),
        StackAllowancesProjection(),
        NotificationsProjection(),
        JobsProjection(),
    ]


class ReadModel:
    """read.db on a connection of its own (WAL lets reads run beside the runner's writes), rows
    by column name, and each projection's queries on it: `read.apps.named("shop")`."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        conn.row_factory = sqlite3.Row
        self._conn = conn
        self.apps = AppQueries(conn)
        self.tokens = TokenQueries(conn)
        self.audit = AuditQueries(conn)
        self.deployments = DeploymentQueries(conn)
        self.users = UserQueries(conn)
        self.teams = TeamQueries(conn)
        self.webhooks = WebhookQueries(conn)
        self.certificates = CertificateQueries(conn)
        self.instance_settings = InstanceSettingQueries(conn)
        self.projects = ProjectQueries(conn)
        self.variables = VariableQueries(conn)
        self.counterparts = CounterpartQueries(conn)
        self.databases = DatabaseQueries(conn)
        self.stacks = StackQueries(conn)
        self.stack_allowances = StackAllowanceQueries(conn)
        self.notifications = NotificationQueries(conn)
        self.jobs = JobQueries(conn)

    @classmethod
    async def open(cls, path: Path | str) -> ReadModel:
        return cls(await aiosqlite.connect(path))

    async def close(self) -> None:
        await self._conn.close()
