"""A stack service's scheduled job on the real engines: it runs in a one-off container of the
service's live image with the service's variables, its volumes and its network (it reaches
the stack's other services by name), and its output is kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from rivetr.adapters.logs import job_folder
from rivetr.adapters.runtime.baseimage import BUSYBOX_IMAGE
from rivetr.domain.access import SYSTEM
from rivetr.domain.job_commands import CreateJob, RunJob
from rivetr.domain.stack_commands import CreateStack
from tests.integration.database_servers import RealEngine, on_both_engines
from tests.integration.stacks import deleted, deployed, serving
from tests.integration.test_jobs import FAR, finished

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

SERVE = "mkdir -p /www && echo pong > /www/index.html && exec httpd -f -p 8080 -h /www"
COMPOSE = f"""
services:
  api:
    image: {BUSYBOX_IMAGE}
    command: ["sh", "-c", "{SERVE}"]
  worker:
    image: {BUSYBOX_IMAGE}
    command: ["sh", "-c", "echo kept > /data/marker && exec sleep 3600"]
    environment:
      GREETING: hello from the worker's variables
    volumes: ["data:/data"]
volumes:
  data: {{}}
"""


@on_both_engines
async def test_a_stack_services_job_runs_with_its_variables_volumes_and_network(
    tmp_path: Path, engine: RealEngine
) -> None:
    async with serving(tmp_path, engine, proxy_enabled=False, drain_s=0.5) as services:
        stack_id, _ = await services.stacks.create(
            SYSTEM, CreateStack(name="jobs", compose=COMPOSE)
        )
        try:
            live = await deployed(services, stack_id)
            assert live.status == "live", live.failure
            command = 'echo "$GREETING"; cat /data/marker; wget -q -O - http://api:8080/'
            created = CreateJob(
                stack_id=stack_id, service="worker", name="check", schedule=FAR, command=command
            )
            job = await services.jobs.create(SYSTEM, created)
            asked = await services.jobs.run_now(
                SYSTEM, RunJob(stack_id=stack_id, service="worker", job="check")
            )
            run = await finished(services, asked.run_id)
            assert (run.status, run.exit_code) == ("succeeded", 0), run.reason
            log = services.job_reads.logs.read(job_folder(job.job_id), run.run_id) or ""
            assert "job| hello from the worker's variables" in log
            assert "job| kept" in log
            assert "job| pong" in log
        finally:
            await deleted(services, stack_id)
