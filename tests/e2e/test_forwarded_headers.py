"""Whom the running service believes a request comes from: `X-Forwarded-For` counts only from
a proxy named in `trusted_proxies`, so varying it cannot slip past the sign-in limit per
address, and the address recorded for a refused sign-in is the one that connected."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import Server, run_cli

pytestmark = pytest.mark.e2e

NO_ENGINE = {"RIVETR_ENGINE": "none"}
LIMIT = 10  # sign-in attempts a minute from one address (service/commands/users.py)
_TRIES = itertools.count()


def sign_in_as(server: Server, forwarded_for: str) -> int:
    # a new address each time: five failures for one address lock it (another limit than this)
    answer = httpx.post(
        f"{server.url}/api/v1/auth/login",
        json={"email": f"nobody-{next(_TRIES)}@example.com", "password": "not the password"},
        headers={"X-Forwarded-For": forwarded_for},
        timeout=30,
    )
    return answer.status_code


def refused_from(data: Path) -> list[str | None]:
    exported = run_cli(data, "events", "export")
    events = [json.loads(line) for line in exported.stdout.splitlines()]
    return [e["data"]["remote"] for e in events if e["type"] == "user.login_failed"]


def test_varying_x_forwarded_for_from_loopback_does_not_get_past_the_sign_in_limit(
    tmp_path, server_factory
):
    data = tmp_path / "data"
    server = server_factory(data, NO_ENGINE).start()

    statuses = [sign_in_as(server, f"198.51.100.{n}") for n in range(LIMIT + 2)]

    assert statuses == [401] * LIMIT + [429, 429]
    assert set(refused_from(data)) == {"127.0.0.1"}


def test_a_trusted_proxys_x_forwarded_for_names_the_client_the_limit_counts(
    tmp_path, server_factory
):
    data = tmp_path / "data"
    server = server_factory(data, {**NO_ENGINE, "RIVETR_TRUSTED_PROXIES": "127.0.0.0/8"}).start()

    spread = [sign_in_as(server, f"198.51.100.{n}") for n in range(LIMIT + 2)]
    one_client = [sign_in_as(server, "203.0.113.9") for _ in range(LIMIT + 1)]

    assert spread == [401] * (LIMIT + 2)  # each a client of its own
    assert one_client == [401] * LIMIT + [429]
    remotes = refused_from(data)
    assert remotes[: LIMIT + 2] == [f"198.51.100.{n}" for n in range(LIMIT + 2)]
    assert set(remotes[LIMIT + 2 :]) == {"203.0.113.9"}
