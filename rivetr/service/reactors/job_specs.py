"""The one-off container a job's run is made in: the live release's image, variables (opened and
resolved as the release's were), limits and network, and nothing a release's container has that
a job must not: no published port, no alias its app or service is reached by, no health check,
no restart. The same security rules hold, because the spec is made by the same code the release
was (`pipeline.release_spec`, `stack_specs.service_spec`), which has no field for a privilege or
the engine's socket. Labels mark it a job's, so the reconciler keeps it while it runs and the
scheduler finds and removes it after a restart."""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from rivetr.adapters.compose_files import DirectorySources
from rivetr.adapters.runtime.base import MANAGED_LABEL, ContainerSpec
from rivetr.domain.compose.inline_check import INLINE_ENTRY
from rivetr.domain.compose.stack_file import read_stack_file
from rivetr.domain.job_runs import argv
from rivetr.projections.jobs import JobView
from rivetr.projections.registry import ReadModel
from rivetr.service.commands.app_lookup import AppLookup
from rivetr.service.commands.secrets import open_app
from rivetr.service.commands.variables import SharedScopes
from rivetr.service.reactors.database_containers import network_name as environment_network
from rivetr.service.reactors.pipeline import release_spec
from rivetr.service.reactors.pruning import app_label
from rivetr.service.reactors.stack_ports import StackPorts, stack_of
from rivetr.service.reactors.stack_release_files import ReleaseVariables
from rivetr.service.reactors.stack_specs import STACK_LABEL, StackPlace, service_spec
from rivetr.service.reactors.variables_step import prepare

JOB_LABEL = "rivetr.job"
JOB_RUN_LABEL = "rivetr.job_run"
STOP_GRACE_S = 10.0  # what a stopped run (timed out, replaced) has before SIGKILL


class NoRelease(Exception):
    """There is nothing to run the job in: no live release, or its image or files are gone."""


@dataclass(frozen=True)
class Made:
    spec: ContainerSpec
    network: str | None  # to make first (the environment's, where its databases are)
    networks: tuple[str, ...] = ()  # the stack's own, made by its release already


def container_name(run_id: str, attempt: int) -> str:
    return f"rivetr-job-{run_id}-{attempt}"


def job_labels(job: JobView, run_id: str) -> dict[str, str]:
    return {MANAGED_LABEL: "true", JOB_LABEL: job.job_id, JOB_RUN_LABEL: run_id}


def _as_job(spec: ContainerSpec, job: JobView, run_id: str, attempt: int) -> ContainerSpec:
    """A release's container turned into one run of `job`."""
    return msgspec.structs.replace(
        spec,
        name=container_name(run_id, attempt),
        labels=job_labels(job, run_id),
        command=argv(job.command),
        ports={},
        published=[],
        aliases=[],
        extra_networks={network: [] for network in spec.extra_networks},
        hostname=None,
        healthcheck=None,
        restart_policy="no",
        stop_grace_s=STOP_GRACE_S,
    )


class JobSpecs:
    """What the scheduler asks of the apps and stacks its jobs belong to."""

    def __init__(
        self, read: ReadModel, lookup: AppLookup, shared: SharedScopes, stacks: StackPorts
    ) -> None:
        self.read = read
        self.lookup = lookup
        self.shared = shared
        self.stacks = stacks

    async def owner_name(self, job: JobView) -> str | None:
        """The name of the job's app or stack now; None when it is gone."""
        if job.kind == "stack":
            stack = await self.read.stacks.one(job.owner_id)
            return None if stack is None else stack.name
        app = await self.lookup.by_id(job.owner_id)
        return app.name if app.exists else None

    async def make(self, job: JobView, run_id: str, attempt: int) -> Made:
        """The container of one attempt of a run of `job` (see `app_job_spec`)."""
        if job.kind == "stack":
            return await stack_job_spec(self.read, self.stacks, job, run_id, attempt)
        return await app_job_spec(self.read, self.lookup, self.shared, job, run_id, attempt)


async def app_job_spec(
    read: ReadModel,
    lookup: AppLookup,
    shared: SharedScopes,
    job: JobView,
    run_id: str,
    attempt: int,
) -> Made:
    """Raises NoRelease; SecretError or UnresolvedReference as a release's variables do."""
    release = await read.deployments.release(job.owner_id)
    if release is None or release.image is None:
        raise NoRelease("the app has no live release to run the job in: deploy it first")
    app = await lookup.by_id(job.owner_id)
    if not app.exists:
        raise NoRelease("the app was deleted")
    prepared = await prepare(shared, open_app(shared.secrets, app))
    spec = release_spec(prepared.app, release.deployment_id, release.image, prepared.network)
    spec = _as_job(spec, job, run_id, attempt)
    labels = {**spec.labels, "rivetr.app": app_label(prepared.app)}
    return Made(msgspec.structs.replace(spec, labels=labels), prepared.network)


async def stack_job_spec(
    read: ReadModel, ports: StackPorts, job: JobView, run_id: str, attempt: int
) -> Made:
    """The service's container as its live release made it, from that release's files (kept
    while it is live) and the stack's variables as they are now.

    Raises:
        NoRelease; ComposeError, PlanError, SecretError or UnresolvedReference as a release does.
    """
    assert job.service is not None  # a stack's job runs in one of its services
    view = await read.stacks.one(job.owner_id)
    if view is None or view.live_release_id is None:
        raise NoRelease("the stack has no live release to run the job in: deploy it first")
    release_id = view.live_release_id
    images = {s.service: s.image for s in await read.stacks.services_of(release_id)}
    image = images.get(job.service)
    if image is None:
        raise NoRelease(f"the stack's live release has no service {job.service!r}")
    checkout = ports.work_root / job.owner_id / release_id
    entry = INLINE_ENTRY if view.inline else view.compose_path
    if not (checkout / entry).is_file():
        raise NoRelease("the live release's files are gone: deploy the stack again")
    stack = await stack_of(ports.store, job.owner_id)
    variables = ReleaseVariables(ports, stack)
    await variables.load_references()
    opened = variables.opened()
    stack_file = read_stack_file(
        DirectorySources(checkout),
        entry,
        variables=opened,
        allowances=await ports.allowances(stack.team),
        data_dir=str(ports.data_dir.resolve()),
    )
    place = StackPlace(
        stack_id=stack.stack_id,
        stack_name=stack.name,
        release_id=release_id,
        checkout=checkout,
        environment_network=environment_network(stack.team, stack.project, stack.environment),
    )
    spec = service_spec(
        place,
        stack_file.project,
        job.service,
        image,
        variables=opened,
        routes=[],
        resolve_env=variables.resolve,
    )
    spec = _as_job(spec, job, run_id, attempt)
    # the stack's label too: deleting the stack removes a run it left
    labels = {**spec.labels, STACK_LABEL: stack.stack_id}
    networks = tuple(n for n in (spec.network, *spec.extra_networks) if n is not None)
    return Made(msgspec.structs.replace(spec, labels=labels), None, networks)
