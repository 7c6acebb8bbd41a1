"""Authorisation: which scope may issue which command."""

from __future__ import annotations

import inspect

import pytest

from rivetr.domain import commands
from rivetr.domain.access import (
    SCOPE_PERMISSIONS,
    SYSTEM,
    Actor,
    Permission,
    authorize,
    required_permission,
)
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

ONE_OF_EACH: list[Command] = [
    CreateApp(name="web"),
    ChangeAppSettings(name="web", port=9000),
    DeleteApp(name="web"),
    CreateToken(token_id="t1", name="ci", secret_hash="ab" * 32),
    RevokeToken(token_id="t1"),
    RequestDeployment(deployment_id="d1", app="web"),
    CancelDeployment(deployment_id="d1"),
    CreateUser(email="ann@example.com", password_hash="$argon2id$x", role="viewer"),
    AssignTokenOwner(token_id="t1", owner="ann@example.com"),
]


def token(scope: str) -> Actor:
    return Actor(kind="token", id=f"t-{scope}", name=scope, permissions=SCOPE_PERMISSIONS[scope])


def command_classes() -> set[type[Command]]:
    return {
        cls
        for _, cls in inspect.getmembers(commands, inspect.isclass)
        if issubclass(cls, Command) and cls is not Command and cls.__module__ == commands.__name__
    }


def test_the_examples_cover_every_command() -> None:
    assert {type(c) for c in ONE_OF_EACH} == command_classes()


@pytest.mark.parametrize("command", ONE_OF_EACH, ids=lambda c: type(c).__name__)
def test_every_command_needs_a_permission(command: Command) -> None:
    assert isinstance(required_permission(command), Permission)


def test_a_command_without_a_permission_is_an_error_not_a_free_pass() -> None:
    class Unlisted(Command, frozen=True, kw_only=True):
        pass

    with pytest.raises(TypeError, match="Unlisted"):
        required_permission(Unlisted())


@pytest.mark.parametrize("command", ONE_OF_EACH, ids=lambda c: type(c).__name__)
def test_an_admin_token_may_do_everything(command: Command) -> None:
    authorize(token("admin"), required_permission(command))


@pytest.mark.parametrize("command", ONE_OF_EACH, ids=lambda c: type(c).__name__)
def test_the_system_may_do_everything(command: Command) -> None:
    authorize(SYSTEM, required_permission(command))


DEPLOYING = (RequestDeployment, CancelDeployment)


@pytest.mark.parametrize("scope", ["read", "deploy"])
@pytest.mark.parametrize(
    "command",
    [c for c in ONE_OF_EACH if not isinstance(c, DEPLOYING)],
    ids=lambda c: type(c).__name__,
)
def test_read_and_deploy_tokens_may_not_manage_apps_or_tokens(scope: str, command: Command) -> None:
    with pytest.raises(Forbidden, match=f"token:{scope}"):
        authorize(token(scope), required_permission(command))


@pytest.mark.parametrize("command", [c for c in ONE_OF_EACH if isinstance(c, DEPLOYING)])
def test_deploy_tokens_may_deploy_and_read_tokens_may_not(command: Command) -> None:
    authorize(token("deploy"), required_permission(command))
    with pytest.raises(Forbidden, match="'deploy'"):
        authorize(token("read"), required_permission(command))


def test_a_read_token_cannot_create_an_app() -> None:
    with pytest.raises(Forbidden, match="'manage_apps'"):
        authorize(token("read"), required_permission(CreateApp(name="web")))


def test_managing_tokens_needs_admin_not_just_app_management() -> None:
    app_manager = Actor(
        kind="user", id="u1", name="dev", permissions=frozenset({Permission.MANAGE_APPS})
    )

    authorize(app_manager, required_permission(CreateApp(name="web")))
    with pytest.raises(Forbidden):
        authorize(app_manager, required_permission(RevokeToken(token_id="t1")))


def test_read_and_deploy_scopes_can_read() -> None:
    for scope in ("read", "deploy"):
        authorize(token(scope), Permission.READ)
    with pytest.raises(Forbidden):
        authorize(token("read"), Permission.DEPLOY)
    authorize(token("deploy"), Permission.DEPLOY)
