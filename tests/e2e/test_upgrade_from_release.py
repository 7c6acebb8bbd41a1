"""An upgrade as a user makes it: an earlier release of Rivetr, installed into a venv of its own
from this repository's history, makes an app, a database and a stack and deploys them; it is
stopped; today's Rivetr starts on the same data directory. Everything is still live and served
through the proxy, the log verifies, and a deploy works.

The release is `RELEASE`: main before issue 21, the last commit users ran before the changes of
this one. Its venv is built once per machine (pip, from the package index and pip's cache) and
kept under `$RIVETR_TEST_CACHE` (default `~/.cache/rivetr-tests`)."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.database_images import REDIS, ensure_image
from tests.e2e.conftest import Server
from tests.e2e.served_app import FAST_HEALTH
from tests.e2e.test_upgrade import remove_databases
from tests.integration.database_servers import connect_docker
from tests.integration.deploy_helpers import AppRepo

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.docker]

RELEASE = "2759b8d354f8f4d7baa72517a52981e8727601b7"  # main before issue 21
CHECKOUT = Path(__file__).resolve().parents[2]
STACK = """services:
  web:
    image: rivetr/busybox:latest
    command: ["sh", "-c", "echo blog > /www-index && exec httpd -f -p 8080 -h /"]
"""


def release_python(commit: str) -> str:
    """The interpreter of a venv holding Rivetr as it was at `commit`, made once."""
    cache = Path(os.environ.get("RIVETR_TEST_CACHE", Path.home() / ".cache" / "rivetr-tests"))
    venv = cache / f"release-{commit}"
    python = venv / "bin" / "python"
    if (venv / "made").exists():
        return str(python)
    found = subprocess.run(
        ["git", "-C", str(CHECKOUT), "cat-file", "-e", f"{commit}^{{commit}}"], capture_output=True
    )
    if found.returncode != 0:
        pytest.skip(f"release {commit} is not in this checkout's history (a shallow clone?)")
    shutil.rmtree(venv, ignore_errors=True)
    source = cache / f"source-{commit}"
    shutil.rmtree(source, ignore_errors=True)
    source.mkdir(parents=True)
    # this repository's own history, unpacked by tar (Debian 12's Python has no tar filters)
    subprocess.run(
        f"git -C {shlex.quote(str(CHECKOUT))} archive --format=tar {commit}"
        f" | tar -x -C {shlex.quote(str(source))}",
        shell=True,
        check=True,
    )
    began = time.monotonic()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            str(source),
        ],
        check=True,
    )
    shutil.rmtree(source)
    (venv / "made").write_text(commit)
    print(f"release {commit} installed into its venv in {time.monotonic() - began:.0f} s")
    return str(python)


def cli(python: str, data: Path, *args: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [python, "-m", "rivetr.cli", *args, "--data-dir", str(data)],
        capture_output=True, text=True, timeout=120, cwd=data.parent,
        env={**{k: v for k, v in os.environ.items() if k != "PYTHONPATH"}, **env},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip()


def until(
    read: Callable[[], Any], done: Callable[[Any], bool], what: str, seconds: float = 90
) -> Any:
    deadline = time.monotonic() + seconds
    seen = None
    while time.monotonic() < deadline:
        seen = read()
        if done(seen):
            return seen
        time.sleep(0.25)
    raise AssertionError(f"{what}: still {seen}")


def through_proxy(server: Server, host: str, path: str = "/") -> str:
    answer = httpx.get(f"{server.proxy_url}{path}", headers={"Host": host}, timeout=5)
    assert answer.status_code == 200, (host, answer.status_code, answer.text[:200])
    return answer.text.strip()


def test_an_earlier_release_stops_and_today_s_rivetr_carries_on_with_all_it_ran(
    tmp_path: Path, server_factory: type[Server]
) -> None:
    old = release_python(RELEASE)
    data = tmp_path / "data"
    repo = AppRepo(tmp_path / "repo")
    repo.commit("v1")
    env = {
        "RIVETR_ENGINE": "docker",
        "RIVETR_DRAIN_S": "0.5",
        "RIVETR_DATABASE_IMAGES": f"redis:7-alpine={ensure_image(connect_docker(), REDIS)}",
    }
    cli(old, data, "images", "import-busybox", env=env)
    token = cli(old, data, "tokens", "create", "--name", "upgrade", env=env)
    auth = {"Authorization": f"Bearer {token}"}
    before = server_factory(data, env, python=old).start()
    try:
        with httpx.Client(base_url=f"{before.url}/api/v1", headers=auth, timeout=30) as api:
            assert "log_schema" not in api.get("/health").json()  # it is the older Rivetr
            made = api.post("/apps", json={
                "name": "web", "git_url": str(repo.path), "port": 8080,
                "domains": ["web.upgrade.test"], "health": FAST_HEALTH,
            })  # fmt: skip
            assert made.status_code == 201, made.text
            v1 = api.post("/apps/web/deployments", json={}).json()["deployment_id"]
            database = api.post("/databases", json={"name": "cache", "kind": "redis"}).json()
            stack = api.post("/stacks", json={
                "name": "blog", "compose": STACK,
                "routes": [{"service": "web", "port": 8080, "domains": ["blog.upgrade.test"]}],
            }).json()  # fmt: skip
            assert api.post(f"/stacks/{stack['stack_id']}/deploy").status_code == 202
            live = until(
                lambda: api.get(f"/deployments/{v1}").json()["deployment"]["status"],
                lambda s: s in ("live", "failed", "rolled_back"),
                "web's first deployment",
            )
            assert live == "live"
            blog = until(
                lambda: api.get(f"/stacks/{stack['stack_id']}").json(),
                lambda s: s["live_release_id"] is not None or s["last_status"] == "failed",
                "blog's release",
            )
            assert blog["live_release_id"], blog
            until(
                lambda: api.get(f"/databases/{database['database_id']}").json()["status"],
                lambda s: s != "starting",
                "the database",
            )
        assert through_proxy(before, "web.upgrade.test") == "v1"
        assert through_proxy(before, "blog.upgrade.test", "/www-index") == "blog"
        before.stop()  # SIGTERM, as an upgrade stops it

        after = server_factory(data, env).start()
        with httpx.Client(base_url=f"{after.url}/api/v1", headers=auth, timeout=30) as api:
            health = api.get("/health").json()
            assert health["status"] == "ok", health
            assert health["log_schema"] >= 3
            # all it ran is still live, and served by today's proxy
            assert api.get(f"/deployments/{v1}").json()["deployment"]["status"] == "live"
            assert through_proxy(after, "web.upgrade.test") == "v1"
            shown = api.get(f"/stacks/{stack['stack_id']}").json()
            assert shown["live_release_id"] == blog["live_release_id"]
            assert through_proxy(after, "blog.upgrade.test", "/www-index") == "blog"
            cache = api.get(f"/databases/{database['database_id']}").json()
            assert cache["status"] == "running", cache
            # and a deploy works
            repo.commit("v2")
            v2 = api.post("/apps/web/deployments", json={}).json()["deployment_id"]
            status = until(
                lambda: api.get(f"/deployments/{v2}").json()["deployment"]["status"],
                lambda s: s in ("live", "failed", "rolled_back"),
                "web's deployment after the upgrade",
            )
            assert status == "live"
            assert through_proxy(after, "web.upgrade.test") == "v2"
        after.stop()
        assert cli(sys.executable, data, "audit", "verify", env=env)
    finally:
        remove_databases(data)
