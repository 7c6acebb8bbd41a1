"""An in-process app on a temporary data directory, plus a token for it.

Litestar's TestClient runs the app (and its lifespan) on a portal thread with its own event loop;
service calls from a test go through `call`, onto that loop.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from rivetr.bootstrap import Services
from rivetr.config import Settings
from rivetr.domain.access import SYSTEM
from rivetr.service.commands.users import csrf_token
from rivetr.web.app import create_app


class SharedApp:
    """One web app for the whole run, opened on each test's own data directory.

    Building the app (registering some 400 handlers) takes half a second, most of a web test;
    its lifespan opens services anew on every TestClient, so nothing but the routes is shared."""

    def __init__(self) -> None:
        self.settings: Settings | None = None
        self.app = create_app(
            Settings(data_dir="unused", engine="none", proxy_enabled=False),
            open_services=self._open,
        )

    async def _open(self, _: Settings) -> Services:
        assert self.settings is not None, "the shared app is opened only by the client fixture"
        return await Services.open(self.settings)

    @contextlib.contextmanager
    def on(self, data_dir: Path, **settings: Any) -> Iterator[TestClient[Any]]:
        """`settings`: beyond the data directory, for a test of one (metrics_token=...)."""
        # no storage reserve: a megabyte written for each of some 2,000 tests would only slow them
        settings = {"storage_reserve_kib": 0, **settings}
        self.settings = Settings(
            data_dir=str(data_dir), engine="none", proxy_enabled=False, **settings
        )
        try:
            with TestClient(self.app) as client:
                yield client
        finally:
            self.settings = None


@pytest.fixture(scope="session")
def shared_app() -> SharedApp:
    return SharedApp()


@pytest.fixture
def client(tmp_path: Path, shared_app: SharedApp) -> Iterator[TestClient[Any]]:
    with shared_app.on(tmp_path / "data") as client:
        yield client


@pytest.fixture
def call(client: TestClient[Any]) -> Callable[..., Any]:
    """Run an async service method on the app's own event loop."""

    def run(fn: Callable[..., Any], *args: Any) -> Any:
        return client.blocking_portal.call(fn, *args)

    return run


@pytest.fixture
def services(client: TestClient[Any]) -> Any:
    return client.app.state.services


@pytest.fixture
def mint(call: Callable[..., Any], services: Any) -> Callable[..., dict[str, str]]:
    def mint(scope: str = "admin", name: str = "tester") -> dict[str, str]:
        _, secret = call(services.tokens.create, SYSTEM, name, scope)
        return {"Authorization": f"Bearer {secret}"}

    return mint


@pytest.fixture
def auth(mint: Callable[..., dict[str, str]]) -> dict[str, str]:
    return mint()


@pytest.fixture
def log_types(call: Callable[..., Any], services: Any) -> Callable[[], list[str]]:
    def types() -> list[str]:
        return [event.type for event in call(services.store.read_all)]

    return types


PASSWORD = "correct horse battery staple"


async def join_team(
    services: Any, team: str, user_id: str, role: str, make_user: Callable[[str], Any]
) -> None:
    """Put `user_id` in `team` with `role`, creating the team (founded by another account, made
    by `make_user`) if need be."""
    if not await services.read.teams.every([team]):
        founder = await make_user(f"founder@{team}.test")
        await services.teams.create(SYSTEM, team, team.title(), owner=founder)
    if role == "owner":
        await services.teams.add_member(SYSTEM, team, user_id, "admin")
        await services.teams.transfer(SYSTEM, team, user_id)
    else:
        await services.teams.add_member(SYSTEM, team, user_id, role)


async def add_member(services: Any, email: str, role: str, team: str = "default") -> str:
    """An account (with PASSWORD) that has `role` in `team`. Returns the user id."""

    async def make_user(address: str) -> str:
        return str(await services.users.create(SYSTEM, address, PASSWORD, "viewer"))

    user_id = await make_user(email)
    await join_team(services, team, user_id, role, make_user)
    return user_id


@pytest.fixture
def member(call: Callable[..., Any], services: Any) -> Callable[..., str]:
    """member(email, role, team="default"): an account with that role in that team."""

    def make(email: str, role: str, team: str = "default") -> str:
        return str(call(add_member, services, email, role, team))

    return make


@pytest.fixture
def session_headers(
    client: TestClient[Any], call: Callable[..., Any], services: Any
) -> Callable[[str], dict[str, str]]:
    """session_headers(email): sign in by password; the cookie goes on the client, and the
    headers returned carry the CSRF token that changes through it need."""

    def sign_in(email: str) -> dict[str, str]:
        client.cookies.clear()
        secret, _ = call(services.users.sign_in, email, PASSWORD)
        client.cookies.set("rivetr_session", secret)
        return {"X-CSRF-Token": csrf_token(secret)}

    return sign_in


@pytest.fixture
def webhooks(vectors_dir: Path) -> Path:
    return vectors_dir / "webhooks"


@pytest.fixture
def secret(client: TestClient[Any], auth: dict[str, str]) -> str:
    """The app `web` (branch master, as the payloads push), its webhook on."""
    made = client.post(
        "/api/v1/apps",
        json={"name": "web", "git_url": "https://git.example.com/web.git", "branch": "master"},
        headers=auth,
    )
    assert made.status_code == 201
    enabled = client.post("/api/v1/apps/web/webhook", headers=auth)
    assert enabled.status_code == 201, enabled.text
    body = enabled.json()
    assert body["urls"]["github"].endswith("/webhooks/github/web")
    return str(body["secret"])
