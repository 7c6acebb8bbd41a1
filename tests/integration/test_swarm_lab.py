"""The swarm lab itself, proven on the real thing: three Ready nodes (the host's engine and two
worker engines), an image pushed to the lab's registry and run by digest as a 3-replica service
that answers from every node, a killed worker's tasks moving elsewhere (timed), and a registry
with credentials refusing an anonymous push. The figures are printed (run with -s)."""

from __future__ import annotations

import io
import os
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator

import docker
import docker.errors
import pytest
from docker import DockerClient

from rivetr.adapters.runtime.baseimage import BUSYBOX_IMAGE, busybox_rootfs_tar
from tests.swarm_lab import PREFIX, Lab, LabError, Registry, TaskEndpoint, task_endpoints
from tests.swarm_lab.network import create_network
from tests.swarm_lab.worker_image import print_line

pytestmark = [pytest.mark.integration, pytest.mark.docker, pytest.mark.swarm]

SERVICE = "lab-web"
AUTH = ("rivetr", "lab-secret")


def _unavailable(reason: str) -> None:
    # tests/run gives CI root and a running engine: there, a lab that cannot run is a failure
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the swarm lab: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def client() -> Iterator[DockerClient]:
    if os.geteuid() != 0:
        _unavailable("the swarm lab needs root (iptables, a bridge, worker engines)")
    try:
        engine = docker.from_env()
        engine.ping()
    except docker.errors.DockerException as exc:
        _unavailable(f"no Docker engine answers: {exc}")
    try:
        yield engine
    finally:
        engine.close()


@pytest.fixture(scope="module")
def registry() -> Iterator[Registry]:
    with Registry() as started:
        yield started


@pytest.fixture(scope="module")
def lab(client: DockerClient, registry: Registry) -> Iterator[Lab]:
    with Lab(client, workers=2) as started:
        started.share_loopback(registry.port)
        started.init_swarm()
        yield started
    assert client.info()["Swarm"]["LocalNodeState"] == "inactive", "the host stayed in a swarm"


@pytest.fixture(scope="module")
def pushed_web(client: DockerClient, registry: Registry) -> Iterator[tuple[str, str]]:
    """A busybox web image built here and pushed to the lab's registry: (page token, ref by
    digest). Each task serves the token and its own hostname (its container id)."""
    try:
        client.images.get(BUSYBOX_IMAGE)
    except docker.errors.ImageNotFound:
        repository, tag = BUSYBOX_IMAGE.split(":")
        client.api.import_image_from_data(
            busybox_rootfs_tar(), repository=repository, tag=tag, changes=['CMD ["/bin/sh"]']
        )
    token = uuid.uuid4().hex[:12]
    repository = f"{registry.address}/lab/web"
    dockerfile = (
        f"FROM {BUSYBOX_IMAGE}\n"
        f'CMD ["sh", "-c", "echo swarm-lab {token} $(hostname) > /var/www/index.html'
        ' && exec httpd -f -p 80 -h /var/www"]\n'
    )
    client.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=f"{repository}:{token}")
    try:
        digest = _push(client, repository, token)
        yield token, f"{repository}@{digest}"
    finally:
        client.images.remove(f"{repository}:{token}", force=True)


def _push(
    client: DockerClient, repository: str, tag: str, auth: dict[str, str] | None = None
) -> str:
    """The pushed manifest's digest; RuntimeError with the registry's refusal otherwise."""
    digest = ""
    for line in client.images.push(repository, tag, stream=True, decode=True, auth_config=auth):
        if "error" in line:
            raise RuntimeError(line["error"])
        digest = line.get("aux", {}).get("Digest", digest)
    assert digest.startswith("sha256:"), "the push reported no digest"
    return digest


def _page(endpoint: TaskEndpoint) -> str:
    with urllib.request.urlopen(endpoint.url, timeout=3) as response:
        return str(response.read().decode().strip())


def _wait_for(what: str, check: Callable[[], bool], timeout: float) -> float:
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            pytest.fail(f"{what}: not within {timeout:.0f} s")
        time.sleep(0.2)
    return time.monotonic() - started


def _all_answer(endpoints: list[TaskEndpoint], token: str) -> bool:
    """Every task answers with this run's page and its own hostname: a 404 or another page
    from something else listening there does not count."""
    try:
        return all(
            _page(each) == f"swarm-lab {token} {each.container_id[:12]}" for each in endpoints
        )
    except OSError:
        return False


def test_the_lab_is_a_manager_and_two_ready_workers(client: DockerClient, lab: Lab) -> None:
    nodes = lab.wait_ready()
    assert len(nodes) == 3
    assert nodes[str(client.info()["Name"])] == lab.gateway
    assert {nodes[worker] for worker in lab.workers} == {lab.address(w) for w in lab.workers}
    managers = [n for n in client.nodes.list() if n.attrs["Spec"]["Role"] == "manager"]
    assert len(managers) == 1


def test_a_taken_subnet_and_a_second_swarm_are_refused_clearly(
    client: DockerClient, lab: Lab
) -> None:
    with pytest.raises(LabError, match=f"overlaps Docker network '{PREFIX}'"):
        create_network(client, str(lab.subnet))
    with pytest.raises(LabError, match="already in a swarm"):
        lab.init_swarm()


def test_a_service_pulled_by_digest_answers_from_a_task_on_every_node(
    client: DockerClient, lab: Lab, pushed_web: tuple[str, str]
) -> None:
    token, image = pushed_web
    started = time.monotonic()
    client.services.create(
        image,
        name=SERVICE,
        mode=docker.types.ServiceMode("replicated", replicas=3),
        endpoint_spec=docker.types.EndpointSpec(
            ports=[{"Protocol": "tcp", "TargetPort": 80, "PublishMode": "host"}]
        ),
        init=True,  # busybox httpd as PID 1 ignores SIGTERM: every stop would wait 10 s
        # the SDK's RestartPolicy defaults to condition "none" (the CLI's to "any"): a task
        # on a lost node would then never be replaced
        restart_policy=docker.types.RestartPolicy(condition="any", delay=0),
    )
    _wait_for(
        "3 tasks answering",
        lambda: len(found := task_endpoints(client, SERVICE)) == 3 and _all_answer(found, token),
        timeout=60,
    )
    endpoints = task_endpoints(client, SERVICE)
    print_line(f"3 replicas pulled by digest and answering in {time.monotonic() - started:.1f} s")
    assert {each.node for each in endpoints} == {str(client.info()["Name"]), *lab.workers}
    for worker in lab.workers:  # each worker's engine pulled the image by its digest
        digests = lab.exec(worker, "docker", "images", "--digests", "--format", "{{.Digest}}")
        assert image.split("@")[1] in digests.stdout.split()


def test_a_killed_worker_goes_down_and_its_tasks_run_elsewhere(
    client: DockerClient, lab: Lab, pushed_web: tuple[str, str]
) -> None:
    token, image = pushed_web
    if len(task_endpoints(client, SERVICE)) != 3:
        pytest.skip("needs the service the previous test starts")
    victim = lab.workers[-1]
    lab.kill(victim)
    killed = time.monotonic()

    def victim_down() -> bool:
        return lab_node_state(client, victim) == "down"

    down = _wait_for(f"{victim} Down", victim_down, timeout=40)

    def moved() -> bool:
        endpoints = task_endpoints(client, SERVICE)
        return (
            len(endpoints) == 3
            and victim not in {each.node for each in endpoints}
            and _all_answer(endpoints, token)
        )

    _wait_for("3 tasks answering without the killed worker", moved, timeout=60)
    elsewhere = time.monotonic() - killed
    print_line(
        f"killed {victim}: Down after {down:.1f} s, tasks answer elsewhere after {elsewhere:.1f} s"
    )
    restarted = time.monotonic()
    lab.restart(victim)
    lab.wait_ready()
    print_line(f"{victim} restarted and Ready again in {time.monotonic() - restarted:.1f} s")
    # a pull asks the registry even for an image the worker has: its forward is back
    lab.exec(victim, "docker", "pull", image)


def lab_node_state(client: DockerClient, hostname: str) -> str:
    for node in client.nodes.list(filters={"name": hostname}):
        if node.attrs["Description"]["Hostname"] == hostname:
            return str(node.attrs["Status"]["State"])
    return ""


def test_a_registry_with_credentials_refuses_anonymous_pushes_and_pulls(
    client: DockerClient, lab: Lab, pushed_web: tuple[str, str]
) -> None:
    token, by_digest = pushed_web
    source = by_digest.split("@")[0] + f":{token}"
    with Registry(auth=AUTH) as private:
        lab.share_loopback(private.port)
        repository = f"{private.address}/lab/private"
        client.images.get(source).tag(repository, token)
        try:
            with pytest.raises(RuntimeError, match="no basic auth credentials"):
                _push(client, repository, token)
            user, password = AUTH
            digest = _push(client, repository, token, {"username": user, "password": password})
            worker = lab.workers[0]
            ref = f"{repository}@{digest}"
            refused = lab.exec(worker, "docker", "pull", ref, check=False)
            assert refused.exit_code != 0
            assert "no basic auth credentials" in refused.stderr
            lab.exec(worker, "docker", "login", "-u", user, "-p", password, private.address)
            lab.exec(worker, "docker", "pull", ref)
        finally:
            client.images.remove(f"{repository}:{token}", force=True)
