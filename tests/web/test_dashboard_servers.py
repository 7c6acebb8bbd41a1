"""The dashboard's servers, for the instance's administrators alone: without a swarm, the form
that makes one; with one, its servers, the invitations not answered yet, the invite form whose
answer is the join command (shown once, kept nowhere), and each server's page where its labels,
availability and removal change. Every change is carried out by the keeper on the swarm twin
before the page answers; a refusal, the engine's in its own words, shows the form again as
typed."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from rivetr.adapters.runtime.base import ContainerError
from rivetr.adapters.runtime.fake import FakeRuntime
from rivetr.adapters.swarm.base import SwarmInfo
from rivetr.adapters.swarm.fake import FakeSwarm
from rivetr.bootstrap import Services
from rivetr.config import Settings
from rivetr.domain.swarm_events import STREAM
from rivetr.web.app import create_app
from tests.web.page_parts import problem, text_of, value


class RefusingSwarm(FakeSwarm):
    """An engine that will not make a swarm, saying why as Docker does."""

    async def init(self, advertise_addr: str) -> SwarmInfo:
        raise ContainerError(
            f"make a swarm: must specify a listening address: {advertise_addr} is not an"
            " address of this machine"
        )


@pytest.fixture
def swarm() -> FakeSwarm:
    return FakeSwarm(hostname="vps-1")


@pytest.fixture
def client(tmp_path: Path, swarm: FakeSwarm) -> Iterator[TestClient[Any]]:
    """The app of tests/web/conftest.py with an engine, so that the swarm keeper runs, and
    `swarm` as the engine's swarm."""
    settings = Settings(data_dir=str(tmp_path / "data"), engine="none", proxy_enabled=False)
    ports = partial(Services.open, runtime=FakeRuntime(), swarm=swarm)
    with TestClient(create_app(settings, open_services=ports)) as client:
        yield client


@pytest.fixture
def admin(member, session_headers) -> str:  # type: ignore[no-untyped-def]
    """The instance's administrator signed in: the CSRF token of their forms."""
    member("root@example.com", "owner")
    return str(session_headers("root@example.com")["X-CSRF-Token"])


def swarm_types(call: Any, services: Any) -> list[str]:
    return [r.type for r in call(services.store.read_stream, STREAM)]


def made(client: TestClient[Any], admin: str) -> None:
    answer = client.post(
        "/servers/swarm",
        data={"csrf_token": admin, "advertise_addr": "10.0.0.1"},
        follow_redirects=False,
    )
    assert answer.status_code in (302, 303), answer.text
    assert answer.headers["location"] == "/servers"


def joined(client, admin, call, services, swarm, name: str = "vps-2") -> str:  # type: ignore[no-untyped-def]
    """A swarm with `name` joined, as the keeper records it: its node id."""
    if swarm.info is None:
        made(client, admin)
    node = swarm.join(name, "10.0.0.2")
    call(services.swarm_keeper.look)
    return node.node_id


def test_whoever_is_not_an_instance_admin_is_refused_the_servers(
    client, member, session_headers, call, services, swarm
) -> None:
    member("root@example.com", "owner")
    session_headers("root@example.com")
    assert '<a href="/servers">Servers</a>' in client.get("/").text
    member("dev@example.com", "admin", team="acme")  # a team's admin, not the instance's
    token = session_headers("dev@example.com")["X-CSRF-Token"]
    assert 'href="/servers"' not in client.get("/").text

    page = client.get("/servers")
    assert page.status_code == 403
    assert "administrators" in (text_of(page.text, "servers-refused") or "")
    assert 'id="swarm-form"' not in page.text
    made = client.post("/servers/swarm", data={"csrf_token": token, "advertise_addr": "10.0.0.1"})
    assert made.status_code == 403
    assert "servers-refused" in made.text
    invited = client.post("/servers/invitations", data={"csrf_token": token, "name": "vps-2"})
    assert invited.status_code == 403
    assert "docker swarm join" not in invited.text
    assert client.get("/servers/vps-1").status_code == 403
    labelled = client.post("/servers/vps-1/labels", data={"csrf_token": token, "labels": "a=b"})
    assert labelled.status_code == 403
    assert swarm_types(call, services) == []
    assert swarm.info is None


def test_without_a_swarm_the_page_makes_one_and_a_bad_address_is_refused_as_typed(
    client, admin, call, services, swarm
) -> None:
    page = client.get("/servers")
    assert page.status_code == 200
    assert "Everything runs on this machine" in (text_of(page.text, "no-swarm") or "")

    bad = client.post(
        "/servers/swarm", data={"csrf_token": admin, "advertise_addr": "not-an-address"}
    )
    assert bad.status_code == 422
    assert "must be an IP address" in (problem(bad.text, "advertise_addr") or "")
    assert value(bad.text, "advertise_addr") == "not-an-address"
    assert swarm_types(call, services) == []
    stale = client.post("/servers/swarm", data={"csrf_token": "x", "advertise_addr": "10.0.0.1"})
    assert stale.status_code == 403
    assert "expired" in stale.text

    made(client, admin)
    listed = client.get("/servers").text
    row = text_of(listed, "servers") or ""
    assert "vps-1" in row
    assert "this machine" in row
    assert "manager" in row
    # the log holds no resources of the manager (swarm.initialised has none): not said to be 0
    assert "0.0 GiB" not in row
    assert 'id="swarm-form"' not in listed
    assert "10.0.0.1" in (text_of(listed, "swarm-summary") or "")
    assert swarm_types(call, services)[:2] == ["swarm.init_requested", "swarm.initialised"]


@pytest.mark.parametrize("swarm", [RefusingSwarm(hostname="vps-1")])
def test_the_engines_refusal_to_make_a_swarm_is_shown_in_its_words(client, admin, swarm) -> None:
    refused = client.post(
        "/servers/swarm", data={"csrf_token": admin, "advertise_addr": "10.9.9.9"}
    )

    assert refused.status_code == 502
    words = "must specify a listening address: 10.9.9.9 is not an address of this machine"
    assert words in (text_of(refused.text, "swarm-problem") or "")
    assert words in (text_of(refused.text, "init-failure") or "")
    assert value(refused.text, "advertise_addr") == "10.9.9.9"


def test_an_invitation_answers_the_join_command_once_and_waits_until_the_node_joins(
    client, admin, call, services, swarm
) -> None:
    made(client, admin)

    invited = client.post("/servers/invitations", data={"csrf_token": admin, "name": "vps-2"})

    assert invited.status_code == 200, invited.text
    token = f"SWMTKN-1-{swarm.info.swarm_id}-worker"
    command = f"docker swarm join --token {token} 10.0.0.1:2377"
    assert text_of(invited.text, "join-command") == command
    assert invited.headers["cache-control"] == "no-store"
    assert token not in str(call(services.store.read_all))  # kept nowhere
    waiting = client.get("/servers").text
    assert "vps-2" in (text_of(waiting, "invited") or "")
    assert token not in waiting
    manager = client.post(
        "/servers/invitations", data={"csrf_token": admin, "name": "vps-3", "manager": "on"}
    )
    assert f"SWMTKN-1-{swarm.info.swarm_id}-manager" in (
        text_of(manager.text, "join-command") or ""
    )

    swarm.join("vps-2", "10.0.0.2")
    call(services.swarm_keeper.look)
    now = client.get("/servers").text
    assert "vps-2" in (text_of(now, "servers") or "")
    assert "2.0 GiB" in (text_of(now, "servers") or "")  # its resources, as the engine listed
    assert "vps-2" not in (text_of(now, "invited") or "")


def test_an_invitation_refused_shows_the_form_again_as_typed(client, admin, call, services):
    early = client.post("/servers/invitations", data={"csrf_token": admin, "name": "vps-2"})
    assert early.status_code == 422
    assert "no swarm yet" in (text_of(early.text, "invite-problem") or "")

    made(client, admin)
    bad = client.post(
        "/servers/invitations", data={"csrf_token": admin, "name": "vps 2", "manager": "on"}
    )
    assert bad.status_code == 422
    assert "'vps 2' is not a host name (a host name: letters, digits" in (
        problem(bad.text, "name") or ""
    )
    assert value(bad.text, "name") == "vps 2"
    assert 'id="f-manager" name="manager" value="on" checked' in bad.text
    taken = client.post("/servers/invitations", data={"csrf_token": admin, "name": "vps-1"})
    assert taken.status_code == 409
    assert "in the swarm already" in (problem(taken.text, "name") or "")
    assert "swarm.node_invited" not in swarm_types(call, services)


def test_labels_are_set_from_lines_and_a_line_that_is_no_label_is_refused_by_its_number(
    client, admin, call, services, swarm
) -> None:
    node = joined(client, admin, call, services, swarm)
    page = client.get(f"/servers/{node}")
    assert page.status_code == 200
    assert node in (text_of(page.text, "server") or "")

    labelled = client.post(
        f"/servers/{node}/labels",
        data={"csrf_token": admin, "labels": "zone=eu\n\n# fast disks\ndisk = ssd\n"},
        follow_redirects=False,
    )
    assert labelled.status_code in (302, 303), labelled.text
    assert swarm.node_list[node].labels == {"zone": "eu", "disk": "ssd"}
    shown = client.get(labelled.headers["location"]).text
    assert text_of(shown, "changed-banner") == "The engine carried the change out."
    assert text_of(shown, "f-labels") == "disk=ssd\nzone=eu"
    assert "zone=eu" in (text_of(client.get("/servers").text, "servers") or "")

    typed = "zone=us\nfast ssd"
    bad = client.post(f"/servers/{node}/labels", data={"csrf_token": admin, "labels": typed})
    assert bad.status_code == 422
    assert problem(bad.text, "labels") == "line 2 is not KEY=VALUE: 'fast ssd'"
    assert text_of(bad.text, "f-labels") == typed
    key = client.post(f"/servers/{node}/labels", data={"csrf_token": admin, "labels": "a b=c"})
    assert "'a b' is not a label key (letters, digits, dots" in (problem(key.text, "labels") or "")
    assert swarm.node_list[node].labels == {"zone": "eu", "disk": "ssd"}


def test_what_the_engine_refuses_is_shown_in_its_words_with_what_was_typed(
    client, admin, call, services, swarm
) -> None:
    node = joined(client, admin, call, services, swarm)
    del swarm.node_list[node]  # gone from the engine before the log knows

    refused = client.post(f"/servers/{node}/labels", data={"csrf_token": admin, "labels": "a=b"})

    assert refused.status_code == 502
    assert f"node {node} not found" in (text_of(refused.text, "labels-problem") or "")
    assert text_of(refused.text, "f-labels") == "a=b"
    assert swarm_types(call, services)[-1] == "swarm.operation_failed"


def test_a_server_is_drained_from_the_list_and_activated_from_its_page(
    client, admin, call, services, swarm
) -> None:
    node = joined(client, admin, call, services, swarm)

    drained = client.post(
        f"/servers/{node}/availability",
        data={"csrf_token": admin, "availability": "drain", "back": "list"},
        follow_redirects=False,
    )
    assert drained.headers["location"] == "/servers"
    assert swarm.node_list[node].availability == "drain"
    assert "drain" in (text_of(client.get("/servers").text, "servers") or "")

    active = client.post(
        f"/servers/{node}/availability",
        data={"csrf_token": admin, "availability": "active"},
        follow_redirects=False,
    )
    assert active.headers["location"] == f"/servers/{node}?changed"
    assert swarm.node_list[node].availability == "active"
    odd = client.post(
        f"/servers/{node}/availability", data={"csrf_token": admin, "availability": "sideways"}
    )
    assert odd.status_code == 422
    assert "availability is one of active, pause, drain" in (
        text_of(odd.text, "availability-problem") or ""
    )


def test_a_server_still_up_is_removed_only_with_force(client, admin, call, services, swarm):
    node = joined(client, admin, call, services, swarm)
    manager = client.get("/servers/vps-1").text
    assert 'id="remove-form"' not in manager
    assert "never removed" in (text_of(manager, "manager-stays") or "")

    up = client.post(f"/servers/{node}/remove", data={"csrf_token": admin})
    assert up.status_code == 422
    assert "server vps-2 is up" in (problem(up.text, "force") or "")
    assert node in swarm.node_list

    removed = client.post(
        f"/servers/{node}/remove", data={"csrf_token": admin, "force": "on"}, follow_redirects=False
    )
    assert removed.headers["location"] == "/servers?removed=vps-2"
    assert node not in swarm.node_list
    listed = client.get(removed.headers["location"]).text
    assert text_of(listed, "removed-banner") == "vps-2 was removed from the swarm."
    assert "vps-2" not in (text_of(listed, "servers") or "")
    assert client.get(f"/servers/{node}").status_code == 404
    said = client.get("/servers?removed=<b>you+were+hacked</b>").text
    assert "removed-banner" not in said  # only a server's name is said back


def test_the_registry_is_set_with_its_account_tried_first_and_forgotten(
    client, admin, call, services, swarm
):
    swarm.accounts["r.example.com"] = ("deploy", "s3cret")
    page = client.get("/servers").text
    assert "No registry" in (text_of(page, "registry-now") or "")

    no_password = client.post(
        "/servers/registry",
        data={"csrf_token": admin, "address": "r.example.com", "username": "deploy"},
    )
    assert no_password.status_code == 422
    assert "a password is needed" in (problem(no_password.text, "password") or "")
    assert value(no_password.text, "username") == "deploy"
    wrong = client.post(
        "/servers/registry",
        data={
            "csrf_token": admin,
            "address": "r.example.com",
            "username": "deploy",
            "password": "not it",
        },
    )
    assert wrong.status_code == 502
    assert "401 Unauthorized" in (text_of(wrong.text, "registry-problem") or "")
    assert "not it" not in wrong.text  # a password is never typed back
    bad = client.post("/servers/registry", data={"csrf_token": admin, "address": "https://r"})
    assert bad.status_code == 422
    assert value(bad.text, "address") == "https://r"
    assert "swarm.registry_set" not in swarm_types(call, services)

    right = client.post(
        "/servers/registry",
        data={
            "csrf_token": admin,
            "address": "r.example.com",
            "username": "deploy",
            "password": "s3cret",
        },
        follow_redirects=False,
    )
    assert right.status_code in (302, 303), right.text
    page = client.get("/servers").text
    assert text_of(page, "registry-now") == (
        "Images of apps on the servers are pushed to r.example.com, signed in as deploy;"
        " every server pulls them from there by digest."
    )
    assert "s3cret" not in page

    forgotten = client.post(
        "/servers/registry/forget", data={"csrf_token": admin}, follow_redirects=False
    )
    assert forgotten.status_code in (302, 303), forgotten.text
    assert "No registry" in (text_of(client.get("/servers").text, "registry-now") or "")
    assert swarm_types(call, services)[-2:] == ["swarm.registry_set", "swarm.registry_cleared"]


def test_a_registry_is_run_on_the_manager_from_the_page_and_stopped(
    client, admin, call, services, swarm
):
    made(client, admin)
    swarm.unpullable.add("registry:2")
    for port, status, words in (
        ("five", 422, "'five' is not a port"),
        ("2377", 422, "the swarm's own"),
        ("5000", 502, "No such image: registry:2"),
    ):
        refused = client.post("/servers/registry/run", data={"csrf_token": admin, "port": port})
        assert refused.status_code == status, refused.text
        shown = problem(refused.text, "port") or text_of(refused.text, "registry-problem") or ""
        assert words in shown, refused.text
        assert value(refused.text, "port") == port
    swarm.unpullable.clear()

    ran = client.post(
        "/servers/registry/run",
        data={"csrf_token": admin, "port": "5000"},
        follow_redirects=False,
    )

    assert ran.status_code in (302, 303), ran.text
    page = client.get("/servers").text
    assert "pushed to 10.0.0.1:5000, the registry Rivetr runs on the manager" in (
        text_of(page, "registry-now") or ""
    )
    assert "registry-form" not in page  # no other registry while it runs
    assert swarm.hosted is not None
    stopped = client.post(
        "/servers/registry/stop", data={"csrf_token": admin}, follow_redirects=False
    )
    assert stopped.status_code in (302, 303), stopped.text
    assert "No registry" in (text_of(client.get("/servers").text, "registry-now") or "")
    assert swarm.hosted is None
    assert swarm_types(call, services)[-2:] == ["swarm.registry_hosted", "swarm.registry_stopped"]


def test_a_build_node_is_chosen_from_the_page_a_refusal_naming_its_field(
    client, admin, call, services, swarm
):
    made(client, admin)
    engine = "tcp://10.0.0.4:2376"
    swarm.remotes[engine] = "vps-4"
    pems = {
        "build_ca": "-----BEGIN CERTIFICATE-----ca",
        "build_cert": "-----BEGIN CERTIFICATE-----client",
        "build_key": "-----BEGIN PRIVATE KEY-----page-secret",
    }
    page = client.get("/servers").text
    assert "built here, on the manager" in (text_of(page, "build-now") or "")
    for typed, status, field, words in (
        ({"build_engine": "10.0.0.4:2376"}, 422, "build_engine", "is no engine"),
        ({"build_engine": engine}, 422, "build_ca", "ca"),
        ({"build_engine": engine, **pems}, 422, "build_engine", "not a node of this swarm"),
    ):
        refused = client.post("/servers/build-node", data={"csrf_token": admin, **typed})
        assert refused.status_code == status, refused.text
        assert words in (problem(refused.text, field) or ""), refused.text
        assert value(refused.text, "build_engine") == typed["build_engine"]
        assert "page-secret" not in refused.text
    swarm.join("vps-4", "10.0.0.4")
    call(services.swarm_keeper.look)

    chosen = client.post(
        "/servers/build-node",
        data={"csrf_token": admin, "build_engine": engine, **pems},
        follow_redirects=False,
    )

    assert chosen.status_code in (302, 303), chosen.text
    page = client.get("/servers").text
    assert text_of(page, "build-now") == (
        f"Images of apps on the servers are built on vps-4 ({engine}) and pushed from there."
    )
    cleared = client.post(
        "/servers/build-node/clear", data={"csrf_token": admin}, follow_redirects=False
    )
    assert cleared.status_code in (302, 303), cleared.text
    assert swarm_types(call, services)[-2:] == ["swarm.build_node_set", "swarm.build_node_cleared"]
    assert "page-secret" not in str(call(services.store.read_all))


def test_a_servers_page_lists_the_copies_of_live_releases_running_there(
    client, admin, call, services, swarm
):
    node_id = joined(client, admin, call, services, swarm)
    empty = client.get(f"/servers/{node_id}").text
    assert text_of(empty, "no-copies") == "No copy of a live release runs here."
    call(live_on_servers, services, "web", "dweb00000001")

    page = client.get(f"/servers/{node_id}").text

    assert page.count('<tr data-copy="web">') == 2
    listed = text_of(page, "copies") or ""
    assert "dweb00000001" in listed
    assert listed.index("10.0.0.2:30001") < listed.index("10.0.0.2:30002")
    manager = client.get("/servers/vps-1").text
    assert text_of(manager, "no-copies") is not None  # none runs on this machine


async def live_on_servers(services: Any, name: str, deployment_id: str) -> None:
    """`name` created and its release live as two copies on vps-2, in one append (a deployer
    finds it past `requested` and leaves it be)."""
    from rivetr.adapters.eventstore.base import EventMeta
    from rivetr.domain.access import SYSTEM
    from rivetr.domain.commands import CreateApp
    from rivetr.domain.events import DeploymentHealthy, DeploymentRequested
    from rivetr.domain.replica_events import Member, ServiceStarted, TaskRunning, TrafficBalanced

    await services.apps.handle(SYSTEM, CreateApp(name=name, git_url="https://g.example.com/w"))
    app = await services.lookup.by_name(name)
    members = [
        Member(task_id=f"t{n}", node="vps-2", address="10.0.0.2", port=30000 + n) for n in (1, 2)
    ]
    history: list[Any] = [
        DeploymentRequested(
            deployment_id=deployment_id, app=name, app_id=app.app_id, branch="main", image="i"
        ),
        ServiceStarted(
            deployment_id=deployment_id,
            service_id="s",
            service_name=f"rivetr-{name}-{deployment_id}",
            image="i",
            replicas=2,
            duration_ms=1,
        ),
        *(
            TaskRunning(deployment_id=deployment_id, slot=n, member=m)
            for n, m in enumerate(members)
        ),
        DeploymentHealthy(deployment_id=deployment_id, probes=2, duration_ms=1),
        TrafficBalanced(deployment_id=deployment_id, app=name, members=members),
    ]
    meta = EventMeta(actor="test", team="default", resource=app.app_id)
    recorded = await services.store.append(f"deployment-{deployment_id}", 0, history, meta)
    await services.runner.wait_until(recorded[-1].position)


def test_a_node_is_joined_through_its_engine_and_a_refusal_keeps_the_form_but_the_key(
    client, admin, call, services, swarm
) -> None:
    made(client, admin)
    swarm.remotes["tcp://10.0.0.5:2376"] = "vps-5"
    pems = {
        "ca": "-----BEGIN CERTIFICATE-----\nca\n",
        "cert": "-----BEGIN CERTIFICATE-----\nclient\n",
        "key": "-----BEGIN PRIVATE KEY-----\nthe-key\n",
    }
    form = {"csrf_token": admin, **pems}

    nothing = client.post("/servers/joins", data={**form, "engine": "tcp://10.0.0.9:2376"})
    assert nothing.status_code == 502
    assert "did not answer over TLS" in (text_of(nothing.text, "join-problem") or "")
    assert value(nothing.text, "engine") == "tcp://10.0.0.9:2376"
    assert "the-key" not in nothing.text  # typed back: the engine, never the key
    malformed = client.post("/servers/joins", data={**form, "engine": "10.0.0.5"})
    assert malformed.status_code == 422
    assert "'10.0.0.5' is no engine (tcp://HOST:PORT" in (problem(malformed.text, "engine") or "")

    joined = client.post(
        "/servers/joins", data={**form, "engine": "tcp://10.0.0.5:2376"}, follow_redirects=False
    )

    assert joined.status_code in (302, 303), joined.text
    waiting = text_of(client.get("/servers").text, "invited") or ""
    assert "vps-5" in waiting
    assert "joined through tcp://10.0.0.5:2376" in waiting
    call(services.swarm_keeper.look)
    listed = client.get("/servers").text
    assert "vps-5" in (text_of(listed, "servers") or "")
    assert "the-key" not in str(call(services.store.read_all))


def test_a_node_is_joined_through_ssh_from_the_form(client, admin, call, services, swarm) -> None:
    made(client, admin)
    engine = "ssh://root@10.0.0.6"
    host_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHNs9Evd8bBq6bGsIS+tJ0SjpWMmkY+ucwMfJ1dyt2DU"
    ssh_key = "-----BEGIN OPENSSH PRIVATE KEY-----\nthe-ssh-key\n"
    swarm.remotes[engine] = "vps-6"
    swarm.ssh_nodes[engine] = (host_key, ssh_key)
    form = {"csrf_token": admin, "engine": engine, "ssh_key": ssh_key}

    keyless = client.post("/servers/joins", data=form)
    assert keyless.status_code == 422
    assert "needs host_key" in (problem(keyless.text, "host_key") or "")
    wrong = client.post("/servers/joins", data={**form, "host_key": "ssh-ed25519 AAAA"})
    assert wrong.status_code == 422
    assert "as `ssh-keyscan HOST` prints it" in (problem(wrong.text, "host_key") or "")
    assert "the-ssh-key" not in wrong.text

    joined = client.post(
        "/servers/joins", data={**form, "host_key": f"10.0.0.6 {host_key}"}, follow_redirects=False
    )

    assert joined.status_code in (302, 303), joined.text
    assert "joined through ssh://root@10.0.0.6" in (
        text_of(client.get("/servers").text, "invited") or ""
    )
    assert "the-ssh-key" not in str(call(services.store.read_all))
