"""The registry Rivetr runs on the manager, as swarm services over the `docker` SDK (blocking
calls, run in a worker thread by `DockerSwarm`).

- `rivetr-registry`: one task pinned to the manager, its port published there (host mode),
  its storage the manager's volume `rivetr-registry`, its configuration, certificate and CA
  as swarm configs and its key a swarm secret. It takes only clients presenting the
  certificate its CA signed (`http.tls.clientcas`).
- `rivetr-registry-trust`: one task on every node (global: a node joining later gets its own),
  which copies the CA and the client certificate and key to `/etc/docker/certs.d/ADDRESS/`,
  where that node's engine reads them at each pull and push, and removes them as it stops. It
  reports healthy, hence running, only once they are there.

Configs and secrets are immutable: theirs are named by a hash of what they hold."""

from __future__ import annotations

import hashlib
import shlex
from collections.abc import Callable
from typing import Any

import docker  # type: ignore[import-untyped]
import docker.errors  # type: ignore[import-untyped]
import msgspec

from rivetr.adapters.swarm.answers import service_tasks
from rivetr.adapters.swarm.base import HostedRegistrySpec

REGISTRY_SERVICE = "rivetr-registry"
TRUST_SERVICE = "rivetr-registry-trust"
VOLUME = "rivetr-registry"
LABEL = "rivetr.hosted-registry"
CONFIG_PATH = "/etc/docker/registry/config.yml"  # where `registry:2` reads it
STORAGE = "/var/lib/registry"
INNER_PORT = 5000
_SECOND = 1_000_000_000


def _configuration() -> bytes:
    """The registry's configuration (JSON is YAML), beside its files as the services mount
    them."""
    return msgspec.json.encode(
        {
            "version": 0.1,
            "log": {"level": "info", "fields": {"service": "registry"}},
            "storage": {"filesystem": {"rootdirectory": STORAGE}, "delete": {"enabled": True}},
            "http": {
                "addr": f"0.0.0.0:{INNER_PORT}",
                "tls": {
                    "certificate": "/etc/docker/registry/registry.crt",
                    "key": "/run/secrets/registry.key",
                    "clientcas": ["/etc/docker/registry/ca.crt"],
                },
                "headers": {"X-Content-Type-Options": ["nosniff"]},
            },
        }
    )


def _trust_script(address: str) -> str:
    """The trust task: the files in place, then a wait that a stop (SIGTERM, through the
    task's init) ends by taking them away."""
    directory = shlex.quote(f"/host-docker/certs.d/{address}")
    return "\n".join(
        [
            "set -e",
            f"dir={directory}",
            'mkdir -p "$dir"',
            'cp /trust/ca.crt "$dir/ca.crt.new"',
            'cp /trust/client.cert "$dir/client.cert.new"',
            'install -m 600 /run/secrets/client.key "$dir/client.key.new"',
            'for f in ca.crt client.cert client.key; do mv "$dir/$f.new" "$dir/$f"; done',
            "trap 'rm -rf \"$dir\"; exit 0' TERM INT",
            "while :; do sleep 3600 & wait $!; done",
        ]
    )


def _named(kind: str, data: bytes) -> str:
    return f"{REGISTRY_SERVICE}-{kind}-{hashlib.sha256(data).hexdigest()[:12]}"


def _stored(
    listed: Callable[..., list[dict[str, Any]]],
    create: Callable[..., dict[str, Any]],
    kind: str,
    data: bytes,
) -> tuple[str, str]:
    """(id, name) of the swarm config or secret (as `listed` and `create` are the one's or
    the other's) holding `data`, made when missing."""
    name = _named(kind, data)
    for found in listed(filters={"name": name}):  # the filter matches names by prefix too
        if found["Spec"]["Name"] == name:
            return str(found["ID"]), name
    made = create(name, data, labels={LABEL: kind})
    return str(made["ID"]), name


def start(client: docker.DockerClient, spec: HostedRegistrySpec) -> None:
    """Both services made (an earlier run's stopped before: `DockerSwarm.run_registry`)."""
    certificates = spec.certificates
    api = client.api

    def stored_config(kind: str, text: str | bytes) -> tuple[str, str]:
        data = text if isinstance(text, bytes) else text.encode()
        return _stored(api.configs, api.create_config, kind, data)

    def stored_secret(kind: str, text: str) -> tuple[str, str]:
        return _stored(api.secrets, api.create_secret, kind, text.encode())

    configuration = stored_config("config", _configuration())
    cert = stored_config("cert", certificates.cert)
    ca = stored_config("ca", certificates.ca)
    client_cert = stored_config("client-cert", certificates.client_cert)
    key = stored_secret("key", certificates.key)
    client_key = stored_secret("client-key", certificates.client_key)

    def config(found: tuple[str, str], path: str) -> Any:
        return docker.types.ConfigReference(found[0], found[1], filename=path)

    def secret(found: tuple[str, str], name: str) -> Any:
        return docker.types.SecretReference(found[0], found[1], filename=name, mode=0o400)

    registry = docker.types.ContainerSpec(
        image=spec.image,
        labels={LABEL: "registry"},
        configs=[
            config(configuration, CONFIG_PATH),
            config(cert, "/etc/docker/registry/registry.crt"),
            config(ca, "/etc/docker/registry/ca.crt"),
        ],
        secrets=[secret(key, "registry.key")],
        mounts=[docker.types.Mount(STORAGE, VOLUME, type="volume")],
        init=True,
    )
    client.api.create_service(
        docker.types.TaskTemplate(
            container_spec=registry,
            restart_policy=docker.types.RestartPolicy(condition="any", delay=_SECOND),
            placement=docker.types.Placement(constraints=[f"node.id=={spec.node_id}"]),
        ),
        name=REGISTRY_SERVICE,
        labels={LABEL: "registry", "rivetr.registry.address": spec.address},
        mode=docker.types.ServiceMode("replicated", replicas=1),
        endpoint_spec={
            "Mode": "dnsrr",
            "Ports": [
                {
                    "Protocol": "tcp",
                    "TargetPort": INNER_PORT,
                    "PublishedPort": spec.port,
                    "PublishMode": "host",
                }
            ],
        },
    )
    check = f"test -s /host-docker/certs.d/{shlex.quote(spec.address)}/client.key"
    trust = docker.types.ContainerSpec(
        image=spec.image,
        command=["/bin/sh", "-c", _trust_script(spec.address)],
        labels={LABEL: "trust"},
        configs=[config(ca, "/trust/ca.crt"), config(client_cert, "/trust/client.cert")],
        secrets=[secret(client_key, "client.key")],
        # the engine's own directory on the node: certs.d may not be there yet
        mounts=[docker.types.Mount("/host-docker", "/etc/docker", type="bind")],
        healthcheck=docker.types.Healthcheck(
            test=["CMD-SHELL", check], interval=_SECOND, timeout=5 * _SECOND, retries=3
        ),
        init=True,
    )
    client.api.create_service(
        docker.types.TaskTemplate(
            container_spec=trust,
            restart_policy=docker.types.RestartPolicy(condition="any", delay=_SECOND),
        ),
        name=TRUST_SERVICE,
        labels={LABEL: "trust", "rivetr.registry.address": spec.address},
        mode=docker.types.ServiceMode("global"),
    )


def not_up(client: docker.DockerClient, spec: HostedRegistrySpec) -> list[str]:
    """What is not up yet, each in a few words with the engine's own for a task that failed;
    none when the registry's task and a trust task on every ready, active node run."""
    nodes = {
        node["ID"]: node
        for node in client.api.nodes()
        if (node.get("Status") or {}).get("State") == "ready"
        and (node.get("Spec") or {}).get("Availability", "active") == "active"
    }
    waiting: list[str] = []
    registry = service_tasks(client, REGISTRY_SERVICE)
    if not any(_running(task) for task in registry):
        waiting.append(f"the registry on its node{_last_words(registry)}")
    trust = service_tasks(client, TRUST_SERVICE)
    for node_id, node in sorted(nodes.items()):
        on_node = [task for task in trust if task.get("NodeID") == node_id]
        if not any(_running(task) for task in on_node):
            name = (node.get("Description") or {}).get("Hostname") or node_id
            waiting.append(f"its certificates on node {name}{_last_words(on_node)}")
    return waiting


def _running(task: dict[str, Any]) -> bool:
    return (
        task.get("DesiredState") == "running"
        and (task.get("Status") or {}).get("State") == "running"
    )


def _last_words(tasks: list[dict[str, Any]]) -> str:
    """The latest of `tasks`' state, and the engine's latest words on why one failed (a task
    failing again and again spends most of its time preparing, saying nothing)."""
    if not tasks:
        return " (no task yet)"

    def updated(task: dict[str, Any]) -> str:
        return str(task.get("UpdatedAt", ""))

    state = (max(tasks, key=updated).get("Status") or {}).get("State", "")
    failed = [task for task in tasks if (task.get("Status") or {}).get("Err")]
    if not failed:
        return f" ({state})"
    return f" ({state}; {max(failed, key=updated)['Status']['Err']})"


def remove_services(client: docker.DockerClient) -> None:
    for name in (TRUST_SERVICE, REGISTRY_SERVICE):
        try:
            client.api.remove_service(name)
        except docker.errors.NotFound:
            continue


def stopping(client: docker.DockerClient) -> bool:
    """Whether a container of either service is still there on this node, or a task of them
    still listed for another."""
    containers = client.api.containers(all=True, filters={"label": LABEL})
    tasks = [
        task
        for task in client.api.tasks()
        if (task.get("Spec", {}).get("ContainerSpec", {}).get("Labels") or {}).get(LABEL)
        and (task.get("Status") or {}).get("State") not in _OVER
    ]
    return bool(containers or tasks)


_OVER = {"complete", "failed", "shutdown", "rejected", "orphaned", "remove"}


def forget(client: docker.DockerClient) -> None:
    """Remove the configs and secrets of either service (none is used once both are gone)."""
    for found in client.api.configs(filters={"label": LABEL}):
        _gone_already(client.api.remove_config, found["ID"])
    for found in client.api.secrets(filters={"label": LABEL}):
        _gone_already(client.api.remove_secret, found["ID"])


def _gone_already(remove: Any, ident: str) -> None:
    try:
        remove(ident)
    except docker.errors.NotFound:
        return
