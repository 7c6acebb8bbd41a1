"""The renewer orders certificates only for names a public CA could certify, unless told the CA
is a private one that certifies any name."""

from __future__ import annotations

from pathlib import Path

import pytest

from rivetr.domain.access import SYSTEM
from rivetr.domain.commands import CreateApp
from rivetr.service.reactors.renewal import Renewer
from tests.unit.service.reactors.house import House

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_private_names_get_no_order_unless_the_ca_is_private(tmp_path: Path) -> None:
    domains = ["shop.example.com", "shop.test", "nas.local", "db.internal", "10.0.0.7"]
    async with House(tmp_path / "data").running() as services:
        await services.apps.handle(SYSTEM, CreateApp(name="shop", domains=domains))
        public = [due.domain for due in await services.renewer.plan()]
        private_ca = Renewer(
            services.store, services.runner, services.read, services.certificates, any_name=True
        )
        every = sorted(due.domain for due in await private_ca.plan())

    assert public == ["shop.example.com"]
    assert every == sorted(domains)
