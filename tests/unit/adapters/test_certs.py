"""Which certificate name covers which host, and how the route table reads Host headers."""

from __future__ import annotations

import pytest

from rivetr.adapters.certs import covers
from rivetr.adapters.proxy import RouteTable, Upstream


@pytest.mark.parametrize(
    ("name", "domain", "expected"),
    [
        ("shop.test", "shop.test", True),
        ("SHOP.test", "shop.TEST", True),
        ("*.shop.test", "www.shop.test", True),
        ("*.shop.test", "a.b.shop.test", False),  # one label deep only
        ("*.shop.test", "shop.test", False),
        ("shop.test", "www.shop.test", False),
    ],
)
def test_covers(name: str, domain: str, expected: bool) -> None:
    assert covers(name, domain) is expected


def test_the_route_table_reads_hosts_with_ports_case_and_wildcards() -> None:
    exact, wild = Upstream("a", "127.0.0.1", 1, "d1"), Upstream("b", "127.0.0.1", 2, "d2")
    routes = RouteTable({"Shop.test": exact, "*.apps.test": wild})

    assert routes.lookup("shop.test:443") is exact
    assert routes.lookup("SHOP.TEST.") is exact
    assert routes.lookup("x.apps.test") is wild
    assert routes.lookup("x.y.apps.test") is None
    assert routes.lookup("") is None
