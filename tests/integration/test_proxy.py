"""The reverse proxy against real HTTP servers on loopback: host routing, forwarded headers,
404 and 502 pages, streamed bodies both ways, keep-alive, Upgrade pass-through, HEAD, ACME
challenges, and a route switch under load that loses no request."""

from __future__ import annotations

import asyncio
import hashlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from rivetr.adapters.proxy import Parked, ProxyServer, RouteTable, Upstream
from tests.net import free_port

pytestmark = pytest.mark.integration


class Backend(BaseHTTPRequestHandler):
    """Answers with what it saw; /big streams 20 MB; /slow waits; /nothing is a 204."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else its head and body wait on delayed ACKs (40 ms)
    name = "backend"

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if self.path == "/big":
            block = b"x" * 65536
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for _ in range(320):  # 20 MB
                self.wfile.write(b"%x\r\n%s\r\n" % (len(block), block))
            self.wfile.write(b"0\r\n\r\n")
            return
        if self.path == "/slow":
            time.sleep(0.6)
        if self.path == "/nothing":
            self.send_response(204)
            self.end_headers()
            return
        self._answer(
            {
                "name": self.name,
                "path": self.path,
                "headers": dict(self.headers),
                "peer": self.client_address[1],
            }
        )

    do_HEAD = do_GET

    def do_POST(self) -> None:
        digest, size = hashlib.sha256(), 0
        if self.headers.get("Transfer-Encoding") == "chunked":
            while (length := int(self.rfile.readline().strip(), 16)) > 0:
                data = self.rfile.read(length)
                digest.update(data)
                size += len(data)
                self.rfile.readline()
            self.rfile.readline()
        else:
            remaining = int(self.headers.get("Content-Length", 0))
            while remaining:
                data = self.rfile.read(min(remaining, 65536))
                digest.update(data)
                size += len(data)
                remaining -= len(data)
        self._answer({"name": self.name, "size": size, "sha256": digest.hexdigest()})

    def _answer(self, body: dict[str, object]) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)


def start_backend(name: str) -> tuple[ThreadingHTTPServer, int]:
    handler = type(name, (Backend,), {"name": name})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


async def early_hints(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """An upstream that sends an interim 103 before its answer."""
    while (await reader.readline()) not in (b"\r\n", b""):
        pass
    writer.write(b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n")
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    await writer.drain()
    writer.close()


async def echo_after_upgrade(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A WebSocket-like upstream: 101, then every byte back."""
    while (await reader.readline()) not in (b"\r\n", b""):
        pass
    writer.write(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
    )
    while data := await reader.read(1024):
        writer.write(data.upper())
        await writer.drain()
    writer.close()


async def odd(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """An upstream with awkward answers: one that ends when the connection does, one cut short
    of its Content-Length, one with no header at all, one whose head never ends, and one that
    never answers."""
    line = await reader.readline()
    while (await reader.readline()) not in (b"\r\n", b""):
        pass
    if b" /close-delimited " in line:
        writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + b"y" * 100_000)
    elif b" /truncated " in line:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"z" * 10)
    elif b" /bare " in line:
        writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
    elif b" /endless-head " in line:
        writer.write(b"HTTP/1.1 200 OK\r\n" + b"X-Filler: %s\r\n" % (b"f" * 1000) * 100)
    else:
        await asyncio.sleep(30)
    await writer.drain()
    writer.close()


class Running:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro):  # type: ignore[no-untyped-def]
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)

    def stop(self) -> None:
        """Cancel what still runs (open client connections), then stop and close the loop."""

        async def cancel_the_rest() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        self.run(cancel_the_rest())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        self.loop.close()


async def close(server: asyncio.Server) -> None:
    server.close()  # on the loop's own thread: asyncio servers are not thread-safe


@pytest.fixture
def setup() -> Iterator[dict[str, object]]:
    blue, blue_port = start_backend("blue")
    green, green_port = start_backend("green")
    running = Running()
    upgrade_server = running.run(asyncio.start_server(echo_after_upgrade, "127.0.0.1", 0))
    upgrade_port = upgrade_server.sockets[0].getsockname()[1]
    hints_server = running.run(asyncio.start_server(early_hints, "127.0.0.1", 0))
    hints_port = hints_server.sockets[0].getsockname()[1]
    odd_server = running.run(asyncio.start_server(odd, "127.0.0.1", 0))
    odd_port = odd_server.sockets[0].getsockname()[1]
    routes = RouteTable(
        {
            "blue.test": Upstream("shop", "127.0.0.1", blue_port, "d-blue"),
            "*.wild.test": Upstream("wild", "127.0.0.1", green_port, "d-wild"),
            "ws.test": Upstream("chat", "127.0.0.1", upgrade_port, "d-ws"),
            "hints.test": Upstream("hints", "127.0.0.1", hints_port, "d-hints"),
            "odd.test": Upstream("odd", "127.0.0.1", odd_port, "d-odd"),
            "blue.test/api": Upstream("api", "127.0.0.1", green_port, "d-api"),
            "down.test": Upstream("broken", "127.0.0.1", free_port(), "d-down"),
            "new.test": Parked("fresh"),
        }
    )
    proxy = ProxyServer(routes, challenge={"tok": "tok.key-auth"}.get)
    port = free_port()
    server = running.run(proxy.serve("127.0.0.1", port))
    yield {
        "url": f"http://127.0.0.1:{port}",
        "port": port,
        "routes": routes,
        "proxy": proxy,
        "blue": blue_port,
        "green": green_port,
    }
    for listening in (server, upgrade_server, hints_server, odd_server):
        running.run(close(listening))
    running.stop()
    blue.shutdown()
    green.shutdown()


def test_requests_go_to_the_app_of_their_host_with_forwarded_headers(setup):
    with httpx.Client(base_url=setup["url"]) as client:
        seen = client.get("/cart?x=1", headers={"Host": "blue.test:8443"}).json()
        wild = client.get("/", headers={"Host": "a.wild.test"}).json()
        chained = client.get(
            "/", headers={"Host": "blue.test", "X-Forwarded-For": "203.0.113.7"}
        ).json()

    assert (seen["name"], seen["path"]) == ("blue", "/cart?x=1")
    assert seen["headers"]["X-Forwarded-For"] == "127.0.0.1"
    assert seen["headers"]["X-Forwarded-Proto"] == "http"
    assert seen["headers"]["X-Forwarded-Host"] == "blue.test:8443"
    assert seen["headers"]["Host"] == "blue.test:8443"
    assert wild["name"] == "green"
    assert chained["headers"]["X-Forwarded-For"] == "203.0.113.7, 127.0.0.1"


def test_each_forwarded_request_is_counted_by_app_and_status_with_its_latency(setup):
    with httpx.Client(base_url=setup["url"]) as client:
        for _ in range(3):
            client.get("/", headers={"Host": "blue.test"})
        client.get("/nothing", headers={"Host": "blue.test"})
        client.get("/", headers={"Host": "nobody.test"})  # answered by the proxy: no app's
        client.get("/", headers={"Host": "down.test"})

    stats = setup["proxy"].stats
    assert stats.requests == {("shop", 200): 3, ("shop", 204): 1, ("broken", 502): 1}
    assert stats.latency["shop"].count == 4
    assert 0 < stats.latency["shop"].sum < 5


def test_an_unknown_host_gets_a_404_page_and_a_dead_upstream_a_502_naming_the_app(setup):
    with httpx.Client(base_url=setup["url"]) as client:
        unknown = client.get("/", headers={"Host": "nobody.test"})
        started = time.monotonic()
        down = client.get("/", headers={"Host": "down.test"})
        took = time.monotonic() - started

    assert unknown.status_code == 404
    assert "nobody.test" in unknown.text
    assert down.status_code == 502
    assert "broken" in down.text
    assert took < 2  # refused at once, never a hang


def test_a_known_app_with_no_running_release_gets_a_503_saying_so(setup):
    with httpx.Client(base_url=setup["url"]) as client:
        parked = client.get("/", headers={"Host": "new.test"})
        again = client.get("/x", headers={"Host": "new.test"})  # the connection stays usable

    assert parked.status_code == again.status_code == 503
    assert "fresh</b> has no running release" in parked.text
    assert "No application on this server" not in parked.text


def test_bodies_stream_both_ways_intact(setup):
    upload = b"".join(hashlib.sha256(str(i).encode()).digest() * 1024 for i in range(640))

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(upload), 100_000):
            yield upload[start : start + 100_000]

    with httpx.Client(base_url=setup["url"], timeout=60) as client:
        sized = client.post("/", content=upload, headers={"Host": "blue.test"}).json()
        chunked = client.post("/", content=chunks(), headers={"Host": "blue.test"}).json()
        big = client.get("/big", headers={"Host": "blue.test"})

    want = hashlib.sha256(upload).hexdigest()
    assert (sized["size"], sized["sha256"]) == (len(upload), want)
    assert (chunked["size"], chunked["sha256"]) == (len(upload), want)
    assert big.content == b"x" * 65536 * 320


def test_keep_alive_reuses_the_upstream_connection(setup):
    with httpx.Client(base_url=setup["url"]) as client:
        peers = {client.get("/", headers={"Host": "blue.test"}).json()["peer"] for _ in range(5)}
    assert len(peers) == 1


def test_head_and_204_have_no_body_and_keep_the_connection(setup):
    with httpx.Client(base_url=setup["url"]) as client:
        head = client.head("/", headers={"Host": "blue.test"})
        empty = client.get("/nothing", headers={"Host": "blue.test"})
        after = client.get("/", headers={"Host": "blue.test"})
    assert (head.status_code, head.content) == (200, b"")
    assert int(head.headers["content-length"]) > 0
    assert (empty.status_code, empty.content) == (204, b"")
    assert after.json()["name"] == "blue"


def upgrade(sock: socket.socket) -> bytes:
    """Ask ws.test for a WebSocket on `sock`; the answer's head."""
    sock.sendall(
        b"GET /socket HTTP/1.1\r\nHost: ws.test\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\n\r\n"
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1024)
    return head


def test_an_upgrade_is_passed_through_both_ways(setup):
    with socket.create_connection(("127.0.0.1", setup["port"]), timeout=5) as sock:
        head = upgrade(sock)
        sock.sendall(b"hello")
        echoed = sock.recv(1024)
    assert head.startswith(b"HTTP/1.1 101")
    assert echoed == b"HELLO"


def test_acme_challenges_are_answered_by_the_proxy_itself(setup):
    with httpx.Client(base_url=setup["url"]) as client:
        known = client.get("/.well-known/acme-challenge/tok", headers={"Host": "blue.test"})
        unknown = client.get("/.well-known/acme-challenge/nope", headers={"Host": "x.test"})
    assert (known.status_code, known.text) == (200, "tok.key-auth")
    assert unknown.status_code == 404


def test_a_request_in_flight_finishes_on_the_old_release_after_the_switch(setup):
    routes, proxy = setup["routes"], setup["proxy"]
    result: dict[str, object] = {}

    def slow() -> None:
        with httpx.Client(base_url=setup["url"]) as client:
            result["old"] = client.get("/slow", headers={"Host": "blue.test"}).json()["name"]

    thread = threading.Thread(target=slow)
    thread.start()
    time.sleep(0.2)
    routes.replace({"blue.test": Upstream("shop", "127.0.0.1", setup["green"], "d-green")})
    proxy.routes_changed()
    with httpx.Client(base_url=setup["url"]) as client:
        new = client.get("/", headers={"Host": "blue.test"}).json()["name"]
    thread.join()
    assert (result["old"], new) == ("blue", "green")


def test_switching_routes_under_load_loses_no_request(setup):
    routes, proxy = setup["routes"], setup["proxy"]
    tables = [
        {"blue.test": Upstream("shop", "127.0.0.1", setup["blue"], "d1")},
        {"blue.test": Upstream("shop", "127.0.0.1", setup["green"], "d2")},
    ]
    failures: list[str] = []
    served: list[str] = []
    stop = threading.Event()

    def load() -> None:
        with httpx.Client(base_url=setup["url"]) as client:
            while not stop.is_set():
                try:
                    response = client.get("/", headers={"Host": "blue.test"})
                    if response.status_code != 200:
                        failures.append(str(response.status_code))
                    else:
                        served.append(response.json()["name"])
                except httpx.HTTPError as exc:
                    failures.append(repr(exc))

    workers = [threading.Thread(target=load) for _ in range(4)]
    for worker in workers:
        worker.start()
    for n in range(40):
        time.sleep(0.02)
        routes.replace(tables[n % 2])
        proxy.routes_changed()
    stop.set()
    for worker in workers:
        worker.join()
    assert failures == []
    assert {"blue", "green"} <= set(served)
    assert len(served) > 100


def test_expect_100_continue_is_answered_by_the_proxy_and_interim_answers_skipped(setup):
    body = b"x" * 5000
    with socket.create_connection(("127.0.0.1", setup["port"]), timeout=5) as sock:
        sock.sendall(
            b"POST / HTTP/1.1\r\nHost: blue.test\r\nContent-Length: 5000\r\n"
            b"Expect: 100-continue\r\n\r\n"
        )
        interim = sock.recv(1024)
        sock.sendall(body)
        answer = b""
        while b'"sha256"' not in answer:
            answer += sock.recv(65536)
    assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert answer.startswith(b"HTTP/1.1 200")
    assert hashlib.sha256(body).hexdigest().encode() in answer

    with httpx.Client(base_url=setup["url"]) as client:
        hinted = client.get("/", headers={"Host": "hints.test"})
    assert (hinted.status_code, hinted.text) == (200, "ok")


def test_pipelined_requests_in_one_packet_are_answered_in_order(setup):
    with socket.create_connection(("127.0.0.1", setup["port"]), timeout=5) as sock:
        sock.sendall(
            b"GET /first HTTP/1.1\r\nHost: blue.test\r\n\r\n"
            b"GET /second HTTP/1.1\r\nHost: a.wild.test\r\nConnection: close\r\n\r\n"
        )
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    first, second = answer.index(b'"path": "/first"'), answer.index(b'"path": "/second"')
    assert first < second
    assert answer.count(b"HTTP/1.1 200") == 2
    assert b'"name": "green"' in answer[second - 200 :]


def test_a_path_prefix_route_takes_its_paths_and_only_those(setup):
    with httpx.Client(base_url=setup["url"]) as client:
        names = {
            path: client.get(path, headers={"Host": "blue.test"}).json()["name"]
            for path in ("/api", "/api/users", "/api?q=1", "/apiary", "/")
        }
    assert names == {
        "/api": "green",
        "/api/users": "green",
        "/api?q=1": "green",
        "/apiary": "blue",
        "/": "blue",
    }


def test_an_answer_that_ends_with_its_connection_is_passed_on_whole_and_a_cut_one_is_not(setup):
    with httpx.Client(base_url=setup["url"]) as client:
        whole = client.get("/close-delimited", headers={"Host": "odd.test"})
        assert (whole.status_code, whole.content) == (200, b"y" * 100_000)
        with pytest.raises(httpx.RemoteProtocolError):
            client.get("/truncated", headers={"Host": "odd.test"})
        after = client.get("/", headers={"Host": "blue.test"})  # the proxy is unharmed
    assert after.json()["name"] == "blue"


def test_an_answer_with_no_header_is_passed_on_and_one_whose_head_never_ends_is_a_502(setup):
    with httpx.Client(base_url=setup["url"]) as client:
        bare = client.get("/bare", headers={"Host": "odd.test"})
        assert (bare.status_code, bare.content) == (204, b"")
        endless = client.get("/endless-head", headers={"Host": "odd.test"})
        assert endless.status_code == 502
        assert "odd" in endless.text
        after = client.get("/", headers={"Host": "blue.test"})  # the proxy is unharmed
    assert after.json()["name"] == "blue"


def test_an_upstream_that_never_answers_gets_a_504(setup, monkeypatch):
    monkeypatch.setattr("rivetr.adapters.proxy.client.RESPONSE_TIMEOUT_S", 0.3)
    with httpx.Client(base_url=setup["url"]) as client:
        silent = client.get("/silent", headers={"Host": "odd.test"})
    assert silent.status_code == 504
    assert "odd" in silent.text


def test_malformed_and_oversized_requests_get_a_400_and_the_connection_closes(setup):
    for sent in (
        b"GET / HTTP/1.1\r\nHost blue.test\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: blue.test\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n",
    ):
        with socket.create_connection(("127.0.0.1", setup["port"]), timeout=5) as sock:
            sock.sendall(sent)
            answer = b""
            while data := sock.recv(65536):
                answer += data
        assert answer.startswith(b"HTTP/1.1 400"), answer[:100]
        assert b"Connection: close" in answer


def test_a_client_that_stops_reading_gets_every_byte_when_it_reads_again(setup):
    with socket.create_connection(("127.0.0.1", setup["port"]), timeout=10) as sock:
        sock.sendall(b"GET /big HTTP/1.1\r\nHost: blue.test\r\nConnection: close\r\n\r\n")
        time.sleep(1)  # the proxy's writes back up: it must stop reading from the upstream
        answer = bytearray()
        while data := sock.recv(1 << 20):
            answer += data
    head, _, body = bytes(answer).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    decoded, rest = bytearray(), body
    while True:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            break
        decoded += rest[:size]
        rest = rest[size + 2 :]
    assert decoded == b"x" * 65536 * 320


def test_the_in_flight_count_returns_to_zero_after_a_close_with_a_request_pipelined_behind(setup):
    proxy = setup["proxy"]
    with socket.create_connection(("127.0.0.1", setup["port"]), timeout=5) as sock:
        sock.sendall(
            b"GET /first HTTP/1.1\r\nHost: blue.test\r\nConnection: close\r\n\r\n"
            b"GET /never HTTP/1.1\r\nHost: blue.test\r\n\r\n"  # after a close: refused
        )
        answer = b""
        while data := sock.recv(65536):
            answer += data
    assert answer.count(b"HTTP/1.1 200") == 1
    deadline = time.monotonic() + 5
    while proxy.in_flight and time.monotonic() < deadline:
        time.sleep(0.01)
    assert proxy.in_flight == 0
