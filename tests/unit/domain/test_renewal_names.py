"""Which names a public CA could certify: automatic orders are made only for those."""

from __future__ import annotations

import pytest

from rivetr.domain.renewal import publicly_certifiable


@pytest.mark.parametrize(
    "name",
    ["example.com", "shop.example.org", "api.rivetr.dev", "WWW.Example.COM.", "a.b.c.io"],
)
def test_public_names_are_certifiable(name: str) -> None:
    assert publicly_certifiable(name)


@pytest.mark.parametrize(
    "name",
    [
        "shop.test",
        "localhost",
        "app.localhost",
        "printer.local",
        "db.internal",
        "nas.home.arpa",
        "router.lan",
        "example",
        "x.example",
        "intranet",
        "192.0.2.7",
        "[2001:db8::1]",
        "2001:db8::1",
    ],
)
def test_private_names_and_addresses_are_not(name: str) -> None:
    assert not publicly_certifiable(name)
