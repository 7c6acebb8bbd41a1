"""Preview apps of pull requests: opening one for a webhook, holding a fork's head until a
developer approves it, and that approval, which deploys the head with the parent's secrets.

Every step goes through `AppService` and `DeploymentService` and the pure decisions in
`domain.previews`; the preview's own stream carries its approvals."""

from __future__ import annotations

from functools import partial

from rivetr.adapters.secrets import SecretBox
from rivetr.adapters.webhooks.base import Hook
from rivetr.domain import application, previews
from rivetr.domain.access import Actor
from rivetr.domain.aggregates import PREVIEWS
from rivetr.domain.application import AppState, preview_name
from rivetr.domain.commands import ApprovePreview, AwaitPreviewApproval, OpenPreview
from rivetr.domain.errors import NotFound
from rivetr.domain.events import DeploymentTrigger
from rivetr.domain.previews import PreviewGate
from rivetr.domain.scopes import for_preview
from rivetr.domain.webhooks import Verdict
from rivetr.service.commands.apps import AppService
from rivetr.service.commands.deployments import DeploymentService
from rivetr.service.commands.handler import folded
from rivetr.service.commands.secrets import open_app, seal_command


def from_fork(hook: Hook) -> bool:
    """Whether a pull request is treated as a fork's: when the payload says so, and when it
    does not say (fail closed)."""
    return hook.pr_from_fork is not False


class PreviewService:
    def __init__(self, apps: AppService, deployments: DeploymentService, box: SecretBox) -> None:
        self.apps = apps
        self.deployments = deployments
        self.box = box
        self.store = apps.handler.store

    async def gate(self, parent: AppState, hook: Hook, verdict: Verdict) -> Verdict:
        """The verdict for a preview once its fork's approvals are taken into account."""
        if verdict.decision != "preview" or not from_fork(hook) or hook.pr_number is None:
            return verdict
        _, gate = await self._load(preview_name(parent.name, hook.pr_number))
        return previews.admit(verdict, gate, hook.pr_number)

    async def open(self, actor: Actor, parent: AppState, hook: Hook) -> str:
        """The pull request's preview app, created if it does not exist: with the parent's
        secrets for a pull request from the parent's own repository, with none (and the
        fork's repository, see `previews.fork_source`) for a fork's."""
        assert hook.pr_number is not None
        name = preview_name(parent.name, hook.pr_number)
        if (await self.apps.lookup.by_name(name)).exists:
            return name
        if from_fork(hook):
            # none of the parent's secrets until a head is approved
            secrets = application.initial_state("", name)
            git_url = previews.fork_source(parent.git_url, hook.pr_source_url)
        else:
            secrets = open_app(self.box, parent)  # sealed again for the preview's own id
            git_url = None
        command = OpenPreview(
            name=name,
            preview_of=parent.name,
            pr_number=hook.pr_number,
            branch=hook.pr_source_branch or parent.branch,
            env=for_preview(secrets.env, secrets.env_scopes, secrets.env_preview),
            git_token=secrets.git_token,
            deploy_key=secrets.deploy_key,
            git_url=git_url,
        )
        await self.apps.open_preview(actor, command)
        return name

    async def hold(self, actor: Actor, parent: AppState, hook: Hook, commit: str) -> None:
        """Open the fork's preview if need be, and hold it at `commit` until it is approved."""
        name = await self.open(actor, parent, hook)
        assert hook.pr_number is not None
        preview = await self.apps.lookup.by_name(name)
        command = AwaitPreviewApproval(
            name=name,
            preview_of=parent.name,
            parent_id=parent.app_id,
            pr_number=hook.pr_number,
            commit=commit,
        )
        await self.apps.handler.execute(
            actor,
            command,
            PREVIEWS,
            preview.app_id,
            decide=previews.decide_await,
            resource=preview.app_id,
        )

    async def approve(
        self,
        actor: Actor,
        app: str,
        pr_number: int,
        commit: str,
        trigger: DeploymentTrigger = "api",
    ) -> str:
        """Approve the head awaiting approval and deploy exactly that commit, with the
        parent's env values and git credentials; the deployment's id.

        Raises:
            NotFound: no such app. Forbidden, InvalidCommand, AlreadyExists: see
                `previews.decide_approval` and `access`.
        """
        parent = await self.apps.lookup.by_name(app)
        if not parent.exists:
            raise NotFound(f"no application named {app!r}")
        name = preview_name(app, pr_number)
        preview = await self.apps.lookup.by_name(name)
        plain = open_app(self.box, parent)
        command = ApprovePreview(
            name=name,
            preview_of=app,
            pr_number=pr_number,
            commit=commit,
            env=for_preview(plain.env, plain.env_scopes, plain.env_preview),
            git_token=plain.git_token,
            deploy_key=plain.deploy_key,
        )
        await self.apps.handler.execute(
            actor,
            seal_command(self.box, preview.app_id, command),
            PREVIEWS,
            preview.app_id,
            decide=partial(previews.decide_approval, parent),
            resource=preview.app_id or None,
        )
        return await self.deployments.request(actor, name, commit=commit, trigger=trigger)

    async def _load(self, name: str) -> tuple[AppState, PreviewGate]:
        """The live app named `name` and its gate (nothing approved for no such app)."""
        app = await self.apps.lookup.by_name(name)
        if not app.exists:
            return app, PreviewGate()
        return await folded(self.store, PREVIEWS.at(app.app_id))
