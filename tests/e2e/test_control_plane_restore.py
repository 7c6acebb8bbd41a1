"""The control plane backed up and restored onto a "new machine", with the real `rivetr`
command, the real engine and the real proxy: two apps live (one with a sealed variable and its
own certificate), `rivetr backup --with-key` beside the running service; then the service
stopped, its data directory wiped with the apps' containers and images; `rivetr restore` into
another, empty data directory (a wrong passphrase refused first), `rivetr serve`, and every app
serves again through the proxy, over HTTPS where it had a certificate."""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import Server, rivetr_command, run_cli
from tests.integration.deploy_helpers import AppRepo
from tests.integration.test_tls import https_get
from tests.tls import ThrowawayCA

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.docker]

DOCKER = "/usr/bin/docker"
PASSPHRASE = "a passphrase kept apart from the backups"
FAST_HEALTH = {"path": "/", "interval_s": 0.2, "timeout_s": 1, "boot_deadline_s": 10}


class Instance:
    def __init__(self, server: Server, token: str, ca: ThrowawayCA, secured: str) -> None:
        self.server = server
        self.token = token
        self.ca = ca
        self.secured = secured  # the domain with a certificate: plain HTTP redirects it

    def call(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        return httpx.request(
            method,
            f"{self.server.url}/api/v1{path}",
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=30,
            **kwargs,  # type: ignore[arg-type]
        )

    def served(self, domain: str) -> str | None:
        try:
            if domain == self.secured:
                answer = https_get(self.server.tls_port, domain, self.ca.pem)
                head, _, body = answer.partition(b"\r\n\r\n")
                return body.decode() if head.startswith(b"HTTP/1.1 200") else None
            plain = httpx.get(self.server.proxy_url, headers={"Host": domain}, timeout=5)
        except (httpx.TransportError, OSError):
            return None
        return plain.text if plain.status_code == 200 else None

    def wait_serving(self, expected: dict[str, str], timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(self.served(domain) == text for domain, text in expected.items()):
                return
            time.sleep(0.5)
        seen = {domain: self.served(domain) for domain in expected}
        raise AssertionError(f"not every app serves: {seen}\n{self.server.output()[-3000:]}")


def remove_by_label(kind: str, label: str) -> None:
    listed = subprocess.run(
        [DOCKER, kind, "ls", "-aq", "--filter", f"label={label}"],
        capture_output=True,
        text=True,
    ).stdout.split()
    if listed:
        subprocess.run([DOCKER, kind, "rm", "-f", *set(listed)], capture_output=True)


def test_a_restored_control_plane_serves_every_app_again(
    tmp_path: Path, server_factory: type[Server]
) -> None:
    tag = uuid.uuid4().hex[:6]
    apps = {f"a{tag}": f"a{tag}.test", f"b{tag}": f"b{tag}.test"}
    old = tmp_path / "old"
    token = run_cli(old, "tokens", "create", "--name", "restore").stdout.strip()
    ca = ThrowawayCA()
    secured = apps[f"a{tag}"]
    instance = Instance(server_factory(old).start(), token, ca, secured)
    ids = []
    try:
        for name, domain in apps.items():
            repo = AppRepo(tmp_path / f"repo-{name}")
            repo.commit(f"{name} v1")
            body = {
                "name": name,
                "git_url": str(repo.path),
                "port": 8080,
                "domains": [domain],
                "health": FAST_HEALTH,
                "env": {"GREETING": f"sealed for {name}"},
            }
            created = instance.call("POST", "/apps", json=body)
            assert created.status_code == 201, created.text
            ids.append(created.json()["id"])
            assert instance.call("POST", f"/apps/{name}/deployments", json={}).status_code == 202
        chain, key = ca.issue(secured)
        uploaded = instance.call(
            "PUT",
            f"/apps/a{tag}/certificates/{secured}",
            json={"certificate": chain.decode(), "private_key": key.decode()},
        )
        assert uploaded.status_code == 201, uploaded.text
        instance.wait_serving({domain: f"{name} v1" for name, domain in apps.items()})
        encrypt = subprocess.run(
            rivetr_command(
                "backup-targets", "set", "local", "--team", "default", "--encrypt",
                "--data-dir", str(old),
            ),
            input=f"{PASSPHRASE}\n", capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert encrypt.returncode == 0, encrypt.stderr

        backup = run_cli(old, "backup", "--with-key")

        assert backup.returncode == 0, backup.stderr
        assert " verified: " in backup.stderr
    finally:
        instance.server.stop()
    # the old machine is gone: its data directory, and the apps' containers and images
    offsite = tmp_path / "offsite"
    shutil.copytree(old / "backups" / "default" / "local", offsite)
    shutil.rmtree(old)
    for app_id in ids:
        remove_by_label("container", f"rivetr.app={app_id}")
        remove_by_label("image", f"rivetr.app={app_id}")

    new = tmp_path / "new"
    wrong = run_cli(new, "restore", "--from-dir", str(offsite), env={
        "RIVETR_BACKUP_PASSPHRASE": "not the passphrase"
    })  # fmt: skip
    assert wrong.returncode == 1
    assert "restore failed at decrypt" in wrong.stderr
    assert "does not open this backup" in wrong.stderr
    assert not (new / "events.db").exists()

    restored = run_cli(new, "restore", "--from-dir", str(offsite), env={
        "RIVETR_BACKUP_PASSPHRASE": PASSPHRASE
    })  # fmt: skip
    assert restored.returncode == 0, restored.stderr
    assert "the key file" in restored.stderr
    assert run_cli(new, "audit", "verify").returncode == 0

    again = Instance(server_factory(new).start(), token, ca, secured)
    try:
        # the secured one over HTTPS, with its certificate from the backup
        again.wait_serving({domain: f"{name} v1" for name, domain in apps.items()})
        for name in apps:
            deployments = again.call("GET", f"/apps/{name}/deployments").json()
            assert deployments[0]["trigger"] == "rebuild"
            assert deployments[0]["status"] == "live"
    finally:
        again.server.stop()
        for app_id in ids:
            remove_by_label("container", f"rivetr.app={app_id}")
            remove_by_label("image", f"rivetr.app={app_id}")
