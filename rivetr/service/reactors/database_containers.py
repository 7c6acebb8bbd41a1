"""What a managed database is on the engine: its container, volume and network names, the
container's spec from its kind and opened credentials, and waiting for its engine health
check. Shared by the keeper (which runs databases) and the backup and restore workers (which
run throwaway copies of them)."""

from __future__ import annotations

from collections.abc import Mapping

from rivetr.adapters.clock import Clock
from rivetr.adapters.runtime.base import (
    MANAGED_LABEL,
    ContainerError,
    ContainerRuntime,
    ContainerSpec,
    EngineHealthcheck,
)
from rivetr.adapters.secrets import SecretBox
from rivetr.domain.database_kinds import KINDS, Credentials, DatabaseKind
from rivetr.domain.databases import DatabaseState
from rivetr.service.commands.databases import password_context

DATABASE_LABEL = "rivetr.database"
_HEALTH_POLL_S = 1.0
_LOG_LINES = 20  # of a container that did not come up, in the failure's reason


class NotHealthy(Exception):
    """A database container did not pass its health check in time, or stopped."""


def container_name(database_id: str) -> str:
    return f"rivetr-db-{database_id}"


def volume_name(database_id: str) -> str:
    return f"rivetr-db-{database_id}"


def network_name(team: str, project: str, environment: str) -> str:
    """The environment's own network: its apps and databases reach each other by name there.
    Dots are in no slug, so no two environments share one."""
    return f"rivetr.{team}.{project}.{environment}"


def kind_of(state: DatabaseState) -> DatabaseKind:
    return KINDS[state.kind]


def credentials(secrets: SecretBox, state: DatabaseState, *, pending: bool = False) -> Credentials:
    """The database's credentials, opened; with `pending`, the password asked for and not yet
    set on the server."""
    sealed = state.pending_password if pending and state.pending_password else state.password
    root = ""
    if state.root_password:
        root = secrets.open(
            password_context(state.database_id, "root_password"), state.root_password
        )
    return Credentials(
        user=state.user,
        password=secrets.open(password_context(state.database_id), sealed),
        database=state.database,
        root_password=root,
    )


def image_of(state: DatabaseState, images: Mapping[str, str], image: str | None = None) -> str:
    """The image to run: the database's (or `image`), through the instance's image map (a
    host with a private mirror maps `postgres:16-alpine` to its own copy)."""
    wanted = image or state.image
    return images.get(wanted, wanted)


def spec(
    state: DatabaseState,
    creds: Credentials,
    images: Mapping[str, str],
    *,
    name: str | None = None,
    volume: str | None = None,
    image: str | None = None,
    public: bool = True,
    network: bool = True,
    labels: Mapping[str, str] | None = None,
) -> ContainerSpec:
    """The container of `state`'s server (or, with `name` and `volume`, a throwaway copy of
    it: no public port, no network, its own volume)."""
    kind = kind_of(state)
    check = kind.health_check(creds)
    ports: dict[int, int | None] = {}
    if public and state.public_port is not None:
        ports = {state.port: state.public_port}
    return ContainerSpec(
        name=name or container_name(state.database_id),
        image=image_of(state, images, image),
        labels={MANAGED_LABEL: "true", DATABASE_LABEL: state.database_id, **(labels or {})},
        env=kind.container_env(creds),
        command=list(kind.command(creds)) or None,
        ports=ports,
        bind_address=state.bind_address,
        volumes={volume or volume_name(state.database_id): kind.data_dir},
        network=network_name(state.team, state.project, state.environment) if network else None,
        aliases=[state.name] if network else [],
        healthcheck=EngineHealthcheck(
            # its variables (a password) are its own: in the container's environment they would
            # reach the image's start script too (MYSQL_PWD breaks MariaDB's first start)
            test=["env", *(f"{k}={v}" for k, v in check.env.items()), *check.argv],
            interval_s=2.0,
            timeout_s=10.0,
            retries=5,
            start_period_s=5.0,
        ),
        memory_bytes=state.resources.memory_mb * 1024 * 1024,
        nano_cpus=int(state.resources.cpus * 1_000_000_000),
        restart_policy="unless-stopped" if public else "no",
    )


async def wait_healthy(
    runtime: ContainerRuntime, name: str, clock: Clock, timeout_s: float
) -> None:
    """Wait for the container's engine health check to pass.

    Raises:
        NotHealthy: it stopped, or is still not healthy after `timeout_s`, with the end of
            its output.
    """
    deadline = clock.monotonic() + timeout_s
    last = None
    while clock.monotonic() < deadline:
        info = await runtime.inspect_container(name)
        if info is None or info.state not in ("running", "created", "restarting"):
            state = "gone" if info is None else info.state
            raise NotHealthy(
                f"the container {state} before it was healthy{await _tail(runtime, name)}"
            )
        last = await runtime.container_health(name)
        if last == "healthy":
            return
        await clock.sleep(_HEALTH_POLL_S)
    raise NotHealthy(
        f"not healthy after {timeout_s:.0f} s (health: {last}){await _tail(runtime, name)}"
    )


async def _tail(runtime: ContainerRuntime, name: str) -> str:
    try:
        output = (await runtime.container_logs(name, tail=_LOG_LINES)).strip()
    except ContainerError:
        return ""
    return f"; its last output: {output[-1500:]}" if output else ""
