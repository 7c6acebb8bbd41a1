"""An in-process app on a temporary data directory, plus a token for it.

Litestar's TestClient runs the app (and its lifespan) on a portal thread with its own event loop;
service calls from a test go through `call`, onto that loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from rivetr.config import Settings
from rivetr.domain.access import SYSTEM
from rivetr.web.app import create_app


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient[Any]]:
    app = create_app(Settings(data_dir=str(tmp_path / "data"), engine="none"))
    with TestClient(app) as client:
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
