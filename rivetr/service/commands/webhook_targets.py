"""What a webhook URL names: an app (`/webhooks/<provider>/<app>`) or a compose stack
(`/webhooks/stacks/<provider>/<id>`). Each target says who it is (for the record and the
claim), opens its secret, judges a signed delivery and acts on the verdict; everything else
about a delivery (admission, signature, replays, refusals, the record) is the same for both and
lives in `WebhookService`."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Literal, Protocol

import msgspec

from rivetr.adapters.secrets import SecretBox
from rivetr.adapters.webhooks.base import Hook, Provider
from rivetr.domain.access import webhook_actor
from rivetr.domain.application import AppState, preview_name
from rivetr.domain.commands import ClosePreview
from rivetr.domain.database_commands import ResourceId
from rivetr.domain.stack_commands import DeployStack
from rivetr.domain.stacks import StackState
from rivetr.domain.webhooks import Verdict, judge, judge_stack
from rivetr.service.commands.apps import new_app_id as new_id
from rivetr.service.commands.deployments import new_deployment_id
from rivetr.service.commands.secrets import open_webhook_secret

if TYPE_CHECKING:
    from rivetr.service.commands.apps import AppService
    from rivetr.service.commands.deployments import DeploymentService
    from rivetr.service.commands.previews import PreviewService
    from rivetr.service.commands.stacks import StackService


def stack_webhook_context(stack_id: str) -> str:
    """Where a stack's webhook secret is sealed: bound to the stack's id."""
    return f"stack:{stack_id}:webhook"


class HookTarget(Protocol):
    @property
    def kind(self) -> Literal["app", "stack"]:
        """What the URL addresses."""

    @property
    def found(self) -> bool:
        """Whether the URL names a live app or stack."""

    @property
    def label(self) -> str:
        """What the record's `app` holds: the app's name, or the stack's name (its id in the
        URL when there is no such stack)."""

    @property
    def resource_id(self) -> str | None:
        """The app's or the stack's id (None: not found): what a body is claimed against."""

    @property
    def team(self) -> str:
        """Its team ("" when not found)."""

    def record_ids(self) -> dict[str, str | None]:
        """The fields of `WebhookReceived` that say what the delivery was addressed to."""

    def secret(self, box: SecretBox) -> str | None:
        """The webhook secret in plain text (None: the webhook is off)."""

    def new_release_id(self) -> str:
        """An id for what an accepted delivery starts: a deployment's, or a stack release's."""

    async def judge(self, hook: Hook) -> Verdict: ...

    async def act(
        self, provider: Provider, hook: Hook, verdict: Verdict, release_id: str | None
    ) -> None: ...


@dataclasses.dataclass(frozen=True)
class AppTarget:
    """An app, by the name in its URL: pushes deploy it, pull requests open its previews."""

    app: AppState
    apps: AppService
    deployments: DeploymentService
    previews: PreviewService
    kind: Literal["app", "stack"] = "app"

    @property
    def found(self) -> bool:
        return self.app.exists

    @property
    def label(self) -> str:
        return self.app.name

    @property
    def resource_id(self) -> str | None:
        return self.app.app_id or None

    @property
    def team(self) -> str:
        return self.app.team

    def record_ids(self) -> dict[str, str | None]:
        return {"app_id": self.resource_id}

    def secret(self, box: SecretBox) -> str | None:
        return open_webhook_secret(box, self.app) if self.app.exists else None

    def new_release_id(self) -> str:
        return new_deployment_id()

    async def judge(self, hook: Hook) -> Verdict:
        return await self.previews.gate(self.app, hook, judge(self.app, hook))

    async def act(
        self, provider: Provider, hook: Hook, verdict: Verdict, release_id: str | None
    ) -> None:
        actor = webhook_actor(provider)
        app = self.app
        match verdict.decision:
            case "deploy" | "preview":
                name = app.name
                if verdict.decision == "preview":
                    name = await self.previews.open(actor, app, hook)
                await self.deployments.request(
                    actor, name, commit=verdict.commit, trigger="webhook", deployment_id=release_id
                )
            case "pending_approval":
                assert verdict.commit is not None
                await self.previews.hold(actor, app, hook, verdict.commit)
            case "close_preview":
                assert hook.pr_number is not None
                name = preview_name(app.name, hook.pr_number)
                if (await self.apps.lookup.by_name(name)).exists:
                    await self.apps.handle(actor, ClosePreview(name=name))


@dataclasses.dataclass(frozen=True)
class StackTarget:
    """A compose stack, by the id in its URL: a push to its branch releases the pushed commit."""

    named: str  # the id as the URL said it
    stack: StackState
    stacks: StackService
    kind: Literal["app", "stack"] = "stack"

    @property
    def found(self) -> bool:
        return self.stack.exists and not self.stack.deleted

    @property
    def label(self) -> str:
        return self.stack.name if self.found else self.named

    @property
    def resource_id(self) -> str | None:
        return self.stack.stack_id if self.found else None

    @property
    def team(self) -> str:
        return self.stack.team if self.found else ""

    def record_ids(self) -> dict[str, str | None]:
        return {"stack_id": self.named}

    def secret(self, box: SecretBox) -> str | None:
        sealed = self.stack.webhook_secret
        if not self.found or sealed is None:
            return None
        return box.open(stack_webhook_context(self.stack.stack_id), sealed)

    def new_release_id(self) -> str:
        return new_id()

    async def judge(self, hook: Hook) -> Verdict:
        return judge_stack(self.stack, hook)

    async def act(
        self, provider: Provider, hook: Hook, verdict: Verdict, release_id: str | None
    ) -> None:
        if verdict.decision == "deploy":
            command = DeployStack(
                stack_id=self.stack.stack_id, commit=verdict.commit, trigger="webhook"
            )
            await self.stacks.deploy(webhook_actor(provider), command, release_id=release_id)


def stack_id_in(named: str) -> str | None:
    """`named` as a stack id, or None when it cannot be one (no stack is looked for then)."""
    try:
        return msgspec.convert(named, ResourceId)
    except msgspec.ValidationError:
        return None
