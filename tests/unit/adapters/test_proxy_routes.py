"""How the route table reads Host headers and paths."""

from __future__ import annotations

from rivetr.adapters.proxy import RouteTable, Upstream

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
