"""Each way a compose service can reach past its container into the host, and what it takes
to allow it: privileges, capabilities, devices, the host's namespaces, loosened confinement,
kernel settings, binds, low host ports, labels that would make it pass for Rivetr's own."""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from typing import Final

from rivetr.domain.compose.allowances import Allowances, Namespace
from rivetr.domain.compose.host_paths import allowed, in_the_stack, never
from rivetr.domain.compose.refusals import Collected
from rivetr.domain.compose.service import Service
from rivetr.domain.compose.where import DataPath

ASK: Final = "an instance admin can allow it for this team"
RESERVED_LABELS: Final = "rivetr."  # what marks Rivetr's own containers, networks, volumes
_NAMESPACES: Final[dict[str, Namespace]] = {
    "network_mode": "network",
    "pid": "pid",
    "ipc": "ipc",
    "uts": "uts",
    "cgroup": "cgroup",
    "userns_mode": "userns",
}
# the kernel settings a container has its own copy of (the rest are the host's)
_NAMESPACED_SYSCTLS: Final = ("net.", "kernel.shm", "kernel.msg", "fs.mqueue.")
_NETWORK_SHARES: Final = frozenset({"nfs", "nfs4", "cifs", "smb", "smb3", "ceph", "glusterfs"})


def service_escapes(
    service: Service, at: DataPath, allowances: Allowances, data_dir: str, found: Collected
) -> None:
    """Refuses, into `found`, what `service` asks of the host beyond `allowances`."""
    if service.privileged and not allowances.privileged:
        found.refuse(
            f"a privileged container holds the host's devices and powers; {ASK}",
            (*at, "privileged"),
        )
    if service.use_api_socket:
        found.refuse(
            "the container engine's API is never given to a stack", (*at, "use_api_socket")
        )
    for index, capability in enumerate(service.cap_add):
        if not _capability_allowed(capability, allowances.cap_add):
            found.refuse(
                f"the capability {capability} reaches past the container; {ASK}",
                (*at, "cap_add", index),
            )
    _devices(service, at, allowances, found)
    for key, namespace in _NAMESPACES.items():
        mode = getattr(service, key) or ""
        if (mode == "host" or mode.startswith("container:")) and (
            namespace not in allowances.host_namespaces
        ):
            found.refuse(f"{key}: {mode} shares a namespace outside the stack; {ASK}", (*at, key))
    for index, option in enumerate(service.security_opt):
        if _loosens(option) and not allowances.unconfined:
            found.refuse(
                f"{option!r} loosens the container's confinement; {ASK}",
                (*at, "security_opt", index),
            )
    for key in service.sysctls:
        if not (key.startswith(_NAMESPACED_SYSCTLS) or key == "kernel.sem"):
            found.refuse(
                f"{key} is the host's kernel setting, not the container's", (*at, "sysctls", key)
            )
    for index, mount in enumerate(service.volumes):
        if mount.type == "bind" and not _host_clock(mount.source, mount.read_only):
            bind(mount.source or "", (*at, "volumes", index), allowances, data_dir, found)
        if mount.volume is not None:
            labels(mount.volume.labels, (*at, "volumes", index, "volume", "labels"), found)
    for index, port in enumerate(service.ports):
        low = int((port.published or "0").partition("-")[0])
        if 0 < low < 1024 and not allowances.low_ports:
            found.refuse(f"host port {low} is below 1024; {ASK}", (*at, "ports", index))
    labels(service.labels, (*at, "labels"), found)
    if service.deploy is not None:
        labels(service.deploy.labels, (*at, "deploy", "labels"), found)
    _build(service, at, allowances, found)


_CLOCK_FILES = ("/etc/localtime", "/etc/timezone")


def bind(
    source: str, at: DataPath, allowances: Allowances, data_dir: str, found: Collected
) -> None:
    """A host path mounted into a container: inside the stack, or under an allowed prefix and
    none of the places no stack reaches."""
    if not source:
        found.refuse("a bind names no host path", at)
    elif in_the_stack(source) is not None:
        return
    elif not source.startswith("/"):
        found.refuse(f"{source!r} is outside the stack's root", at)
    elif (why := never(source, data_dir)) is not None:
        found.refuse(f"{source} is never mounted into a stack: {why}", at)
    elif not allowed(source, allowances.bind_prefixes):
        found.refuse(f"{source} is a host path outside the stack; {ASK}", at)


def _host_clock(source: str | None, read_only: bool) -> bool:
    """`/etc/localtime` or `/etc/timezone` bound read-only: how many official compose files
    (Gitea's, Home Assistant's...) give a container the host's time zone. It tells no more
    than a clock, so it needs no allowance; anything else under `/etc`, or these writable,
    stays refused."""
    return read_only and source in _CLOCK_FILES


def labels(given: Mapping[str, str], at: DataPath, found: Collected) -> None:
    for key in given:
        if key.lower().startswith(RESERVED_LABELS):
            found.refuse(f"labels starting {RESERVED_LABELS} are Rivetr's own", (*at, key))


def stack_file(path: str | None, at: DataPath, found: Collected) -> None:
    """A secret's or config's file is one of the stack's."""
    if path is not None and in_the_stack(path) is None:
        found.refuse(f"{path!r} is not a file of the stack", at)


def volume_options(
    options: Mapping[str, str],
    at: DataPath,
    allowances: Allowances,
    data_dir: str,
    found: Collected,
) -> None:
    """A named volume's `driver_opts`: a tmpfs, or a bind weighed as one; never a device or
    a network share."""
    if not options:
        return
    kind = options.get("type", "").lower()
    mount_options = {part.partition("=")[0] for part in options.get("o", "").split(",")}
    device = options.get("device", "")
    if mount_options & {"bind", "rbind"}:
        bind(device, (*at, "driver_opts", "device"), allowances, data_dir, found)
    elif kind in _NETWORK_SHARES or "addr" in mount_options:
        found.refuse("a volume may not mount a network share", (*at, "driver_opts"))
    elif kind != "tmpfs" or device not in ("", "tmpfs"):
        found.refuse("a volume may not mount a device or another filesystem", (*at, "driver_opts"))


def _capability_allowed(capability: str, allowed_ones: frozenset[str]) -> bool:
    name = capability.upper().removeprefix("CAP_")
    return "ALL" in allowed_ones or (name != "ALL" and name in allowed_ones)


def _devices(service: Service, at: DataPath, allowances: Allowances, found: Collected) -> None:
    if allowances.devices:
        return
    asked: list[DataPath] = [(*at, "devices", index) for index in range(len(service.devices))]
    asked += [(*at, "device_cgroup_rules", i) for i in range(len(service.device_cgroup_rules))]
    if service.gpus:
        asked.append((*at, "gpus"))
    resources = service.deploy.resources if service.deploy else None
    if resources and resources.reservations and resources.reservations.devices:
        asked.append((*at, "deploy", "resources", "reservations", "devices"))
    for path in asked:
        found.refuse(f"the host's devices are not a stack's; {ASK}", path)


def _loosens(option: str) -> bool:
    """A `security_opt` that may loosen confinement (one not known to keep it is counted)."""
    key, _, value = option.partition("=") if "=" in option else option.partition(":")
    key, value = key.strip().lower(), value.strip()
    match key:
        case "no-new-privileges":
            return value.lower() == "false"
        case "label":
            return value.partition(":")[0].lower() != "level"  # a type or user may be spc_t
        case "apparmor":
            return value != "docker-default"
        case "mask":
            return False
        case _:  # seccomp (any profile but the engine's), systempaths, unmask, the unknown
            return True


def _build(service: Service, at: DataPath, allowances: Allowances, found: Collected) -> None:
    build = service.build
    if build is None:
        return
    at = (*at, "build")
    context = in_the_stack(build.context)
    if context is None:
        found.refuse(f"the build context {build.context!r} is outside the stack", (*at, "context"))
    elif build.dockerfile and in_the_stack(posixpath.join(context, build.dockerfile)) is None:
        found.refuse(
            f"the Dockerfile {build.dockerfile!r} is outside the stack", (*at, "dockerfile")
        )
    if build.network == "host":
        found.refuse("a build never runs on the host's network", (*at, "network"))
    if build.entitlements:
        found.refuse("a build is never granted entitlements", (*at, "entitlements"))
    if build.privileged and not allowances.privileged:
        found.refuse(f"a privileged build holds the host's powers; {ASK}", (*at, "privileged"))
    labels(build.labels, (*at, "labels"), found)
