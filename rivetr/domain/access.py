"""Who is acting, and what they may do: the one place every command is authorised.

Today an actor is an API token with a scope, or the system itself; users, teams and roles slot in
here later without touching the controllers.
"""

from __future__ import annotations

import enum
from typing import Literal

import msgspec

from rivetr.domain.commands import (
    AssignTokenOwner,
    CancelDeployment,
    ChangeAppSettings,
    Command,
    CreateApp,
    CreateToken,
    CreateUser,
    DeleteApp,
    RequestDeployment,
    RevokeToken,
)
from rivetr.domain.errors import Forbidden

ActorKind = Literal["token", "user", "system", "cli", "webhook"]


class Permission(enum.Enum):
    READ = "read"
    DEPLOY = "deploy"
    MANAGE_APPS = "manage_apps"
    ADMIN = "admin"


SCOPE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    "read": frozenset({Permission.READ}),
    "deploy": frozenset({Permission.READ, Permission.DEPLOY}),
    "admin": frozenset(Permission),
}


# what each role may do (teams come later; today a role holds everywhere)
ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    "owner": frozenset(Permission),
    "admin": frozenset(Permission),
    "developer": frozenset({Permission.READ, Permission.DEPLOY, Permission.MANAGE_APPS}),
    "viewer": frozenset({Permission.READ}),
}


class Actor(msgspec.Struct, frozen=True, kw_only=True):
    """The identity recorded as `actor` on every event a command causes."""

    kind: ActorKind
    id: str
    name: str
    permissions: frozenset[Permission] = frozenset()

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.name}"


SYSTEM = Actor(kind="system", id="system", name="rivetr", permissions=frozenset(Permission))


def required_permission(command: Command) -> Permission:
    match command:
        case CreateApp() | ChangeAppSettings() | DeleteApp():
            return Permission.MANAGE_APPS
        case CreateToken() | RevokeToken() | AssignTokenOwner() | CreateUser():
            return Permission.ADMIN
        case RequestDeployment() | CancelDeployment():
            return Permission.DEPLOY
    raise TypeError(f"no permission is defined for {type(command).__name__}")


def authorize(actor: Actor, needed: Permission) -> None:
    """Raise Forbidden unless the actor holds `needed`."""
    if needed not in actor.permissions:
        raise Forbidden(f"{actor.label} lacks the {needed.value!r} permission")
