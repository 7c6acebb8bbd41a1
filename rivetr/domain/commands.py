"""What users and systems ask Rivetr to do. Commands refuse unknown fields: a typo is an error."""

from __future__ import annotations

from typing import Annotated

import msgspec

from rivetr.domain.events import DeploymentTrigger, TokenScope, UserRole
from rivetr.domain.settings import (
    AppName,
    Branch,
    BuildSettingsInput,
    DeployKey,
    Domain,
    EnvName,
    GitToken,
    GitUrl,
    HealthCheckInput,
    Port,
    ResourcesInput,
)


class Command(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base of all commands."""


class CreateApp(Command, frozen=True, kw_only=True):
    name: AppName
    git_url: GitUrl | None = None
    branch: Branch = "main"
    build: BuildSettingsInput = msgspec.field(default_factory=BuildSettingsInput)
    port: Port = 8080
    domains: list[Domain] = msgspec.field(default_factory=list)
    health: HealthCheckInput = msgspec.field(default_factory=HealthCheckInput)
    resources: ResourcesInput = msgspec.field(default_factory=ResourcesInput)
    env: dict[EnvName, str] = msgspec.field(default_factory=dict)
    # credentials for a private repository; write-only, like env values
    git_token: GitToken | None = None
    deploy_key: DeployKey | None = None


class ChangeAppSettings(Command, frozen=True, kw_only=True):
    """A partial update: only the fields given change. An `env` value of null removes the key;
    a null `git_token` or `deploy_key` removes that credential."""

    name: AppName
    git_url: GitUrl | msgspec.UnsetType | None = msgspec.UNSET
    branch: Branch | msgspec.UnsetType = msgspec.UNSET
    build: BuildSettingsInput | msgspec.UnsetType = msgspec.UNSET
    port: Port | msgspec.UnsetType = msgspec.UNSET
    domains: list[Domain] | msgspec.UnsetType = msgspec.UNSET
    health: HealthCheckInput | msgspec.UnsetType = msgspec.UNSET
    resources: ResourcesInput | msgspec.UnsetType = msgspec.UNSET
    env: dict[EnvName, str | None] | msgspec.UnsetType = msgspec.UNSET
    git_token: GitToken | msgspec.UnsetType | None = msgspec.UNSET  # null removes it
    deploy_key: DeployKey | msgspec.UnsetType | None = msgspec.UNSET


class DeleteApp(Command, frozen=True, kw_only=True):
    name: AppName


class CreateToken(Command, frozen=True, kw_only=True):
    token_id: str
    name: str
    secret_hash: str
    scope: TokenScope = "admin"
    owner: str | None = None
    expires_at: str | None = None


class RevokeToken(Command, frozen=True, kw_only=True):
    token_id: str


class AssignTokenOwner(Command, frozen=True, kw_only=True):
    """Give an ownerless token (minted by the CLI before any account existed) to a user."""

    token_id: str
    owner: str


class RequestDeployment(Command, frozen=True, kw_only=True):
    deployment_id: str
    app: AppName
    commit: Annotated[str, msgspec.Meta(pattern=r"^[0-9a-fA-F]{4,64}$")] | None = None
    trigger: DeploymentTrigger = "api"
    image: str | None = None
    rollback_of: str | None = None


class CancelDeployment(Command, frozen=True, kw_only=True):
    deployment_id: str
    reason: str = "cancelled by request"


Email = Annotated[str, msgspec.Meta(pattern=r"^[^@\s]{1,64}@[^@\s]{1,255}$")]


class CreateUser(Command, frozen=True, kw_only=True):
    email: Email
    password_hash: str
    role: UserRole = "viewer"
