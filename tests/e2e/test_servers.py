"""Servers as a user makes them, on a real `rivetr serve`, the host's real engine and two
worker engines of the swarm lab: the local engine made a manager from the CLI, a node invited
whose printed join command is run on it, listed ready through the API, labelled and drained
(the engine agreeing), refused removal while up, then removed once it left; then joined again,
by Rivetr through its engine API over TLS, then through SSH (`rivetr servers join`); a
registry run on the manager (`rivetr servers registry --run`) that the node pulls from, then
stopped; every step in the log."""

from __future__ import annotations

import os
import shlex
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import docker
import httpx
import pytest

from tests.e2e.conftest import Server, run_cli
from tests.swarm_lab import Lab
from tests.tls import ThrowawayCA

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.docker, pytest.mark.swarm]
ENGINE_CA = ThrowawayCA()  # signs the worker engine's certificate and the CLI's client one


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    if os.geteuid() != 0:
        if os.environ.get("CI"):
            pytest.fail("CI must run the servers test: not root")
        pytest.skip("the swarm lab needs root")
    client = docker.from_env()
    with Lab(client, workers=1, tls=ENGINE_CA) as started:
        yield started
    client.close()


def eventually(
    what: str,
    check: Callable[[], bool],
    timeout: float = 30,
    seen: Callable[[], str] = lambda: "",
) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout:.0f} s; {seen()}")
        time.sleep(0.25)


def test_a_node_is_invited_joined_labelled_drained_and_removed(
    lab: Lab, tmp_path: Path, server_factory: type[Server]
) -> None:
    data = tmp_path / "data"
    token = run_cli(data, "tokens", "create", "--name", "admin").stdout.strip()
    server = server_factory(data, {"RIVETR_SWARM_CHECK_INTERVAL_S": "0.3"}).start()
    api = httpx.Client(
        base_url=f"{server.url}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=60
    )

    def listed() -> dict[str, dict]:  # type: ignore[type-arg]
        answer = api.get("/servers")
        assert answer.status_code == 200, answer.text
        return {s["hostname"]: s for s in answer.json()["servers"]}

    assert "no swarm" in run_cli(data, "servers").stdout
    bad = run_cli(data, "servers", "init", "--advertise-addr", "not-an-address")
    assert bad.returncode == 1
    assert "must be an IP address" in bad.stderr
    made = run_cli(data, "servers", "init", "--advertise-addr", lab.gateway)
    assert made.returncode == 0, made.stderr + server.output()
    assert "\tmanager\tready\tactive\t" + lab.gateway in made.stdout
    assert docker.from_env().info()["Swarm"]["NodeAddr"] == lab.gateway

    [worker] = lab.workers
    hostname = lab.exec(worker, "hostname").stdout.strip()
    invited = run_cli(data, "servers", "invite", hostname)
    assert invited.returncode == 0, invited.stderr
    command = invited.stdout.strip()
    assert command.startswith("docker swarm join --token SWMTKN-")
    assert command.endswith(f" {lab.gateway}:2377")
    assert run_cli(data, "servers", "invite", hostname).returncode == 0  # asked again: fine
    lab.exec(worker, *shlex.split(command))
    eventually(
        f"{hostname} listed ready",
        lambda: listed().get(hostname, {}).get("state") == "ready",
        timeout=90,  # a joining engine on a loaded 2-core CI machine
        seen=lambda: f"listed {listed()}; serve said:\n{server.output()[-3000:]}",
    )
    assert api.get("/servers").json()["invited"] == []
    assert [s["leader"] for s in listed().values()] == [True, False]  # manager first
    for server_listed in listed().values():  # the manager's resources too, and the worker's
        assert server_listed["cpus"] > 0, server_listed
        assert server_listed["memory_bytes"] > 0, server_listed
        assert server_listed["engine_version"], server_listed

    labelled = run_cli(data, "servers", "label", hostname, "zone=eu", "disk=ssd")
    assert labelled.returncode == 0, labelled.stderr
    assert "disk=ssd,zone=eu" in labelled.stdout
    node_id = listed()[hostname]["node_id"]
    engine = docker.from_env()
    assert engine.api.inspect_node(node_id)["Spec"]["Labels"] == {"zone": "eu", "disk": "ssd"}
    drained = api.patch(f"/servers/{hostname}", json={"availability": "drain"})
    assert drained.status_code == 200, drained.text
    assert engine.api.inspect_node(node_id)["Spec"]["Availability"] == "drain"
    bad_label = api.patch(f"/servers/{hostname}", json={"labels": {"zone": "a b"}})
    assert bad_label.status_code == 400

    up = run_cli(data, "servers", "remove", hostname)
    assert up.returncode == 1
    assert "docker swarm leave" in up.stderr
    lab.exec(worker, "docker", "swarm", "leave")
    eventually(f"{hostname} down", lambda: listed()[hostname]["state"] == "down", timeout=60)
    gone = api.delete(f"/servers/{hostname}")
    assert gone.status_code == 204, gone.text
    assert hostname not in listed()
    assert node_id not in {n["ID"] for n in engine.api.nodes()}

    # back, joined through its engine: the client certificate as Docker's CLI keeps it
    tls = tmp_path / "tls"
    tls.mkdir()
    chain, key = ENGINE_CA.issue("rivetr")
    for name, pem in (("ca", ENGINE_CA.pem), ("cert", chain), ("key", key)):
        (tls / f"{name}.pem").write_bytes(pem)
    joined = run_cli(data, "servers", "join", lab.engine_url(worker), "--tls-dir", str(tls))
    assert joined.returncode == 0, joined.stderr + server.output()[-3000:]
    assert joined.stdout.startswith(f"{hostname} joined through {lab.engine_url(worker)}")
    eventually(
        f"{hostname} listed ready again",
        lambda: listed().get(hostname, {}).get("state") == "ready",
        timeout=90,
        seen=lambda: f"listed {listed()}; serve said:\n{server.output()[-3000:]}",
    )
    assert listed()[hostname]["address"] == lab.address(worker)
    assert api.get("/servers").json()["invited"] == []
    for log_file in data.glob("events.db*"):  # the log and its write-ahead file
        assert b"PRIVATE KEY" not in log_file.read_bytes(), log_file
    again = run_cli(data, "servers", "join", lab.engine_url(worker), "--tls-dir", str(tls))
    assert again.returncode == 1
    assert "is in a swarm already (its state: active)" in again.stderr

    # and once more, through SSH: the key and the node's host key where a user keeps them
    lab.exec(worker, "docker", "swarm", "leave")
    eventually(f"{hostname} down", lambda: listed()[hostname]["state"] == "down", timeout=60)
    assert api.delete(f"/servers/{hostname}").status_code == 204
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_ed25519").write_text(lab.ssh_private_key)
    scanned = f"{lab.address(worker)} {lab.host_key(worker)}\n"
    (home / ".ssh" / "known_hosts").write_text(scanned)
    through_ssh = run_cli(data, "servers", "join", lab.ssh_url(worker), env={"HOME": str(home)})
    assert through_ssh.returncode == 0, through_ssh.stderr + server.output()[-3000:]
    assert through_ssh.stdout.startswith(f"{hostname} joined through {lab.ssh_url(worker)}")
    eventually(
        f"{hostname} listed ready through SSH",
        lambda: listed().get(hostname, {}).get("state") == "ready",
        timeout=90,
        seen=lambda: f"listed {listed()}; serve said:\n{server.output()[-3000:]}",
    )
    assert listed()[hostname]["address"] == lab.address(worker)
    for log_file in data.glob("events.db*"):
        assert b"OPENSSH PRIVATE KEY" not in log_file.read_bytes(), log_file

    from tests.database_images import REGISTRY, ensure_image
    from tests.net import free_port

    image = ensure_image(engine, REGISTRY)
    lab.load_image(worker, image)
    port = free_port()
    with_image = {"RIVETR_HOSTED_REGISTRY_IMAGE": image}
    hosted = run_cli(data, "servers", "registry", "--run", "--port", str(port), env=with_image)
    assert hosted.returncode == 0, hosted.stderr
    address = f"{lab.gateway}:{port}"
    assert hosted.stdout.startswith(f"images for the servers go to {address}, the registry run")
    pushed = f"{address}/e2e/registry:1"
    engine.images.get(image).tag(pushed)
    for line in engine.images.push(pushed, stream=True, decode=True):
        assert "error" not in line, line
    pulled = lab.exec(worker, "docker", "pull", pushed, check=False)
    assert pulled.exit_code == 0, pulled  # the node's engine trusts it, and it the node
    stopped = run_cli(data, "servers", "registry", "--stop")
    assert stopped.returncode == 0, stopped.stderr
    assert api.get("/servers").json()["registry"] is None

    types = [e["type"] for e in api.get("/audit", params={"limit": 200}).json()]
    for kind in (
        "swarm.initialised",
        "swarm.node_invited",
        "swarm.node_joined",
        "swarm.node_described",
        "swarm.node_changed",
        "swarm.node_state_changed",
        "swarm.node_removed",
        "swarm.registry_hosted",
        "swarm.registry_stopped",
    ):
        assert kind in str(types), kind
    engine.close()
