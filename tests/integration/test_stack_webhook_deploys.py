"""A compose stack from a local git repository, on the real Docker engine: a commit pushed to
its branch and delivered as a signed GitHub push webhook (the bytes a host sends, through the
webhook service) makes a live release of exactly that commit, its web service built from the
commit's own files."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from rivetr.domain.access import SYSTEM
from rivetr.domain.stack_commands import CreateStack, StackRouteInput
from tests.integration.database_servers import DOCKER, RealEngine
from tests.integration.deploy_helpers import AppRepo
from tests.integration.stacks import deleted, serving, settled
from tests.web.test_webhooks import signed

pytestmark = [pytest.mark.anyio, pytest.mark.integration, pytest.mark.docker]

COMPOSE = """
services:
  web:
    build: .
    healthcheck:
      test: ["CMD-SHELL", "wget -q -O /dev/null http://127.0.0.1:8080/ || exit 1"]
      interval: 1s
      retries: 10
"""


ROUTE = StackRouteInput(service="web", port=8080, domains=["blog.example.com"])


def push_body(commit: str, message: str) -> bytes:
    """What GitHub sends for a push of `commit` to main (the fields Rivetr reads)."""
    head = {"id": commit, "message": message, "added": [], "removed": [], "modified": ["x"]}
    return json.dumps(
        {
            "ref": "refs/heads/main",
            "before": "0" * 39 + "1",
            "after": commit,
            "created": False,
            "deleted": False,
            "head_commit": head,
            "commits": [head],
            "repository": {"id": 1, "full_name": "acme/blog", "clone_url": "https://g.test/b"},
        }
    ).encode()


@pytest.mark.parametrize("engine", [DOCKER])
async def test_a_signed_push_makes_a_live_release_of_the_pushed_commit(
    tmp_path: Path, engine: RealEngine
) -> None:
    repo = AppRepo(tmp_path / "repo")
    repo.commit("first", files={"compose.yaml": COMPOSE})
    quick = {"proxy_enabled": False, "drain_s": 0.5, "git_local_dirs": [str(tmp_path)]}
    async with serving(tmp_path, engine, **quick) as services:
        stack_id, _ = await services.stacks.create(
            SYSTEM,
            CreateStack(name="blog", git_url=str(repo.path), branch="main", routes=[ROUTE]),
        )
        try:
            secret = await services.webhooks.enable_stack(SYSTEM, stack_id)
            pushed = repo.commit("second, from a push", files={"compose.yaml": COMPOSE})
            body = push_body(pushed, "second, from a push")
            headers = {k.lower(): v for k, v in signed("github", body, secret, "push").items()}

            admission = await services.webhooks.admit_stack("github", stack_id, headers)
            outcome = await services.webhooks.receive(admission, body)

            assert (outcome.status, outcome.decision) == (202, "deploy"), outcome.reason
            assert outcome.deployment_id is not None
            state = await settled(services, outcome.deployment_id)
            assert state.status == "live", state
            assert state.commit_sha == pushed
            port = state.services["web"].host_ports[8080]
            async with httpx.AsyncClient() as client:
                page = await client.get(f"http://127.0.0.1:{port}/", timeout=5)
            assert page.text.strip() == "second, from a push"
        finally:
            await deleted(services, stack_id)
