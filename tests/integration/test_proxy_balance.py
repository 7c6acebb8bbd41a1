"""The proxy balancing a route over real replicas on loopback: the share each one gets, least
connections against a slow one, failover that loses no request when a replica dies, its
return, kept-alive clients and WebSockets through a balanced route."""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from collections.abc import AsyncIterator, Iterable

import httpx
import pytest

from rivetr.adapters.proxy import Balanced, ProxyLimits, ProxyServer, RouteTable, Upstream
from rivetr.adapters.proxy import balance as balance_module
from tests.net import free_port

pytestmark = [pytest.mark.anyio, pytest.mark.integration]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Replica:
    """One replica of an app: HTTP/1.1 on loopback, kept alive, answering with its name. `/hold`
    answers once `held` is set; `/ws` switches protocols and echoes upper-cased after its name.
    `kill` is the process dying: the port refuses, every open connection is reset."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.port = 0
        self.hits = 0
        self.cut = False  # read each request, then drop the connection without a word
        self.held = asyncio.Event()
        self.server: asyncio.Server | None = None
        self.connections: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self.serve, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def kill(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in list(self.connections):
            writer.transport.abort()
        await self.server.wait_closed()

    def member(self, app: str = "shop") -> Upstream:
        return Upstream(app, "127.0.0.1", self.port, "d1")

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections.add(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                line, *fields = head.decode("latin-1").split("\r\n")
                headers = dict(f.lower().split(": ", 1) for f in fields if f)
                body = await reader.readexactly(int(headers.get("content-length", 0)))
                if self.cut:
                    writer.transport.abort()
                    return
                path = line.split(" ")[1]
                if path == "/ws":
                    await self.tunnel(reader, writer)
                    return
                if path == "/hold":
                    await self.held.wait()
                self.hits += 1
                data = json.dumps({"name": self.name, "size": len(body)}).encode()
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(data), data))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.connections.discard(writer)
            writer.close()

    async def tunnel(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
        )
        while data := await reader.read(1024):
            writer.write(self.name.encode() + b":" + data.upper())
            await writer.drain()


class Proxy:
    def __init__(self, replicas: list[Replica], strategy: str = "round_robin") -> None:
        self.replicas = replicas
        self.strategy = strategy
        self.routes = RouteTable()
        self.server = ProxyServer(self.routes, limits=ProxyLimits(max_connections_per_ip=1000))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.listening: asyncio.Server | None = None
        self.route(replicas)

    def route(self, replicas: Iterable[Replica]) -> None:
        """Replace the table, as the swarm side does when the set of healthy tasks changes."""
        members = tuple(replica.member() for replica in replicas)
        shop = Balanced("shop", "d1", members, self.strategy)  # type: ignore[arg-type]
        self.routes.replace({"shop.test": shop})
        self.server.routes_changed()

    def shares(self) -> dict[str, int]:
        return {replica.name: replica.hits for replica in self.replicas}


async def started(names: str, strategy: str = "round_robin") -> Proxy:
    replicas = [Replica(name) for name in names]
    for replica in replicas:
        await replica.start()
    proxy = Proxy(replicas, strategy)
    proxy.listening = await proxy.server.serve("127.0.0.1", proxy.port)
    return proxy


@pytest.fixture
async def abc() -> AsyncIterator[Proxy]:
    proxy = await started("abc")
    yield proxy
    await stop(proxy)


@pytest.fixture
async def client(abc: Proxy) -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=300, max_keepalive_connections=300)
    async with httpx.AsyncClient(
        base_url=abc.url, headers={"Host": "shop.test"}, limits=limits, timeout=20
    ) as client:
        yield client


async def stop(proxy: Proxy) -> None:
    assert proxy.listening is not None
    proxy.listening.close()
    for replica in proxy.replicas:
        replica.held.set()
        if replica.server is not None and replica.server.is_serving():
            await replica.kill()
    await asyncio.sleep(0.05)  # the replicas' handlers see their connections reset and end


async def names(client: httpx.AsyncClient, count: int, *, concurrent: bool) -> Counter[str]:
    """Who answered `count` GETs, each of which must succeed."""
    if concurrent:
        answers = await asyncio.gather(*(client.get("/") for _ in range(count)))
    else:
        answers = [await client.get("/") for _ in range(count)]
    assert [a.status_code for a in answers if a.status_code != 200] == []
    return Counter(a.json()["name"] for a in answers)


async def test_round_robin_gives_three_replicas_a_third_each(abc: Proxy, client) -> None:
    sequential = await names(client, 300, concurrent=False)
    concurrent = await names(client, 300, concurrent=True)

    assert sequential == {"a": 100, "b": 100, "c": 100}
    assert concurrent == {"a": 100, "b": 100, "c": 100}
    members = abc.server.stats.members
    assert members == {("shop", "127.0.0.1", r.port): 200 for r in abc.replicas}
    assert abc.server.stats.requests == {("shop", 200): 600}
    assert abc.server.balancer.in_flight == {}  # every count ended with its request


async def test_a_kept_alive_client_connection_spreads_its_requests_too(abc: Proxy) -> None:
    limits = httpx.Limits(max_connections=1)
    async with httpx.AsyncClient(
        base_url=abc.url, headers={"Host": "shop.test"}, limits=limits
    ) as one:
        seen = await names(one, 30, concurrent=False)
        assert abc.server.admission.open == 1  # all of them on one client connection

    assert seen == {"a": 10, "b": 10, "c": 10}


async def test_least_connections_sends_requests_to_the_idle_replicas_past_a_slow_one() -> None:
    proxy = await started("abc", "least_connections")
    slow = proxy.replicas[0]
    try:
        async with httpx.AsyncClient(base_url=proxy.url, headers={"Host": "shop.test"}) as client:
            held = asyncio.ensure_future(client.get("/hold"))
            while proxy.server.balancer.in_flight == {}:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
            while_slow = await names(client, 40, concurrent=False)
            slow.held.set()
            assert (await held).json()["name"] == "a"
            after = await names(client, 30, concurrent=False)
    finally:
        await stop(proxy)

    assert while_slow == {"b": 20, "c": 20}  # ties between the idle ones taken in turn
    assert after == {"a": 10, "b": 10, "c": 10}


async def test_a_replica_that_dies_costs_no_request_and_is_logged_once(
    abc: Proxy, client, caplog
) -> None:
    await names(client, 30, concurrent=False)  # the pool holds connections to each
    await abc.replicas[1].kill()

    with caplog.at_level(logging.WARNING, logger="rivetr.adapters.proxy"):
        sequential = await names(client, 300, concurrent=False)
        concurrent = await names(client, 300, concurrent=True)

    assert sequential["b"] == concurrent["b"] == 0
    assert sequential.total() == concurrent.total() == 300
    dead = ("shop", "127.0.0.1", abc.replicas[1].port)
    assert abc.server.stats.ejections[dead] >= 1
    assert abc.server.stats.failovers["shop"] >= 1
    taken_out = [r for r in caplog.records if "taken out" in r.getMessage()]
    assert len(taken_out) == 1, [r.getMessage() for r in taken_out]
    assert f"127.0.0.1:{abc.replicas[1].port}, a replica of shop" in taken_out[0].getMessage()


async def test_three_hundred_concurrent_requests_meet_a_replica_dead_from_the_start() -> None:
    proxy = await started("abc")
    await proxy.replicas[2].kill()  # no ejection yet: many requests try it at once
    try:
        async with httpx.AsyncClient(
            base_url=proxy.url,
            headers={"Host": "shop.test"},
            limits=httpx.Limits(max_connections=300),
        ) as client:
            seen = await names(client, 300, concurrent=True)
    finally:
        await stop(proxy)

    assert seen.total() == 300
    assert seen["c"] == 0
    assert set(proxy.server.stats.ejections) == {("shop", "127.0.0.1", proxy.replicas[2].port)}
    assert 1 <= proxy.server.stats.failovers["shop"] <= 100  # those sent there before it was out


async def test_a_request_with_a_body_fails_over_when_nothing_of_it_reached_the_replica(
    abc: Proxy, client
) -> None:
    await abc.replicas[0].kill()

    answers = [await client.post("/", content=b"x" * 100_000) for _ in range(6)]

    assert [a.status_code for a in answers] == [200] * 6
    assert {a.json()["size"] for a in answers} == {100_000}


async def test_a_replica_that_cuts_requests_is_taken_out_and_only_safe_ones_are_sent_again(
    abc: Proxy, client
) -> None:
    cutter = abc.replicas[0]
    cutter.cut = True  # reads the request, then closes without an answer

    get = await client.get("/")  # its turn is the cutter's
    gets = await names(client, 20, concurrent=False)
    abc.route(abc.replicas[1:])
    abc.route(abc.replicas)  # listed afresh: out no more, and its turn first again
    post = await client.post("/", content=b"order")

    assert get.json()["name"] == "b"
    assert abc.server.stats.failovers == {"shop": 1}
    assert gets["a"] == 0
    assert gets.total() == 20
    assert post.status_code == 502  # it may have been acted on: never sent twice
    assert ("127.0.0.1", cutter.port) in abc.server.balancer.out
    ejected = abc.server.stats.ejections[("shop", "127.0.0.1", cutter.port)]
    assert ejected == 2  # once for the GET, once for the POST


async def test_a_replica_that_comes_back_gets_traffic_again(
    abc: Proxy, client, monkeypatch
) -> None:
    monkeypatch.setattr(balance_module, "FIRST_EJECTION_S", 0.3)
    dead = abc.replicas[1]
    await dead.kill()
    assert (await names(client, 30, concurrent=False))["b"] == 0

    await dead.start()  # the same port again, nothing else changed
    address, loop = ("127.0.0.1", dead.port), asyncio.get_running_loop()
    while abc.server.balancer.is_out(address, loop.time()):  # noqa: ASYNC110
        await asyncio.sleep(0.05)  # out a little longer if it was tried again and failed
    back = await names(client, 30, concurrent=False)

    assert back == {"a": 10, "b": 10, "c": 10}
    assert abc.server.balancer.out == {}


async def test_a_replica_listed_afresh_is_back_at_once_and_one_kept_listed_stays_out(
    abc: Proxy, client
) -> None:
    dead = abc.replicas[1]
    await dead.kill()
    await names(client, 6, concurrent=False)
    await dead.start()

    abc.route(abc.replicas)  # the same set again: what the proxy saw still stands
    assert (await names(client, 9, concurrent=False))["b"] == 0
    abc.route([abc.replicas[0], abc.replicas[2]])  # found unhealthy by the swarm...
    abc.route(abc.replicas)  # ...and healthy again: a clean slate
    assert await names(client, 9, concurrent=False) == {"a": 3, "b": 3, "c": 3}


async def test_a_one_member_route_answers_as_an_upstream_would_when_its_replica_is_gone() -> None:
    proxy = await started("a")
    try:
        async with httpx.AsyncClient(base_url=proxy.url, headers={"Host": "shop.test"}) as client:
            alive = await client.get("/")
            await proxy.replicas[0].kill()
            dead = [await client.get("/") for _ in range(3)]
    finally:
        await stop(proxy)

    assert alive.json()["name"] == "a"
    assert [a.status_code for a in dead] == [502] * 3  # tried each time: out longest
    assert "<b>shop</b> is not answering" in dead[0].text
    assert proxy.server.stats.failovers == {}


async def websocket(port: int) -> tuple[bytes, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        b"GET /ws HTTP/1.1\r\nHost: shop.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
    )
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101 ")
    writer.write(b"hello")
    return await reader.readexactly(7), writer


async def test_websockets_pass_through_a_balanced_route_and_count_as_in_flight() -> None:
    proxy = await started("ab", "least_connections")
    try:
        first, one = await websocket(proxy.port)
        second, two = await websocket(proxy.port)
        async with httpx.AsyncClient(base_url=proxy.url, headers={"Host": "shop.test"}) as client:
            busy = await names(client, 4, concurrent=False)
        for writer in (one, two):
            writer.close()
    finally:
        await stop(proxy)

    assert {first, second} == {b"a:HELLO", b"b:HELLO"}
    assert busy.total() == 4  # each replica holds one open tunnel: a tie, taken in turn
    assert busy == {"a": 2, "b": 2}
