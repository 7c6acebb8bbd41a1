"""A compose stack whose compose file is in a private repository, on the real Docker engine:
the repository is served over https only to holders of a token (sent as GitHub expects it);
the stack deploys with the right token and, given a wrong one, fails at the source step with
git's reason, the previous release serving on and neither token in its log or its events."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest

from rivetr.adapters.logs import stack_folder
from rivetr.domain.access import SYSTEM
from rivetr.domain.stack_commands import ChangeStackSettings, CreateStack
from tests.integration.database_servers import DOCKER, RealEngine
from tests.integration.deploy_helpers import AppRepo, private_https_repo
from tests.integration.stacks import deleted, deployed, serving
from tests.integration.test_stack_webhook_deploys import COMPOSE, ROUTE

pytestmark = [pytest.mark.anyio, pytest.mark.integration, pytest.mark.docker]


@pytest.mark.parametrize("engine", [DOCKER])
async def test_a_stack_from_a_token_protected_repository_deploys_and_a_wrong_token_fails_clearly(
    tmp_path: Path, engine: RealEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIT_SSL_NO_VERIFY", "1")  # the test server's certificate is self-signed
    repo = AppRepo(tmp_path / "repo")
    repo.commit("a private stack", files={"compose.yaml": COMPOSE})
    token, wrong = f"ghp_{uuid.uuid4().hex}", f"ghp_{uuid.uuid4().hex}"
    quick = {
        "proxy_enabled": False,
        "drain_s": 0.5,
        "git_local_dirs": [str(tmp_path)],
        "git_allow_private": True,  # the repository is served on loopback
    }
    with private_https_repo(repo, tmp_path / "served", token) as url:
        async with serving(tmp_path, engine, **quick) as services:
            command = CreateStack(name="private", git_url=url, routes=[ROUTE], git_token=token)
            stack_id, _ = await services.stacks.create(SYSTEM, command)
            try:
                live = await deployed(services, stack_id)
                assert live.status == "live", live.failure
                port = live.services["web"].host_ports[8080]
                async with httpx.AsyncClient() as client:
                    page = await client.get(f"http://127.0.0.1:{port}/", timeout=5)
                assert page.text.strip() == "a private stack"

                changed = ChangeStackSettings(stack_id=stack_id, git_token=wrong)
                await services.stacks.change(SYSTEM, changed)
                failed = await deployed(services, stack_id)
                assert failed.status == "failed"
                shown = await services.read.stacks.release(failed.release_id)
                assert shown is not None
                assert shown.failed_step == "source"
                assert "not found or access denied (check the token)" in (failed.failure or "")
                log = services.logs.read(stack_folder(stack_id), failed.release_id) or ""
                assert "failed at source: repository" in log
                recorded = str([e.event for e in await services.store.read_all()])
                first_log = services.logs.read(stack_folder(stack_id), live.release_id) or ""
                for secret in (token, wrong):
                    assert secret not in log
                    assert secret not in first_log
                    assert secret not in recorded
                view = await services.read.stacks.one(stack_id)
                assert view is not None
                assert (view.live_release_id, view.git_auth) == (live.release_id, ["token"])
            finally:
                await deleted(services, stack_id)
