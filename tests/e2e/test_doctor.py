"""`rivetr doctor` beside a real `rivetr serve`: the engine answers, the proxy is found on its
port, a domain pointing here passes and one that does not resolve fails with what to add, a key
file others may read fails with the chmod that fixes it, and the exit status says so."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import Server, run_cli

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.docker]


def doctor(server: Server) -> tuple[int, dict[str, dict[str, str]]]:
    env = {
        "RIVETR_PROXY_HTTP_PORT": str(server.proxy_port),
        "RIVETR_PROXY_HTTPS_PORT": str(server.tls_port),
    }
    done = run_cli(server.data_dir, "doctor", "--json", env=env)
    return done.returncode, {f["check"]: f for f in json.loads(done.stdout)}


def test_doctor_says_what_stands_in_the_way_and_what_to_do(
    tmp_path: Path, server_factory: type[Server]
) -> None:
    data = tmp_path / "data"
    token = run_cli(data, "tokens", "create", "--name", "doc").stdout.strip()
    server = server_factory(data).start()
    here = socket.gethostname()  # resolves to this machine's own address
    made = httpx.post(
        f"{server.url}/api/v1/apps",
        headers={"Authorization": f"Bearer {token}"},
        json={
            "name": "web",
            "git_url": "https://github.com/me/web.git",
            "domains": [here, "nowhere.rivetr.invalid"],
        },
    )
    assert made.status_code == 201, made.text

    status, found = doctor(server)

    assert found["engine"]["status"] == "ok"
    assert found[f"port {server.proxy_port}"]["status"] == "ok"
    assert "Rivetr's proxy" in found[f"port {server.proxy_port}"]["detail"]
    assert found["dns nowhere.rivetr.invalid"]["status"] == "fail"
    assert "add an A" in found["dns nowhere.rivetr.invalid"]["action"]
    assert found[f"dns {here}"]["status"] in ("ok", "warn")  # NAT'd hosts see their own name
    assert found["disk"]["status"] in ("ok", "warn")
    assert found["event log"]["status"] == "ok"
    assert found["control-plane backup"]["status"] == "warn"
    assert status == 1  # a domain fails

    key = data / "secrets.key"
    key.touch(exist_ok=True)
    key.chmod(0o644)
    _, found = doctor(server)
    assert found["key file"]["status"] == "fail"
    assert f"chmod 600 {key}" in found["key file"]["action"]

    server.stop()
    _, found = doctor(server)  # with the service stopped, its port is free
    assert found[f"port {server.proxy_port}"]["status"] == "warn"
