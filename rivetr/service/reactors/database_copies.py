"""Putting a backup into a database server: into a throwaway copy of a database (a container
of the same image on a volume of its own, no network, no public port) to verify a backup,
or into the database itself to restore one. Each kind says how (`restore_mode`): streamed
into the running server's client, or written as the data file before the server starts."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterable

from rivetr.adapters.clock import Clock
from rivetr.adapters.runtime.base import (
    MANAGED_LABEL,
    ContainerError,
    ContainerRuntime,
    ContainerSpec,
    EngineUnavailable,
)
from rivetr.adapters.runtime.execution import ExecFailed
from rivetr.domain.database_kinds import Credentials, DatabaseKind
from rivetr.domain.databases import DatabaseState
from rivetr.service.reactors.database_containers import (
    DATABASE_LABEL,
    credentials,
    image_of,
    kind_of,
    spec,
    wait_healthy,
)
from rivetr.service.reactors.database_keeper import DatabaseKeeper

log = logging.getLogger(__name__)

_CHECK_TIMEOUT_S = 600.0  # counting every row of every table of a large database takes a while
_IDLE = ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"]


async def run_check(
    runtime: ContainerRuntime, container: str, kind: DatabaseKind, creds: Credentials
) -> dict[str, int]:
    """The kind's counts, as the server in `container` answers them now.

    Raises:
        ExecFailed: the check command failed; ValueError: its output was not counts.
    """
    check = kind.check(creds)
    result = await runtime.exec_run(
        container, list(check.argv), env=dict(check.env), timeout_s=_CHECK_TIMEOUT_S
    )
    if result.exit_code != 0:
        raise ExecFailed(result.exit_code, result.stderr_tail)
    return kind.parse_check(result.stdout_tail)


async def feed(
    runtime: ContainerRuntime,
    container: str,
    kind: DatabaseKind,
    creds: Credentials,
    chunks: AsyncIterable[bytes],
) -> None:
    """Stream a backup into the kind's restore command in `container`.

    Raises:
        ExecFailed: the restore command failed (its stderr says why).
    """
    command = kind.restore(creds)
    result = await runtime.exec_input(container, list(command.argv), chunks, env=dict(command.env))
    if result.exit_code != 0:
        raise ExecFailed(result.exit_code, result.stderr_tail or result.stdout_tail)


async def place_file(
    runtime: ContainerRuntime,
    name: str,
    image: str,
    volume: str,
    kind: DatabaseKind,
    creds: Credentials,
    chunks: AsyncIterable[bytes],
    labels: dict[str, str],
) -> None:
    """Write a backup as the data file into `volume`, from a one-off container of `image`
    that mounts it (the server is not running on it)."""
    await runtime.run_container(
        ContainerSpec(
            name=name,
            image=image,
            labels={MANAGED_LABEL: "true", **labels},
            command=_IDLE,
            volumes={volume: kind.data_dir},
            restart_policy="no",
        )
    )
    try:
        await feed(runtime, name, kind, creds, chunks)
    finally:
        await _gone(runtime, name)


class ThrowawayCopy:
    """A copy of a database's server made from a backup, to be checked and removed."""

    def __init__(
        self,
        runtime: ContainerRuntime,
        database: DatabaseState,
        keeper: DatabaseKeeper,
        clock: Clock,
        suffix: str,
    ) -> None:
        self.runtime = runtime
        self.database = database
        self.kind = kind_of(database)
        self.creds = credentials(keeper.secrets, database)
        self.images = keeper.images
        self.clock = clock
        self.name = f"rivetr-db-{database.database_id}-{suffix}"
        self.labels = {DATABASE_LABEL: database.database_id, "rivetr.throwaway": "true"}

    async def restore(self, chunks: AsyncIterable[bytes], *, image: str, timeout_s: float) -> None:
        """Start the copy with the backup in it, healthy.

        Raises:
            ExecFailed, NotHealthy, ContainerError: it could not be restored or come up.
        """
        await self.runtime.create_volume(self.name, {MANAGED_LABEL: "true", **self.labels})
        server = spec(
            self.database,
            self.creds,
            self.images,
            name=self.name,
            volume=self.name,
            image=image,
            public=False,
            network=False,
            labels=self.labels,
        )
        if self.kind.restore_mode == "file_before_start":
            await place_file(
                self.runtime,
                f"{self.name}-load",
                image_of(self.database, self.images, image),
                self.name,
                self.kind,
                self.creds,
                chunks,
                self.labels,
            )
            await self.runtime.run_container(server)
            await wait_healthy(self.runtime, self.name, self.clock, timeout_s)
            return
        await self.runtime.run_container(server)
        await wait_healthy(self.runtime, self.name, self.clock, timeout_s)
        await feed(self.runtime, self.name, self.kind, self.creds, chunks)

    async def check(self) -> dict[str, int]:
        return await run_check(self.runtime, self.name, self.kind, self.creds)

    async def remove(self) -> None:
        """Remove the copy's containers and volume, whatever state they are in."""
        for name in (f"{self.name}-load", self.name):
            await _gone(self.runtime, name)
        try:
            await self.runtime.remove_volume(self.name)
        except (ContainerError, EngineUnavailable) as exc:
            log.warning("could not remove the throwaway volume %s: %s", self.name, exc)


async def _gone(runtime: ContainerRuntime, name: str) -> None:
    try:
        if await runtime.inspect_container(name) is not None:
            await runtime.remove_container(name, force=True)
    except (ContainerError, EngineUnavailable) as exc:
        log.warning("could not remove the container %s: %s", name, exc)
