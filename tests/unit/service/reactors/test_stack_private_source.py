"""A stack whose compose file is in a private repository, on the twins: the deployer opens the
stack's sealed token and fetches with it; a wrong or missing one fails the release at the
source step with the source's reason, and the token is in neither the release's log nor its
events."""

from __future__ import annotations

from typing import Any

import pytest

from rivetr.adapters.logs import stack_folder
from rivetr.adapters.runtime.baseimage import BUSYBOX_IMAGE
from rivetr.adapters.runtime.fake_exec import FakeExecAnswer
from rivetr.domain.access import SYSTEM
from rivetr.domain.stack_commands import ChangeStackSettings, CreateStack
from tests.unit.service.reactors.house import House
from tests.unit.service.reactors.test_stack_deployer import deployed

pytestmark = pytest.mark.anyio

REPOSITORY = "https://git.example.com/acme/private-stack.git"
RIGHT, WRONG = "ghp_right_token_0123456789", "ghp_wrong_token_9876543210"
COMPOSE = f"""services:
  web:
    image: {BUSYBOX_IMAGE}
    command: ["httpd", "-f"]
    healthcheck: {{test: ["CMD-SHELL", "true"], interval: 1s, retries: 3}}
"""


async def release_text(services: Any, house: House, release_id: str, stack_id: str) -> str:
    """Everything recorded about the release: its log and its stream's events."""
    log = services.stack_deployer.ports.logs.read(stack_folder(stack_id), release_id) or ""
    events = await services.store.read_all()
    return log + "\n".join(str(e.event) for e in events)


async def test_a_private_repository_is_fetched_with_the_stacks_token_and_a_wrong_one_fails(
    house: House,
) -> None:
    house.runtime.on_exec("sh", lambda call: FakeExecAnswer(exit_code=0))
    house.source.commit(REPOSITORY, {"compose.yaml": COMPOSE}, "a private stack")
    house.source.tokens[REPOSITORY] = RIGHT
    async with house.running() as services:
        command = CreateStack(name="private", git_url=REPOSITORY, git_token=RIGHT)
        stack_id, _ = await services.stacks.create(SYSTEM, command)
        live = await deployed(services, stack_id, {"live", "failed"})
        assert live.status == "live", live.failure

        wrong = ChangeStackSettings(stack_id=stack_id, git_token=WRONG)
        await services.stacks.change(SYSTEM, wrong)
        failed = await deployed(services, stack_id, {"live", "failed"})
        shown = await services.read.stacks.release(failed.release_id)
        assert (shown.status, shown.failed_step) == ("failed", "source")
        assert "access denied (check the token)" in (failed.failure or "")
        text = await release_text(services, house, failed.release_id, stack_id)
        assert "failed at source: repository" in text
        for token in (RIGHT, WRONG):
            assert token not in text
            assert token not in await release_text(services, house, live.release_id, stack_id)

        await services.stacks.change(SYSTEM, ChangeStackSettings(stack_id=stack_id, git_token=None))
        without = await deployed(services, stack_id, {"live", "failed"})
        assert "needs a token or a deploy key" in (without.failure or "")
        view = await services.read.stacks.one(stack_id)
        assert view.live_release_id == live.release_id  # the first release serves on
