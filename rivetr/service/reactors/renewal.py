"""Keeping every app's and compose stack's domain certified: order a certificate for a domain
that has none, renew one when its CA advises (ACME ARI, asked after issuance and again when the
CA says), else once a third of its lifetime is left, and back off after failures (1 min, 10 min,
100 min, then daily).

A timer, not a poll: the renewer sleeps until the earliest due time, and wakes early only when
an event that can change the plan is recorded (an app's or a stack's domains, a certificate).
Due times come from the certificates themselves (their recorded validity), spread per
certificate so that many renewals do not hit the CA in the same minute."""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime

import anyio
import msgspec

from rivetr.adapters.clock import Clock, SystemClock
from rivetr.adapters.eventstore.base import EventStore
from rivetr.domain.access import Actor, Permission
from rivetr.domain.errors import DomainError
from rivetr.domain.renewal import publicly_certifiable, renewal_due, retry_after
from rivetr.domain.settings import host_of
from rivetr.projections.certificates import CertificateView
from rivetr.projections.registry import ReadModel
from rivetr.projections.runner import ProjectionRunner
from rivetr.service.commands.certificates import CertificateService

log = logging.getLogger(__name__)

ACME_ACTOR = Actor(
    kind="system", id="acme", name="acme", permissions=frozenset(Permission), source="system"
)
PLAN_EVENTS = frozenset(
    {
        "app.created",
        "app.settings_changed",
        "app.deleted",
        "stack.created",
        "stack.settings_changed",
        "stack.deleted",
        "certificate.installed",
        "certificate.failed",
    }
)
IDLE_S = 24 * 3600.0  # nothing due: look again in a day at the latest


class Due(msgspec.Struct, frozen=True):
    app: str  # the app's name, or the stack's
    domain: str
    at: datetime
    why: str  # "new", "renewal", "advised" (by the CA), "retry"
    stack_id: str | None = None  # a stack's domain


def spread_of(domain: str, not_after: str | None) -> float:
    """A stable point in [0, 1) for this certificate: the same after a restart."""
    digest = hashlib.sha256(f"{domain}|{not_after}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def plan_one(app: str, domain: str, cert: CertificateView | None) -> Due | None:
    """When `domain` should next be ordered; None for a certificate the user uploaded."""
    if cert is not None and cert.source == "uploaded":
        return None
    retry = None
    if cert is not None and cert.failures and cert.last_error_at:
        retry = retry_after(datetime.fromisoformat(cert.last_error_at), cert.failures)
    if cert is None or cert.not_after is None or cert.not_before is None:
        at = retry or datetime.min.replace(tzinfo=UTC)
        return Due(app, domain, at, "retry" if retry else "new")
    if cert.renew_at is not None:  # the CA's own advice wins over the rule of thumb
        due, why = datetime.fromisoformat(cert.renew_at), "advised"
    else:
        due, why = (
            renewal_due(
                datetime.fromisoformat(cert.not_before),
                datetime.fromisoformat(cert.not_after),
                spread_of(domain, cert.not_after),
            ),
            "renewal",
        )
    if retry is not None and retry > due:
        return Due(app, domain, retry, "retry")
    return Due(app, domain, due, why)


class Renewer:
    def __init__(
        self,
        store: EventStore,
        runner: ProjectionRunner,
        read: ReadModel,
        certificates: CertificateService,
        clock: Clock | None = None,
        *,
        any_name: bool = False,
    ) -> None:
        self.store = store
        self.runner = runner
        self.read = read
        self.certificates = certificates
        self.clock = clock or SystemClock()
        self.any_name = any_name  # order for private names too (a private CA)
        self._wake = anyio.Event()
        self._ask_at: dict[tuple[str, str], datetime] = {}  # (domain, fingerprint) -> next ARI

    async def plan(self) -> list[Due]:
        """Every domain that should have an ACME certificate, with when to order it next."""
        certs = {c.domain: c for c in await self.read.certificates.every()}
        plan = []
        holders: list[tuple[str, str | None, list[str]]] = [
            (app.name, None, list(app.domains)) for app in await self.read.apps.every()
        ]
        holders += [
            (stack.name, stack.stack_id, [d for route in stack.routes for d in route.domains])
            for stack in await self.read.stacks.every()
        ]
        for name, stack_id, domains in holders:
            for domain in sorted({host_of(d) for d in domains}):
                if domain.startswith("*."):
                    continue  # a wildcard needs DNS-01: upload one
                if not (self.any_name or publicly_certifiable(domain)):
                    continue  # no public CA would: an order could only fail, forever
                due = plan_one(name, domain, certs.get(domain))
                if due is not None:
                    plan.append(msgspec.structs.replace(due, stack_id=stack_id))
        return sorted(plan, key=lambda d: d.at)

    async def run(self, after: int) -> None:
        async with anyio.create_task_group() as group:
            group.start_soon(self._watch, after)
            while True:
                plan = await self.plan()
                now = self.clock.now()
                for due in (d for d in plan if d.at <= now):
                    await self.order(due)
                await self.ask_advice()
                plan = await self.plan()
                now = self.clock.now()
                later = [d.at for d in plan if d.at > now] + list(self._ask_at.values())
                wait = min(((at - now).total_seconds() for at in later), default=IDLE_S)
                with anyio.move_on_after(max(1.0, min(wait, IDLE_S))):
                    await self._wake.wait()
                self._wake = anyio.Event()

    async def ask_advice(self) -> None:
        """Ask the CA when to renew each ACME certificate it has not been asked about yet
        (a new one: at once), or whose time to ask again has come."""
        if self.certificates.account is None:
            return
        now = self.clock.now()
        asked: dict[tuple[str, str], datetime] = {}
        for cert in await self.read.certificates.every():
            if cert.source != "acme" or cert.fingerprint is None or cert.not_after is None:
                continue
            key = (cert.domain, cert.fingerprint)
            at = self._ask_at.get(key, now)
            if at <= now:
                spread = spread_of(cert.domain, cert.not_after)
                at = now + await self.certificates.advise(ACME_ACTOR, cert, spread)
            asked[key] = at
        self._ask_at = asked  # replaced certificates drop out

    async def order(self, due: Due) -> None:
        log.info("ordering a certificate for %s (%s)", due.domain, due.why)
        try:
            rehearse = due.why == "retry"  # on staging first, when one is configured
            if due.stack_id is not None:
                await self.certificates.issue_for_stack(
                    ACME_ACTOR, due.stack_id, due.domain, rehearse=rehearse
                )
            else:
                await self.certificates.issue(ACME_ACTOR, due.app, due.domain, rehearse=rehearse)
        except DomainError as exc:  # recorded as certificate.failed by issue()
            log.warning("no certificate for %s: %s", due.domain, exc)

    async def _watch(self, after: int) -> None:
        async for recorded in self.store.subscribe(after):
            if recorded.type in PLAN_EVENTS:
                await self.runner.wait_until(recorded.position)
                self._wake.set()
