"""`DockerSwarm`: the swarm port over the `docker` SDK, on the same engine plumbing as
`DockerRuntime` (a client made lazily in a worker thread; SDK errors translated in one place).
Docker only: Podman has no swarm mode."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import docker  # type: ignore[import-untyped]
import docker.errors  # type: ignore[import-untyped]

from rivetr.adapters.runtime.base import ContainerError, EngineHealthcheck
from rivetr.adapters.runtime.container_spec import Mount
from rivetr.adapters.runtime.docker import DockerRuntime
from rivetr.adapters.runtime.docker_engine import DockerEngine
from rivetr.adapters.swarm import hosted_registry, registry_tls, remote_engine
from rivetr.adapters.swarm.answers import node_info, service_tasks, swarm_info, task_info
from rivetr.adapters.swarm.base import (
    SWARM_PORT,
    Availability,
    BuildEngine,
    HostedRegistrySpec,
    JoinTokens,
    NodeInfo,
    RegistryLogin,
    RemoteEngine,
    RemoteInfo,
    ServiceSpec,
    SwarmInfo,
    TaskInfo,
)

STOP_WAIT_S = 30


class DockerSwarm(DockerEngine):
    async def swarm(self) -> SwarmInfo | None:
        return await self._run("read the swarm", lambda c: swarm_info(c.info()))

    async def init(self, advertise_addr: str) -> SwarmInfo:
        def init(client: docker.DockerClient) -> SwarmInfo:
            client.api.init_swarm(
                advertise_addr=advertise_addr, listen_addr=f"0.0.0.0:{SWARM_PORT}"
            )
            found = swarm_info(client.info())
            assert found is not None, "the engine said it made a swarm, then that it is in none"
            return found

        return await self._run(f"make a swarm advertised at {advertise_addr}", init)

    async def leave(self) -> None:
        await self._run("leave the swarm", lambda c: c.api.leave_swarm(force=True))

    async def join_tokens(self) -> JoinTokens:
        def tokens(client: docker.DockerClient) -> JoinTokens:
            found = client.api.inspect_swarm()["JoinTokens"]
            return JoinTokens(worker=found["Worker"], manager=found["Manager"])

        return await self._run("read the join tokens", tokens)

    async def nodes(self) -> list[NodeInfo]:
        return await self._run("list the nodes", lambda c: [node_info(n) for n in c.api.nodes()])

    async def update_node(
        self,
        node_id: str,
        *,
        labels: dict[str, str] | None = None,
        availability: Availability | None = None,
    ) -> NodeInfo:
        def update(client: docker.DockerClient) -> NodeInfo:
            attrs = client.api.inspect_node(node_id)
            spec = dict(attrs["Spec"])
            if labels is not None:
                spec["Labels"] = dict(labels)
            if availability is not None:
                spec["Availability"] = availability
            client.api.update_node(node_id, attrs["Version"]["Index"], spec)
            return node_info(client.api.inspect_node(node_id))

        return await self._run(f"change node {node_id}", update)

    async def remove_node(self, node_id: str, *, force: bool = False) -> None:
        await self._run(f"remove node {node_id}", lambda c: c.api.remove_node(node_id, force))

    async def describe_remote(self, remote: RemoteEngine) -> RemoteInfo:
        return await remote_engine.on_remote(remote, "read the engine", remote_engine.describe)

    async def join_remote(self, remote: RemoteEngine, token: str, manager_addr: str) -> None:
        await remote_engine.on_remote(
            remote,
            f"join the swarm at {manager_addr}",
            lambda client: remote_engine.join(client, remote, token, manager_addr),
        )

    async def create_network(self, name: str, labels: dict[str, str]) -> None:
        def create(client: docker.DockerClient) -> None:
            if client.api.networks(names=[name]):
                return
            client.api.create_network(name, driver="overlay", attachable=True, labels=labels)

        await self._run(f"create network {name}", create)

    async def push_image(
        self, image: str, repository: str, tag: str, login: RegistryLogin | None = None
    ) -> str:
        account = _auth_config(login)

        def push(client: docker.DockerClient) -> str:
            client.api.tag(image, repository, tag)
            digest = None
            try:
                for line in client.api.push(
                    repository, tag, stream=True, decode=True, auth_config=account
                ):
                    # a refused push streams its error rather than raising it
                    if "error" in line:
                        detail = line.get("errorDetail", {}).get("message") or line["error"]
                        raise ContainerError(f"push {repository}:{tag}: {detail}")
                    digest = (line.get("aux") or {}).get("Digest") or digest
            finally:
                # the image keeps its one name here: pruning removes it by that name alone
                client.api.remove_image(f"{repository}:{tag}", noprune=True)
            if digest is None:
                raise ContainerError(f"push {repository}:{tag}: the registry named no digest")
            return f"{repository}@{digest}"

        return await self._run(f"push {image} to {repository}", push)

    async def check_login(self, login: RegistryLogin) -> None:
        def sign_in(client: docker.DockerClient) -> None:
            client.login(login.username, login.password, registry=login.host, reauth=True)

        await self._run(f"sign in to {login.host} as {login.username}", sign_in)

    async def create_service(self, spec: ServiceSpec) -> str:
        login = spec.registry_auth

        def create(client: docker.DockerClient) -> str:
            if login is not None and login.signs_in:
                # the SDK hands the nodes (X-Registry-Auth) the account it signed in with for
                # the image's registry; anew each time, so a changed password is the one sent
                client.login(login.username, login.password, registry=login.host, reauth=True)
            answer = client.api.create_service(**_service_request(spec))
            return str(answer["ID"])

        return await self._run(f"create service {spec.name}", create)

    async def services(self, labels: dict[str, str]) -> list[str]:
        wanted = [f"{key}={value}" for key, value in labels.items()]

        def names(client: docker.DockerClient) -> list[str]:
            found = client.api.services(filters={"label": wanted})
            return sorted(service["Spec"]["Name"] for service in found)

        return await self._run("list services", names)

    async def service_labels(self, name: str) -> dict[str, str] | None:
        def labels(client: docker.DockerClient) -> dict[str, str] | None:
            try:
                found = client.api.inspect_service(name)
            except docker.errors.NotFound:
                return None
            return dict(found["Spec"].get("Labels") or {})

        return await self._run(f"inspect service {name}", labels)

    async def tasks(self, service: str) -> list[TaskInfo]:
        def tasks(client: docker.DockerClient) -> list[TaskInfo]:
            found = service_tasks(client, service)
            if not found:
                return []
            addresses = {
                n["ID"]: (n.get("Status") or {}).get("Addr", "") for n in client.api.nodes()
            }
            return sorted(
                (task_info(t, service, addresses) for t in found),
                key=lambda t: (t.slot, t.task_id),
            )

        return await self._run(f"list the tasks of {service}", tasks)

    async def remove_service(self, name: str) -> None:
        def remove(client: docker.DockerClient) -> None:
            try:
                client.api.remove_service(name)
            except docker.errors.NotFound:
                return

        await self._run(f"remove service {name}", remove)

    async def service_logs(self, name: str, tail: int = 100) -> str:
        def logs(client: docker.DockerClient) -> str:
            chunks = client.api.service_logs(name, stdout=True, stderr=True, tail=tail)
            return b"".join(chunks).decode("utf-8", errors="replace")

        return await self._run(f"logs of service {name}", logs)

    async def run_registry(self, spec: HostedRegistrySpec, timeout: float) -> None:
        await self.stop_registry()  # an earlier run's tasks gone before their files are put
        await self._run("start the registry", lambda c: hosted_registry.start(c, spec))
        deadline = anyio.current_time() + timeout
        while True:
            waiting = await self._run(
                "read the registry's tasks", lambda c: hosted_registry.not_up(c, spec)
            )
            if not waiting:
                try:
                    await anyio.to_thread.run_sync(
                        registry_tls.probe, spec.address, spec.certificates
                    )
                    return
                except (OSError, ValueError) as exc:
                    waiting = [f"an answer at https://{spec.address}/v2/ ({exc})"]
            if anyio.current_time() > deadline:
                raise ContainerError(
                    f"the registry was not up in {timeout:.0f} s, waiting for " + "; ".join(waiting)
                )
            await anyio.sleep(0.5)

    async def stop_registry(self) -> None:
        await self._run("stop the registry", hosted_registry.remove_services)
        deadline = anyio.current_time() + STOP_WAIT_S
        while await self._run("read the registry's tasks", hosted_registry.stopping):
            if anyio.current_time() > deadline:
                raise ContainerError(f"the registry's tasks did not stop in {STOP_WAIT_S} s")
            await anyio.sleep(0.25)
        await self._run("remove the registry's configs and secrets", hosted_registry.forget)

    async def registry_running(self) -> bool:
        return await self.service_labels(hosted_registry.REGISTRY_SERVICE) is not None

    @asynccontextmanager
    async def build_engine(self, remote: RemoteEngine) -> AsyncIterator[BuildEngine]:
        async with remote_engine.opened(remote, "reach the build node") as (client, new_api):
            runtime = DockerRuntime(remote.url, "docker", client=client, new_api=new_api)
            pusher = DockerSwarm(remote.url, "docker", client=client)
            yield BuildEngine(runtime=runtime, push=pusher.push_image)


def _auth_config(login: RegistryLogin | None) -> dict[str, str] | None:
    if login is None or not login.signs_in:
        return None
    return {"username": login.username, "password": login.password}


def _service_request(spec: ServiceSpec) -> dict[str, Any]:
    """The SDK's arguments for one service: tasks run under an init (a PID 1 that forwards
    SIGTERM, so a task stops at once) and are restarted without delay; its ports are published
    on each task's own node (no routing mesh, whose virtual IPs need IPVS), with DNS
    round-robin as the endpoint mode for the same reason."""
    # the engine's Command is the image's ENTRYPOINT replaced, Args its CMD
    container = docker.types.ContainerSpec(
        image=spec.image,
        command=spec.entrypoint,
        args=spec.command,
        env=[f"{key}={value}" for key, value in spec.env.items()],
        labels=spec.labels,
        init=True,
        hostname=spec.hostname,
        workdir=spec.working_dir,
        user=spec.user,
        mounts=[_mount(mount) for mount in spec.mounts] or None,
        stop_grace_period=_nanoseconds(spec.stop_grace_s),
        groups=list(spec.group_add) or None,
        read_only=spec.read_only or None,
        stop_signal=spec.stop_signal,
        healthcheck=_healthcheck(spec.healthcheck),
        hosts={host: address for host, address in spec.extra_hosts.items()} or None,
        dns_config=docker.types.DNSConfig(
            nameservers=list(spec.dns) or None, search=list(spec.dns_search) or None
        )
        if spec.dns or spec.dns_search
        else None,
        cap_drop=list(spec.cap_drop) or None,
        sysctls=dict(spec.sysctls) or None,
    )
    resources = docker.types.Resources(mem_limit=spec.memory_bytes, cpu_limit=spec.nano_cpus)
    placement = docker.types.Placement(
        constraints=spec.constraints or None,
        preferences=[docker.types.PlacementPreference("spread", label) for label in spec.spread]
        or None,
        maxreplicas=spec.max_per_node,
    )
    template = docker.types.TaskTemplate(
        container_spec=container,
        resources=resources,
        restart_policy=docker.types.RestartPolicy(condition="any", delay=0),
        placement=placement,
        # on the task, where the engine keeps them (the service-level field is deprecated)
        networks=[
            docker.types.NetworkAttachmentConfig(n, aliases=list(spec.aliases) or None)
            for n in spec.networks
        ]
        or None,
    )
    mode = (
        docker.types.ServiceMode("global")
        if spec.mode == "global"
        else docker.types.ServiceMode("replicated", replicas=spec.replicas)
    )
    return {
        "task_template": template,
        "name": spec.name,
        "labels": spec.labels,
        "mode": mode,
        "endpoint_spec": {
            "Mode": "dnsrr",
            "Ports": [
                {"Protocol": "tcp", "TargetPort": port, "PublishMode": "host"}
                for port in spec.published
            ],
        },
    }


def _mount(mount: Mount) -> docker.types.Mount:
    if mount.type == "tmpfs":
        return docker.types.Mount(
            mount.target,
            None,
            type="tmpfs",
            read_only=mount.read_only,
            tmpfs_size=mount.tmpfs_size_bytes,
            tmpfs_mode=mount.tmpfs_mode,
        )
    return docker.types.Mount(
        mount.target, mount.source, type=mount.type, read_only=mount.read_only
    )


def _healthcheck(check: EngineHealthcheck | None) -> docker.types.Healthcheck | None:
    if check is None:
        return None
    return docker.types.Healthcheck(
        test=["CMD-SHELL", *check.test] if check.shell else ["CMD", *check.test],
        interval=_nanoseconds(check.interval_s),
        timeout=_nanoseconds(check.timeout_s),
        retries=check.retries,
        start_period=_nanoseconds(check.start_period_s),
    )


def _nanoseconds(seconds: float | None) -> int | None:
    return None if seconds is None else round(seconds * 1_000_000_000)
