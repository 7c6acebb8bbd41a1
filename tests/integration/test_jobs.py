"""Scheduled jobs on the real engines, Docker and Podman: a job runs `echo` in a one-off
container of the app's live image with the app's variables and its output is kept; a job that
never ends is stopped at its timeout and its container removed; a command the image does not
have fails the run with the engine's reason; the scheduler goes on after each."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

from rivetr.adapters.logs import job_folder
from rivetr.bootstrap import Services
from rivetr.domain.access import SYSTEM
from rivetr.domain.commands import CreateApp
from rivetr.domain.job_commands import CreateJob, RunJob
from rivetr.projections.jobs import JobRunView
from rivetr.service.reactors.job_specs import JOB_RUN_LABEL
from tests.integration.database_servers import DOCKER, PODMAN
from tests.integration.deploy_helpers import AppRepo
from tests.integration.test_deploy_pipeline import FAST_HEALTH, deploy, running

pytestmark = [pytest.mark.anyio]
OVER = {"succeeded", "failed", "timed_out", "skipped", "replaced"}
FAR = "0 3 1 1 *"  # never due while a test runs: each run here is asked for


@pytest.fixture(params=[DOCKER, PODMAN])
async def services(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Services]:
    async with running(tmp_path, request.param, proxy_enabled=False) as opened:
        yield opened


async def finished(services: Services, run_id: str, timeout: float = 60) -> JobRunView:
    with anyio.fail_after(timeout):
        while True:
            await services.runner.wait_until(await services.store.head())
            run = await services.read.jobs.run(run_id)
            if run is not None and run.status in OVER:
                return run
            await anyio.sleep(0.1)


async def test_jobs_run_in_the_live_image_time_out_and_fail_with_the_engines_reason(
    services: Services, tmp_path: Path
) -> None:
    repo = AppRepo(tmp_path / "repo")
    repo.commit("v1")
    name = f"t{uuid.uuid4().hex[:8]}"
    await services.apps.handle(
        SYSTEM,
        CreateApp(
            name=name,
            git_url=str(repo.path),
            port=8080,
            health=FAST_HEALTH,
            env={"GREETING": "hello from the app's variables"},
        ),
    )
    await deploy(services, name, "live")

    async def run(job: str, **fields: object) -> tuple[str, JobRunView]:
        created = CreateJob(app=name, name=job, schedule=FAR, **fields)  # type: ignore[arg-type]
        view = await services.jobs.create(SYSTEM, created)
        asked = await services.jobs.run_now(SYSTEM, RunJob(app=name, job=job))
        return view.job_id, await finished(services, asked.run_id)

    job_id, greeted = await run("greet", command='echo "$GREETING"; echo done >&2')
    assert (greeted.status, greeted.exit_code) == ("succeeded", 0), greeted.reason
    log = services.job_reads.logs.read(job_folder(job_id), greeted.run_id) or ""
    assert "job| hello from the app's variables" in log
    assert "job| done" in log

    _, forever = await run("forever", command=["sleep", "600"], timeout_s=1)
    assert forever.status == "timed_out", forever.reason
    assert forever.duration_s is not None
    assert forever.duration_s < 30  # stopped: SIGTERM, then SIGKILL 10 s later
    runtime = services.engine.runtime
    assert runtime is not None
    assert await runtime.list_containers({JOB_RUN_LABEL: forever.run_id}) == []

    missing_id, missing = await run("missing", command=["no-such-command", "--now"])
    assert missing.status == "failed"
    # the container's init (Docker's tini, Podman's catatonit) says why it could not exec the
    # command, and exits: the reason quotes it, and the run's log names the command
    assert "No such file or directory" in (missing.reason or ""), missing.reason
    log = services.job_reads.logs.read(job_folder(missing_id), missing.run_id) or ""
    assert "no-such-command" in log
    assert await runtime.list_containers({JOB_RUN_LABEL: missing.run_id}) == []
