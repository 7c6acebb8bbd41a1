"""Reading the engine's answers: container inspections, version replies, build output."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from rivetr.adapters.runtime.base import ContainerInfo


class BuildLines:
    """Reassembles build output into lines: the engine splits and joins them freely."""

    def __init__(self, on_output: Callable[[str], None] | None) -> None:
        self._on_output = on_output
        self._pending = ""
        self._lines: list[str] = []

    def feed(self, text: str) -> None:
        *complete, self._pending = (self._pending + text).split("\n")
        for line in complete:
            self._emit(line)

    def flush(self) -> None:
        if self._pending:
            self._emit(self._pending)
            self._pending = ""

    def text(self) -> str:
        return "".join(f"{line}\n" for line in self._lines)

    def _emit(self, line: str) -> None:
        line = line.rstrip("\r")
        self._lines.append(line)
        if self._on_output is not None:
            self._on_output(line)


def container_info(attrs: dict[str, Any]) -> ContainerInfo:
    """A container inspection as the port's `ContainerInfo` (labels include the image's)."""
    config = attrs.get("Config") or {}
    published = (attrs.get("NetworkSettings") or {}).get("Ports") or {}
    host_ports: dict[int, int] = {}
    for key, bindings in published.items():
        port, _, protocol = key.partition("/")
        host = next((b.get("HostPort") for b in bindings or [] if b.get("HostPort")), None)
        if protocol == "tcp" and host:
            host_ports[int(port)] = int(host)
    return ContainerInfo(
        id=attrs["Id"],
        name=str(attrs.get("Name", "")).lstrip("/"),
        image=config.get("Image", ""),
        labels=config.get("Labels") or {},
        state=(attrs.get("State") or {}).get("Status", "unknown"),
        host_ports=host_ports,
    )


def engine_kind(version: dict[str, Any]) -> Literal["docker", "podman"]:
    """Which engine sent this `GET /version` answer."""
    # Podman's compat API names its first component "Podman Engine"; Docker's is "Engine".
    names = [str(c.get("Name", "")) for c in version.get("Components") or []]
    names.append(str((version.get("Platform") or {}).get("Name", "")))
    return "podman" if any("podman" in name.lower() for name in names) else "docker"


def split_ref(ref: str) -> tuple[str, str]:
    """`name:tag` as (name, tag); `latest` when there is no tag."""
    repository, sep, tag = ref.rpartition(":")
    if sep and "/" not in tag:  # not the port of a registry host: `localhost:5000/app`
        return repository, tag
    return ref, "latest"
