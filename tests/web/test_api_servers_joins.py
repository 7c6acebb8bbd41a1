"""POST /api/v1/servers/joins: a node joined through its engine API over TLS. Malformed bodies
are refused naming the field, and nothing is recorded; the join itself is tested on the twins
(tests/unit/service/reactors/test_swarm_keeper.py) and against real engines over TLS
(tests/contract/test_swarm_contract.py)."""

from __future__ import annotations

from typing import Any

PATH = "/api/v1/servers/joins"
BODY = {"engine": "tcp://10.0.0.5:2376", "ca": "pem", "cert": "pem", "key": "pem"}


def types(call: Any, services: Any) -> list[str]:
    return [event.type for event in call(services.store.read_all)]


def test_a_malformed_join_is_refused_naming_the_field_and_nothing_is_recorded(
    client, auth, call, services
):
    before = types(call, services)
    for body, field, status in (
        ({**BODY, "engine": "10.0.0.5:2376"}, "engine", 400),
        ({**BODY, "engine": "unix:///var/run/docker.sock"}, "engine", 400),
        ({**BODY, "engine": "tcp://10.0.0.5"}, "engine", 400),
        ({**BODY, "role": "leader"}, "role", 400),
        ({k: v for k, v in BODY.items() if k != "key"}, "key", 400),
        ({**BODY, "cert": ""}, "cert", 400),
        ({**BODY, "token": "x"}, "token", 400),
        (BODY, "no swarm yet", 422),  # well formed, and there is no swarm to join
    ):
        refused = client.post(PATH, json=body, headers=auth)
        assert refused.status_code == status, (body, refused.text)
        assert field in refused.text, (body, refused.text)
    assert types(call, services) == before
