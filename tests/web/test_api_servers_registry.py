"""PUT/DELETE /api/v1/servers/swarm/registry: the registry the servers pull from, shown with
the servers (never its password), refused clearly when malformed, and an account the engine
cannot try (no engine here) refused with nothing recorded."""

from __future__ import annotations

from typing import Any

PATH = "/api/v1/servers/swarm/registry"


def types(call: Any, services: Any) -> list[str]:
    return [event.type for event in call(services.store.read_all)]


def test_a_registry_is_set_shown_and_forgotten(client, auth, call, services):
    assert client.get("/api/v1/servers", headers=auth).json()["registry"] is None

    made = client.put(PATH, json={"address": "10.0.0.1:5000"}, headers=auth)

    assert made.status_code == 200, made.text
    assert made.json() == {"address": "10.0.0.1:5000", "username": "", "source": "set"}
    listed = client.get("/api/v1/servers", headers=auth).json()
    assert listed["registry"] == made.json()
    gone = client.delete(PATH, headers=auth)
    assert gone.status_code == 204, gone.text
    assert client.get("/api/v1/servers", headers=auth).json()["registry"] is None
    again = client.delete(PATH, headers=auth)
    assert again.status_code == 404
    assert "no registry was set" in again.text
    assert types(call, services).count("swarm.registry_set") == 1


def test_a_malformed_registry_is_refused_naming_the_field(client, auth, call, services):
    before = types(call, services)
    for body, field, status in (
        ({"address": "https://r.example.com"}, "address", 400),
        ({"address": "r.example.com/Team!"}, "address", 400),
        ({"address": "r.example.com", "username": "a b", "password": "x"}, "username", 400),
        ({"address": "r.example.com", "username": "deploy"}, "password", 422),
        ({"address": "r.example.com", "password": "x"}, "username", 422),
    ):
        refused = client.put(PATH, json=body, headers=auth)
        assert refused.status_code == status, (body, refused.text)
        assert field in refused.text, (body, refused.text)
    assert types(call, services) == before


def test_an_account_is_tried_against_the_registry_first(client, auth, call, services):
    """No engine here to sign in through: refused in so many words, and nothing kept."""
    before = types(call, services)
    body = {"address": "r.example.com", "username": "deploy", "password": "s3cret"}

    refused = client.put(PATH, json=body, headers=auth)

    assert refused.status_code == 502, refused.text
    assert refused.json()["detail"] == (
        "the account was not taken by r.example.com: container engine disabled by"
        " configuration (engine = none)"
    )
    assert types(call, services) == before


def test_a_registry_is_run_here_only_on_a_swarm_and_a_port_of_its_own(client, auth, call, services):
    """No swarm here: refused before anything is started, and nothing recorded."""
    before = types(call, services)
    hosted = f"{PATH}/hosted"
    for body, status, words in (
        ({"port": 0}, 400, "port"),
        ({"port": "5000"}, 400, "port"),
        ({"port": 5000}, 422, "no swarm yet"),
        ({}, 422, "no swarm yet"),
    ):
        refused = client.post(hosted, json=body, headers=auth)
        assert refused.status_code == status, (body, refused.text)
        assert words in refused.text, (body, refused.text)
    stopped = client.delete(hosted, headers=auth)
    assert stopped.status_code == 404, stopped.text
    assert "runs no registry" in stopped.text
    assert types(call, services) == before
