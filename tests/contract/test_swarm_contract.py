"""One contract for the swarm port, run over the in-memory twin and over a real swarm: the
host's engine made a manager by the adapter itself, and two worker engines of the swarm lab
(`tests/swarm_lab`) joined with the token the adapter read. What the twin promises, the
engine keeps: nodes with their role, state, address and labels; replicated services whose
tasks publish their port on their own node; a placement nothing satisfies left pending with
the engine's words; a node joined through its engine API over TLS, and a client certificate
that engine does not take refused in words that name it; a registry run on the manager that
every node pushes to and pulls from, and that takes no client without its certificate; a
node's engine opened to build an image there and push it from there."""

from __future__ import annotations

import io
import os
import re
import ssl
import time
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import anyio
import docker
import docker.errors
import msgspec
import pytest

from rivetr.adapters.runtime.base import ContainerError, EngineHealthcheck
from rivetr.adapters.runtime.baseimage import BUSYBOX_IMAGE, busybox_rootfs_tar
from rivetr.adapters.runtime.container_spec import Mount
from rivetr.adapters.runtime.fake import FakeRuntime
from rivetr.adapters.swarm.base import (
    HostedRegistrySpec,
    NodeInfo,
    RegistryLogin,
    RemoteEngine,
    ServiceSpec,
    SwarmEngine,
    TaskInfo,
)
from rivetr.adapters.swarm.fake import FakeSwarm
from rivetr.adapters.swarm.registry_tls import make_certificates, probe
from rivetr.adapters.swarm.ssh_tunnel import SshTarget
from tests.net import free_port
from tests.swarm_lab.lab import ssh_key_pair
from tests.tls import ThrowawayCA

WEB = "rivetr-test/swarm-web:1"
ACCOUNT = ("contract", "contract-registry-secret")
LABEL = {"rivetr.test": "swarm-contract"}


@dataclass
class Swarm:
    engine: SwarmEngine
    advertise_addr: str
    join: Callable[[str], Awaitable[None]]  # a worker joins with the token the port hands out
    workers: int
    real: bool
    registry: str  # where an image may be pushed, and every node pull it from
    refusing: Callable[[], str]  # a registry a push to fails (made so, for the twin)
    pulls: Callable[[str], Awaitable[bool]]  # whether a worker pulls this image reference
    private: Callable[[], AbstractContextManager[str]]  # a registry taking ACCOUNT alone
    remote: RemoteEngine  # a node not in the swarm, whose engine takes TLS clients of the CA
    ssh_remote: RemoteEngine  # another, whose root takes SSH_KEY
    other_host_key: str  # a host key that is no node's
    registry_image: str  # the distribution registry's, as `registry:2` is laid out


def _lab_available() -> None:
    if os.geteuid() != 0:
        if os.environ.get("CI"):
            pytest.fail("CI must run the swarm contract on the real engine: not root")
        pytest.skip("the swarm lab needs root")


@pytest.fixture(scope="module")
def lab() -> Iterator[object]:
    _lab_available()
    import docker

    from tests.swarm_lab import Lab, Registry

    client = docker.from_env()
    try:
        client.images.get(BUSYBOX_IMAGE)
    except docker.errors.ImageNotFound:
        repository, tag = BUSYBOX_IMAGE.split(":")
        client.api.import_image_from_data(
            busybox_rootfs_tar(), repository=repository, tag=tag, changes=['CMD ["/bin/sh"]']
        )
    page = (
        f"FROM {BUSYBOX_IMAGE}\n"
        'CMD ["sh", "-c", "echo $(hostname) > /tmp/i && exec httpd -f -p 80 -h /tmp"]\n'
    )
    client.images.build(fileobj=io.BytesIO(page.encode()), tag=WEB)
    from tests.database_images import REGISTRY, ensure_image

    registry_image = ensure_image(client, REGISTRY)
    with Registry() as registry, Lab(client, workers=2, tls=ENGINE_CA) as started:
        for worker in started.workers:
            started.load_image(worker, WEB)
            started.load_image(worker, registry_image)
        started.registry_image = registry_image
        started.share_loopback(registry.port)
        started.registry = registry.address
        yield started
    client.close()


REAL = [pytest.mark.integration, pytest.mark.docker, pytest.mark.swarm]
ENGINE_CA = ThrowawayCA()  # signs the lab workers' engine certificates and Rivetr's client one


SSH_KEY = ssh_key_pair()  # the fake node's root takes it (the lab makes its own)


def host_key_of(public_key: str) -> str:
    """`TYPE BASE64` of a public key line, as Rivetr hands a host key to the port."""
    return " ".join(public_key.split()[:2])


def client_of(ca: ThrowawayCA, url: str) -> RemoteEngine:
    """How Rivetr reaches the engine at `url`: its CA, and a client certificate `ca` signed."""
    chain, key = ca.issue("rivetr")
    return RemoteEngine(url=url, ca=ENGINE_CA.pem.decode(), cert=chain.decode(), key=key.decode())


@pytest.fixture(params=["fake", pytest.param("docker", marks=REAL)])
async def swarm(request: pytest.FixtureRequest) -> AsyncIterator[Swarm]:
    if request.param == "fake":
        fake = FakeSwarm()
        names = iter(["w1", "w2", "w3"])

        async def join_fake(token: str) -> None:
            assert token == (await fake.join_tokens()).worker
            fake.join(next(names), f"10.0.0.{len(fake.node_list) + 1}")

        def refusing() -> str:
            fake.registry_refusal = "connection refused"
            return "127.0.0.1:9"

        async def pulled_by_fake(reference: str) -> bool:
            return reference.split("@")[0] + ":1" in fake.pushed

        @contextmanager
        def private_fake() -> Iterator[str]:
            fake.accounts["private.example.com"] = ACCOUNT
            yield "private.example.com"

        fake.remotes["tcp://10.0.0.21:2376"] = "w-remote"
        fake.remotes["ssh://root@10.0.0.22"] = "w-ssh"
        node_key = host_key_of(ssh_key_pair()[1])
        fake.ssh_nodes["ssh://root@10.0.0.22"] = (node_key, SSH_KEY[0])
        yield Swarm(
            fake,
            "10.0.0.1",
            join_fake,
            workers=2,
            real=False,
            registry="registry.example.com:5000",
            refusing=refusing,
            pulls=pulled_by_fake,
            private=private_fake,
            remote=client_of(ENGINE_CA, "tcp://10.0.0.21:2376"),
            ssh_remote=RemoteEngine(
                url="ssh://root@10.0.0.22", ssh_key=SSH_KEY[0], host_key=node_key
            ),
            other_host_key=host_key_of(ssh_key_pair()[1]),
            registry_image="registry:2",
        )
        return
    lab = request.getfixturevalue("lab")
    from rivetr.adapters.swarm.docker_swarm import DockerSwarm

    engine = DockerSwarm("unix:///var/run/docker.sock")
    workers = iter(lab.workers)  # type: ignore[attr-defined]

    async def join_worker(token: str) -> None:
        worker = next(workers)
        await anyio.to_thread.run_sync(lambda: lab.join(worker, token, lab.gateway))  # type: ignore[attr-defined]

    async def pulled_by_worker(reference: str) -> bool:
        worker = lab.workers[0]  # type: ignore[attr-defined]
        pulled = await anyio.to_thread.run_sync(
            lambda: lab.exec(worker, "docker", "pull", reference, check=False)  # type: ignore[attr-defined]
        )
        return pulled.exit_code == 0

    @contextmanager
    def private_lab() -> Iterator[str]:
        from tests.swarm_lab import Registry

        with Registry(auth=ACCOUNT) as private:
            lab.share_loopback(private.port)  # type: ignore[attr-defined]
            yield private.address

    try:
        yield Swarm(
            engine,
            lab.gateway,  # type: ignore[attr-defined]
            join_worker,
            workers=2,
            real=True,
            registry=lab.registry,  # type: ignore[attr-defined]
            refusing=lambda: f"127.0.0.1:{free_port()}",  # nothing listens there
            pulls=pulled_by_worker,
            private=private_lab,
            # a worker for the test that joins one through its engine (and calls no `made`)
            remote=client_of(ENGINE_CA, lab.engine_url(lab.workers[-1])),  # type: ignore[attr-defined]
            ssh_remote=RemoteEngine(
                url=lab.ssh_url(lab.workers[0]),  # type: ignore[attr-defined]
                ssh_key=lab.ssh_private_key,  # type: ignore[attr-defined]
                host_key=host_key_of(lab.host_key(lab.workers[0])),  # type: ignore[attr-defined]
            ),
            other_host_key=host_key_of(ssh_key_pair()[1]),
            registry_image=lab.registry_image,  # type: ignore[attr-defined]
        )
    finally:
        if await engine.swarm() is not None:  # a test that pushes only makes no swarm
            await engine.stop_registry()
            for name in await engine.services(LABEL):
                await engine.remove_service(name)
        for worker in lab.workers:  # type: ignore[attr-defined]
            lab.exec(worker, "docker", "swarm", "leave", "--force", check=False)  # type: ignore[attr-defined]
        if await engine.swarm() is not None:
            await engine.leave()
        await engine.close()


async def eventually(what: str, check: Callable[[], Awaitable[bool]], timeout: float = 60) -> None:
    started = time.monotonic()
    while not await check():
        if time.monotonic() - started > timeout:
            pytest.fail(f"{what}: not within {timeout:.0f} s")
        await anyio.sleep(0.25)


async def made(swarm: Swarm) -> None:
    """The swarm made, every worker joined and ready."""
    await swarm.engine.init(swarm.advertise_addr)
    token = (await swarm.engine.join_tokens()).worker
    for _ in range(swarm.workers):
        await swarm.join(token)

    async def all_ready() -> bool:
        nodes = await swarm.engine.nodes()
        return len(nodes) == swarm.workers + 1 and all(n.state == "ready" for n in nodes)

    await eventually("every node ready", all_ready)


pytestmark = pytest.mark.anyio


async def test_the_engine_is_made_a_manager_and_nodes_join_it(swarm: Swarm) -> None:
    assert await swarm.engine.swarm() is None
    with pytest.raises(ContainerError):
        await swarm.engine.join_tokens()
    await made(swarm)
    info = await swarm.engine.swarm()
    assert info is not None
    assert info.manager
    assert info.advertise_addr == swarm.advertise_addr
    nodes = {n.node_id: n for n in await swarm.engine.nodes()}
    manager = nodes[info.node_id]
    assert (manager.role, manager.leader, manager.address) == (
        "manager",
        True,
        swarm.advertise_addr,
    )
    workers = [n for n in nodes.values() if n.role == "worker"]
    assert len(workers) == swarm.workers
    assert all(n.address and n.availability == "active" and n.memory_bytes > 0 for n in workers)
    with pytest.raises(ContainerError, match="already part of a swarm"):
        await swarm.engine.init(swarm.advertise_addr)


async def test_labels_and_availability_are_set_and_a_node_up_is_removed_only_by_force(
    swarm: Swarm,
) -> None:
    await made(swarm)
    worker = next(n for n in await swarm.engine.nodes() if n.role == "worker")
    changed = await swarm.engine.update_node(worker.node_id, labels={"zone": "eu"})
    assert changed.labels == {"zone": "eu"}
    drained = await swarm.engine.update_node(worker.node_id, availability="drain")
    assert (drained.availability, drained.labels) == ("drain", {"zone": "eu"})
    with pytest.raises(ContainerError, match="not down"):
        await swarm.engine.remove_node(worker.node_id)
    manager = next(n for n in await swarm.engine.nodes() if n.role == "manager")
    with pytest.raises(ContainerError):
        await swarm.engine.remove_node(manager.node_id, force=True)
    await swarm.engine.remove_node(worker.node_id, force=True)
    assert worker.node_id not in {n.node_id for n in await swarm.engine.nodes()}


async def running(swarm: Swarm, name: str, count: int) -> list[TaskInfo]:
    found: list[TaskInfo] = []

    async def ready() -> bool:
        nonlocal found
        found = [t for t in await swarm.engine.tasks(name) if t.running and t.published_port]
        return len(found) == count

    await eventually(f"{count} tasks of {name} running", ready)
    return found


async def test_replicas_run_where_placed_each_answering_on_its_node(swarm: Swarm) -> None:
    await made(swarm)
    nodes = {n.node_id: n for n in await swarm.engine.nodes()}
    spec = ServiceSpec(
        name="contract-web",
        image=WEB,
        replicas=3,
        port=80,
        labels=LABEL,
        constraints=["node.role==worker"],
        spread=["node.id"],
    )
    await swarm.engine.create_service(spec)
    assert await swarm.engine.services(LABEL) == ["contract-web"]
    assert await swarm.engine.service_labels("contract-web") == LABEL
    assert await swarm.engine.service_labels("no-such-service") is None
    tasks = await running(swarm, "contract-web", 3)
    assert {t.slot for t in tasks} == {1, 2, 3}
    assert all(nodes[t.node_id].role == "worker" for t in tasks)
    assert all(t.address == nodes[t.node_id].address for t in tasks)
    assert len({t.node_id for t in tasks}) == swarm.workers  # spread over both
    if swarm.real:
        for task in tasks:  # the body, not just a status: something else may answer there
            url = f"http://{task.address}:{task.published_port}/i"
            body = await anyio.to_thread.run_sync(
                lambda u=url: urllib.request.urlopen(u, timeout=3).read()
            )
            assert body.strip(), f"{url} answered nothing"
    await swarm.engine.remove_service("contract-web")
    await swarm.engine.remove_service("contract-web")  # gone already is fine
    assert await swarm.engine.tasks("contract-web") == []


async def test_a_global_service_runs_a_task_on_every_node_as_its_settings_say(
    swarm: Swarm,
) -> None:
    """A stack's service: its entrypoint and command, environment, working directory, a
    tmpfs, a health check it must pass to run, and two ports published on each node."""
    await made(swarm)
    spec = ServiceSpec(
        name="contract-global",
        image=WEB,
        replicas=1,
        mode="global",
        port=None,
        ports=[80, 8080],
        labels=LABEL,
        env={"GREETING": "hello"},
        entrypoint=["sh", "-c"],
        command=[
            "echo started $GREETING; echo $GREETING > i"
            " && httpd -p 8080 -h /srv/page && exec httpd -f -p 80 -h /srv/page"
        ],
        working_dir="/srv/page",
        mounts=[Mount(type="tmpfs", source="", target="/srv/page")],
        healthcheck=EngineHealthcheck(
            test=["wget -q -O- http://127.0.0.1/i"], shell=True, interval_s=1, retries=5
        ),
    )
    await swarm.engine.create_service(spec)
    tasks = await running(swarm, "contract-global", swarm.workers + 1)
    assert len({t.node_id for t in tasks}) == swarm.workers + 1  # one on each
    assert all(set(t.published_ports) == {80, 8080} for t in tasks)
    assert all(t.published_port == t.published_ports[80] for t in tasks)
    if swarm.real:
        for task in tasks:
            for port in task.published_ports.values():
                url = f"http://{task.address}:{port}/i"
                body = await anyio.to_thread.run_sync(
                    lambda u=url: urllib.request.urlopen(u, timeout=3).read()
                )
                assert body.strip() == b"hello", url
    if isinstance(swarm.engine, FakeSwarm):  # what the twin's tasks wrote is the test's to say
        swarm.engine.said["contract-global"] = "started hello\n" * len(tasks)
    said = ""

    async def every_copy_said() -> bool:
        nonlocal said
        said = await swarm.engine.service_logs("contract-global", tail=10)
        return said.count("started hello") == len(tasks)

    await eventually("each copy's line in the service's logs", every_copy_said)
    await swarm.engine.remove_service("contract-global")
    with pytest.raises(ContainerError):
        await swarm.engine.service_logs("contract-global")


async def test_an_image_pushed_is_pulled_by_its_digest_and_a_refused_push_says_so(
    swarm: Swarm,
) -> None:
    reference = await swarm.engine.push_image(WEB, f"{swarm.registry}/contract/web", "1")

    repository, _, digest = reference.partition("@")
    assert repository == f"{swarm.registry}/contract/web"
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", digest)
    assert await swarm.pulls(reference)
    elsewhere = swarm.refusing()
    with pytest.raises(ContainerError, match=rf"push {elsewhere}/contract/web:2"):
        await swarm.engine.push_image(WEB, f"{elsewhere}/contract/web", "2")


async def test_a_registry_wanting_an_account_takes_that_account_alone(swarm: Swarm) -> None:
    user, password = ACCOUNT
    with swarm.private() as address:
        repository = f"{address}/contract/private"
        # anonymous first: the real adapter's client remembers an account it signed in with
        with pytest.raises(ContainerError, match="no basic auth credentials"):
            await swarm.engine.push_image(WEB, repository, "1")
        wrong = RegistryLogin(address=address, username=user, password="not it")
        with pytest.raises(ContainerError, match="401 Unauthorized"):
            await swarm.engine.check_login(wrong)
        right = RegistryLogin(address=f"{address}/contract", username=user, password=password)
        await swarm.engine.check_login(right)  # a path after the host: signed in to the host

        reference = await swarm.engine.push_image(WEB, repository, "1", right)

        assert reference.startswith(f"{repository}@sha256:")


async def test_a_registry_run_on_the_manager_serves_every_node_and_stops_clean(
    swarm: Swarm,
) -> None:
    await made(swarm)
    info = await swarm.engine.swarm()
    assert info is not None
    address = f"{info.advertise_addr}:{free_port()}"
    certificates = make_certificates(info.advertise_addr)
    spec = HostedRegistrySpec(
        address=address, node_id=info.node_id, image=swarm.registry_image, certificates=certificates
    )
    await swarm.engine.run_registry(spec, timeout=60)
    assert await swarm.engine.registry_running()

    reference = await swarm.engine.push_image(WEB, f"{address}/contract/hosted", "1")

    assert reference.startswith(f"{address}/contract/hosted@sha256:")
    assert await swarm.pulls(reference)  # a worker's engine trusts it, and it the worker
    if swarm.real:
        # a client without the client certificate (another CA's) is refused in the handshake
        stranger = make_certificates(info.advertise_addr)
        mixed = msgspec.structs.replace(stranger, ca=certificates.ca)
        with pytest.raises((ssl.SSLError, ConnectionError)):
            await anyio.to_thread.run_sync(probe, address, mixed)
        await anyio.to_thread.run_sync(probe, address, certificates)
    await swarm.engine.run_registry(spec, timeout=60)  # run again: replaced, still serving
    await swarm.engine.push_image(WEB, f"{address}/contract/hosted", "2")
    await swarm.engine.stop_registry()
    assert not await swarm.engine.registry_running()
    with pytest.raises(ContainerError, match=rf"push {re.escape(address)}/contract/hosted:3"):
        await swarm.engine.push_image(WEB, f"{address}/contract/hosted", "3")
    await swarm.engine.stop_registry()  # none running is fine


async def test_a_registry_whose_image_no_node_has_is_not_up_in_the_engines_words(
    swarm: Swarm,
) -> None:
    await made(swarm)
    info = await swarm.engine.swarm()
    assert info is not None
    missing = "rivetr-test/no-such-registry:1"
    if isinstance(swarm.engine, FakeSwarm):
        swarm.engine.unpullable.add(missing)
    spec = HostedRegistrySpec(
        address=f"{info.advertise_addr}:{free_port()}",
        node_id=info.node_id,
        image=missing,
        certificates=make_certificates(info.advertise_addr),
    )
    with pytest.raises(ContainerError, match=rf"not up in 5 s.*No such image: {missing}"):
        await swarm.engine.run_registry(spec, timeout=5)
    await swarm.engine.stop_registry()


@pytest.mark.parametrize("way", ["tls", "ssh"])
async def test_a_build_node_builds_there_and_pushes_from_there(
    swarm: Swarm, tmp_path: Path, way: str
) -> None:
    await made(swarm)
    remote = swarm.remote if way == "tls" else swarm.ssh_remote
    if isinstance(swarm.engine, FakeSwarm):
        builder = FakeRuntime()
        await builder.import_image(b"a root fs", WEB, cmd=["/bin/sh"])
        swarm.engine.build_runtimes[remote.url] = builder
    (tmp_path / "Dockerfile").write_text(f"FROM {WEB}\nLABEL rivetr.test=build-node\n")
    tag = f"contract/built-there:{os.getpid()}"

    async with swarm.engine.build_engine(remote) as build:
        built = await build.runtime.build_image(tmp_path, tag)
        assert await build.runtime.image_exists(tag)
        reference = await build.push(tag, f"{swarm.registry}/contract/built", "1", None)

    assert built
    assert reference.startswith(f"{swarm.registry}/contract/built@sha256:")
    assert await swarm.pulls(reference)
    if swarm.real:  # built on the node's engine, not the manager's
        host = docker.from_env()
        try:
            with pytest.raises(docker.errors.ImageNotFound):
                host.images.get(tag)
        finally:
            host.close()


async def test_a_build_node_that_refuses_is_a_container_error_on_entry(swarm: Swarm) -> None:
    await made(swarm)
    stranger = client_of(ThrowawayCA(), swarm.remote.url)  # a client certificate of no CA it takes
    if isinstance(swarm.engine, FakeSwarm):
        stranger = msgspec.structs.replace(stranger, key="not a key")
    with pytest.raises(ContainerError, match=re.escape(swarm.remote.url)):
        async with swarm.engine.build_engine(stranger):
            pytest.fail("opened with a certificate it does not take")


async def test_a_placement_no_node_satisfies_stays_pending_in_the_engines_words(
    swarm: Swarm,
) -> None:
    await made(swarm)
    spec = ServiceSpec(
        name="contract-nowhere",
        image=WEB,
        replicas=1,
        port=80,
        labels=LABEL,
        constraints=["node.labels.zone==mars"],
    )
    await swarm.engine.create_service(spec)
    pending: list[TaskInfo] = []

    async def told() -> bool:
        nonlocal pending
        pending = [t for t in await swarm.engine.tasks("contract-nowhere") if t.state == "pending"]
        return bool(pending) and "no suitable node" in pending[0].message

    await eventually("the task pending with the engine's reason", told, timeout=20)
    assert not pending[0].published_port


async def test_a_node_is_joined_through_its_engine_api_over_tls(swarm: Swarm) -> None:
    await swarm.engine.init(swarm.advertise_addr)
    remote = swarm.remote
    found = await swarm.engine.describe_remote(remote)
    assert found.swarm_state == "inactive"
    assert found.hostname
    for wrong in (
        msgspec.structs.replace(remote, key="not a key"),
        msgspec.structs.replace(remote, url=remote.url.replace(":2376", f":{free_port()}")),
    ):
        with pytest.raises(ContainerError, match=re.escape(wrong.url)):
            await swarm.engine.describe_remote(wrong)
    if swarm.real:  # a client certificate of another CA: the engine's TLS refuses it
        with pytest.raises(ContainerError, match="did not answer over TLS"):
            await swarm.engine.describe_remote(client_of(ThrowawayCA(), remote.url))

    await joined_through(swarm, remote, found.hostname)


async def test_a_node_is_joined_through_ssh_to_its_engine(swarm: Swarm) -> None:
    await swarm.engine.init(swarm.advertise_addr)
    remote = swarm.ssh_remote
    found = await swarm.engine.describe_remote(remote)
    assert found.swarm_state == "inactive"
    assert found.hostname
    refusals = {
        "not the one given": msgspec.structs.replace(remote, host_key=swarm.other_host_key),
        r"Permission denied \(publickey": msgspec.structs.replace(
            remote, ssh_key=ssh_key_pair()[0]
        ),
        "Connection refused": msgspec.structs.replace(remote, url=f"{remote.url}:{free_port()}"),
    }
    for words, wrong in refusals.items():
        with pytest.raises(ContainerError, match=rf"{re.escape(wrong.url)} refused SSH: .*{words}"):
            await swarm.engine.describe_remote(wrong)

    # the key as a browser's form sends it, with CRLF line ends
    pasted = msgspec.structs.replace(remote, ssh_key=remote.ssh_key.replace("\n", "\r\n"))
    joined = await joined_through(swarm, pasted, found.hostname)
    assert joined.address == SshTarget.of(remote.url).host  # advertised as Rivetr reached it


async def joined_through(swarm: Swarm, remote: RemoteEngine, hostname: str) -> NodeInfo:
    """The node whose engine is `remote` told to join, listed ready; its engine says so."""
    token = (await swarm.engine.join_tokens()).worker
    await swarm.engine.join_remote(remote, token, f"{swarm.advertise_addr}:2377")

    async def listed_ready() -> bool:
        nodes = await swarm.engine.nodes()
        return any(n.hostname == hostname and n.state == "ready" for n in nodes)

    await eventually(f"{hostname} ready", listed_ready)
    assert (await swarm.engine.describe_remote(remote)).swarm_state == "active"
    return next(n for n in await swarm.engine.nodes() if n.hostname == hostname)
