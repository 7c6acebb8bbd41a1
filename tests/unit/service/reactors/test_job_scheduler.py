"""The job scheduler on the twins: a run in a one-off container of the app's live release (its
image, variables, limits, no port), its output kept; each overlap policy; a run that never ends
stopped at its timeout and removed; retries with a growing pause; a command the engine cannot
start and an engine gone failing the run while the scheduler goes on; runs missed while down
run once or skipped; and a run a crash left recorded failed and its container removed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import pytest

from rivetr.adapters.logs import job_folder
from rivetr.adapters.runtime.base import ContainerSpec
from rivetr.adapters.runtime.fake_exec import FakeExecAnswer
from rivetr.domain.access import SYSTEM
from rivetr.domain.commands import ChangeAppSettings
from rivetr.domain.errors import InvalidCommand
from rivetr.domain.job_commands import CreateJob, RunJob
from rivetr.domain.job_events import JobRunFinished, JobRunRequested, JobRunStarted
from rivetr.projections.jobs import JobRunView
from rivetr.service.reactors.job_specs import JOB_RUN_LABEL
from tests.unit.service.reactors.house import House, create_app, settled, until
from tests.unit.service.reactors.test_stack_deployer import compose, deployed, make

pytestmark = pytest.mark.anyio

FAR = "0 3 1 1 *"  # once a year: never due by itself while a test runs
FINISHED = {"succeeded", "failed", "timed_out", "skipped", "replaced"}


async def live_app(services: Any) -> str:
    await create_app(services)
    await services.apps.handle(SYSTEM, ChangeAppSettings(name="web", env={"GREETING": "hello"}))
    deployment_id = await services.deployments.request(SYSTEM, "web")
    assert (await until(services, deployment_id, {"live", "failed"})).status == "live"
    return deployment_id


async def job(services: Any, **fields: Any) -> str:
    wanted = {"app": "web", "name": "nightly", "command": "echo $GREETING", "schedule": FAR}
    view = await services.jobs.create(SYSTEM, CreateJob(**{**wanted, **fields}))
    return str(view.job_id)


async def run_now(services: Any, name: str = "nightly") -> str:
    return str((await services.jobs.run_now(SYSTEM, RunJob(app="web", job=name))).run_id)


async def run_state(services: Any, run_id: str, statuses: set[str]) -> JobRunView:
    with anyio.fail_after(5):
        while True:
            await services.runner.wait_until(await services.store.head())
            found = await services.read.jobs.run(run_id)
            if found is not None and found.status in statuses:
                return found
            await anyio.sleep(0.005)


async def container_of(house: House, run_id: str, attempt: int = 1) -> ContainerSpec:
    name = f"rivetr-job-{run_id}-{attempt}"

    def found() -> list[ContainerSpec]:
        return [c.spec for c in house.runtime._containers.values() if c.spec.name == name]

    await settled(found)
    return found()[0]


def running_jobs(house: House) -> set[str]:
    return {
        c.spec.name
        for c in house.runtime._containers.values()
        if JOB_RUN_LABEL in c.labels and c.state == "running"
    }


async def test_a_run_is_a_one_off_container_of_the_live_release(house: House) -> None:
    house.commit("v1")
    async with house.running() as services:
        deployment_id = await live_app(services)
        job_id = await job(services)
        run_id = await run_now(services)
        spec = await container_of(house, run_id)
        release = await services.read.deployments.release(
            (await services.read.apps.named("web")).id
        )
        assert spec.image == release.image
        assert spec.command == ["sh", "-c", "echo $GREETING"]
        assert spec.env["GREETING"] == "hello"
        assert (spec.ports, spec.published, spec.aliases, spec.restart_policy) == ({}, [], [], "no")
        assert spec.labels[JOB_RUN_LABEL] == run_id
        assert spec.labels["rivetr.job"] == job_id
        assert "rivetr.deployment" not in spec.labels  # the reconciler never takes it for one
        assert spec.memory_bytes == 512 * 1024 * 1024
        house.runtime.append_log(spec.name, "hello\n")
        house.runtime.process_exited(spec.name, 0)
        done = await run_state(services, run_id, FINISHED)
        assert (done.status, done.exit_code, done.trigger) == ("succeeded", 0, "manual")
        assert running_jobs(house) == set()
        assert not [c for c in house.runtime._containers.values() if c.spec.name == spec.name]
        log = services.logs.read(job_folder(job_id), run_id)
        assert "job| hello" in log
        assert deployment_id


async def test_a_due_run_is_asked_for_once_however_many_were_missed(house: House) -> None:
    async with house.running() as services:
        await create_app(services)
        job_id = await job(services, schedule="*/5 * * * *")
        later = datetime.now(UTC) + timedelta(hours=3)
        upcoming = await services.job_scheduler.tick(later)
        assert upcoming is not None
        assert later < upcoming <= later + timedelta(minutes=5)
        assert await services.job_scheduler.tick(later) == upcoming  # nothing more is owed
        await services.runner.wait_until(await services.store.head())
        (run,) = await services.read.jobs.runs_of(job_id)
        done = await run_state(services, run.run_id, FINISHED)
        assert done.trigger == "schedule"
        # the app has no live release: a clear failure, and the scheduler goes on
        assert done.status == "failed"
        assert "no live release" in (done.reason or "")


async def test_forbid_skips_a_run_due_while_one_runs(house: House) -> None:
    house.commit("v1")
    async with house.running() as services:
        await live_app(services)
        await job(services, overlap="forbid")
        first = await run_now(services)
        await container_of(house, first)
        second = await run_now(services)
        skipped = await run_state(services, second, FINISHED)
        assert skipped.status == "skipped"
        assert first in (skipped.reason or "")
        assert running_jobs(house) == {f"rivetr-job-{first}-1"}


async def test_replace_stops_the_run_going_on_for_the_new_one(house: House) -> None:
    house.commit("v1")
    async with house.running() as services:
        await live_app(services)
        await job(services, overlap="replace")
        first = await run_now(services)
        await container_of(house, first)
        second = await run_now(services)
        replaced = await run_state(services, first, FINISHED)
        assert replaced.status == "replaced"
        assert second in (replaced.reason or "")
        await container_of(house, second)
        assert running_jobs(house) == {f"rivetr-job-{second}-1"}


async def test_allow_runs_both(house: House) -> None:
    house.commit("v1")
    async with house.running() as services:
        await live_app(services)
        await job(services, overlap="allow")
        first, second = await run_now(services), await run_now(services)
        await container_of(house, first)
        await container_of(house, second)
        assert running_jobs(house) == {f"rivetr-job-{first}-1", f"rivetr-job-{second}-1"}


async def test_a_run_that_never_ends_is_stopped_at_its_timeout_and_removed(house: House) -> None:
    house.commit("v1")
    async with house.running() as services:
        await live_app(services)
        await job(services, timeout_s=1)
        run_id = await run_now(services)
        spec = await container_of(house, run_id)
        done = await run_state(services, run_id, FINISHED)
        assert done.status == "timed_out"
        assert done.exit_code == 143  # SIGTERM, which the twin's process does not handle
        assert "longer than 1 s" in (done.reason or "")
        assert [stop.container for stop in house.runtime.stops] == [spec.name]
        assert running_jobs(house) == set()


async def test_a_failed_run_is_retried_after_a_growing_pause(house: House) -> None:
    house.commit("v1")
    async with house.running() as services:
        await live_app(services)
        await job(services, retries=2)
        run_id = await run_now(services)
        for attempt in (1, 2, 3):
            spec = await container_of(house, run_id, attempt)
            house.runtime.process_exited(spec.name, 3)
        done = await run_state(services, run_id, FINISHED)
        assert (done.status, done.attempt, done.exit_code) == ("failed", 3, 3)
        events = [e.event for e in await services.store.read_stream(f"job-run-{run_id}")]
        finals = [(e.attempt, e.final) for e in events if isinstance(e, JobRunFinished)]
        assert finals == [(1, False), (2, False), (3, True)]
        assert {10.0, 20.0} <= set(house.clock.slept)


async def test_a_command_the_engine_cannot_start_fails_with_its_reason(house: House) -> None:
    house.commit("v1")
    async with house.running() as services:
        await live_app(services)
        job_id = await job(services, command=["nope"])
        house.runtime.fail_next_start('exec: "nope": executable file not found in $PATH')
        run_id = await run_now(services)
        done = await run_state(services, run_id, FINISHED)
        assert done.status == "failed"
        assert "executable file not found" in (done.reason or "")
        assert "executable file not found" in services.logs.read(job_folder(job_id), run_id)


async def test_an_engine_gone_fails_the_run_and_the_next_one_runs(house: House) -> None:
    house.commit("v1")
    async with house.running() as services:
        await live_app(services)
        await job(services)
        house.runtime.available = False
        failed = await run_state(services, await run_now(services), FINISHED)
        assert failed.status == "failed"
        assert "switched off" in (failed.reason or "")
        house.runtime.available = True
        second = await run_now(services)
        spec = await container_of(house, second)
        house.runtime.process_exited(spec.name, 0)
        assert (await run_state(services, second, FINISHED)).status == "succeeded"


@pytest.mark.parametrize(("on_missed", "status"), [("run_once", "failed"), ("skip", "skipped")])
async def test_runs_missed_while_down_run_once_or_are_skipped(
    house: House, on_missed: str, status: str
) -> None:
    async with house.running() as services:
        await create_app(services)
        job_id = await job(services, schedule="0 * * * *", on_missed=on_missed)
    house.clock.day += timedelta(hours=5)  # Rivetr was down five hours
    async with house.running() as services:
        with anyio.fail_after(5):
            while not (runs := await services.read.jobs.runs_of(job_id)):  # noqa: ASYNC110
                await anyio.sleep(0.005)
        (run,) = runs
        done = await run_state(services, run.run_id, FINISHED)
        assert (done.trigger, done.status) == ("missed", status)


async def test_a_run_a_crash_left_is_failed_and_its_container_removed(house: House) -> None:
    house.commit("v1")
    async with house.running() as services:
        await live_app(services)
        job_id = await job(services)
        view = await services.read.jobs.by_id(job_id)
    names = {"job": "nightly", "owner_id": view.owner_id, "owner_name": "web"}
    await services.job_scheduler.runner.recorder.record(
        "r1",
        JobRunRequested(run_id="r1", job_id=job_id, **names),
        team="default",
        owner_id=view.owner_id,
    )
    await services.job_scheduler.runner.recorder.record(
        "r1",
        JobRunStarted(run_id="r1", job_id=job_id, image="x", container="rivetr-job-r1-1"),
        team="default",
        owner_id=view.owner_id,
    )
    image = next(iter(house.runtime.images))
    await house.runtime.run_container(
        ContainerSpec(
            name="rivetr-job-r1-1",
            image=image,
            labels={"rivetr.managed": "true", JOB_RUN_LABEL: "r1", "rivetr.job": job_id},
        )
    )
    async with house.running() as services:
        done = await run_state(services, "r1", FINISHED)
        assert done.status == "failed"
        assert "Rivetr stopped" in (done.reason or "")
        await settled(
            lambda: (
                "rivetr-job-r1-1" not in {c.spec.name for c in house.runtime._containers.values()}
            )
        )


async def test_a_stack_services_job_runs_in_that_services_live_container_spec(
    house: House,
) -> None:
    house.runtime.on_exec("sh", lambda call: FakeExecAnswer(exit_code=0))
    async with house.running() as services:
        stack_id = await make(services, compose())
        assert (await deployed(services, stack_id, {"live", "failed"})).status == "live"
        place = {"stack_id": stack_id, "service": "db"}
        with pytest.raises(InvalidCommand) as unknown:
            await services.jobs.create(
                SYSTEM,
                CreateJob(
                    stack_id=stack_id, service="nope", name="n", command="true", schedule=FAR
                ),
            )
        assert unknown.value.field == "service"
        await services.jobs.create(
            SYSTEM, CreateJob(**place, name="vacuum", command=["echo", "hi"], schedule=FAR)
        )
        run = await services.jobs.run_now(SYSTEM, RunJob(**place, job="vacuum"))
        spec = await container_of(house, run.run_id)
        assert spec.command == ["echo", "hi"]
        assert spec.labels["rivetr.stack"] == stack_id
        assert spec.network == f"rivetr-stack-{stack_id}"
        assert [m.source for m in spec.mounts] == [f"rivetr-stack-{stack_id}-data"]
        assert (spec.ports, spec.aliases, spec.healthcheck) == ({}, [], None)
        house.runtime.process_exited(spec.name, 0)
        done = await run_state(services, run.run_id, FINISHED)
        assert done.status == "succeeded"
