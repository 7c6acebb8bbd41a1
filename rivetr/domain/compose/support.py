"""What of a compose project Rivetr runs. Each service becomes one container through the runtime
port, named and networked by Rivetr, so a key it cannot honour is refused before any container
starts, naming the key and its line, and a key it reads but does not act on is a warning: none
is dropped unseen. A key is refused unless a table here says otherwise, so an attribute the
Specification gains is refused until someone decides what Rivetr does with it.

What a key may ask of the host (`privileged`, `cap_add`, binds, `external`, ...) is
`policy.py`'s to weigh: here such keys are only marked as run.

Survey of the official compose files of popular self-hosted projects, and what they use beyond
image/environment/volumes/ports/restart (all run unless said):
    Gitea (docs): container_name (alias), networks, depends_on, /etc/timezone and
        /etc/localtime binds (refused by policy: /etc)
    Nextcloud (nextcloud/docker examples): env_file, entrypoint, `:z`/`:Z` on named volumes,
        127.0.0.1 host ports
    Immich: name, container_name, env_file, shm_size, healthcheck.disable, healthcheck string
    Plausible CE: ulimits, healthcheck start_period, a command string, service_healthy, bare
        environment names
    Umami: version, depends_on service_healthy, healthcheck
    Outline (docs): env_file, expose, links, a command list, healthcheck
    Mattermost (mattermost/docker): security_opt no-new-privileges, pids_limit, read_only,
        tmpfs, udp ports
    n8n (n8n-hosting): links, bare environment names, service_healthy, a bind of a script
    Uptime Kuma: hostname
    Vaultwarden (wiki): container_name
    Grafana (docs): user, container_name
    Ghost (ghost-docker): profiles, build (context, dockerfile), working_dir, tty, `restart:
        no`, service_completed_successfully, `required: false`, healthcheck start_interval
    Authentik: ulimits, `user: root`, env_file, the docker socket (refused by policy: never)
    Paperless-ngx: env_file, a command list"""

from __future__ import annotations

from typing import Any, Final

from rivetr.domain.compose.model import ComposeProject
from rivetr.domain.compose.refusals import Collected
from rivetr.domain.compose.weighing import (
    RUN,
    Ignored,
    Refused,
    Rules,
    Weigh,
    Weighing,
    each,
    nested,
    one_of,
    weigh,
)
from rivetr.domain.compose.where import DataPath, Where


def supported(project: ComposeProject, where: Where, *, servers: bool = False) -> tuple[str, ...]:
    """The warnings for what Rivetr reads but does not act on (`logging`, `container_name`).
    With `servers`, a service's copies, mode and placement are run too (`servers.py`).

    Raises:
        ComposeError: each key Rivetr does not run, naming it and its line (several at once
            as `ComposeRefusals`).
    """
    weighing = Weighing(Collected(where))
    weigh(project, _ON_SERVERS if servers else _PROJECT, (), weighing)
    weighing.found.raise_any()
    return weighing.warnings()


def _container_name(value: Any, path: DataPath, weighing: Weighing) -> None:
    weighing.warn(
        f"Rivetr names containers itself; {value!r} is kept as the service's network alias",
        path,
    )


def _restart(value: Any, path: DataPath, weighing: Weighing) -> None:
    policy, _, attempts = str(value).partition(":")
    if policy not in ("no", "always", "unless-stopped", "on-failure") or (
        attempts and (policy != "on-failure" or not attempts.isdigit())
    ):
        weighing.found.refuse(
            f"restart {value!r} is none of no, always, unless-stopped, on-failure[:N]", path
        )


def _health_test(value: Any, path: DataPath, weighing: Weighing) -> None:
    if not value or value[0] not in ("NONE", "CMD", "CMD-SHELL"):
        weighing.found.refuse("a health check test starts with NONE, CMD or CMD-SHELL", path)


def _replicas(value: Any, path: DataPath, weighing: Weighing) -> None:
    if value != 1:
        weighing.found.refuse(
            f"{value} replicas run on servers only: without them Rivetr runs one container per"
            " service (`rivetr servers init` makes this machine a swarm manager)",
            path,
        )


def _network_mode(value: Any, path: DataPath, weighing: Weighing) -> None:
    # host and container:<id> reach past the stack: `policy.py` weighs them
    if value not in ("none", "host") and not value.startswith(("service:", "container:")):
        weighing.found.refuse(
            f"network mode {value!r} is not run; Rivetr puts each service on the stack's network",
            path,
        )


def _content(kinds: tuple[str, ...], rules: Rules) -> Weigh:
    """Top-level secrets or configs, each with its content in the stack (or external, which
    `policy.py` weighs)."""

    def check(value: Any, path: DataPath, weighing: Weighing) -> None:
        for name, part in value.items():
            if not part.external and not any(getattr(part, kind) for kind in kinds):
                weighing.found.refuse(
                    f"has no content: give one of {', '.join(kinds)}", (*path, name)
                )
        each(rules)(value, path, weighing)

    return check


def _keys(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_IGNORED_NAME: Final = Ignored("Rivetr names it itself, within the stack; `name` is ignored")
_BUILD: Final[Rules] = dict.fromkeys(
    ("context", "dockerfile", "dockerfile_inline", "args", "target", "labels", "privileged"), RUN
)
_HEALTHCHECK: Final[Rules] = {
    "test": _health_test,
    **dict.fromkeys(("interval", "timeout", "retries", "start_period", "start_interval"), RUN),
    "disable": RUN,
}
_MOUNT: Final[Rules] = {
    "type": one_of("bind", "volume", "tmpfs", reason="Rivetr does not mount {value} volumes"),
    "source": RUN,
    "target": RUN,
    "read_only": RUN,
    "consistency": RUN,  # Linux engines ignore it
    "bind": nested({"create_host_path": RUN, "selinux": RUN}),
    "volume": nested({"nocopy": RUN, "labels": RUN}),
    "tmpfs": nested({"size": RUN, "mode": RUN}),
}
_REFERENCE: Final[Rules] = {"source": RUN, "target": RUN, "mode": RUN}
_RESOURCES: Final[Rules] = {
    "limits": nested({"cpus": RUN, "memory": RUN, "pids": RUN}),
    "reservations": nested({"cpus": RUN, "memory": RUN}),  # recorded, not reserved
}
_DEPLOY: Final[Rules] = {
    "mode": one_of(
        "replicated",
        reason="a {value} service runs on servers only (`rivetr servers init` makes them)",
    ),
    "replicas": _replicas,
    "resources": nested(_RESOURCES),
    "restart_policy": nested(
        {
            "condition": one_of("none", "on-failure", "any", reason="no restart condition {value}"),
            **dict.fromkeys(("delay", "max_attempts", "window"), RUN),
        }
    ),
    "labels": Ignored("deploy.labels label a Swarm service, which Rivetr does not run"),
    "endpoint_mode": Ignored("Rivetr reaches services by name; endpoint_mode is ignored"),
    "update_config": Ignored("Rivetr rolls a stack out itself, health-gated; ignored"),
    "rollback_config": Ignored("Rivetr rolls a failed stack back as a whole; ignored"),
    "placement": Refused(
        "placement runs on servers only: without them a stack runs on this machine"
        " (`rivetr servers init` makes this machine a swarm manager)"
    ),
}
_POLICY: Final = _keys(  # run, and weighed by the security policy
    "privileged cap_add devices device_cgroup_rules security_opt pid ipc uts cgroup "
    "userns_mode use_api_socket"
)
_SERVICE: Final[Rules] = {
    **dict.fromkeys(
        _keys(
            "image command entrypoint environment depends_on ports expose tmpfs links hostname "
            "domainname dns dns_opt dns_search extra_hosts labels user group_add working_dir "
            "init read_only stdin_open tty stop_signal stop_grace_period ulimits sysctls "
            "shm_size platform profiles pull_policy cpus mem_limit mem_reservation pids_limit "
            "cap_drop extensions"
        ),
        RUN,
    ),
    **dict.fromkeys(_POLICY, RUN),
    "build": nested(_BUILD),
    "healthcheck": nested(_HEALTHCHECK),
    "volumes": each(_MOUNT),
    "networks": each({"aliases": RUN}),
    "network_mode": _network_mode,
    "restart": _restart,
    "deploy": nested(_DEPLOY),
    "scale": _replicas,
    "container_name": _container_name,
    "secrets": each(_REFERENCE),
    "configs": each(_REFERENCE),
    "logging": Ignored("Rivetr keeps each service's logs itself; the logging driver is ignored"),
    "develop": Ignored("`develop` is for `docker compose watch`; Rivetr ignores it"),
    "attach": Ignored("Rivetr keeps every service's logs; `attach` is ignored"),
    "volumes_from": Refused("Rivetr does not run volumes_from; share a named volume instead"),
    "external_links": Refused("Rivetr does not link to containers outside the stack"),
    "env_file": Refused("env_file is read into `environment` before a stack is weighed"),
    "label_file": Refused("Rivetr does not read label files; write them under `labels`"),
    "extends": Refused("extends is resolved before a stack is weighed"),
}
_NETWORK: Final[Rules] = {
    "driver": one_of("bridge", reason="Rivetr makes bridge networks, not {value}"),
    "internal": RUN,
    "labels": RUN,
    "external": RUN,
    "name": _IGNORED_NAME,
    "extensions": RUN,
}
_VOLUME: Final[Rules] = {
    "driver": one_of("local", reason="Rivetr makes local volumes, not {value}"),
    "driver_opts": RUN,
    "labels": RUN,
    "external": RUN,
    "name": _IGNORED_NAME,
    "extensions": RUN,
}
_SECRET: Final[Rules] = {
    **dict.fromkeys(("file", "environment", "external", "labels", "extensions"), RUN),
    "name": _IGNORED_NAME,
}
_CONFIG: Final[Rules] = {**_SECRET, "content": RUN}
_PROJECT: Final[Rules] = {
    "services": each(_SERVICE),
    "networks": each(_NETWORK),
    "volumes": each(_VOLUME),
    "secrets": _content(("file", "environment"), _SECRET),
    "configs": _content(("file", "content", "environment"), _CONFIG),
    "models": Refused("Rivetr does not run models"),
    "include": Refused("include is resolved before a stack is weighed"),
    **dict.fromkeys(("name", "version", "extensions"), RUN),
}

# with servers: copies, global services and placement are Swarm's, which runs them
_DEPLOY_ON_SERVERS: Final[Rules] = {
    **_DEPLOY,
    "mode": one_of(
        "replicated", "global", reason="Rivetr runs services replicated or global, not {value}"
    ),
    "replicas": RUN,
    "placement": nested(
        {
            "constraints": RUN,
            "preferences": each({"spread": RUN}),
            "max_replicas_per_node": RUN,
        }
    ),
}
_SERVICE_ON_SERVERS: Final[Rules] = {
    **_SERVICE,
    "deploy": nested(_DEPLOY_ON_SERVERS),
    "scale": RUN,
}
_NETWORK_ON_SERVERS: Final[Rules] = {
    **_NETWORK,
    "driver": one_of("bridge", "overlay", reason="Rivetr makes overlay networks, not {value}"),
}
_ON_SERVERS: Final[Rules] = {
    **_PROJECT,
    "services": each(_SERVICE_ON_SERVERS),
    "networks": each(_NETWORK_ON_SERVERS),
}
