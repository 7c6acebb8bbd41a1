"""The proxy's limits against slow and numerous clients, on real sockets: a head that does not
arrive in time, an idle kept-alive connection, a stalled body, an answer left unread, a TLS
handshake that never comes, and the bounds on connections per address and in all; an
established WebSocket outlives them."""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import Callable, Iterator

import pytest

from rivetr.adapters.proxy import ProxyLimits, ProxyServer, RouteTable, Upstream
from rivetr.adapters.proxy.limits import address_key
from tests.integration.test_proxy import (
    Running,
    close,
    echo_after_upgrade,
    start_backend,
    upgrade,
)
from tests.net import free_port
from tests.tls import ThrowawayCA

pytestmark = pytest.mark.integration

SHORT = ProxyLimits(header_timeout_s=0.5, idle_timeout_s=0.5)
GET = b"GET / HTTP/1.1\r\nHost: blue.test\r\n\r\n"

Start = Callable[..., tuple[ProxyServer, int]]


@pytest.fixture
def start() -> Iterator[Start]:
    """Start a proxy with the given limits (and TLS, if asked) in front of a plain backend
    (blue.test) and a WebSocket-like echo (ws.test); gives the proxy and its port."""
    backend, backend_port = start_backend("blue")
    running = Running()
    echo = running.run(asyncio.start_server(echo_after_upgrade, "127.0.0.1", 0))
    routes = RouteTable(
        {
            "blue.test": Upstream("shop", "127.0.0.1", backend_port, "d-blue"),
            "ws.test": Upstream("chat", "127.0.0.1", echo.sockets[0].getsockname()[1], "d-ws"),
        }
    )
    listening = [echo]

    def started(limits: ProxyLimits, tls: ssl.SSLContext | None = None) -> tuple[ProxyServer, int]:
        proxy = ProxyServer(routes, limits=limits)
        port = free_port()
        listening.append(running.run(proxy.serve("127.0.0.1", port, tls)))
        return proxy, port

    yield started
    for server in listening:
        running.run(close(server))
    running.stop()
    backend.shutdown()


def connect(port: int, source: str = "127.0.0.1") -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(source, 0))


def read_all(sock: socket.socket) -> bytes:
    """Everything until the proxy closes; a reset ends it too. A proxy that never closes
    makes this fail on the socket's 5 s timeout."""
    received = b""
    try:
        while data := sock.recv(65536):
            received += data
    except ConnectionResetError:
        pass
    return received


def answer(sock: socket.socket) -> bytes:
    """One answer with a Content-Length, read off a kept-alive connection."""
    received = b""
    while b"\r\n\r\n" not in received:
        received += sock.recv(65536)
    head, _, body = received.partition(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    while len(body) < length:
        body += sock.recv(65536)
    return head


def eventually(condition: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + 5
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    return condition()


def test_a_half_sent_head_gets_a_408_and_is_closed_after_the_header_timeout(start):
    _, port = start(SHORT)
    with connect(port) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: blue.test\r\n")  # the blank line never comes
        assert read_all(sock).startswith(b"HTTP/1.1 408")
    with connect(port) as silent:
        assert read_all(silent) == b""  # nothing sent at all: closed without a word


def test_a_head_sent_a_byte_at_a_time_is_cut_at_the_deadline_not_kept_alive_by_each_byte(start):
    _, port = start(SHORT)
    head = b"GET / HTTP/1.1\r\nHost: blue.test\r\nX-Slow: " + b"a" * 100 + b"\r\n\r\n"
    sent = 0
    with connect(port) as sock:
        try:
            for byte in head:  # 12 s at this pace, against a 0.5 s deadline
                sock.send(bytes([byte]))
                sent += 1
                time.sleep(0.1)
        except (BrokenPipeError, ConnectionResetError):
            pass
    assert sent < len(head)


def test_a_kept_alive_connection_left_idle_is_closed(start):
    proxy, port = start(SHORT)
    with connect(port) as sock:
        sock.sendall(GET)
        assert answer(sock).startswith(b"HTTP/1.1 200")
        assert read_all(sock) == b""  # then nothing more: closed after the idle timeout
    assert eventually(lambda: proxy.admission.open == 0)
    assert proxy.admission.per_address == {}


def test_a_request_body_that_stalls_gets_a_408(start):
    _, port = start(SHORT)
    with connect(port) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: blue.test\r\nContent-Length: 100\r\n\r\n0123456789")
        assert read_all(sock).startswith(b"HTTP/1.1 408")


def test_an_answer_the_client_stops_reading_is_cut_after_the_idle_timeout(start):
    _, port = start(SHORT)
    with connect(port) as sock:
        sock.sendall(b"GET /big HTTP/1.1\r\nHost: blue.test\r\n\r\n")
        time.sleep(2)  # 20 MB do not fit in the socket buffers: the proxy's writes back up
        received = read_all(sock)
    assert received.startswith(b"HTTP/1.1 200")
    assert len(received) < 20 * 1024 * 1024


def test_an_established_websocket_outlives_the_idle_timeout(start):
    _, port = start(SHORT)
    with connect(port) as sock:
        head = upgrade(sock)
        sock.sendall(b"hello")
        first = sock.recv(1024)
        time.sleep(1.5)  # three idle timeouts, and three header timeouts, go by
        sock.sendall(b"still there")
        second = sock.recv(1024)
    assert head.startswith(b"HTTP/1.1 101")
    assert (first, second) == (b"HELLO", b"STILL THERE")


def test_past_the_per_address_bound_a_connection_gets_a_503_and_the_others_still_work(start):
    proxy, port = start(ProxyLimits(max_connections_per_ip=2))
    with connect(port) as first, connect(port) as second:
        with connect(port) as third:
            refused = read_all(third)
        with connect(port, source="127.0.0.2") as elsewhere:  # another address has its own
            elsewhere.sendall(GET)
            assert answer(elsewhere).startswith(b"HTTP/1.1 200")
        first.sendall(GET)
        second.sendall(GET)
        assert answer(first).startswith(b"HTTP/1.1 200")
        assert answer(second).startswith(b"HTTP/1.1 200")
    assert refused.startswith(b"HTTP/1.1 503")
    assert b"Too many connections from your address" in refused
    assert eventually(lambda: proxy.admission.per_address == {})
    with connect(port) as again:  # the places are given back
        again.sendall(GET)
        assert answer(again).startswith(b"HTTP/1.1 200")


def test_past_the_total_bound_a_connection_gets_a_503_whatever_its_address(start):
    proxy, port = start(ProxyLimits(max_connections=2))
    with (
        connect(port, "127.0.0.2"),
        connect(port, "127.0.0.3"),
        connect(port, "127.0.0.4") as extra,
    ):
        assert read_all(extra).startswith(b"HTTP/1.1 503")
    assert eventually(lambda: proxy.admission.open == 0)


def test_a_tls_handshake_that_never_comes_is_closed_after_the_header_timeout(start, tmp_path):
    ca = ThrowawayCA()
    chain, key = ca.issue("blue.test")
    (tmp_path / "chain.pem").write_bytes(chain)
    (tmp_path / "key.pem").write_bytes(key)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "chain.pem", tmp_path / "key.pem")
    # long enough for a handshake on a busy machine, short enough to wait for
    proxy, port = start(ProxyLimits(header_timeout_s=2, idle_timeout_s=2), context)

    with connect(port) as raw:
        raw.sendall(b"\x16\x03\x01")  # the first bytes of a ClientHello, and no more
        assert read_all(raw) == b""
    assert eventually(lambda: proxy.admission.open == 0)

    client = ssl.create_default_context(cadata=ca.pem.decode())
    with client.wrap_socket(connect(port), server_hostname="blue.test") as tls:
        tls.sendall(b"GET / HTTP/1.1\r\nHost: blue.test\r\n")  # handshake done, head half sent
        assert read_all(tls).startswith(b"HTTP/1.1 408")


def test_the_per_address_bound_counts_an_ipv6_host_by_its_slash_64():
    assert address_key("203.0.113.9") == "203.0.113.9"
    assert address_key("2001:db8:1:2::a") == address_key("2001:db8:1:2:ffff::b")
    assert address_key("2001:db8:1:2::a") == "2001:db8:1:2::/64"
    assert address_key("2001:db8:1:3::a") != address_key("2001:db8:1:2::a")
    assert address_key("::ffff:203.0.113.9") == "203.0.113.9"  # a dual-stack listener's IPv4
