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
from rivetr.domain.access import Actor, webhook_actor
from rivetr.domain.application import AppState, preview_name
from rivetr.domain.commands import ClosePreview, DisableWebhook, SetWebhookSecret
from rivetr.domain.errors import DomainError
from rivetr.domain.events import WebhookReceived
from rivetr.domain.webhooks import Signature, Verdict, judge, refusal
from rivetr.service.commands.apps import AppService
from rivetr.service.commands.deployments import DeploymentService, new_deployment_id
from rivetr.service.commands.previews import PreviewService
from rivetr.service.commands.secrets import open_webhook_secret
from rivetr.service.commands.webhook_admission import (
    REFUSALS_PER_MINUTE,
    Admission,
    BodyBudget,
    RefusalBudget,
    admission,
)

log = logging.getLogger(__name__)

SECRET_PREFIX = "rvw_"
UNKNOWN_APPS = "\0unknown"  # the refusal budget shared by every name that is no app


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
    ) -> None:
        self.apps = apps
        self.deployments = deployments
        self.previews = previews
        self.store = apps.handler.store
        self.runner = apps.handler.runner
        self.box = box
        self.refusals = RefusalBudget()
        self.bodies = BodyBudget()  # bytes held by bodies being read and verified

    # --- the app's side: a secret to sign with ------------------------------------------

    async def enable(self, actor: Actor, app: str) -> str:
        """Turn the app's webhook on, or rotate its secret; return the secret (shown once)."""
        secret = SECRET_PREFIX + secrets.token_urlsafe(32)
        await self.apps.handle(actor, SetWebhookSecret(name=app, secret=secret))
        return secret

    async def disable(self, actor: Actor, app: str) -> None:
        await self.apps.handle(actor, DisableWebhook(name=app))

    # --- a delivery ---------------------------------------------------------------------

    async def admit(
        self, provider: Provider, app_name: str, headers: Mapping[str, str]
    ) -> Admission:
        """Judge a delivery by its headers, before its body is read."""
        app = await self.apps.lookup.by_name(app_name)
        secret = open_webhook_secret(self.box, app) if app.exists else None
        return admission(provider, app_name, app, headers, secret)

    async def receive(
        self, admission: Admission, body: bytes, remote: str | None = None
    ) -> Outcome:
        """Decide and act on a delivery; `body` is unused (and may be empty) when the
        delivery is not `plausible`, as the headers then decide its refusal."""
        app = admission.app
        record = WebhookReceived(
            app=admission.app_name,
            app_id=app.app_id or None,
            provider=admission.provider,
            event=admission.event,
            delivery_id=admission.delivery_id,
            signature="missing",
            decision="refused",
            reason="",
            remote=remote,
        )
        if not app.exists:
            # one budget for every unknown name: made-up names must not each get their own
            return await self._refuse(
                app, record, 404, "no such application", "no secret", budget=UNKNOWN_APPS
            )
        signature = admission.signature
        if signature is None:
            assert admission.secret is not None  # no secret: the headers decided already
            signature = webhooks.verify(
                admission.provider, admission.headers, body, admission.secret
            )
        refused = refusal(signature)
        if refused is not None:
            status = 403 if signature == "no secret" else 401
            return await self._refuse(app, record, status, refused.reason, signature)
        record = msgspec.structs.replace(record, signature="valid")
        if admission.problem is not None:
            return await self._refuse(app, record, 400, admission.problem, "valid")
        try:
            hook = webhooks.parse(admission.provider, admission.headers, body)
        except MalformedPayload as exc:
            return await self._refuse(app, record, 400, f"malformed payload: {exc}", "valid")
        verdict = await self.previews.gate(app, hook, judge(app, hook))
        record = _with_hook(record, hook, verdict)
        if verdict.decision in ("deploy", "preview"):
            record = msgspec.structs.replace(record, deployment_id=new_deployment_id())
        claim = _claim_stream(admission.provider, app.app_id, body)
        replayed = await self._claim(claim, record, app.team)
        if replayed is not None:
            return await self._replayed(claim, record, replayed, app.team)
        try:
            await self._act(admission.provider, app, hook, verdict, record.deployment_id)
        except DomainError as exc:
            log.warning("webhook %s for %s: %s", record.delivery_id, app.name, exc)
            return Outcome(
                status=exc.status, decision=verdict.decision, reason=str(exc), app=app.name
            )
        return Outcome(
            status=202 if record.deployment_id else 200,
            decision=verdict.decision,
            reason=verdict.reason,
            deployment_id=record.deployment_id,
            app=app.name,
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
                name = await self.previews.open(actor, app, hook)
                await self.deployments.request(
                    actor,
                    name,
                    commit=verdict.commit,
                    trigger="webhook",
                    deployment_id=deployment_id,
                )
            case "pending_approval":
                assert verdict.commit is not None
                await self.previews.hold(actor, app, hook, verdict.commit)
            case "close_preview":
                assert hook.pr_number is not None
                name = preview_name(app.name, hook.pr_number)
                if (await self.apps.lookup.by_name(name)).exists:
                    await self.apps.handle(actor, ClosePreview(name=name))

    async def _claim(self, stream: str, record: WebhookReceived, team: str) -> str | None:
        """Record the delivery as the first of its body (None), or say why it is a replay:
        its body came before, or its delivery id did before body claims existed (an older
        log, whose deliveries claimed `hook-<provider>-<delivery id>`)."""
        delivery = record.delivery_id
        same_id = f"delivery {delivery} was received before: not acted on again"
        legacy = f"hook-{record.provider}-{delivery}"
        if delivery and not delivery.startswith("sha256-") and await self.store.read_stream(legacy):
            return same_id
        try:
            recorded = await self.store.append(stream, NO_STREAM, [record], _meta(record, team))
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
        self, stream: str, record: WebhookReceived, reason: str, team: str
    ) -> Outcome:
        replay = msgspec.structs.replace(
            record, decision="replayed", reason=reason, deployment_id=None
        )
        recorded = await self.store.append(stream, ANY_VERSION, [replay], _meta(replay, team))
        await self._seen(recorded[-1].position)
        return Outcome(status=200, decision="replayed", reason=reason, app=record.app)

    async def _refuse(
        self,
        admitted: AppState,
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
            # a refused delivery claims nothing: its body and id may be anyone's
            stream = f"hook-refused-{record.provider}"
            recorded = await self.store.append(
                stream, ANY_VERSION, [refused], _meta(refused, admitted.team or None)
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


def _claim_stream(provider: str, app_id: str, body: bytes) -> str:
    """The stream a body claims: the app (by id) is in the digest so that one repository's
    delivery to two apps (staging and production) is acted on by each, and a later app of the
    same name is another app."""
    digest = hashlib.sha256(app_id.encode() + b"\0" + body).hexdigest()
    return f"hook-{provider}-sha256-{digest}"


def _meta(record: WebhookReceived, team: str | None) -> EventMeta:
    """A delivery records the app it was addressed to and that app's team, like any event of
    the app, so every reader finds both in the metadata."""
    return EventMeta(
        actor=f"webhook:{record.provider}",
        correlation_id=record.deployment_id,
        source=f"webhook:{record.provider}",
        team=team,
        resource=record.app_id,
    )
