"""Webhook deliveries: check the signature on the raw body, refuse replays, decide, act, and
record every delivery (accepted or refused) as an event saying why.

A delivery claims its id by opening its own stream (`hook-<provider>-<delivery id>`) with
NO_STREAM: a replay, even one racing the original, finds the stream there and is recorded as
such instead of deploying twice."""

from __future__ import annotations

import logging
import math
import secrets
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Mapping

import msgspec

from rivetr.adapters import webhooks
from rivetr.adapters.eventstore.base import ANY_VERSION, NO_STREAM, ConcurrencyError, EventMeta
from rivetr.adapters.secrets import SecretBox
from rivetr.adapters.webhooks.base import Hook, MalformedPayload, Provider
from rivetr.domain.access import Actor, webhook_actor
from rivetr.domain.application import AppState, preview_name
from rivetr.domain.commands import ClosePreview, DisableWebhook, OpenPreview, SetWebhookSecret
from rivetr.domain.errors import DomainError
from rivetr.domain.events import WebhookReceived
from rivetr.domain.webhooks import Signature, Verdict, judge, refusal
from rivetr.service.apps import AppService
from rivetr.service.deployments import DeploymentService, new_deployment_id
from rivetr.service.secrets import open_app, open_webhook_secret

log = logging.getLogger(__name__)

SECRET_PREFIX = "rvw_"
REFUSALS_PER_MINUTE = 30  # recorded per app; beyond it refused deliveries leave no event
UNKNOWN_APPS = "\0unknown"  # the refusal budget shared by every name that is no app


class Outcome(msgspec.Struct, frozen=True, kw_only=True):
    """What the endpoint answers: the HTTP status, and the recorded decision."""

    status: int
    decision: str
    reason: str
    deployment_id: str | None = None
    app: str | None = None


class RefusalBudget:
    """Refused deliveries are recorded, but an unauthenticated sender must not be able to fill
    the log: past `limit` a minute per app they are answered without an event."""

    def __init__(self, limit: int = REFUSALS_PER_MINUTE, clock: object = time.monotonic) -> None:
        self.limit = limit
        self.clock = clock
        self._seen: OrderedDict[str, deque[float]] = OrderedDict()

    def allow(self, app: str) -> bool:
        now = self.clock()  # type: ignore[operator]
        seen = self._seen.pop(app, None) or deque()
        while seen and now - seen[0] >= 60:
            seen.popleft()
        self._seen[app] = seen
        while len(self._seen) > 10_000:
            self._seen.popitem(last=False)
        if len(seen) >= self.limit:
            return False
        seen.append(now)
        return True


class WebhookService:
    def __init__(
        self,
        apps: AppService,
        deployments: DeploymentService,
        box: SecretBox,
    ) -> None:
        self.apps = apps
        self.deployments = deployments
        self.store = apps.handler.store
        self.runner = apps.handler.runner
        self.box = box
        self.refusals = RefusalBudget()

    # --- the app's side: a secret to sign with ------------------------------------------

    async def enable(self, actor: Actor, app: str) -> str:
        """Turn the app's webhook on, or rotate its secret; return the secret (shown once)."""
        secret = SECRET_PREFIX + secrets.token_urlsafe(32)
        await self.apps.handle(actor, SetWebhookSecret(name=app, secret=secret))
        return secret

    async def disable(self, actor: Actor, app: str) -> None:
        await self.apps.handle(actor, DisableWebhook(name=app))

    # --- a delivery ---------------------------------------------------------------------

    async def receive(
        self,
        provider: Provider,
        app_name: str,
        headers: Mapping[str, str],
        body: bytes,
        remote: str | None = None,
    ) -> Outcome:
        event = webhooks.event_name(provider, headers)
        delivery = webhooks.delivery_id(provider, headers)
        app = await self.apps.lookup.by_name(app_name)
        record = WebhookReceived(
            app=app_name,
            app_id=app.app_id or None,
            provider=provider,
            event=event,
            delivery_id=delivery,
            signature="missing",
            decision="refused",
            reason="",
            remote=remote,
        )
        if not app.exists:
            # one budget for every unknown name: made-up names must not each get their own
            return await self._refuse(
                record, 404, "no such application", "no secret", budget=UNKNOWN_APPS
            )
        secret = open_webhook_secret(self.box, app)
        signature: Signature = (
            "no secret" if secret is None else webhooks.verify(provider, headers, body, secret)
        )
        refused = refusal(signature)
        if refused is not None:
            status = 403 if signature == "no secret" else 401
            return await self._refuse(record, status, refused.reason, signature)
        record = msgspec.structs.replace(record, signature="valid")
        try:
            hook = webhooks.parse(provider, headers, body)
        except MalformedPayload as exc:
            return await self._refuse(record, 400, f"malformed payload: {exc}", "valid")
        verdict = judge(app, hook)
        record = _with_hook(record, hook, verdict)
        if verdict.decision in ("deploy", "preview"):
            record = msgspec.structs.replace(record, deployment_id=new_deployment_id())
        if not await self._claim(record):
            return await self._replayed(record)
        try:
            await self._act(provider, app, hook, verdict, record.deployment_id)
        except DomainError as exc:
            log.warning("webhook %s for %s: %s", delivery, app_name, exc)
            return Outcome(
                status=exc.status, decision=verdict.decision, reason=str(exc), app=app_name
            )
        return Outcome(
            status=202 if record.deployment_id else 200,
            decision=verdict.decision,
            reason=verdict.reason,
            deployment_id=record.deployment_id,
            app=app_name,
        )

    async def _act(
        self,
        provider: Provider,
        app: AppState,
        hook: Hook,
        verdict: Verdict,
        deployment_id: str | None,
    ) -> None:
        actor = webhook_actor(provider)
        match verdict.decision:
            case "deploy":
                await self.deployments.request(
                    actor,
                    app.name,
                    commit=verdict.commit,
                    trigger="webhook",
                    deployment_id=deployment_id,
                )
            case "preview":
                assert hook.pr_number is not None
                name = preview_name(app.name, hook.pr_number)
                await self._open_preview(actor, app, name, hook)
                await self.deployments.request(
                    actor,
                    name,
                    commit=verdict.commit,
                    trigger="webhook",
                    deployment_id=deployment_id,
                )
            case "close_preview":
                assert hook.pr_number is not None
                name = preview_name(app.name, hook.pr_number)
                if (await self.apps.lookup.by_name(name)).exists:
                    await self.apps.handle(actor, ClosePreview(name=name))

    async def _open_preview(self, actor: Actor, parent: AppState, name: str, hook: Hook) -> None:
        if (await self.apps.lookup.by_name(name)).exists:
            return
        plain = open_app(self.box, parent)  # sealed again under the preview's own name
        command = OpenPreview(
            name=name,
            preview_of=parent.name,
            pr_number=hook.pr_number or 0,
            branch=hook.pr_source_branch or parent.branch,
            env=dict(plain.env),
            git_token=plain.git_token,
            deploy_key=plain.deploy_key,
        )
        await self.apps.open_preview(actor, command)

    async def _claim(self, record: WebhookReceived) -> bool:
        """Record the delivery under its id; False when that id was recorded before."""
        stream = _stream(record)
        try:
            recorded = await self.store.append(stream, NO_STREAM, [record], _meta(record))
        except ConcurrencyError:
            return False
        await self._seen(recorded[-1].position)
        return True

    async def _seen(self, position: int) -> None:
        """Read-your-writes: the deliveries view shows a delivery once it is answered."""
        if self.runner is not None:
            await self.runner.wait_until(position)

    async def _replayed(self, record: WebhookReceived) -> Outcome:
        replay = msgspec.structs.replace(
            record,
            decision="replayed",
            reason=f"delivery {record.delivery_id} was received before: not acted on again",
            deployment_id=None,
        )
        recorded = await self.store.append(_stream(record), ANY_VERSION, [replay], _meta(replay))
        await self._seen(recorded[-1].position)
        return Outcome(status=200, decision="replayed", reason=replay.reason, app=record.app)

    async def _refuse(
        self,
        record: WebhookReceived,
        status: int,
        reason: str,
        signature: Signature,
        budget: str | None = None,
    ) -> Outcome:
        if self.refusals.allow(budget or record.app):
            refused = msgspec.structs.replace(
                record, signature=signature, decision="refused", reason=reason
            )
            # a refused delivery claims nothing: its id may be forged
            stream = f"hook-refused-{record.provider}"
            recorded = await self.store.append(stream, ANY_VERSION, [refused], _meta(refused))
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


def _stream(record: WebhookReceived) -> str:
    # no delivery id (some senders, hand-made requests): nothing to replay against
    return f"hook-{record.provider}-{record.delivery_id or uuid.uuid4()}"


def _meta(record: WebhookReceived) -> EventMeta:
    return EventMeta(
        actor=f"webhook:{record.provider}",
        correlation_id=record.deployment_id,
        source=f"webhook:{record.provider}",
        resource=record.app_id,
    )
