"""Named volumes, networks and engine health checks over the `docker` SDK, for Docker and Podman.

What managed databases need besides running a container: data that outlives it, a network on
which apps reach it by name, and the engine's own view of its health.
"""

from __future__ import annotations

import time
import uuid
from contextlib import suppress
from typing import Any

import docker  # type: ignore[import-untyped]
import docker.errors  # type: ignore[import-untyped]

from rivetr.adapters.runtime.base import ContainerError, Health, VolumeInfo
from rivetr.adapters.runtime.docker_engine import DockerEngine

COPY_LABEL = "rivetr.volume-copy"  # on the short-lived container of `copy_volume`
_DEFAULT_INTERVAL_S = 30.0  # the engines' own, for a check that sets none
_CHECKED_KEPT = 1024

_HEALTH: dict[str, Health] = {
    "starting": "starting",
    "healthy": "healthy",
    "unhealthy": "unhealthy",
}


class DockerResources(DockerEngine):
    """Volumes, networks and health checks of one engine (see `ContainerRuntime`)."""

    async def create_volume(self, name: str, labels: dict[str, str]) -> VolumeInfo:
        def create(client: docker.DockerClient) -> VolumeInfo:
            try:
                return _volume_info(client.api.inspect_volume(name))
            except docker.errors.NotFound:
                pass
            try:
                return _volume_info(client.api.create_volume(name, labels=dict(labels)))
            except docker.errors.APIError as exc:
                if exc.status_code != 409:  # Podman: made by another caller meanwhile
                    raise
                return _volume_info(client.api.inspect_volume(name))

        return await self._run(f"create volume {name}", create)

    async def volume_exists(self, name: str) -> bool:
        def exists(client: docker.DockerClient) -> bool:
            try:
                client.api.inspect_volume(name)
            except docker.errors.NotFound:
                return False
            return True

        return await self._run(f"inspect volume {name}", exists)

    async def remove_volume(self, name: str) -> None:
        def remove(client: docker.DockerClient) -> None:
            with suppress(docker.errors.NotFound):
                client.api.remove_volume(name)

        await self._run(f"remove volume {name}", remove)

    async def list_volumes(self, labels: dict[str, str]) -> list[VolumeInfo]:
        filters = {"label": [f"{key}={value}" for key, value in labels.items()]}

        def list_(client: docker.DockerClient) -> list[VolumeInfo]:
            found = [_volume_info(v) for v in client.api.volumes(filters=filters)["Volumes"] or []]
            # checked here too: a filter naming two labels is where engines have differed
            mine = [v for v in found if all(v.labels.get(k) == w for k, w in labels.items())]
            return sorted(mine, key=lambda volume: volume.name)

        return await self._run("list volumes", list_)

    async def copy_volume(self, source: str, target: str, image: str) -> None:
        name = f"rivetr-volume-copy-{uuid.uuid4().hex[:12]}"

        def copy(client: docker.DockerClient) -> None:
            try:
                client.api.inspect_volume(source)
            except docker.errors.NotFound as exc:
                # Checked first: mounting a missing volume would make an empty one.
                raise ContainerError(f"copy volume {source}: no such volume") from exc
            host_config = client.api.create_host_config(
                binds={source: {"bind": "/from", "mode": "ro"}, target: {"bind": "/to"}}
            )
            client.api.create_container(
                image,
                ["sh", "-c", "cp -a /from/. /to/"],
                name=name,
                labels={COPY_LABEL: target},
                host_config=host_config,
            )
            try:
                client.api.start(name)
                code = int(client.api.wait(name, timeout=None)["StatusCode"])
                if code != 0:
                    said = client.api.logs(name, stdout=True, stderr=True, tail=20)
                    raise ContainerError(
                        f"copy volume {source} to {target}: cp exited {code}: "
                        + said.decode("utf-8", errors="replace").strip()
                    )
            finally:
                client.api.remove_container(name, force=True)

        await self._run(f"copy volume {source} to {target}", copy)

    async def create_network(self, name: str, labels: dict[str, str]) -> None:
        def create(client: docker.DockerClient) -> None:
            try:
                client.api.inspect_network(name)
                return
            except docker.errors.NotFound:
                pass
            try:
                client.api.create_network(name, driver="bridge", labels=dict(labels))
            except docker.errors.APIError as exc:
                if exc.status_code != 409:  # made by another caller meanwhile
                    raise

        await self._run(f"create network {name}", create)

    async def list_networks(self, labels: dict[str, str]) -> list[str]:
        filters = {"label": [f"{key}={value}" for key, value in labels.items()]}

        def list_(client: docker.DockerClient) -> list[str]:
            found = client.api.networks(filters=filters) or []
            # checked here too, as for volumes: engines have differed on two labels
            return sorted(
                str(n["Name"])
                for n in found
                if all((n.get("Labels") or {}).get(k) == v for k, v in labels.items())
            )

        return await self._run("list networks", list_)

    async def remove_network(self, name: str) -> None:
        def remove(client: docker.DockerClient) -> None:
            with suppress(docker.errors.NotFound):
                client.api.remove_network(name)

        await self._run(f"remove network {name}", remove)

    async def connect_network(self, container: str, network: str, aliases: list[str]) -> None:
        await self._run(
            f"connect {container} to {network}",
            lambda client: client.api.connect_container_to_network(
                container, network, aliases=list(aliases) or None
            ),
        )

    async def container_health(self, name_or_id: str) -> Health | None:
        def health(client: docker.DockerClient) -> Health | None:
            attrs = client.api.inspect_container(name_or_id)
            check = (attrs.get("Config") or {}).get("Healthcheck")
            if not check:
                return None
            running = (attrs.get("State") or {}).get("Status") == "running"
            if running and (self._engine_kind(client)) == "podman" and self._podman_due(attrs):
                # Podman 4.3 runs health checks from systemd timers, which a host without
                # systemd lacks: run the check now, through Podman's own API. Its answer is
                # this one run's; the state (failing streak against the retries, the start
                # period) is what the container's inspection says after it.
                url = f"{client.api.base_url}/v4.0.0/libpod/containers/{name_or_id}/healthcheck"
                if client.api.get(url).ok:
                    attrs = client.api.inspect_container(name_or_id)
            state = (attrs.get("State") or {}).get("Health") or {}
            return _HEALTH.get(str(state.get("Status", "")).lower(), "starting")

        return await self._run(f"health of {name_or_id}", health)

    def _podman_due(self, attrs: dict[str, Any]) -> bool:
        """Whether the container's check is due, its interval after the last run here: a
        caller polling faster than the interval must not spend the retries (a database
        that takes 20 s to initialise, checked every second 60 times, would never make
        it if every 0.2 s poll ran a check)."""
        interval_ns = int((attrs["Config"]["Healthcheck"] or {}).get("Interval") or 0)
        interval_s = interval_ns / 1e9 if interval_ns > 0 else _DEFAULT_INTERVAL_S
        now = time.monotonic()
        last = self._podman_checked.get(attrs["Id"])
        if last is not None and now - last < interval_s:
            return False
        self._podman_checked[attrs["Id"]] = now
        if len(self._podman_checked) > _CHECKED_KEPT:  # containers come and go: forget the oldest
            del self._podman_checked[next(iter(self._podman_checked))]
        return True


def _volume_info(raw: dict[str, Any]) -> VolumeInfo:
    return VolumeInfo(name=str(raw["Name"]), labels=dict(raw.get("Labels") or {}))
