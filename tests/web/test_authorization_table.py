"""Every operation that changes something, for every kind of caller, across teams: exactly the
combinations the permission tables allow get through; every other one gets 401 or 403 and
appends nothing.

The operations are those the OpenAPI schema lists (what /schema/openapi.json serves): one the
table has no expectation for fails the run, so a new route cannot be left out. The app `web`
belongs to team `acme`. Callers: members of acme in each role (signed in, with their CSRF
token so only the role decides), the same roles in another team (the wrong team), an admin of
the default team (the instance's admins), the CLI's ownerless tokens of each scope, tokens of
each scope minted by members of acme and of the other team (cut down to their role), and
nobody: anonymous, an unknown token, an expired token, an expired session and an ended
session. The account routes (one's own tokens, sessions and second factor) take a session or
an admin-scoped token, the second factor a session only, whatever the role.

Users and sessions are written as events directly: argon2 and sign-in have their own tests,
and this table has hundreds of cases."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import msgspec
import pytest
from litestar.testing import TestClient

from rivetr.adapters.eventstore.base import EventMeta
from rivetr.config import Settings
from rivetr.domain.access import (
    ROLE_PERMISSIONS,
    SCOPE_PERMISSIONS,
    SYSTEM,
    Permission,
)
from rivetr.domain.commands import CreateApp
from rivetr.domain.events import (
    SessionEnded,
    SessionStarted,
    TokenCreated,
    TotpEnabled,
    TotpEnrolled,
    UserCreated,
)
from rivetr.domain.job_commands import CreateJob
from rivetr.service.commands.tokens import TOKEN_PREFIX, hash_secret
from rivetr.service.commands.users import SESSION_PREFIX, csrf_token
from rivetr.web.app import create_app
from rivetr.web.openapi import document
from tests.web.conftest import SharedApp, join_team
from tests.web.database_steps import database_with_backup
from tests.web.releases import served_releases, served_stack

P = Permission
JOB = {"name": "weekly", "command": "true", "schedule": "@weekly"}
NIGHTLY = {"name": "nightly", "command": ["true"], "schedule": "0 3 * * *"}
VICTIM = "vic@example.com"  # a viewer of acme whose membership, session and 2FA are acted on

# who may use a route: those holding (a permission in a team), or those a predicate names
Rule = tuple[str, Permission] | Callable[[str], bool]
Status = int | Callable[[str], int]  # when allowed; by caller where the domain then decides


def on_account(caller: str) -> bool:
    """A session, or an admin-scoped token: what acts on an account at all."""
    how = CALLERS[caller][0]
    return how[0] == "session" or how[:2] == ("token", "admin")


def has_user(caller: str) -> bool:
    how = CALLERS[caller][0]
    return how[0] == "session" or (how[0] == "token" and how[2] != "")


def own_or_holds(team: str, needed: Permission) -> Callable[[str], bool]:
    """An account route on the caller's own token or session; for a caller with no user (the
    CLI's tokens), on someone else's, which takes `needed` in `team`."""
    return lambda caller: on_account(caller) and (has_user(caller) or holds(caller, team, needed))


def signed_in(caller: str) -> bool:
    return CALLERS[caller][0][0] == "session"


def makes_teams(caller: str) -> bool:
    """Every person may found a team; a token only if it acts outside any team (the CLI's)."""
    return signed_in(caller) or P.CREATE_TEAMS in CALLERS[caller][1].get("*", frozenset())


# operation (as the schema names it), path, body, who may, status when allowed
Route = tuple[str, str, dict[str, object] | None, Rule, Status]


def minting(scope: str, needed: Permission) -> Route:
    body = {"name": "x", "scope": scope, "team": "acme"}
    return ("POST /api/v1/tokens", "/api/v1/tokens", body, ("acme", needed), 201)


ROUTES: dict[str, Route] = {
    "create app": (
        "POST /api/v1/apps",
        "/api/v1/apps",
        {"name": "new", "team": "acme"},
        ("acme", P.MANAGE_APPS),
        201,
    ),
    **{
        what: ("PATCH /api/v1/apps/{name}", "/api/v1/apps/web", body, ("acme", needed), 200)
        for what, body, needed in [
            ("change settings", {"port": 9000}, P.EDIT_APPS),
            ("change env", {"env": {"A": "1"}}, P.EDIT_APPS),
            ("change domains", {"domains": ["web.example.com"]}, P.MANAGE_APPS),
            ("set git token", {"git_token": "ghp_secret"}, P.MANAGE_APPS),
        ]
    },
    **{
        what: (f"PATCH /api/v1/{pattern}/variables", f"/api/v1/{path}/variables", body, rule, 200)
        for what, pattern, path in [
            ("change team variables", "teams/{team}", "teams/acme"),
            ("change project variables", "projects/{team}/{project}", "projects/acme/default"),
            (
                "change environment variables",
                "projects/{team}/{project}/environments/{environment}",
                "projects/acme/default/environments/production",
            ),
        ]
        for body, rule in [({"variables": {"HOST": "db"}}, ("acme", P.EDIT_APPS))]
    },
    "scale app": (  # web is live: the scale redeploys it, which its role allows too
        "PUT /api/v1/apps/{name}/scale",
        "/api/v1/apps/web/scale",
        {"balance": "least_connections"},
        ("acme", P.EDIT_APPS),
        200,
    ),
    "delete app": (
        "DELETE /api/v1/apps/{name}",
        "/api/v1/apps/web",
        None,
        ("acme", P.MANAGE_APPS),
        204,
    ),
    "turn the webhook on": (
        "POST /api/v1/apps/{name}/webhook",
        "/api/v1/apps/web/webhook",
        None,
        ("acme", P.MANAGE_APPS),
        201,
    ),
    "turn the webhook off": (
        "DELETE /api/v1/apps/{name}/webhook",
        "/api/v1/apps/web/webhook",
        None,
        ("acme", P.MANAGE_APPS),
        204,
    ),
    # authorised, then refused: not a certificate (checked before anything is kept)
    "upload a certificate": (
        "PUT /api/v1/apps/{name}/certificates/{domain}",
        "/api/v1/apps/web/certificates/web.example.com",
        {"certificate": "not PEM", "private_key": "not PEM"},
        ("acme", P.MANAGE_APPS),
        422,
    ),
    # authorised, then refused: not one of web's domains, so no CA is asked
    "order a certificate": (
        "POST /api/v1/apps/{name}/certificates/{domain}/acme",
        "/api/v1/apps/web/certificates/elsewhere.example.com/acme",
        None,
        ("acme", P.MANAGE_APPS),
        422,
    ),
    "deploy": (
        "POST /api/v1/apps/{name}/deployments",
        "/api/v1/apps/web/deployments",
        {},
        ("acme", P.DEPLOY),
        202,
    ),
    "roll back": (
        "POST /api/v1/apps/{name}/rollback",
        "/api/v1/apps/web/rollback",
        {},
        ("acme", P.DEPLOY),
        202,
    ),
    "clone an environment": (
        "POST /api/v1/projects/{team}/{project}/environments/{environment}/clone",
        "/api/v1/projects/acme/default/environments/production/clone",
        {"to_environment": "staging", "create_environment": True},
        ("acme", P.MANAGE_APPS),
        201,
    ),
    # authorised, then refused: a release is promoted from another app
    "promote": (
        "POST /api/v1/apps/{name}/promote",
        "/api/v1/apps/web/promote",
        {"from_app": "web"},
        ("acme", P.DEPLOY),
        422,
    ),
    # authorised, then refused by the domain: `web` takes no pull requests from forks
    "approve a fork's head": (
        "POST /api/v1/apps/{name}/previews/{pr}/approve",
        "/api/v1/apps/web/previews/1/approve",
        {"commit": "ab" * 20},
        ("acme", P.EDIT_APPS),
        422,
    ),
    # authorised, then refused by the domain: a live release is replaced, not cancelled
    "cancel": (
        "POST /api/v1/deployments/{deployment_id}/cancel",
        "/api/v1/deployments/d1/cancel",
        None,
        ("acme", P.DEPLOY),
        422,
    ),
    "mint read token": minting("read", P.MINT_TOKENS),
    "mint deploy token": minting("deploy", P.MINT_TOKENS),
    "mint admin token": minting("admin", P.MANAGE_MEMBERS),
    "revoke token": (
        "DELETE /api/v1/tokens/{token_id}",
        "/api/v1/tokens/victim",
        None,
        ("acme", P.MANAGE_MEMBERS),
        204,
    ),
    "revoke own token": (
        "DELETE /api/v1/tokens/{token_id}",
        "/api/v1/tokens/{own token}",
        None,
        own_or_holds("acme", P.MANAGE_MEMBERS),
        204,
    ),
    # a person founds a team owned by themselves; the CLI's admin token must name an owner
    "create team": (
        "POST /api/v1/teams",
        "/api/v1/teams",
        {"team": "newteam", "name": "New"},
        makes_teams,
        lambda caller: 201 if signed_in(caller) else 422,
    ),
    "invite": (
        "POST /api/v1/teams/{team}/invitations",
        "/api/v1/teams/acme/invitations",
        {"email": "new@example.com", "role": "developer"},
        ("acme", P.MANAGE_MEMBERS),
        201,
    ),
    "revoke invitation": (
        "DELETE /api/v1/teams/{team}/invitations/{invitation_id}",
        "/api/v1/teams/acme/invitations/{invitation}",
        None,
        ("acme", P.MANAGE_MEMBERS),
        204,
    ),
    "change role": (
        "PATCH /api/v1/teams/{team}/members/{user_id}",
        f"/api/v1/teams/acme/members/{VICTIM}",
        {"role": "developer"},
        ("acme", P.MANAGE_MEMBERS),
        200,
    ),
    "remove member": (
        "DELETE /api/v1/teams/{team}/members/{user_id}",
        f"/api/v1/teams/acme/members/{VICTIM}",
        None,
        ("acme", P.MANAGE_MEMBERS),
        204,
    ),
    **{
        what: (
            f"{method} /api/v1/teams/{{team}}/members/{{user_id}}/projects/{{project}}",
            f"/api/v1/teams/acme/members/{VICTIM}/projects/default",
            body,
            ("acme", P.MANAGE_MEMBERS),
            status,
        )
        for what, method, body, status in [
            ("set a project role", "PUT", {"role": "developer"}, 200),
            ("take a project role back", "DELETE", None, 204),
        ]
    },
    "transfer team": (
        "POST /api/v1/teams/{team}/transfer",
        "/api/v1/teams/acme/transfer",
        {"to_user": VICTIM},
        ("acme", P.OWN_TEAM),
        200,
    ),
    # authorised, then refused by the domain: the team still owns `web`
    # an instance admin's alone: the team's own owner and admins never widen it
    "set stack allowances": (
        "PUT /api/v1/teams/{team}/stack-allowances",
        "/api/v1/teams/acme/stack-allowances",
        {"privileged": True, "cap_add": ["NET_ADMIN"]},
        ("default", P.MANAGE_MEMBERS),
        200,
    ),
    # the control plane's backups: every team's history, the instance admins' alone
    "back up the control plane": (
        "POST /api/v1/control-plane/backups",
        "/api/v1/control-plane/backups",
        {"target": "local"},
        ("default", P.MANAGE_MEMBERS),
        202,
    ),
    "schedule the control plane's backups": (
        "PUT /api/v1/control-plane/schedules",
        "/api/v1/control-plane/schedules",
        {"schedules": [{"cron": "0 3 * * *"}]},
        ("default", P.MANAGE_MEMBERS),
        200,
    ),
    # the instance's machines: the instance admins' alone
    "make a swarm": (
        "POST /api/v1/servers/swarm",
        "/api/v1/servers/swarm",
        {"advertise_addr": "10.0.0.1"},
        ("default", P.MANAGE_MEMBERS),
        502,  # authorised, then refused: this instance has no engine to make it on
    ),
    "invite a server": (
        "POST /api/v1/servers/invitations",
        "/api/v1/servers/invitations",
        {"name": "vps-2"},
        ("default", P.MANAGE_MEMBERS),
        422,  # authorised, then refused by the domain: there is no swarm yet
    ),
    "join a server through its engine": (
        "POST /api/v1/servers/joins",
        "/api/v1/servers/joins",
        {"engine": "tcp://10.0.0.5:2376", "ca": "pem", "cert": "pem", "key": "pem"},
        ("default", P.MANAGE_MEMBERS),
        422,  # authorised, then refused by the domain: there is no swarm yet
    ),
    "label a server": (
        "PATCH /api/v1/servers/{server}",
        "/api/v1/servers/vps-2",
        {"labels": {"zone": "eu"}},
        ("default", P.MANAGE_MEMBERS),
        422,
    ),
    "remove a server": (
        "DELETE /api/v1/servers/{server}",
        "/api/v1/servers/vps-2",
        None,
        ("default", P.MANAGE_MEMBERS),
        422,
    ),
    "set the servers' registry": (
        "PUT /api/v1/servers/swarm/registry",
        "/api/v1/servers/swarm/registry",
        {"address": "registry.example.com"},  # no account: nothing for an engine to try
        ("default", P.MANAGE_MEMBERS),
        200,
    ),
    "forget the servers' registry": (
        "DELETE /api/v1/servers/swarm/registry",
        "/api/v1/servers/swarm/registry",
        None,
        ("default", P.MANAGE_MEMBERS),
        404,  # authorised, then: none was set
    ),
    "run the servers' registry on the manager": (
        "POST /api/v1/servers/swarm/registry/hosted",
        "/api/v1/servers/swarm/registry/hosted",
        {"port": 5000},
        ("default", P.MANAGE_MEMBERS),
        422,  # authorised, then: no swarm here
    ),
    "choose the build node": (
        "PUT /api/v1/servers/swarm/build-node",
        "/api/v1/servers/swarm/build-node",
        {"engine": "tcp://10.0.0.5:2376", "ca": "pem", "cert": "pem", "key": "pem"},
        ("default", P.MANAGE_MEMBERS),
        422,  # authorised, then: no swarm here
    ),
    "build on the manager again": (
        "DELETE /api/v1/servers/swarm/build-node",
        "/api/v1/servers/swarm/build-node",
        None,
        ("default", P.MANAGE_MEMBERS),
        404,  # authorised, then: none was chosen
    ),
    "stop the registry run on the manager": (
        "DELETE /api/v1/servers/swarm/registry/hosted",
        "/api/v1/servers/swarm/registry/hosted",
        None,
        ("default", P.MANAGE_MEMBERS),
        404,  # authorised, then: none runs
    ),
    "delete team": (
        "DELETE /api/v1/teams/{team}",
        "/api/v1/teams/acme",
        None,
        ("acme", P.OWN_TEAM),
        422,
    ),
    "revoke a session": (
        "DELETE /api/v1/sessions/{session_id}",
        "/api/v1/sessions/vic-session",
        None,
        ("default", P.MANAGE_MEMBERS),
        204,
    ),
    "end own session": (
        "DELETE /api/v1/sessions/{session_id}",
        "/api/v1/sessions/{own session}",
        None,
        own_or_holds("default", P.MANAGE_MEMBERS),
        204,
    ),
    "disable 2fa": (
        "POST /api/v1/users/{user_id}/totp/disable",
        f"/api/v1/users/{VICTIM}/totp/disable",
        None,
        ("default", P.MANAGE_MEMBERS),
        204,
    ),
    "enrol own 2fa": ("POST /api/v1/account/totp", "/api/v1/account/totp", None, signed_in, 200),
    # authorised, then refused by the domain: nothing is waiting to be confirmed
    "confirm own 2fa": (
        "POST /api/v1/account/totp/confirm",
        "/api/v1/account/totp/confirm",
        {"code": "000000"},
        signed_in,
        422,
    ),
    "disable own 2fa": (
        "POST /api/v1/account/totp/disable",
        "/api/v1/account/totp/disable",
        {},
        signed_in,
        204,
    ),
    "create project": (
        "POST /api/v1/projects",
        "/api/v1/projects",
        {"team": "acme", "project": "shop"},
        ("acme", P.MANAGE_APPS),
        201,
    ),
    # authorised, then refused by the domain: every team keeps its default project
    "delete project": (
        "DELETE /api/v1/projects/{team}/{project}",
        "/api/v1/projects/acme/default",
        None,
        ("acme", P.MANAGE_APPS),
        422,
    ),
    "add environment": (
        "POST /api/v1/projects/{team}/{project}/environments",
        "/api/v1/projects/acme/default/environments",
        {"environment": "staging"},
        ("acme", P.MANAGE_APPS),
        201,
    ),
    # authorised, then refused by the domain: production is never deleted
    "delete environment": (
        "DELETE /api/v1/projects/{team}/{project}/environments/{environment}",
        "/api/v1/projects/acme/default/environments/production",
        None,
        ("acme", P.MANAGE_APPS),
        422,
    ),
    # where it already is: allowed, and nothing to record
    "move app": (
        "POST /api/v1/apps/{name}/move",
        "/api/v1/apps/web/move",
        {"project": "default", "environment": "production"},
        ("acme", P.MANAGE_APPS),
        200,
    ),
    "create database": (
        "POST /api/v1/databases",
        "/api/v1/databases",
        {"name": "newdb", "kind": "redis", "team": "acme"},
        ("acme", P.MANAGE_APPS),
        201,
    ),
    **{
        what: (
            f"{method} /api/v1/databases/{{database_id}}{tail}",
            f"/api/v1/databases/{{database}}{tail}",
            body,
            ("acme", needed),
            status,
        )
        for what, method, tail, body, needed, status in [
            ("change a database", "PATCH", "", {"verify_backups": False}, P.MANAGE_APPS, 200),
            ("delete a database", "DELETE", "", None, P.MANAGE_APPS, 204),
            ("start a database", "POST", "/start", None, P.DEPLOY, 202),
            ("stop a database", "POST", "/stop", None, P.DEPLOY, 202),
            ("restart a database", "POST", "/restart", None, P.DEPLOY, 202),
            ("rotate a password", "POST", "/rotate-password", None, P.EDIT_APPS, 202),
            ("set backup schedules", "PUT", "/schedules", {"schedules": []}, P.EDIT_APPS, 200),
            ("upgrade a database", "POST", "/upgrade", {"version": "17"}, P.MANAGE_APPS, 202),
            ("back up a database", "POST", "/backups", {}, P.DEPLOY, 202),
        ]
    },
    "delete a backup": (
        "DELETE /api/v1/backups/{backup_id}",
        "/api/v1/backups/{backup}",
        None,
        ("acme", P.MANAGE_APPS),
        204,
    ),
    "restore a backup": (
        "POST /api/v1/backups/{backup_id}/restore",
        "/api/v1/backups/{backup}/restore",
        {},
        ("acme", P.MANAGE_APPS),
        202,
    ),
    "set a backup target": (
        "PUT /api/v1/teams/{team}/backup-targets/{target}",
        "/api/v1/teams/acme/backup-targets/offsite",
        {"keep_last": 3},
        ("acme", P.MANAGE_APPS),
        200,
    ),
    # authorised, then refused by the domain: every team keeps its local target
    "remove a backup target": (
        "DELETE /api/v1/teams/{team}/backup-targets/{target}",
        "/api/v1/teams/acme/backup-targets/local",
        None,
        ("acme", P.MANAGE_APPS),
        422,
    ),
    "set a notification channel": (
        "PUT /api/v1/teams/{team}/notification-channels/{channel}",
        "/api/v1/teams/acme/notification-channels/alerts",
        {
            "kind": "slack",
            "url": "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7",
            "on": ["deployment.failed"],
        },
        ("acme", P.MANAGE_APPS),
        200,
    ),
    # authorised, then refused: acme has no such channel
    "remove a notification channel": (
        "DELETE /api/v1/teams/{team}/notification-channels/{channel}",
        "/api/v1/teams/acme/notification-channels/nothing",
        None,
        ("acme", P.MANAGE_APPS),
        404,
    ),
    "test a notification channel": (
        "POST /api/v1/teams/{team}/notification-channels/{channel}/test",
        "/api/v1/teams/acme/notification-channels/nothing/test",
        None,
        ("acme", P.MANAGE_APPS),
        404,
    ),
    "create a stack": (
        "POST /api/v1/stacks",
        "/api/v1/stacks",
        {"name": "newstack", "team": "acme", "compose": "services: {web: {image: nginx}}"},
        ("acme", P.MANAGE_APPS),
        201,
    ),
    **{
        what: (
            f"{method} /api/v1/stacks/{{stack_id}}{tail}",
            f"/api/v1/stacks/{{stack}}{tail}",
            body,
            ("acme", needed),
            status,
        )
        for what, method, tail, body, needed, status in [
            ("change a stack", "PATCH", "", {"watch_paths": ["deploy/**"]}, P.EDIT_APPS, 200),
            ("repoint a stack", "PATCH", "", {"compose": "services: {}"}, P.MANAGE_APPS, 200),
            (
                "set stack variables",
                "PUT",
                "/variables",
                {"variables": {"A": "1"}},
                P.EDIT_APPS,
                200,
            ),
            ("delete a stack", "DELETE", "", None, P.MANAGE_APPS, 204),
            ("deploy a stack", "POST", "/deploy", None, P.DEPLOY, 202),
            ("roll a stack back", "POST", "/rollback", {"to": "{release}"}, P.DEPLOY, 202),
            # authorised, then refused by the domain: the table's stack is inline
            ("turn a stack's webhook on", "POST", "/webhook", None, P.MANAGE_APPS, 422),
            ("turn a stack's webhook off", "DELETE", "/webhook", None, P.MANAGE_APPS, 204),
        ]
    },
    **{
        what: (
            f"{method} {prefix}{tail}",
            f"{path}{tail.replace('{job}', 'nightly')}",
            body,
            ("acme", needed),
            status,
        )
        for prefix, path in [
            ("/api/v1/apps/{name}/jobs", "/api/v1/apps/web/jobs"),
            (
                "/api/v1/stacks/{stack_id}/services/{service}/jobs",
                "/api/v1/stacks/{stack}/services/web/jobs",
            ),
        ]
        for what, method, tail, body, needed, status in [
            (f"create a job at {path}", "POST", "", JOB, P.EDIT_APPS, 201),
            (f"change a job at {path}", "PATCH", "/{job}", {"retries": 1}, P.EDIT_APPS, 200),
            (f"delete a job at {path}", "DELETE", "/{job}", None, P.EDIT_APPS, 204),
            (f"run a job now at {path}", "POST", "/{job}/runs", None, P.DEPLOY, 202),
        ]
    },
    "deploy a template": (
        "POST /api/v1/templates/{slug}/deploy",
        "/api/v1/templates/adminer/deploy",
        {"team": "acme", "name": "adminer"},
        ("acme", P.MANAGE_APPS),
        201,
    ),
}
# Changes that no role or token scope decides: each has tests of its own.
NOT_BY_ROLE = {
    "POST /api/v1/auth/login": "a password opens a session (test_sign_in.py)",
    "POST /api/v1/auth/logout": "ends the session it is sent with (test_sessions.py)",
    "POST /api/v1/invitations/accept": "an invitation's one-time secret (test_teams.py)",
    "POST /webhooks/{provider}/{app}": "a delivery's signature (test_webhooks.py)",
    "POST /webhooks/stacks/{provider}/{stack_id}": "a delivery's signature"
    " (test_stack_webhooks.py)",
}


def changing_operations() -> list[str]:
    """Every operation the served OpenAPI schema lists that may change something."""
    app = create_app(Settings(data_dir="unused", engine="none", proxy_enabled=False))
    paths = document(app)["paths"]
    changing = ("post", "put", "patch", "delete")
    return sorted(
        f"{m.upper()} {path}" for path, item in paths.items() for m in item if m in changing
    )


OPERATIONS = changing_operations()


def member_of(team: str, role: str) -> dict[str, frozenset[Permission]]:
    return {team: ROLE_PERMISSIONS[role]}


# tokens members mint: (team, the member's role, scope); each holds scope & role in its team
MINTED = [
    ("acme", "owner", "read"),
    ("acme", "admin", "deploy"),
    ("acme", "developer", "admin"),
    ("other", "viewer", "read"),
    ("other", "admin", "deploy"),
    ("other", "owner", "admin"),
]
# caller: how it is made, and what it holds: {team or "*" (every team): permissions}
CALLERS: dict[str, tuple[tuple[str, ...], dict[str, frozenset[Permission]]]] = {
    **{
        f"{team} {role}": (("session", team, role), member_of(team, role))
        for team in ("acme", "other")
        for role in ROLE_PERMISSIONS
    },
    "instance admin": (("session", "default", "admin"), member_of("default", "admin")),
    **{
        f"cli {scope} token": (("token", scope, "", ""), {"*": SCOPE_PERMISSIONS[scope]})
        for scope in SCOPE_PERMISSIONS
    },
    **{
        f"{team} {role}'s {scope} token": (
            ("token", scope, team, role),
            {team: SCOPE_PERMISSIONS[scope] & ROLE_PERMISSIONS[role]},
        )
        for team, role, scope in MINTED
    },
    "anonymous": (("anonymous",), {}),
    "unknown token": (("unknown token",), {}),
    "expired token": (("expired token",), {}),
    "expired session": (("expired session",), {}),
    "ended session": (("ended session",), {}),
}
NOBODY = {"anonymous", "unknown token", "expired token", "expired session", "ended session"}


def holds(caller: str, team: str, needed: Permission) -> bool:
    held = CALLERS[caller][1]
    return needed in held.get("*", frozenset()) | held.get(team, frozenset())


def permitted(caller: str, rule: Rule) -> bool:
    if callable(rule):
        return caller not in NOBODY and rule(caller)
    return holds(caller, *rule)


async def append(
    services, stream: str, events, actor: str = "test", expected=None, **meta: str
) -> None:
    recorded = await services.store.append(stream, expected, events, EventMeta(actor=actor, **meta))
    await services.runner.wait_until(recorded[-1].position)


async def user(services, email: str) -> str:
    created = UserCreated(user_id=email, email=email, password_hash="$argon2id$unused")
    await append(services, f"user-{email}", [created])
    return email


async def session(services, email: str, name: str, *, ended=False, expired=False) -> str:
    secret = SESSION_PREFIX + f"{name}-secret"
    started = datetime.now(UTC) - (timedelta(days=8) if expired else timedelta(0))
    events = [
        SessionStarted(
            user_id=email,
            session_id=name,
            secret_hash=hash_secret(secret),
            at=started.isoformat(),
            expires_at=(started + timedelta(days=7)).isoformat(),
        )
    ]
    if ended:
        events.append(SessionEnded(user_id=email, session_id=name, reason="logout"))
    await append(services, f"user-{email}", events)
    return secret


async def token(services, name: str, scope: str, owner=None, team=None, expired=False) -> str:
    secret = TOKEN_PREFIX + f"{name}-secret"
    expires = datetime.now(UTC) - timedelta(seconds=1) if expired else None
    created = TokenCreated(
        token_id=name,
        name=name,
        secret_hash=hash_secret(secret),
        scope=scope,
        owner=owner,
        team=team,
        expires_at=expires.isoformat() if expires else None,
    )
    await append(services, f"token-{name}", [created])
    return secret


async def join(services, team: str, email: str, role: str) -> None:
    """A user `email` in `team` with `role`."""
    await join_team(services, team, await user(services, email), role, partial(user, services))


async def world(services) -> str:
    """acme with `web` and its releases, a viewer with a session and a second factor, a token
    of acme's founder and an open invitation. Returns the invitation's id."""
    await join(services, "acme", VICTIM, "viewer")
    await services.apps.handle(SYSTEM, _create_web())
    await services.jobs.create(SYSTEM, CreateJob(app="web", **NIGHTLY))
    await served_releases(services, "web", ("d0", "d1"), "acme")
    await session(services, VICTIM, "vic-session")
    await token(services, "victim", "read", owner="founder@acme.test", team="acme")
    invited = await services.teams.invite(SYSTEM, "acme", "someone@example.com", "viewer")
    enrolled = [
        TotpEnrolled(user_id=VICTIM, secret=services.secrets.seal("user:x:totp", "ABC")),
        TotpEnabled(user_id=VICTIM, recovery_hashes=[]),
    ]
    await append(services, f"user-{VICTIM}", enrolled)
    return invited.invitation_id


def _create_web() -> CreateApp:
    return CreateApp(name="web", team="acme", git_url="https://git.example.com/web.git")


async def belongings(services, email: str, team: str) -> None:
    """Another token and another session of the caller's, for the account routes to act on."""
    await token(services, "spare", "read", owner=email, team=team)
    await session(services, email, "spare-session")


async def credentials(services, caller: str) -> tuple[dict[str, str], str | None]:
    """The headers the caller sends, and the session cookie it carries (if any)."""
    how = CALLERS[caller][0]
    match how:
        case ("session", team, role):
            email = f"{role}@{team}.example.com"
            await join(services, team, email, role)
            await belongings(services, email, team)
            secret = await session(services, email, "caller")
            return {"X-CSRF-Token": csrf_token(secret)}, secret
        case ("token", scope, "", ""):
            return {"Authorization": f"Bearer {await token(services, 'cli', scope)}"}, None
        case ("token", scope, team, role):
            email = f"{role}@{team}.example.com"
            await join(services, team, email, role)
            await belongings(services, email, team)
            secret = await token(services, "mine", scope, owner=email, team=team)
            return {"Authorization": f"Bearer {secret}"}, None
        case ("unknown token",):
            return {"Authorization": "Bearer rvt_not_a_token"}, None
        case ("expired token",):
            secret = await token(services, "old", "admin", expired=True)
            return {"Authorization": f"Bearer {secret}"}, None
        case ("expired session" | "ended session",):
            await user(services, "gone@example.com")
            await services.teams.add_member(SYSTEM, "acme", "gone@example.com", "admin")
            ended, expired = how[0] == "ended session", how[0] == "expired session"
            secret = await session(
                services, "gone@example.com", "gone", ended=ended, expired=expired
            )
            return {"X-CSRF-Token": csrf_token(secret)}, secret
    return {}, None


class World(msgspec.Struct, frozen=True):
    data_dir: Path
    invitation_id: str


@pytest.fixture(scope="module")
def made_world(shared_app: SharedApp, tmp_path_factory: pytest.TempPathFactory) -> World:
    """`world` made once, its data directory copied for each case: some 2,000 cases would
    otherwise each make it anew, a third of their time."""
    data_dir = tmp_path_factory.mktemp("world") / "data"
    with shared_app.on(data_dir) as client:
        services = client.app.state.services
        invitation_id = client.blocking_portal.call(world, services)
    return World(data_dir, invitation_id)


@pytest.fixture
def client(tmp_path: Path, shared_app: SharedApp, made_world: World) -> Iterator[TestClient[Any]]:
    shutil.copytree(made_world.data_dir, tmp_path / "data")
    with shared_app.on(tmp_path / "data") as opened:
        yield opened


CASES = [
    (route, caller)
    for operation in OPERATIONS
    for route, tried in ROUTES.items()
    if tried[0] == operation
    for caller in CALLERS
]


def test_every_changing_operation_in_the_schema_is_in_the_table() -> None:
    """A route added to the API, or renamed, fails here until the table says who may use it."""
    tried = {operation for operation, *_ in ROUTES.values()}
    assert sorted(set(OPERATIONS) - tried - NOT_BY_ROLE.keys()) == []
    assert sorted(tried - set(OPERATIONS)) == []  # a row for a route the API no longer has


@pytest.mark.parametrize(("route", "caller"), CASES, ids=[f"{r}-{c}" for r, c in CASES])
def test_only_the_allowed_callers_get_through(
    client, call, services, log_types, made_world, route, caller
):
    invitation_id = made_world.invitation_id
    operation, path, body, rule, allowed = ROUTES[route]
    database_id = backup_id = stack_id = release_id = ""
    if "{database}" in path or "{backup}" in path:  # made only where asked: it takes a while
        database_id, backup_id, _ = call(database_with_backup, services, "acme")
    if "{stack}" in path:
        stack_id, release_id = call(served_stack, services, "acme")
        place = {"stack_id": stack_id, "service": "web"}
        call(services.jobs.create, SYSTEM, CreateJob(**place, **NIGHTLY))
        body = {k: release_id if v == "{release}" else v for k, v in (body or {}).items()} or None
    headers, cookie = call(credentials, services, caller)
    if cookie:
        client.cookies.set("rivetr_session", cookie)
    mine = has_user(caller) and caller not in NOBODY
    path = (
        path.replace("{invitation}", invitation_id)
        .replace("{own token}", "spare" if mine else "victim")
        .replace("{own session}", "spare-session" if mine else "vic-session")
        .replace("{database}", database_id)
        .replace("{backup}", backup_id)
        .replace("{stack}", stack_id)
    )
    before = log_types()

    response = client.request(operation.split()[0], path, json=body, headers=headers)

    if permitted(caller, rule):
        status = allowed(caller) if callable(allowed) else allowed
        assert response.status_code == status, response.text
    else:
        assert response.status_code == (401 if caller in NOBODY else 403), response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert log_types() == before


def test_the_table_has_callers_on_both_sides_of_every_route() -> None:
    """A route that everyone (or nobody) may use would make its rows prove little."""
    for route, (_, _, _, rule, _) in ROUTES.items():
        assert any(permitted(c, rule) for c in CALLERS), route
        assert not all(permitted(c, rule) for c in CALLERS if c not in NOBODY), route
