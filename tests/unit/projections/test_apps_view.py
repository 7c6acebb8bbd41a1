"""Reading the caught-up read model through ReadModel: apps, tokens and the audit history."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest

from rivetr.adapters.eventstore.base import EventMeta
from rivetr.adapters.eventstore.memory import InMemoryEventStore
from rivetr.domain import application, tokens
from rivetr.domain.application import AppCommand
from rivetr.domain.commands import (
    ChangeAppSettings,
    CreateApp,
    CreateToken,
    DeleteApp,
    RevokeToken,
)
from rivetr.domain.settings import (
    BuildSettings,
    BuildSettingsInput,
    HealthCheck,
    HealthCheckInput,
)
from rivetr.projections.apps import AppView
from rivetr.projections.registry import ReadModel, all_projections
from rivetr.projections.runner import ProjectionRunner

pytestmark = pytest.mark.anyio

SECRETS = ("postgres://app:hunter2-db-pass@db/app", "sk_live_9f8e7d6c5b4a", "swordfish-debug")
TOKEN_HASH = "c0ffee" * 10 + "abcd"


class Log:
    """Decides commands against the folded state, appends what they produce, and catches the
    read model up on request."""

    def __init__(self, store: InMemoryEventStore, runner: ProjectionRunner) -> None:
        self.store = store
        self.runner = runner

    async def catch_up(self) -> None:
        await self.runner.catch_up()

    async def app(self, command: AppCommand, actor: str = "admin") -> None:
        stream = application.stream_id(command.name)
        history = [r.event for r in await self.store.read_stream(stream)]
        events = application.decide(application.fold(command.name, history), command)
        await self.store.append(stream, len(history), events, EventMeta(actor=actor))

    async def token(self, command: CreateToken | RevokeToken, actor: str = "admin") -> None:
        stream = tokens.stream_id(command.token_id)
        history = [r.event for r in await self.store.read_stream(stream)]
        events = tokens.decide(tokens.fold(command.token_id, history), command)
        await self.store.append(stream, len(history), events, EventMeta(actor=actor))


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "read.db"


@pytest.fixture
async def log(path: Path) -> AsyncIterator[Log]:
    store = InMemoryEventStore()
    runner = ProjectionRunner(store, path, all_projections())
    await runner.open()
    yield Log(store, runner)
    await runner.close()
    await store.close()


@pytest.fixture
async def model(log: Log, path: Path) -> AsyncIterator[ReadModel]:
    model = await ReadModel.open(path)
    yield model
    await model.close()


async def create_web(log: Log) -> None:
    await log.app(
        CreateApp(
            name="web",
            git_url="https://example.com/web.git",
            port=3000,
            domains=["web.example.com", "www.example.com"],
            build=BuildSettingsInput(type="dockerfile", dockerfile="Containerfile"),
            health=HealthCheckInput(path="/healthz", timeout_s=2.0),
            env={"DATABASE_URL": SECRETS[0], "STRIPE_KEY": SECRETS[1]},
        ),
        actor="alice",
    )


async def test_apps_show_settings_decoded_and_env_names_without_values(
    model: ReadModel, log: Log, path: Path
) -> None:
    await create_web(log)
    await log.app(CreateApp(name="api"), actor="bob")
    await log.app(
        ChangeAppSettings(
            name="web", branch="develop", env={"STRIPE_KEY": None, "DEBUG": SECRETS[2]}
        )
    )
    await log.catch_up()

    apps = await model.apps.every()
    assert [a.name for a in apps] == ["api", "web"]
    web = await model.apps.named("web")
    assert web == apps[1]
    assert isinstance(web, AppView)
    assert web.env == ["DATABASE_URL", "DEBUG"]
    assert web.domains == ["web.example.com", "www.example.com"]
    assert web.build == BuildSettings(type="dockerfile", dockerfile="Containerfile")
    assert web.health == HealthCheck(path="/healthz", timeout_s=2.0)
    assert (web.port, web.branch, web.git_url) == (3000, "develop", "https://example.com/web.git")
    assert web.created_by == "alice"
    assert web.version == 3  # created, settings changed, env changed
    assert web.updated_at >= web.created_at

    api = await model.apps.named("api")
    assert api is not None
    assert (api.env, api.domains, api.port, api.created_by) == ([], [], 8080, "bob")
    assert api.build == BuildSettings()
    assert api.health == HealthCheck()

    # no env value reaches the read model: not in the views, not anywhere in read.db
    encoded = msgspec.json.encode(apps).decode()
    conn = sqlite3.connect(path)
    try:
        stored = repr(
            [list(conn.execute(f"SELECT * FROM {t}")) for t in ("apps", "tokens", "audit")]
        )
    finally:
        conn.close()
    for secret in SECRETS:
        assert secret not in encoded
        assert secret not in stored


async def test_a_deleted_app_disappears_from_the_views(model: ReadModel, log: Log) -> None:
    await create_web(log)
    await log.app(CreateApp(name="api"))
    await log.catch_up()
    assert await model.apps.named("web") is not None

    await log.app(DeleteApp(name="web"))
    await log.catch_up()

    assert await model.apps.named("web") is None
    assert [a.name for a in await model.apps.every()] == ["api"]
    assert await model.apps.named("never-made") is None


async def test_token_by_hash_finds_a_created_token_and_shows_its_revocation(
    model: ReadModel, log: Log
) -> None:
    await log.token(CreateToken(token_id="t1", name="ci", secret_hash=TOKEN_HASH, scope="deploy"))
    await log.catch_up()

    token = await model.tokens.by_hash(TOKEN_HASH)
    assert token is not None
    assert (token.token_id, token.name, token.scope) == ("t1", "ci", "deploy")
    assert token.created_by == "admin"
    assert token.revoked_at is None
    assert await model.tokens.by_hash("0" * 64) is None

    await log.token(RevokeToken(token_id="t1"), actor="alice")
    await log.catch_up()

    revoked = await model.tokens.by_hash(TOKEN_HASH)
    assert revoked is not None
    assert revoked.revoked_at is not None
    assert revoked.revoked_at >= revoked.created_at
    assert [t.token_id for t in await model.tokens.every()] == ["t1"]


async def test_recent_audit_lists_newest_first_with_actor_and_app(
    model: ReadModel, log: Log
) -> None:
    await create_web(log)
    await log.token(CreateToken(token_id="t1", name="ci", secret_hash=TOKEN_HASH), actor="bob")
    await log.app(ChangeAppSettings(name="web", port=4000), actor="carol")
    await log.app(DeleteApp(name="web"), actor="dave")
    await log.catch_up()

    entries = await model.audit.recent()
    assert [(e.position, e.actor, e.type, e.app) for e in entries] == [
        (4, "dave", "app.deleted", "web"),
        (3, "carol", "app.settings_changed", "web"),
        (2, "bob", "token.created", None),
        (1, "alice", "app.created", "web"),
    ]
    assert entries[2].stream_id == "token-t1"
    assert [e.position for e in await model.audit.recent(limit=2)] == [4, 3]
