"""How the route table reads Host headers and paths, and holds balanced routes."""

from __future__ import annotations

import msgspec
import pytest

from rivetr.adapters.proxy import Balanced, RouteTable, Upstream
from rivetr.adapters.proxy.balance import Group

A, B, C = (Upstream(name, "127.0.0.1", port, f"d{port}") for port, name in enumerate("abc", 1))


def test_the_route_table_reads_hosts_with_ports_case_and_wildcards() -> None:
    routes = RouteTable({"Shop.test": A, "*.apps.test": B})

    assert routes.lookup("shop.test:443") is A
    assert routes.lookup("SHOP.TEST.") is A
    assert routes.lookup("x.apps.test") is B
    assert routes.lookup("x.y.apps.test") is None
    assert routes.lookup("") is None


def test_the_longest_path_prefix_of_a_host_wins_and_only_on_segment_boundaries() -> None:
    routes = RouteTable({"shop.test": A, "shop.test/api": B, "shop.test/api/v2": C})

    assert routes.lookup("shop.test", b"/") is A
    assert routes.lookup("shop.test", b"/api") is B
    assert routes.lookup("shop.test", b"/api/users?x=1") is B
    assert routes.lookup("shop.test", b"/api?x=1") is B
    assert routes.lookup("shop.test", b"/apiary") is A
    assert routes.lookup("shop.test", b"/api/v2/x") is C
    assert routes.lookup("shop.test", b"/api/v20") is B
    assert len(routes) == 3
    assert routes.addresses() == {("127.0.0.1", 1), ("127.0.0.1", 2), ("127.0.0.1", 3)}


def test_a_host_with_only_prefixed_routes_answers_nothing_elsewhere() -> None:
    routes = RouteTable({"shop.test/api": B})

    assert routes.lookup("shop.test", b"/api/x") is B
    assert routes.lookup("shop.test", b"/") is None


def test_a_balanced_route_is_looked_up_as_itself_and_its_members_are_routed_addresses() -> None:
    members = tuple(Upstream("shop", "10.0.0.1", port, "d9") for port in (81, 82))
    shop = Balanced("shop", "d9", members, "least_connections")
    routes = RouteTable({"shop.test": shop, "www.shop.test": shop, "blog.test": A})

    assert routes.lookup("shop.test") is shop
    assert routes.addresses() == {("10.0.0.1", 81), ("10.0.0.1", 82), ("127.0.0.1", 1)}
    first, second = routes.find("shop.test"), routes.find("www.shop.test")
    assert isinstance(first, Group)
    assert first.route is shop
    assert first.least
    assert second is first  # the domains of one route share its turns
    assert routes.find("blog.test") is A


def test_a_balanced_route_decodes_from_json_and_is_checked_there_too() -> None:
    raw = (
        b'{"app": "shop", "deployment_id": "d9", "members": ['
        b'{"app": "shop", "host": "10.0.0.1", "port": 81, "deployment_id": "d9"}]}'
    )
    shop = msgspec.json.decode(raw, type=Balanced)

    assert shop.strategy == "round_robin"
    assert shop.members == (Upstream("shop", "10.0.0.1", 81, "d9"),)
    with pytest.raises(msgspec.ValidationError, match="strategy"):
        msgspec.json.decode(raw[:-1] + b', "strategy": "fastest"}', type=Balanced)
    with pytest.raises(msgspec.ValidationError, match="has no members"):
        msgspec.json.decode(b'{"app": "shop", "deployment_id": "d9", "members": []}', type=Balanced)
