"""Authorisation: which caller may issue which command, in which team."""

from __future__ import annotations

import inspect

import msgspec
import pytest

from rivetr.domain import commands, database_commands
from rivetr.domain.access import (
    SCOPE_PERMISSIONS,
    SYSTEM,
    Actor,
    Permission,
    Target,
    authorize,
    authorize_command,
    home_team,
    required_permission,
    token_actor,
    user_actor,
    webhook_actor,
)
from rivetr.domain.commands import (
    AddMember,
    ApprovePreview,
    AssignTokenOwner,
    AwaitPreviewApproval,
    CancelDeployment,
    ChangeAppSettings,
    ChangeInstanceSettings,
    ChangeMemberRole,
    ChangeProjectVariables,
    ChangeTeamVariables,
    CloneEnvironment,
    ClosePreview,
    Command,
    ConfirmTotp,
    CreateApp,
    CreateEnvironment,
    CreateProject,
    CreateTeam,
    CreateToken,
    CreateUser,
    DeleteApp,
    DeleteEnvironment,
    DeleteProject,
    DeleteTeam,
    DisableTotp,
    DisableWebhook,
    EnrollTotp,
    InstallCertificate,
    InviteMember,
    MoveApp,
    OpenPreview,
    RemoveMember,
    RequestDeployment,
    ResealTotp,
    RevokeInvitation,
    RevokeSession,
    RevokeToken,
    SetProjectRole,
    SetWebhookSecret,
    TransferOwnership,
)
from rivetr.domain.compose.allowances import Allowances
from rivetr.domain.database_commands import (
    BackUpDatabase,
    ChangeDatabaseSettings,
    CreateDatabase,
    DatabaseCommand,
    DeleteBackup,
    DeleteDatabase,
    RemoveBackupTarget,
    RequestDatabaseAction,
    ResealDatabasePasswords,
    RestoreBackup,
    RotateDatabasePassword,
    SetBackupSchedules,
    SetBackupTarget,
    UpgradeDatabase,
)
from rivetr.domain.errors import Forbidden, InvalidCommand
from rivetr.domain.stack_commands import SetStackAllowances

DB = "db0000000001"

ONE_OF_EACH: list[Command] = [
    CreateDatabase(name="pg", kind="postgres", team="a"),
    ChangeDatabaseSettings(database_id=DB, public_port=15432),
    RequestDatabaseAction(database_id=DB, action="stop"),
    RotateDatabasePassword(database_id=DB),
    ResealDatabasePasswords(database_id=DB, password="rvs2:k:x", resealing=("", None, None)),
    SetBackupSchedules(database_id=DB),
    UpgradeDatabase(database_id=DB, version="17"),
    DeleteDatabase(database_id=DB),
    BackUpDatabase(database_id=DB),
    RestoreBackup(backup_id=DB),
    DeleteBackup(backup_id=DB),
    SetBackupTarget(team="a", name="local", keep_last=3),
    RemoveBackupTarget(team="a", name="s3"),
    CreateApp(name="web", team="a"),
    ChangeAppSettings(name="web", port=9000),
    ChangeAppSettings(name="web", domains=["web.example.com"]),
    DeleteApp(name="web"),
    CreateToken(token_id="t1", name="ci", secret_hash="ab" * 32, scope="read"),
    CreateToken(token_id="t1", name="ci", secret_hash="ab" * 32, scope="deploy"),
    CreateToken(token_id="t1", name="ci", secret_hash="ab" * 32, scope="admin"),
    RevokeToken(token_id="t1"),
    RequestDeployment(deployment_id="d1", app="web"),
    CancelDeployment(deployment_id="d1"),
    CreateUser(email="ann@example.com", password_hash="$argon2id$x", role="viewer"),
    AssignTokenOwner(token_id="t1", owner="ann@example.com"),
    RevokeSession(user_id="bob@example.com", session_id="s1"),
    CreateTeam(team="b", name="B", owner="someone@example.com"),
    AddMember(team="a", user_id="bob@example.com", role="viewer"),
    InviteMember(
        team="a",
        invitation_id="i1",
        email="bob@example.com",
        role="viewer",
        secret_hash="cd" * 32,
        expires_at="2030-01-01T00:00:00+00:00",
    ),
    RevokeInvitation(team="a", invitation_id="i1"),
    ChangeMemberRole(team="a", user_id="bob@example.com", role="admin"),
    RemoveMember(team="a", user_id="bob@example.com"),
    TransferOwnership(team="a", to_user="bob@example.com"),
    DeleteTeam(team="a"),
    EnrollTotp(user_id="bob@example.com", secret="rvs1:x"),
    ConfirmTotp(user_id="bob@example.com", totp_step=1, recovery_hashes=[]),
    DisableTotp(user_id="bob@example.com"),
    ResealTotp(user_id="bob@example.com", secret="rvs1:y"),
    SetWebhookSecret(name="web", secret="rvs1:w"),
    DisableWebhook(name="web"),
    OpenPreview(name="web-pr-1", preview_of="web", pr_number=1, branch="feature"),
    ClosePreview(name="web-pr-1"),
    AwaitPreviewApproval(
        name="web-pr-1", preview_of="web", parent_id="w1", pr_number=1, commit="ab" * 20
    ),
    ApprovePreview(name="web-pr-1", preview_of="web", pr_number=1, commit="ab" * 20),
    InstallCertificate(
        app="web",
        domain="web.example.com",
        not_before="2026-11-01T00:00:00+00:00",
        not_after="2027-02-01T00:00:00+00:00",
        issuer="CN=CA",
        serial="1f",
        fingerprint="ab" * 32,
    ),
    ChangeInstanceSettings(changes={"public_url": "https://deploy.example.com"}),
    MoveApp(name="web", project="shop", environment="staging"),
    CreateProject(team="a", project="shop"),
    DeleteProject(team="a", project="shop"),
    CreateEnvironment(team="a", project="shop", environment="staging"),
    DeleteEnvironment(team="a", project="shop", environment="staging"),
    SetProjectRole(team="a", user_id="bob@example.com", project="shop", role="developer"),
    ChangeTeamVariables(team="a", variables={"HOST": "db"}),
    ChangeProjectVariables(team="a", project="shop", environment="staging", variables={"A": None}),
    CloneEnvironment(team="a", project="shop", environment="production", to_environment="qa"),
]


def label(command: Command) -> str:
    name = type(command).__name__
    if isinstance(command, CreateToken):
        return f"{name}:{command.scope}"
    if isinstance(command, ChangeAppSettings):
        return f"{name}:{'domains' if command.domains else 'port'}"
    return name


# Everything in team "a" (or of the instance, which is the default team's business).
TARGET = Target(team="a")

# What each role in team "a" may do there; everything else is refused. Written out in full,
# not derived from ROLE_PERMISSIONS, so a change to that table shows up here.
MEMBER_WORK = {
    "InviteMember",
    "RevokeInvitation",
    "ChangeMemberRole",
    "RemoveMember",
    "AddMember",
    "RevokeToken",
    "CreateToken:admin",
    "SetProjectRole",
}
APP_WORK = {
    "CreateApp",
    "DeleteApp",
    "ChangeAppSettings:domains",
    "SetWebhookSecret",
    "DisableWebhook",
    "InstallCertificate",
    "MoveApp",
    "CreateProject",
    "DeleteProject",
    "CreateEnvironment",
    "DeleteEnvironment",
    "CloneEnvironment",
    "CreateDatabase",
    "ChangeDatabaseSettings",
    "DeleteDatabase",
    "UpgradeDatabase",
    "RestoreBackup",
    "DeleteBackup",
    "SetBackupTarget",
    "RemoveBackupTarget",
}
DEV_WORK = {
    "ChangeAppSettings:port",
    "RequestDeployment",
    "CancelDeployment",
    "CreateToken:read",
    "CreateToken:deploy",
    "OpenPreview",
    "ClosePreview",
    "AwaitPreviewApproval",
    "ApprovePreview",
    "ChangeTeamVariables",
    "ChangeProjectVariables",
    "RotateDatabasePassword",
    "ResealDatabasePasswords",  # the same password, newer seal: no more than a rotation
    "SetBackupSchedules",
    "RequestDatabaseAction",
    "BackUpDatabase",
}
# instance-level commands: the default team's admins, not team "a"'s
INSTANCE = {
    "CreateUser",
    "AssignTokenOwner",
    "RevokeSession",
    "DisableTotp",
    "ResealTotp",
    "ChangeInstanceSettings",
}
ALLOWED = {
    "guest": set(),  # a guest holds only what project roles give them
    "viewer": set(),  # a viewer mints no token
    "developer": DEV_WORK,
    "admin": DEV_WORK | APP_WORK | MEMBER_WORK,
    "owner": DEV_WORK | APP_WORK | MEMBER_WORK | {"TransferOwnership", "DeleteTeam"},
}


def target_of(command: Command) -> Target:
    if type(command).__name__ in INSTANCE:
        return Target(team="default", owner="bob@example.com")
    if isinstance(command, CreateTeam):
        return Target()
    return TARGET


def allowed(actor: Actor, command: Command) -> bool:
    if isinstance(command, CreateToken):  # a token is minted for its minter
        command = msgspec.structs.replace(command, owner=actor.user)
    try:
        authorize_command(actor, command, target_of(command))
    except Forbidden:
        return False
    return True


def command_classes() -> set[type[Command]]:
    return {
        cls
        for module in (commands, database_commands)
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, Command)
        and cls not in (Command, DatabaseCommand)
        and cls.__module__ == module.__name__
    }


def test_the_examples_cover_every_command() -> None:
    assert {type(c) for c in ONE_OF_EACH} == command_classes()


@pytest.mark.parametrize("command", ONE_OF_EACH, ids=label)
def test_every_command_needs_a_permission(command: Command) -> None:
    assert isinstance(required_permission(command), Permission)


def test_a_command_without_a_permission_is_an_error_not_a_free_pass() -> None:
    class Unlisted(Command, frozen=True, kw_only=True):
        pass

    with pytest.raises(TypeError, match="Unlisted"):
        required_permission(Unlisted())


@pytest.mark.parametrize("role", ["guest", "viewer", "developer", "admin", "owner"])
def test_each_role_may_do_exactly_its_work_in_its_own_team(role: str) -> None:
    member = user_actor("ann@example.com", {"a": role})
    done = {label(c) for c in ONE_OF_EACH if allowed(member, c) and not isinstance(c, CreateTeam)}
    assert done == ALLOWED[role]


@pytest.mark.parametrize("role", ["viewer", "developer", "admin", "owner"])
def test_a_role_in_another_team_allows_nothing_here(role: str) -> None:
    outsider = user_actor("ann@example.com", {"b": role})
    assert not [
        label(c) for c in ONE_OF_EACH if c.__class__ is not CreateTeam and allowed(outsider, c)
    ]


def test_the_default_teams_admins_administer_the_instance() -> None:
    admin = user_actor("ann@example.com", {"default": "admin"})
    done = {label(c) for c in ONE_OF_EACH if type(c).__name__ in INSTANCE and allowed(admin, c)}
    assert done == INSTANCE - {"EnrollTotp", "ConfirmTotp"}


def test_anyone_may_create_a_team_owned_by_themselves_only() -> None:
    ann = user_actor("ann@example.com", {})
    authorize_command(ann, CreateTeam(team="b", name="B", owner="ann@example.com"), Target())
    with pytest.raises(Forbidden, match="owned by themselves"):
        authorize_command(ann, CreateTeam(team="b", name="B", owner="eve@example.com"), Target())


def test_a_user_revokes_their_own_token_and_session_but_not_anothers() -> None:
    bob = user_actor("bob@example.com", {"a": "viewer"})
    own = Target(team="a", owner="bob@example.com")
    authorize_command(bob, RevokeToken(token_id="t1"), own)
    authorize_command(bob, RevokeSession(user_id="bob@example.com", session_id="s"), own)
    with pytest.raises(Forbidden):
        authorize_command(bob, RevokeToken(token_id="t2"), Target(team="a", owner="eve@x.io"))


def test_a_second_factor_is_set_up_only_by_its_user_in_a_password_session() -> None:
    own = Target(team="default", owner="bob@example.com")
    enroll = EnrollTotp(user_id="bob@example.com", secret="rvs1:x")
    authorize_command(user_actor("bob@example.com", {}), enroll, own)
    root_admin = user_actor("ann@example.com", {"default": "owner"})
    with pytest.raises(Forbidden):
        authorize_command(root_admin, enroll, own)
    bobs_token = token_actor("t", "ci", "admin", "bob@example.com", "default", {"default": "owner"})
    with pytest.raises(Forbidden):
        authorize_command(bobs_token, enroll, own)


@pytest.mark.parametrize(
    ("scope", "role", "can"),
    [
        ("deploy", "owner", {Permission.READ, Permission.DEPLOY}),
        (
            "admin",
            "developer",
            {Permission.READ, Permission.DEPLOY, Permission.EDIT_APPS, Permission.MINT_TOKENS},
        ),
        ("admin", "viewer", {Permission.READ}),
        ("read", "owner", {Permission.READ}),
    ],
)
def test_a_users_token_holds_its_scope_cut_down_to_the_owners_role(
    scope: str, role: str, can: set[Permission]
) -> None:
    token = token_actor("t", "ci", scope, "bob@example.com", "a", {"a": role})
    assert {p for p in Permission if token.can(p, "a")} == can
    assert not any(token.can(p, "b") for p in Permission)
    assert token.label == "user:bob@example.com"
    assert token.source == "token:ci"


def test_a_token_whose_owner_left_the_team_can_do_nothing() -> None:
    token = token_actor("t", "ci", "admin", "bob@example.com", "a", {"b": "owner"})
    assert not any(token.can(p, "a") for p in Permission)


def test_a_token_never_deletes_or_hands_over_a_team() -> None:
    token = token_actor("t", "ci", "admin", "bob@example.com", "a", {"a": "owner"})
    for command in (DeleteTeam(team="a"), TransferOwnership(team="a", to_user="x@y.z")):
        with pytest.raises(Forbidden, match="own_team"):
            authorize_command(token, command, TARGET)


def test_the_clis_ownerless_tokens_act_in_every_team_within_their_scope() -> None:
    admin = token_actor("t", "boot", "admin", None, None, {})
    read = token_actor("t", "ro", "read", None, None, {})
    authorize(admin, Permission.MANAGE_APPS, "anything")
    authorize(read, Permission.READ, "anything")
    with pytest.raises(Forbidden, match="'deploy'"):
        authorize(read, Permission.DEPLOY, "anything")
    assert admin.label == "token:boot"


SELF_ONLY = (EnrollTotp, ConfirmTotp)


@pytest.mark.parametrize(
    "command", [c for c in ONE_OF_EACH if not isinstance(c, SELF_ONLY)], ids=label
)
def test_the_system_may_do_everything_but_set_up_someones_second_factor(
    command: Command,
) -> None:
    authorize_command(SYSTEM, command, target_of(command))
    for self_only in (c for c in ONE_OF_EACH if isinstance(c, SELF_ONLY)):
        with pytest.raises(Forbidden):
            authorize_command(SYSTEM, self_only, target_of(self_only))


def test_readable_teams() -> None:
    assert SYSTEM.readable_teams() is None
    mixed = user_actor("a@b.c", {"a": "viewer", "b": "owner"})
    assert mixed.readable_teams() == {"a", "b"}


def test_home_team_is_the_tokens_or_the_only_team_that_allows_it() -> None:
    assert (
        home_team(token_actor("t", "c", "deploy", "u@x.y", "b", {"b": "admin"}), Permission.DEPLOY)
        == "b"
    )
    assert home_team(SYSTEM, Permission.MANAGE_APPS) == "default"
    two = user_actor("u@x.y", {"a": "viewer", "b": "admin"})
    assert home_team(two, Permission.MANAGE_APPS) == "b"
    with pytest.raises(InvalidCommand, match="say which team"):
        home_team(two, Permission.READ)
    with pytest.raises(Forbidden):
        home_team(user_actor("u@x.y", {}), Permission.READ)


def test_scope_permissions_are_nested() -> None:
    assert SCOPE_PERMISSIONS["read"] < SCOPE_PERMISSIONS["deploy"] < SCOPE_PERMISSIONS["admin"]


def test_a_webhook_may_deploy_and_preview_but_not_manage_apps() -> None:
    hook = webhook_actor("github")
    authorize_command(hook, RequestDeployment(deployment_id="d", app="web"), TARGET)
    authorize_command(hook, ClosePreview(name="web-pr-1"), TARGET)
    held = AwaitPreviewApproval(
        name="web-pr-1", preview_of="web", parent_id="w1", pr_number=1, commit="ab" * 20
    )
    authorize_command(hook, held, TARGET)
    # approving a fork's head hands it the app's secrets: a developer's doing, never a hook's
    approval = ApprovePreview(name="web-pr-1", preview_of="web", pr_number=1, commit="ab" * 20)
    for command in (DeleteApp(name="web"), SetWebhookSecret(name="web", secret="x"), approval):
        with pytest.raises(Forbidden):
            authorize_command(hook, command, TARGET)
    assert (hook.label, hook.source) == ("webhook:github", "webhook:github")


@pytest.mark.parametrize("role", ["owner", "admin", "developer"])
def test_a_teams_own_members_never_widen_what_its_stacks_may_ask_of_the_host(role: str) -> None:
    member = user_actor("ann@example.com", {"a": role})
    own_token = token_actor("t", "ci", "admin", "ann@example.com", "a", {"a": role})
    command = SetStackAllowances(team="a", allowances=Allowances(privileged=True))
    for actor in (member, own_token):
        with pytest.raises(Forbidden, match="only an instance admin"):
            authorize_command(actor, command, Target(team="a"))


def test_an_instance_admin_sets_any_teams_stack_allowances() -> None:
    command = SetStackAllowances(team="a", allowances=Allowances(privileged=True))
    admin = user_actor("bob@example.com", {"default": "admin"})
    authorize_command(admin, command, Target(team="a"))
    authorize_command(token_actor("t", "boot", "admin", None, None, {}), command, Target(team="a"))
    assert required_permission(command) is Permission.MANAGE_MEMBERS
