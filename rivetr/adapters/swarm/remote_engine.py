"""A node's own Docker engine, reached once to join it to the swarm: over TLS (the way
`docker --tlsverify -H tcp://node:2376 swarm join` does), or through SSH to its socket
(`ssh_tunnel.py`). The SDK reads the CA, certificate and key from files: they are written to a
private temporary directory for the call and deleted with it. Every failure, the node's
refusal as much as a connection, TLS or SSH one, is a ContainerError naming the engine: for
the caller, the node is what was asked and refused."""

from __future__ import annotations

import contextlib
import ipaddress
import tempfile
import urllib.parse
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import TypeVar

import anyio
import docker  # type: ignore[import-untyped]
import docker.errors  # type: ignore[import-untyped]
import docker.tls  # type: ignore[import-untyped]
import requests.exceptions

from rivetr.adapters.runtime.base import ContainerError
from rivetr.adapters.runtime.docker_engine import explain
from rivetr.adapters.swarm.base import SWARM_PORT, RemoteEngine, RemoteInfo
from rivetr.adapters.swarm.ssh_tunnel import TunnelError, forwarded_socket

T = TypeVar("T")
TIMEOUT_S = 60.0  # a join returns once the node has its certificate from the manager
MIN_API_VERSION = "1.24"  # only to ask the engine its own; every engine answers this one


async def on_remote(
    remote: RemoteEngine, action: str, call: Callable[[docker.DockerClient], T]
) -> T:
    """Run `call` with a client of the node's engine, in a worker thread."""

    def work() -> T:
        with _client(remote, action) as (client, _), _translated(remote, action):
            return call(client)

    return await anyio.to_thread.run_sync(work)


# makes another API client of the same engine, as the first was made (a build's own)
NewApi = Callable[[], docker.APIClient]


@asynccontextmanager
async def opened(
    remote: RemoteEngine, action: str
) -> AsyncIterator[tuple[docker.DockerClient, NewApi]]:
    """A client of the node's engine while the context is open (its TLS files, or its SSH
    tunnel, kept that long), and how to make another one of it."""
    stack = contextlib.ExitStack()

    def enter() -> tuple[docker.DockerClient, NewApi]:
        with _translated(remote, action):
            return stack.enter_context(_client(remote, action))

    found = await anyio.to_thread.run_sync(enter)
    try:
        yield found
    finally:
        await anyio.to_thread.run_sync(stack.close)


def describe(client: docker.DockerClient) -> RemoteInfo:
    info = client.info()
    swarm = info.get("Swarm") or {}
    return RemoteInfo(
        hostname=str(info.get("Name") or ""),
        swarm_state=str(swarm.get("LocalNodeState") or "inactive"),
        node_id=str(swarm.get("NodeID") or ""),
    )


def join(client: docker.DockerClient, remote: RemoteEngine, token: str, manager_addr: str) -> None:
    client.api.join_swarm(
        remote_addrs=[manager_addr],
        join_token=token,
        listen_addr=f"0.0.0.0:{SWARM_PORT}",
        advertise_addr=advertised(remote.url),
    )


def advertised(url: str) -> str | None:
    """The address the node is reached at by Rivetr, when the URL gives one, is the one it
    advertises to the swarm: an engine on a machine of several addresses cannot choose one
    by itself ("could not choose an IP address to advertise"). A host name: it chooses."""
    try:
        return str(ipaddress.ip_address(urllib.parse.urlsplit(url).hostname or ""))
    except ValueError:
        return None


@contextmanager
def _client(remote: RemoteEngine, action: str) -> Iterator[tuple[docker.DockerClient, NewApi]]:
    if remote.over_ssh:
        with _ssh_client(remote, action) as found:
            yield found
        return
    with _tls_client(remote, action) as found:
        yield found


@contextmanager
def _ssh_client(remote: RemoteEngine, action: str) -> Iterator[tuple[docker.DockerClient, NewApi]]:
    try:
        with forwarded_socket(remote.url, remote.ssh_key, remote.host_key) as socket:
            with _translated(remote, action):
                client = docker.DockerClient(f"unix://{socket}", "auto", TIMEOUT_S)

            def new_api() -> docker.APIClient:
                return docker.APIClient(f"unix://{socket}", client.api.api_version, TIMEOUT_S)

            try:
                yield client, new_api
            finally:
                client.close()
    except TunnelError as exc:
        raise ContainerError(f"{action}: the node at {remote.url} refused SSH: {exc}") from exc


@contextmanager
def _tls_client(remote: RemoteEngine, action: str) -> Iterator[tuple[docker.DockerClient, NewApi]]:
    with tempfile.TemporaryDirectory(prefix="rivetr-engine-tls-") as folder:  # mode 0700
        files = {}
        for name, pem in (("ca", remote.ca), ("cert", remote.cert), ("key", remote.key)):
            path = Path(folder) / f"{name}.pem"
            path.touch(mode=0o600)
            path.write_text(pem)
            files[name] = str(path)
        tls = docker.tls.TLSConfig(
            client_cert=(files["cert"], files["key"]), ca_cert=files["ca"], verify=True
        )
        with _translated(remote, action):
            version = _api_version(remote.url, tls)
        client = _trusting_only(docker.DockerClient(remote.url, version, TIMEOUT_S, tls=tls))

        def new_api() -> docker.APIClient:
            api = docker.APIClient(remote.url, version, TIMEOUT_S, tls=tls)
            api.trust_env = False  # as `_trusting_only`
            return api

        try:
            yield client, new_api
        finally:
            client.close()


def _api_version(url: str, tls: docker.tls.TLSConfig) -> str:
    """The engine's API version, asked unversioned (the SDK's own "auto" asks before its
    session can be kept from the environment's CA bundle): the first TLS handshake."""
    probe = _trusting_only(docker.DockerClient(url, MIN_API_VERSION, TIMEOUT_S, tls=tls))
    try:
        return str(probe.api.version(api_version=False)["ApiVersion"])
    finally:
        probe.close()


def _trusting_only(client: docker.DockerClient) -> docker.DockerClient:
    # requests lets REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE, set on many machines, replace the
    # session's own CA file, and HTTPS_PROXY reroute it: the node's engine is checked against
    # the CA it was given, and reached directly
    client.api.trust_env = False
    return client


@contextmanager
def _translated(remote: RemoteEngine, action: str) -> Iterator[None]:
    try:
        yield
    except docker.errors.APIError as exc:  # before requests': it is an HTTPError too
        raise ContainerError(f"{action} at {remote.url}: {explain(exc)}") from exc
    except (requests.exceptions.RequestException, docker.errors.DockerException) as exc:
        how = "through SSH" if remote.over_ssh else "over TLS"
        raise ContainerError(
            f"{action}: the engine at {remote.url} did not answer {how}: {exc}"
        ) from exc
    except OSError as exc:  # a PEM the ssl module cannot load
        raise ContainerError(f"{action} at {remote.url}: {exc}") from exc
