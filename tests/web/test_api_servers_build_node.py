"""PUT/DELETE /api/v1/servers/swarm/build-node: the node apps on servers are built on.
Malformed bodies are refused naming the field, and nothing is recorded; choosing one is tested
on the twins (tests/unit/service/reactors/test_replica_release.py) and against real engines
(tests/contract/test_swarm_contract.py, tests/integration/test_replicated_deploy.py)."""

from __future__ import annotations

from typing import Any

from tests.web.test_api_servers_joins import BODY, HOST_KEY, SSH_BODY

PATH = "/api/v1/servers/swarm/build-node"


def types(call: Any, services: Any) -> list[str]:
    return [event.type for event in call(services.store.read_all)]


def test_a_malformed_build_node_is_refused_naming_the_field_and_nothing_is_recorded(
    client, auth, call, services
):
    before = types(call, services)
    for body, field, status in (
        ({**BODY, "engine": "unix:///var/run/docker.sock"}, "engine", 400),
        ({**BODY, "role": "worker"}, "role", 400),  # a join's, not this
        ({k: v for k, v in BODY.items() if k != "key"}, "key", 422),
        ({**BODY, "engine": "ssh://root@10.0.0.5"}, "ssh_key", 422),
        (SSH_BODY | {"host_key": f"@revoked * {HOST_KEY}"}, "host_key", 422),
        (BODY, "no swarm yet", 422),
    ):
        refused = client.put(PATH, json=body, headers=auth)
        assert refused.status_code == status, (body, refused.text)
        assert field in refused.text, (body, refused.text)
    assert client.get("/api/v1/servers", headers=auth).json()["build_node"] is None
    gone = client.delete(PATH, headers=auth)
    assert gone.status_code == 404, gone.text
    assert "built on the manager" in gone.text
    assert types(call, services) == before
