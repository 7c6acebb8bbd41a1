"""Reading the engine's answers: container inspections, version replies, build output."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from rivetr.adapters.runtime.base import ContainerInfo, ImageInfo


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


# Podman names images in full where Docker shortens them: the short form is the port's
_DEFAULT_PREFIXES = ("docker.io/library/", "docker.io/", "localhost/")


def short_ref(ref: str) -> str:
    """`docker.io/library/nginx:1` as `nginx:1`, `localhost/rivetr/app:x` as `rivetr/app:x`."""
    for prefix in _DEFAULT_PREFIXES:
        if ref.startswith(prefix):
            return ref[len(prefix) :]
    return ref


def container_info(attrs: dict[str, Any]) -> ContainerInfo:
    """A container inspection as the port's `ContainerInfo` (labels include the image's).

    A process that ended is "exited" on both engines, with its exit status. Ports count as
    published only while the container runs (or is paused): Podman keeps reporting a stopped
    container's bindings, Docker does not."""
    config = attrs.get("Config") or {}
    state = (attrs.get("State") or {}).get("Status", "unknown")
    if state == "stopped":  # Podman's word for a process that ended, until its cleanup ran
        state = "exited"
    published = (attrs.get("NetworkSettings") or {}).get("Ports") or {}
    if state not in ("running", "paused"):
        published = {}
    host_ports: dict[int, int] = {}
    for key, bindings in published.items():
        port, _, protocol = key.partition("/")
        host = next((b.get("HostPort") for b in bindings or [] if b.get("HostPort")), None)
        if protocol == "tcp" and host:
            host_ports[int(port)] = int(host)
    exit_code = (attrs.get("State") or {}).get("ExitCode")
    return ContainerInfo(
        id=attrs["Id"],
        name=str(attrs.get("Name", "")).lstrip("/"),
        image=short_ref(config.get("Image", "")),
        labels=config.get("Labels") or {},
        state=state,
        host_ports=host_ports,
        # both engines say 0 before the process ran: only an ended one has an exit status
        exit_code=int(exit_code) if state in ("exited", "dead") and exit_code is not None else None,
    )


def exposed_tcp_ports(exposed: dict[str, Any] | None) -> list[int]:
    """An image's `Config.ExposedPorts` (`{"8080/tcp": {}}`; null when none) as its TCP ports,
    sorted: Docker and Podman say it alike."""
    found = set()
    for key in exposed or {}:
        port, _, protocol = str(key).partition("/")
        if protocol in ("", "tcp") and port.isdigit():
            found.add(int(port))
    return sorted(found)


def image_info(summary: dict[str, Any]) -> ImageInfo:
    """An entry of the engine's image list (`GET /images/json`) as the port's `ImageInfo`."""
    tags = [short_ref(t) for t in summary.get("RepoTags") or [] if t != "<none>:<none>"]
    return ImageInfo(id=summary["Id"], tags=tags, labels=summary.get("Labels") or {})


def engine_kind(version: dict[str, Any]) -> Literal["docker", "podman"]:
    """Which engine sent this `GET /version` answer."""
    # Podman's compat API names its first component "Podman Engine"; Docker's is "Engine".
    names = [str(c.get("Name", "")) for c in version.get("Components") or []]
    names.append(str((version.get("Platform") or {}).get("Name", "")))
    return "podman" if any("podman" in name.lower() for name in names) else "docker"


def vanished(status_code: int | None, explanation: str) -> bool:
    """Whether an error answer says the container is gone (removed since it was listed):
    Docker answers 404; Podman 4.3 answers 500, "... does not exist in database: no such
    container", when it goes between its list and its inspection."""
    return status_code == 404 or (status_code == 500 and "no such container" in explanation)


def split_ref(ref: str) -> tuple[str, str]:
    """`name:tag` as (name, tag); `latest` when there is no tag."""
    repository, sep, tag = ref.rpartition(":")
    if sep and "/" not in tag:  # not the port of a registry host: `localhost:5000/app`
        return repository, tag
    return ref, "latest"
