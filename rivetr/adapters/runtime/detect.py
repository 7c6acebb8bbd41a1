"""Finding the container engine to use: an explicit URL, `DOCKER_HOST`, then the usual sockets."""

from __future__ import annotations

import os
from typing import Literal

import anyio

from rivetr.adapters.runtime.base import ContainerRuntime, EngineUnavailable

Engine = Literal["auto", "docker", "podman"]

DOCKER_SOCKET = "unix:///var/run/docker.sock"
PODMAN_SOCKET = "unix:///run/podman/podman.sock"


def candidate_urls(engine: Engine = "auto") -> list[str]:
    """The engine URLs worth trying for `engine`, in order: `DOCKER_HOST` first, when set."""
    candidates = [os.environ["DOCKER_HOST"]] if os.environ.get("DOCKER_HOST") else []
    if engine in ("auto", "docker"):
        candidates.append(DOCKER_SOCKET)
    if engine in ("auto", "podman"):
        candidates.append(PODMAN_SOCKET)
        if runtime_dir := os.environ.get("XDG_RUNTIME_DIR"):
            candidates.append(f"unix://{runtime_dir}/podman/podman.sock")
    return list(dict.fromkeys(candidates))


async def connect_runtime(engine: Engine = "auto", url: str | None = None) -> ContainerRuntime:
    """Connect to the first engine that answers a ping.

    An explicit `url` is the only candidate, and is taken to be `engine` when that is not
    "auto". Otherwise the candidates are `candidate_urls(engine)`: a `unix://` one counts only
    when its socket file exists and the engine answering there is of the kind asked for (read
    from its version answer: `podman-docker` links `docker.sock` to Podman).

    Raises:
        EngineUnavailable: no candidate answered; the message lists every one tried, and why.
    """
    # Imported here: the docker SDK costs ~20 MB, paid only when an engine is wanted.
    from rivetr.adapters.runtime.docker import DockerRuntime

    kind = None if engine == "auto" else engine
    tried: list[str] = []
    for candidate in [url] if url else candidate_urls(engine):
        socket = candidate.removeprefix("unix://")
        if socket != candidate and not await anyio.Path(socket).exists():
            tried.append(f"{candidate} (no such socket)")
            continue
        runtime = DockerRuntime(candidate, kind=kind if url else None)
        try:
            info = await runtime.ping()
        except EngineUnavailable as exc:
            await runtime.close()
            tried.append(f"{candidate} ({_first_line(exc)})")
            continue
        if kind is not None and info.kind != kind:
            await runtime.close()
            tried.append(f"{candidate} (a {info.kind} engine, not {kind})")
            continue
        return runtime
    wanted = "container engine" if kind is None else f"{kind} engine"
    raise EngineUnavailable(f"no {wanted} reachable; tried: " + "; ".join(tried))


def _first_line(exc: Exception) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
