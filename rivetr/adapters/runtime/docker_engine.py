"""`DockerEngine`: the connection to one Docker or Podman engine that the runtime's parts share.

It holds the lazily made SDK client, runs blocking SDK calls in worker threads, and is the one
place where SDK and `requests` errors become the port's errors (`_translated`).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Literal, TypeVar

import anyio.to_thread
import docker  # type: ignore[import-untyped]
import docker.errors  # type: ignore[import-untyped]
import requests.exceptions

from rivetr.adapters.runtime.base import ContainerError, EngineUnavailable
from rivetr.adapters.runtime.docker_answers import engine_kind

T = TypeVar("T")


class DockerEngine:
    """The engine at `base_url`; `DockerRuntime` and its parts are built on it."""

    def __init__(
        self,
        base_url: str,
        kind: Literal["docker", "podman"] | None = None,
        *,
        timeout_s: float = 60.0,
        client: docker.DockerClient | None = None,
        new_api: Callable[[], docker.APIClient] | None = None,
    ) -> None:
        """`client`: one made already (a node's engine reached over TLS or SSH), used as it
        is; `new_api` then makes another of the same engine (a build's own)."""
        self.base_url = base_url
        self._kind = kind
        self._timeout_s = timeout_s
        self._client: docker.DockerClient | None = client
        self._new_api = new_api
        self._client_lock = threading.Lock()
        self._detected: Literal["docker", "podman"] | None = kind
        # Podman's default limits, asked once when a container first sets any (`docker_podman`)
        self._podman_ulimits: dict[str, tuple[int, int]] | None = None
        # when Rivetr last ran each container's health check on Podman (`docker_resources`)
        self._podman_checked: dict[str, float] = {}

    async def close(self) -> None:
        with self._client_lock:
            client, self._client = self._client, None
        if client is not None:
            await anyio.to_thread.run_sync(client.close)

    # -- plumbing ------------------------------------------------------------------------

    def _another_api(self, client: docker.DockerClient) -> docker.APIClient:
        """A client of its own for a call that must be cut apart from the shared one's."""
        if self._new_api is not None:
            return self._new_api()
        return docker.APIClient(
            base_url=self.base_url, version=client.api.api_version, timeout=client.api.timeout
        )

    async def _run(
        self,
        action: str,
        call: Callable[[docker.DockerClient], T],
        *,
        abandon_on_cancel: bool = False,
    ) -> T:
        def work() -> T:
            with self._translated(action):
                return call(self._sdk_client())

        return await anyio.to_thread.run_sync(work, abandon_on_cancel=abandon_on_cancel)

    def _engine_kind(self, client: docker.DockerClient) -> Literal["docker", "podman"]:
        """The engine's kind, asked once (in a worker thread)."""
        if self._detected is None:
            self._detected = engine_kind(client.version())
        return self._detected

    def _sdk_client(self) -> docker.DockerClient:
        with self._client_lock:
            if self._client is None:
                _probe_unix_socket(self.base_url, self._timeout_s)
                try:
                    self._client = docker.DockerClient(
                        base_url=self.base_url, version="auto", timeout=self._timeout_s
                    )
                except docker.errors.DockerException as exc:
                    # The SDK wraps every failure to fetch the API version in this one type.
                    raise EngineUnavailable(
                        f"no container engine answers at {self.base_url}: {exc}"
                    ) from exc
            return self._client

    @contextmanager
    def _translated(self, action: str) -> Iterator[None]:
        try:
            yield
        except docker.errors.APIError as exc:  # before requests': it is an HTTPError too
            raise ContainerError(f"{action}: {explain(exc)}") from exc
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
            raise EngineUnavailable(
                f"container engine at {self.base_url} did not answer ({action}): {exc}"
            ) from exc
        except docker.errors.DockerException as exc:
            raise ContainerError(f"{action}: {exc}") from exc


def _probe_unix_socket(url: str, timeout_s: float) -> None:
    # The SDK leaks its socket when connecting to a unix socket fails (a stale socket file, a
    # stopped daemon): try once with a socket that is closed whatever happens.
    path = url.removeprefix("unix://")
    if path == url:
        return
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(timeout_s)
        try:
            probe.connect(path)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise EngineUnavailable(f"no container engine answers at {url}: {reason}") from exc


def explain(exc: docker.errors.APIError) -> str:
    return str(exc.explanation or exc)
