"""Webhook deliveries: judge the headers before the body is read, check the signature on the
raw body, refuse replays, decide, act, and record every delivery (accepted or refused) as an
event saying why.

Providers sign the body, not the delivery id, so a delivery is claimed by its body: its record
opens the stream `hook-<provider>-sha256-<digest of app and body>` with NO_STREAM. The same
signed body again, under its own delivery id, another one or none, even racing the first,
finds the stream there and is recorded as `replayed` instead of acting twice."""

from __future__ import annotations

import hashlib
import logging
import math
import secrets
from collections.abc import Mapping

import msgspec

from rivetr.adapters import webhooks
from rivetr.adapters.eventstore.base import ANY_VERSION, NO_STREAM, ConcurrencyError, EventMeta
from rivetr.adapters.secrets import SecretBox
from rivetr.adapters.webhooks.base import Hook, MalformedPayload, Provider
from rivetr.domain import stacks
from rivetr.domain.access import Actor
from rivetr.domain.aggregates import STACKS
from rivetr.domain.commands import DisableWebhook, SetWebhookSecret
from rivetr.domain.errors import DomainError
from rivetr.domain.events import WebhookReceived
from rivetr.domain.stack_commands import DisableStackWebhook, SetStackWebhookSecret
from rivetr.domain.stacks import StackState
from rivetr.domain.webhooks import Signature, Verdict, refusal
from rivetr.service.commands.apps import AppService
from rivetr.service.commands.deployments import DeploymentService
from rivetr.service.commands.handler import folded
from rivetr.service.commands.previews import PreviewService
from rivetr.service.commands.stacks import StackService
from rivetr.service.commands.webhook_admission import (
    REFUSALS_PER_MINUTE,
    Admission,
    BodyBudget,
    RefusalBudget,
    admission,
)
from rivetr.service.commands.webhook_targets import (
    AppTarget,
    HookTarget,
    StackTarget,
    stack_id_in,
    stack_webhook_context,
)

log = logging.getLogger(__name__)

SECRET_PREFIX = "rvw_"
UNKNOWN_APPS = "\0unknown"  # the refusal budget shared by every name that is no app
# ...and by every id that is no stack: made-up ids must not each get a budget of their own
UNKNOWN = {"app": UNKNOWN_APPS, "stack": "\0unknown stack"}


class Outcome(msgspec.Struct, frozen=True, kw_only=True):
    """What the endpoint answers: the HTTP status, and the recorded decision."""

    status: int
    decision: str
    reason: str
    deployment_id: str | None = None
    app: str | None = None


class WebhookService:
    def __init__(
        self,
        apps: AppService,
        deployments: DeploymentService,
        previews: PreviewService,
        box: SecretBox,
        stacks: StackService,
    ) -> None:
        self.apps = apps
        self.deployments = deployments
        self.previews = previews
        self.stacks = stacks
        self.store = apps.handler.store
        self.runner = apps.handler.runner
        self.box = box
        self.refusals = RefusalBudget()
        self.bodies = BodyBudget()  # bytes held by bodies being read and verified

    # --- the app's (or stack's) side: a secret to sign with ---------------------------

    async def enable(self, actor: Actor, app: str) -> str:
        """Turn the app's webhook on, or rotate its secret; return the secret (shown once)."""
        secret = new_secret()
        await self.apps.handle(actor, SetWebhookSecret(name=app, secret=secret))
        return secret

    async def disable(self, actor: Actor, app: str) -> None:
        await self.apps.handle(actor, DisableWebhook(name=app))

    async def enable_stack(self, actor: Actor, stack_id: str) -> str:
        """Turn a stack's webhook on, or rotate its secret; return the secret (shown once).

        Raises:
            InvalidCommand: an inline stack (no repository pushes to it).
        """
        secret = new_secret()
        sealed = self.box.seal(stack_webhook_context(stack_id), secret)
        command = SetStackWebhookSecret(stack_id=stack_id, secret=sealed)
        await self.stacks.handler.execute(
            actor, command, STACKS, stack_id, decide=stacks.decide_webhook_secret, resource=stack_id
        )
        return secret

    async def disable_stack(self, actor: Actor, stack_id: str) -> None:
        command = DisableStackWebhook(stack_id=stack_id)
        await self.stacks.handler.execute(
            actor,
            command,
            STACKS,
            stack_id,
            decide=stacks.decide_webhook_disabled,
            resource=stack_id,
        )

    # --- a delivery ---------------------------------------------------------------------

    async def admit(
        self, provider: Provider, app_name: str, headers: Mapping[str, str]
    ) -> Admission:
        """Judge a delivery to an app's URL by its headers, before its body is read."""
        app = await self.apps.lookup.by_name(app_name)
        target = AppTarget(app, self.apps, self.deployments, self.previews)
        return admission(provider, target, headers, target.secret(self.box))

    async def admit_stack(
        self, provider: Provider, named: str, headers: Mapping[str, str]
    ) -> Admission:
        """Judge a delivery to a stack's URL by its headers, before its body is read."""
        stack_id = stack_id_in(named)
        # what cannot be an id is no stack: nothing is read for it
        state = StackState(stack_id=named) if stack_id is None else await stack_of(self, stack_id)
        target = StackTarget(named, state, self.stacks)
        return admission(provider, target, headers, target.secret(self.box))

    async def receive(
        self, admission: Admission, body: bytes, remote: str | None = None
    ) -> Outcome:
        """Decide and act on a delivery; `body` is unused (and may be empty) when the
        delivery is not `plausible`, as the headers then decide its refusal."""
        target = admission.target
        record = WebhookReceived(
            app=target.label,
            provider=admission.provider,
            event=admission.event,
            delivery_id=admission.delivery_id,
            signature="missing",
            decision="refused",
            reason="",
            remote=remote,
        )
        record = msgspec.structs.replace(record, **target.record_ids())
        if not target.found:
            # one budget for every unknown name: made-up names must not each get their own
            what = "no such application" if target.kind == "app" else "no such stack"
            return await self._refuse(
                target, record, 404, what, "no secret", budget=UNKNOWN[target.kind]
            )
        signature = admission.signature
        if signature is None:
            assert admission.secret is not None  # no secret: the headers decided already
            signature = webhooks.verify(
                admission.provider, admission.headers, body, admission.secret
            )
        refused = refusal(signature, target.kind)
        if refused is not None:
            status = 403 if signature == "no secret" else 401
            return await self._refuse(target, record, status, refused.reason, signature)
        record = msgspec.structs.replace(record, signature="valid")
        if admission.problem is not None:
            return await self._refuse(target, record, 400, admission.problem, "valid")
        try:
            hook = webhooks.parse(admission.provider, admission.headers, body)
        except MalformedPayload as exc:
            return await self._refuse(target, record, 400, f"malformed payload: {exc}", "valid")
        verdict = await target.judge(hook)
        record = _with_hook(record, hook, verdict)
        if verdict.decision in ("deploy", "preview"):
            record = msgspec.structs.replace(record, deployment_id=target.new_release_id())
        assert target.resource_id is not None  # found
        claim = _claim_stream(admission.provider, target.resource_id, body)
        replayed = await self._claim(claim, record, target)
        if replayed is not None:
            return await self._replayed(claim, record, replayed, target)
        try:
            await target.act(admission.provider, hook, verdict, record.deployment_id)
        except DomainError as exc:
            log.warning("webhook %s for %s: %s", record.delivery_id, target.label, exc)
            return Outcome(
                status=exc.status, decision=verdict.decision, reason=str(exc), app=target.label
            )
        return Outcome(
            status=202 if record.deployment_id else 200,
            decision=verdict.decision,
            reason=verdict.reason,
            deployment_id=record.deployment_id,
            app=target.label,
        )

    async def _claim(self, stream: str, record: WebhookReceived, target: HookTarget) -> str | None:
        """Record the delivery as the first of its body (None), or say why it is a replay:
        its body came before, or its delivery id did before body claims existed (an older
        log, whose deliveries claimed `hook-<provider>-<delivery id>`)."""
        delivery = record.delivery_id
        same_id = f"delivery {delivery} was received before: not acted on again"
        legacy = f"hook-{record.provider}-{delivery}"
        if delivery and not delivery.startswith("sha256-") and await self.store.read_stream(legacy):
            return same_id
        try:
            meta = _meta(record, target)
            recorded = await self.store.append(stream, NO_STREAM, [record], meta)
        except ConcurrencyError:
            first = (await self.store.read_stream(stream))[0].event
            before = first.delivery_id if isinstance(first, WebhookReceived) else None
            if before is not None and before == delivery:
                return same_id
            under = f" as delivery {before}" if before else ""
            return (
                f"this body was received before{under}: a signed body is acted on once,"
                " whatever its delivery id"
            )
        await self._seen(recorded[-1].position)
        return None

    async def _seen(self, position: int) -> None:
        """Read-your-writes: the deliveries view shows a delivery once it is answered."""
        if self.runner is not None:
            await self.runner.wait_until(position)

    async def _replayed(
        self, stream: str, record: WebhookReceived, reason: str, target: HookTarget
    ) -> Outcome:
        replay = msgspec.structs.replace(
            record, decision="replayed", reason=reason, deployment_id=None
        )
        recorded = await self.store.append(stream, ANY_VERSION, [replay], _meta(replay, target))
        await self._seen(recorded[-1].position)
        return Outcome(status=200, decision="replayed", reason=reason, app=record.app)

    async def _refuse(
        self,
        target: HookTarget,
        record: WebhookReceived,
        status: int,
        reason: str,
        signature: Signature,
        budget: str | None = None,
    ) -> Outcome:
        if self.refusals.allow(budget or f"{target.kind}:{target.label}"):
            refused = msgspec.structs.replace(
                record, signature=signature, decision="refused", reason=reason
            )
            # a refused delivery claims nothing: its body and id may be anyone's
            stream = f"hook-refused-{record.provider}"
            recorded = await self.store.append(
                stream, ANY_VERSION, [refused], _meta(refused, target)
            )
            await self._seen(recorded[-1].position)
        else:
            wait = math.ceil(60 / REFUSALS_PER_MINUTE)
            reason = f"{reason} (too many refused deliveries: not recorded; wait {wait} s)"
        return Outcome(status=status, decision="refused", reason=reason, app=record.app)


def _with_hook(record: WebhookReceived, hook: Hook, verdict: Verdict) -> WebhookReceived:
    return msgspec.structs.replace(
        record,
        decision=verdict.decision,
        reason=verdict.reason,
        ref=hook.ref,
        commit=hook.commit_sha,
        pr_number=hook.pr_number,
        action=hook.action,
    )


def _claim_stream(provider: str, resource_id: str, body: bytes) -> str:
    """The stream a body claims: the app or stack (by id) is in the digest so that one
    repository's delivery to two of them (staging and production, an app and a stack) is acted
    on by each, and a later app of the same name is another app."""
    digest = hashlib.sha256(resource_id.encode() + b"\0" + body).hexdigest()
    return f"hook-{provider}-sha256-{digest}"


def _meta(record: WebhookReceived, target: HookTarget) -> EventMeta:
    """A delivery records the app or stack it was addressed to and its team, like any event of
    it, so every reader finds both in the metadata."""
    return EventMeta(
        actor=f"webhook:{record.provider}",
        correlation_id=record.deployment_id,
        source=f"webhook:{record.provider}",
        team=target.team or None,
        resource=target.resource_id,
    )


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


async def stack_of(service: WebhookService, stack_id: str) -> StackState:
    return await folded(service.store, STACKS.at(stack_id))
