"""Reading deployments as an actor may: by the team of their own app (the team each was
requested in), never by the team that holds the app's name now; and their logs."""

from __future__ import annotations

import anyio.to_thread

from rivetr.adapters.logs import LogStore
from rivetr.domain.access import Actor
from rivetr.projections.apps import AppView
from rivetr.projections.deployments import DeploymentView, ReleaseView, StepView
from rivetr.projections.registry import ReadModel
from rivetr.service.queries.apps import AppReads
from rivetr.service.queries.refusals import Absent


class DeploymentReads:
    def __init__(self, read: ReadModel, apps: AppReads, logs: LogStore) -> None:
        self.read = read
        self.apps = apps
        self.logs = logs

    async def find(self, actor: Actor, deployment_id: str) -> DeploymentView | None:
        """The deployment, if the actor may read the team of its own app, and the project
        that app is in now. A deleted app's deployments stay readable to that team (and
        project)."""
        found = await self.read.deployments.by_id(deployment_id)
        if found is None:
            return None
        team, project = found.team, None
        if found.app_id is not None:
            created_in, project = await self.read.audit.place_of(found.app_id)
            team = team or created_in
        return found if actor.may_read(team, project) else None

    async def readable(self, actor: Actor, deployment_id: str) -> DeploymentView:
        found = await self.find(actor, deployment_id)
        if found is None:
            raise Absent(f"no deployment {deployment_id!r}")
        return found

    async def of_app(
        self, actor: Actor, name: str, limit: int = 50, offset: int = 0
    ) -> list[DeploymentView]:
        """The app's deployments, newest first."""
        return await self.listed(await self.apps.readable(actor, name), limit, offset)

    async def listed(self, app: AppView, limit: int, offset: int = 0) -> list[DeploymentView]:
        """The deployments of an app `AppReads.readable` gave, newest first."""
        return await self.read.deployments.of_app(app.id, limit=limit, offset=offset)

    async def steps(self, deployment: DeploymentView) -> list[StepView]:
        """The steps of a deployment `find` or `readable` gave."""
        return await self.read.deployments.steps(deployment.id)

    async def timeline(
        self, app: str, deployments: int, offset: int = 0
    ) -> dict[str, list[StepView]]:
        """The steps of the newest `deployments` of an app (by its id) the actor was shown."""
        return await self.read.deployments.timeline(app, deployments=deployments, offset=offset)

    async def release(self, app_id: str | None) -> ReleaseView | None:
        """The live release of an app the actor was shown."""
        return await self.read.deployments.release(app_id)

    async def release_steps(self, release: ReleaseView) -> list[StepView]:
        """The steps of a live release `release` gave (its copies taken out and put back)."""
        return await self.read.deployments.steps(release.deployment_id)

    async def status(self, deployment_id: str) -> str | None:
        """Where a deployment the actor was shown stands now (None: gone)."""
        now = await self.read.deployments.by_id(deployment_id)
        return now.status if now is not None else None

    async def latest_and_live(
        self,
    ) -> tuple[dict[str, DeploymentView], dict[str, DeploymentView]]:
        """Each app's newest deployment and the one it serves, by app id: the apps list's
        columns, for the apps the actor was shown."""
        return await self.read.deployments.latest(), await self.read.deployments.live()

    # The log of a deployment `find` or `readable` gave: its file is blocking I/O, read in a
    # worker thread where it can be long.

    def log_tail(self, deployment: DeploymentView, lines: int) -> list[str]:
        return self.logs.tail(deployment.app, deployment.id, lines)

    def log_tail_counted(self, deployment: DeploymentView, lines: int) -> tuple[list[str], int]:
        """The last `lines` lines and how many there are (see LogStore.tail_counted)."""
        return self.logs.tail_counted(deployment.app, deployment.id, lines)

    def log(self, deployment: DeploymentView) -> str:
        return self.logs.read(deployment.app, deployment.id) or ""

    async def log_lines_skipped(
        self, deployment: DeploymentView, count: int | None
    ) -> tuple[int, int]:
        """How many whole lines there are, up to `count` (None: all), and the offset after."""
        return await anyio.to_thread.run_sync(
            self.logs.skip_lines, deployment.app, deployment.id, count
        )

    async def log_from(self, deployment: DeploymentView, offset: int) -> tuple[list[str], int]:
        """The whole lines written after byte `offset`, and the offset after them."""
        return await anyio.to_thread.run_sync(
            self.logs.read_from, deployment.app, deployment.id, offset
        )
