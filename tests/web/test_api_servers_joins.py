"""POST /api/v1/servers/joins: a node joined through its engine API over TLS or SSH.
Malformed bodies are refused naming the field, and nothing is recorded; the join itself is
tested on the twins (tests/unit/service/reactors/test_swarm_keeper.py) and against real
engines over TLS and SSH (tests/contract/test_swarm_contract.py)."""

from __future__ import annotations

from typing import Any

PATH = "/api/v1/servers/joins"
BODY = {"engine": "tcp://10.0.0.5:2376", "ca": "pem", "cert": "pem", "key": "pem"}
HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHNs9Evd8bBq6bGsIS+tJ0SjpWMmkY+ucwMfJ1dyt2DU"
SSH_BODY = {"engine": "ssh://root@10.0.0.5", "ssh_key": "key", "host_key": HOST_KEY}


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
        ({**BODY, "engine": "ssh://root@10.0.0.5:22x"}, "engine", 400),
        ({**BODY, "engine": "ssh://root@"}, "engine", 400),
        ({**BODY, "role": "leader"}, "role", 400),
        ({**BODY, "token": "x"}, "token", 400),
        ({k: v for k, v in BODY.items() if k != "key"}, "key", 422),
        ({**BODY, "cert": " "}, "cert", 422),
        ({**BODY, "engine": "ssh://root@10.0.0.5"}, "ssh_key", 422),  # TLS's PEMs will not do
        (SSH_BODY | {"host_key": "10.0.0.5 ssh-ed25519 not-base64!"}, "host_key", 422),
        (SSH_BODY | {"host_key": f"@revoked * {HOST_KEY}"}, "host_key", 422),
        (SSH_BODY | {"host_key": HOST_KEY.replace("ssh-ed25519", "ssh-rsa")}, "host_key", 422),
        (BODY, "no swarm yet", 422),  # well formed, and there is no swarm to join
        (SSH_BODY | {"host_key": f"10.0.0.5 {HOST_KEY} root@node"}, "no swarm yet", 422),
    ):
        refused = client.post(PATH, json=body, headers=auth)
        assert refused.status_code == status, (body, refused.text)
        assert field in refused.text, (body, refused.text)
    assert types(call, services) == before
