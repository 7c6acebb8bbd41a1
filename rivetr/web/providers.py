"""One Litestar dependency per service the composition root holds, so that a controller names
the service it needs (`apps: NamedDependency[AppService]`), never the whole of `Services`."""

from __future__ import annotations

from typing import Any

from litestar.datastructures import State
from litestar.di import Provide

# the attributes of `bootstrap.Services` that controllers and pages depend on, by name
PROVIDED = (
    "apps",
    "app_reads",
    "account_reads",
    "audit_reads",
    "certificates",
    "deployments",
    "deployment_reads",
    "engine",
    "health_reads",
    "joining",
    "history",
    "instance_settings",
    "hub",
    "previews",
    "resources",
    "runner",
    "runtime_logs",
    "settings",
    "setup",
    "team_reads",
    "teams",
    "tokens",
    "users",
    "webhooks",
    "projects",
    "project_reads",
    "variables",
    "variable_reads",
    "clones",
    "promotions",
    "databases",
    "backups",
    "control_plane",
    "servers",
    "scaling",
    "database_reads",
    "stacks",
    "stack_reads",
    "stack_allowances",
    "notifications",
    "jobs",
    "job_reads",
    "metrics",
)


def _provider(attribute: str) -> Provide:
    def provide(state: State) -> Any:
        return getattr(state.services, attribute)

    return Provide(provide, sync_to_thread=False)


def service_providers() -> dict[str, Provide]:
    return {attribute: _provider(attribute) for attribute in PROVIDED}
