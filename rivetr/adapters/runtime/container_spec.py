"""What a container is asked to be: `ContainerSpec` and its parts (mounts, published ports, the
engine's health check), as every runtime takes them.

Every field a compose service can set and Rivetr honours has a place here; what would let a
container out (privileged mode, added capabilities, devices, host namespaces) has none.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Literal

import msgspec

DEFAULT_STOP_GRACE_S = 10.0  # what a stop waits before SIGKILL when neither side says


class EngineHealthcheck(msgspec.Struct, frozen=True, kw_only=True):
    """A health check the engine runs inside the container (Docker's HEALTHCHECK)."""

    # the command's argv, run without a shell; with `shell`, one line run by `/bin/sh -c`
    # (compose's CMD-SHELL), with the container's environment
    test: list[str]
    interval_s: float = 30.0
    timeout_s: float = 30.0
    retries: int = 3  # failures in a row that make the container unhealthy
    start_period_s: float = 0.0  # failures this soon after the start do not count
    shell: bool = False
    # how often to check during the start period; only engines that take it (Docker, API 1.44
    # and later) are given it, the others check at `interval_s` throughout
    start_interval_s: float | None = None


class Mount(msgspec.Struct, frozen=True, kw_only=True):
    """One file system mounted into the container at `target`.

    A `volume` is the named volume `source`, made when missing; a `bind` is the host path
    `source`, absolute and existing, which the caller has vetted (the adapter checks only
    that); a `tmpfs` has no source (leave it "") and may be given a size and a mode.
    """

    type: Literal["volume", "bind", "tmpfs"]
    source: str
    target: str
    read_only: bool = False
    tmpfs_size_bytes: int | None = None
    tmpfs_mode: int | None = None  # e.g. 0o1777


class PublishedPort(msgspec.Struct, frozen=True, kw_only=True):
    """A container port published on the host: `published` on `host_ip`, or (None) a free port
    the engine chooses there."""

    target: int
    published: int | None
    host_ip: str = "127.0.0.1"  # "0.0.0.0": every host address
    protocol: Literal["tcp", "udp"] = "tcp"


class ContainerSpec(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    image: str
    labels: dict[str, str] = {}
    env: dict[str, str] = {}
    command: list[str] | None = None
    entrypoint: list[str] | None = None  # None: the image's; []: none (then give a `command`)
    # container port -> host port; None asks the engine for a free port on `bind_address`
    ports: dict[int, int | None] = {}
    bind_address: str = "127.0.0.1"  # "0.0.0.0": every host address (a database's public port)
    published: list[PublishedPort] = []  # more ports: UDP too, each on an address of its own
    volumes: dict[str, str] = {}  # named volume -> mount path; a missing volume is made
    mounts: list[Mount] = []
    tmpfs: dict[str, str] = {}  # mount path -> mount options, e.g. "size=64m,mode=1777"
    network: str | None = None  # a network made with `create_network`; None: the default
    aliases: list[str] = []  # names other containers on `network` reach this one by
    # more networks made with `create_network`, each with this container's aliases there:
    # joined before the process starts
    extra_networks: dict[str, list[str]] = {}
    hostname: str | None = None
    extra_hosts: dict[str, str] = {}  # host name -> address, in /etc/hosts
    dns: list[str] = []  # name servers; names on the container's networks still resolve
    dns_search: list[str] = []
    healthcheck: EngineHealthcheck | None = None
    user: str | None = None  # "uid", "uid:gid" or a name the image knows; None: the image's
    working_dir: str | None = None  # made when the image lacks it
    group_add: list[str] = []  # more groups for the process, by id or name
    read_only: bool = False  # the root file system; mounts and tmpfs stay as they are
    cap_drop: list[str] = []  # capabilities taken from the engine's default set
    memory_bytes: int | None = 512 * 1024 * 1024
    nano_cpus: int | None = 1_000_000_000
    pids_limit: int | None = None
    shm_size_bytes: int | None = None  # /dev/shm; None: the engine's (64 MB)
    ulimits: dict[str, tuple[int, int]] = {}  # e.g. "nofile" -> (soft, hard); others as default
    sysctls: dict[str, str] = {}  # namespaced ones only (net.*, kernel.shm*...)
    restart_policy: Literal["no", "on-failure", "unless-stopped", "always"] = "unless-stopped"
    stop_signal: str | None = None  # e.g. "SIGQUIT"; None: the image's, else SIGTERM
    # how long a stop given no timeout waits before SIGKILL; None: DEFAULT_STOP_GRACE_S
    stop_grace_s: float | None = None


def spec_problems(spec: ContainerSpec) -> list[str]:
    """What is wrong with `spec`, one message each, for a runtime to refuse it before it makes
    anything: a network given twice, a shell health check that is not one line, or a bind
    mount whose source is not an absolute path, has `..` in it, or does not exist (Docker
    refuses a missing one, Podman would make it: refused on both). Looks at the local file
    system, where the caller's checkout is."""
    problems = []
    if spec.network is not None and spec.network in spec.extra_networks:
        problems.append(f"network {spec.network} given twice")
    if spec.healthcheck is not None and spec.healthcheck.shell and len(spec.healthcheck.test) != 1:
        problems.append("a shell health check is one command line")
    for mount in spec.mounts:
        if mount.type != "bind":
            continue
        source = PurePosixPath(mount.source)
        if not source.is_absolute() or ".." in source.parts:
            problems.append(f"bind mount source {mount.source!r} is not an absolute path")
        elif not Path(mount.source).exists():
            problems.append(f"bind mount source {mount.source} does not exist")
    return problems
