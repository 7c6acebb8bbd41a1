"""Every mutating route, for every kind of caller: exactly the combinations the permission table
allows get through; every other one gets 401 or 403 and appends nothing.

Callers: API tokens of each scope, signed-in users of each role (with their CSRF token, so only
the role decides), nobody, an unknown token, an expired session and an ended session."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial

import pytest

from rivetr.adapters.eventstore.base import EventMeta
from rivetr.domain.access import ROLE_PERMISSIONS, SCOPE_PERMISSIONS, SYSTEM, Permission
from rivetr.domain.events import (
    ContainerStarted,
    DeploymentHealthy,
    DeploymentRequested,
    DeploymentRetired,
    DeploymentSuperseded,
    SessionStarted,
    TrafficSwitched,
)
from rivetr.service.tokens import hash_secret
from rivetr.service.users import SESSION_PREFIX, csrf_token

PASSWORD = "correct horse battery staple"

# route: method, path, body, the permission it needs, the status when allowed
ROUTES = {
    "create app": ("POST", "/api/v1/apps", {"name": "other"}, Permission.MANAGE_APPS, 201),
    "change app": ("PATCH", "/api/v1/apps/web", {"port": 9000}, Permission.MANAGE_APPS, 200),
    "delete app": ("DELETE", "/api/v1/apps/web", None, Permission.MANAGE_APPS, 204),
    "deploy": ("POST", "/api/v1/apps/web/deployments", {}, Permission.DEPLOY, 202),
    "roll back": ("POST", "/api/v1/apps/web/rollback", {}, Permission.DEPLOY, 202),
    # authorised, then refused by the domain: a live release is replaced, not cancelled
    "cancel": ("POST", "/api/v1/deployments/d1/cancel", None, Permission.DEPLOY, 422),
    "mint token": ("POST", "/api/v1/tokens", {"name": "x"}, Permission.ADMIN, 201),
    "revoke token": ("DELETE", "/api/v1/tokens/{token}", None, Permission.ADMIN, 204),
}
TOKENS = {f"token:{scope}": perms for scope, perms in SCOPE_PERMISSIONS.items()}
ROLES = {f"user:{role}": perms for role, perms in ROLE_PERMISSIONS.items()}
NOBODY = ["anonymous", "unknown token", "expired session", "ended session"]


async def served_releases(services) -> None:
    """Two releases of `web` that served traffic, d1 live and d0 retired: a rollback target.
    Each history is one append, so the deployer finds it past `requested` and leaves it be."""
    for n, ends_live in ((0, False), (1, True)):
        d = f"d{n}"
        history = [
            DeploymentRequested(deployment_id=d, app="web", branch="main", image=f"i{n}"),
            ContainerStarted(
                deployment_id=d,
                container_id="c",
                container_name=f"rivetr-web-{d}",
                image=f"i{n}",
                host_port=30000 + n,
                duration_ms=1,
            ),
            DeploymentHealthy(deployment_id=d, probes=1, duration_ms=1),
            TrafficSwitched(deployment_id=d, app="web", host_port=30000 + n),
        ]
        if not ends_live:
            history += [
                DeploymentSuperseded(deployment_id=d, by_deployment_id="d1", drain_s=0),
                DeploymentRetired(deployment_id=d, container_removed=True),
            ]
        await services.store.append(f"deployment-{d}", 0, history, EventMeta(actor="test"))
    await services.runner.wait_until(await services.store.head())


async def session_for(services, email: str, *, expired: bool = False, ended: bool = False) -> str:
    if not expired:
        secret, _ = await services.users.sign_in(email, PASSWORD)
        if ended:
            await services.users.sign_out(secret)
        return secret
    secret = SESSION_PREFIX + "expired-session-secret"
    past = datetime.now(UTC) - timedelta(days=8)
    started = SessionStarted(
        user_id=email,
        session_id="old",
        secret_hash=hash_secret(secret),
        at=past.isoformat(),
        expires_at=(past + timedelta(days=7)).isoformat(),
    )
    recorded = await services.store.append(
        f"user-{email}", None, [started], EventMeta(actor=f"user:{email}")
    )
    await services.runner.wait_until(recorded[-1].position)
    return secret


def headers_for(caller: str, client, call, services, mint) -> dict[str, str]:
    client.cookies.clear()
    if caller.startswith("token:"):
        return mint(caller.split(":")[1], caller.replace(":", "-"))
    if caller == "anonymous":
        return {}
    if caller == "unknown token":
        return {"Authorization": "Bearer rvt_not_a_token"}
    if caller.startswith("user:"):
        role = caller.split(":")[1]
        email = f"{role}@example.com"
        call(services.users.create, SYSTEM, email, PASSWORD, role)
        secret = call(session_for, services, email)
    else:
        call(services.users.create, SYSTEM, "gone@example.com", PASSWORD, "owner")
        expired, ended = caller == "expired session", caller == "ended session"
        secret = call(
            partial(session_for, expired=expired, ended=ended), services, "gone@example.com"
        )
    client.cookies.set("rivetr_session", secret)
    return {"X-CSRF-Token": csrf_token(secret)}


CASES = [(route, caller) for route in ROUTES for caller in [*TOKENS, *ROLES, *NOBODY]]


@pytest.mark.parametrize(("route", "caller"), CASES, ids=[f"{r}-{c}" for r, c in CASES])
def test_only_the_allowed_callers_get_through(
    client, auth, call, services, mint, log_types, route, caller
):
    web = {"name": "web", "git_url": "https://git.example.com/web.git"}
    assert client.post("/api/v1/apps", json=web, headers=auth).status_code == 201
    call(served_releases, services)
    token_id, _ = call(services.tokens.create, SYSTEM, "victim", "read")
    headers = headers_for(caller, client, call, services, mint)
    method, path, body, needed, allowed_status = ROUTES[route]
    path = path.replace("{token}", token_id)
    granted = {**TOKENS, **ROLES}.get(caller, frozenset())
    before = log_types()

    response = client.request(method, path, json=body, headers=headers)

    if needed in granted:
        assert response.status_code == allowed_status, response.text
    else:
        assert response.status_code == (403 if caller in TOKENS or caller in ROLES else 401), (
            response.text
        )
        assert response.headers["content-type"].startswith("application/problem+json")
        assert log_types() == before
