"""`rivetr apps scale` on a data directory: the scale recorded through the same service as the
API, a refusal said on stderr with exit status 1, input that is not valid with status 2."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from rivetr.adapters.eventstore.base import EventMeta
from rivetr.bootstrap import opened
from rivetr.config import Settings
from rivetr.domain.swarm_events import SwarmInitialised, SwarmNodeJoined
from tests.e2e.conftest import run_cli
from tests.e2e.test_cli_projects import with_app

pytestmark = pytest.mark.e2e


def with_servers(data: Path) -> None:
    """This engine a swarm manager, and a worker in zone eu, as the keeper records them."""

    async def record() -> None:
        settings = Settings(data_dir=str(data), engine="none", proxy_enabled=False)
        async with opened(settings) as services:
            events = [
                SwarmInitialised(
                    swarm_id="s1", node_id="m1", hostname="vps-1", advertise_addr="10.0.0.1"
                ),
                SwarmNodeJoined(
                    node_id="w1",
                    hostname="vps-2",
                    role="worker",
                    address="10.0.0.2",
                    labels={"zone": "eu"},
                ),
            ]
            await services.store.append("swarm", None, events, EventMeta(actor="test"))

    asyncio.run(record())


def test_an_app_is_scaled_where_servers_carry_it_and_refused_where_none_can(tmp_path) -> None:
    data = tmp_path / "data"
    with_app(data)

    alone = run_cli(data, "apps", "scale", "web", "3")
    assert alone.returncode == 1
    assert "make this engine a swarm manager first (rivetr servers init)" in alone.stderr

    with_servers(data)
    scaled = run_cli(
        data, "apps", "scale", "web", "3", "--constraint", "zone=eu", "--spread", "zone",
        "--balance", "least_connections",
    )  # fmt: skip
    assert scaled.returncode == 0, scaled.stderr
    assert scaled.stdout == "web: 3 copies, zone=eu, spread over zone, least connections\n"
    elsewhere = run_cli(data, "apps", "scale", "web", "2", "--constraint", "zone=us")
    assert elsewhere.returncode == 1
    assert "no server carries zone=us" in elsewhere.stderr
    back = run_cli(data, "apps", "scale", "web", "--json")
    assert back.returncode == 0, back.stderr
    assert back.stdout.strip() == '"web: 1 copy, anywhere, round robin"'


def test_a_scale_not_written_as_one_is_refused_before_anything_is_asked(tmp_path) -> None:
    data = tmp_path / "data"
    with_app(data)
    for args in (["0"], ["65"], ["2", "--constraint", "zone"], ["2", "--spread", "a b"]):
        refused = run_cli(data, "apps", "scale", "web", *args)
        assert refused.returncode == 2, (args, refused.stderr)
    unknown = run_cli(data, "apps", "scale", "nope", "2")
    assert unknown.returncode == 1
    assert "no application named 'nope'" in unknown.stderr
