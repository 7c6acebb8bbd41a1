"""HTTPS through the proxy with uploaded certificates: each domain's certificate picked by SNI
and verified against its CA, plain HTTP redirected once a certificate exists, and certificates
that cannot serve the domain refused with the reason and nothing written."""

from __future__ import annotations

import os
import socket
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

from rivetr.bootstrap import Services
from rivetr.domain.access import SYSTEM, token_actor
from rivetr.domain.commands import CreateApp
from rivetr.domain.errors import Forbidden, InvalidCommand
from tests.integration.releases import running_services, serving
from tests.integration.test_proxy import start_backend
from tests.tls import ThrowawayCA

pytestmark = [pytest.mark.anyio, pytest.mark.integration]


@pytest.fixture
async def services(tmp_path: Path) -> AsyncIterator[Services]:
    async with running_services(tmp_path / "data") as services:
        yield services


def _exchange(sock: socket.socket, host: str, path: str) -> bytes:
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def https_get(port: int, host: str, ca: bytes, path: str = "/") -> bytes:
    """GET over TLS naming `host` by SNI, verifying the chain against `ca` only."""
    context = ssl.create_default_context(cadata=ca.decode())
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        return _exchange(tls, host, path)


def http_get(port: int, host: str, path: str = "/") -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        return _exchange(raw, host, path)


async def test_an_uploaded_certificate_serves_https_by_sni_and_http_redirects(services):
    ca = ThrowawayCA()
    backend, backend_port = start_backend("shop")
    await serving(services, "shop", ["shop.test", "www.shop.test"], backend_port)
    chain, key = ca.issue("shop.test")

    info = await services.certificates.upload(SYSTEM, "shop", "shop.test", chain, key)

    assert info.names == ["shop.test"]
    settings = services.settings
    answer = await anyio.to_thread.run_sync(
        https_get, settings.proxy_https_port, "shop.test", ca.pem
    )
    assert answer.startswith(b"HTTP/1.1 200")
    assert b'"X-Forwarded-Proto": "https"' in answer
    redirect = await anyio.to_thread.run_sync(
        http_get, settings.proxy_http_port, "shop.test", "/a?b=1"
    )
    assert redirect.startswith(b"HTTP/1.1 308")
    assert b"Location: https://shop.test/a?b=1" in redirect
    # a host without a certificate stays on plain HTTP, and gets no TLS handshake
    plain = await anyio.to_thread.run_sync(http_get, settings.proxy_http_port, "www.shop.test")
    assert plain.startswith(b"HTTP/1.1 200")
    with pytest.raises(ssl.SSLError):
        await anyio.to_thread.run_sync(
            https_get, settings.proxy_https_port, "www.shop.test", ca.pem
        )
    key_file = Path(settings.data_dir) / "certs" / "shop.test.key"
    assert oct(os.stat(key_file).st_mode & 0o777) == "0o600"
    recorded = [e for e in await services.store.read_all() if e.type == "certificate.installed"]
    assert recorded[0].event.fingerprint == info.fingerprint
    assert key.decode() not in str(await services.store.read_all())
    [view] = await services.read.certificates.of_app((await services.lookup.by_name("shop")).app_id)
    assert (view.domain, view.source, view.not_after) == ("shop.test", "uploaded", info.not_after)
    backend.shutdown()


async def test_certificates_that_cannot_serve_the_domain_are_refused_with_the_reason(services):
    ca, other_ca = ThrowawayCA(), ThrowawayCA()
    await services.apps.handle(SYSTEM, CreateApp(name="shop", domains=["shop.test"]))
    chain, key = ca.issue("shop.test")
    _, other_key = other_ca.issue("shop.test")
    cases = [
        (ca.issue("elsewhere.test"), "names elsewhere.test, not shop.test"),
        ((chain, other_key), "does not belong"),
        (
            ca.issue("shop.test", days=-1, starts=__import__("datetime").timedelta(days=-5)),
            "not now",
        ),
        ((b"junk", key), "not PEM"),
    ]
    for (bad_chain, bad_key), reason in cases:
        with pytest.raises(InvalidCommand, match=reason):
            await services.certificates.upload(SYSTEM, "shop", "shop.test", bad_chain, bad_key)
    with pytest.raises(InvalidCommand, match="not one of shop's domains"):
        await services.certificates.upload(SYSTEM, "shop", "other.test", *ca.issue("other.test"))
    reader = token_actor("t", "ro", "read", None, None, {})
    with pytest.raises(Forbidden):
        await services.certificates.upload(reader, "shop", "shop.test", chain, key)
    assert not (Path(services.settings.data_dir) / "certs" / "shop.test.crt").exists()
    assert [
        e.type for e in await services.store.read_all() if e.type.startswith("certificate")
    ] == []
