"""Installing certificates: check the chain and key can serve the domain, record the facts
(authorised like any command), then put the files where the proxy's TLS listener finds them."""

from __future__ import annotations

import http.client
import logging
import secrets
import socket
from datetime import timedelta
from functools import partial
from typing import NamedTuple

import anyio.to_thread

from rivetr.adapters.acme import ARI_RETRY_AFTER, AcmeError, CertificateAuthority, Issued
from rivetr.adapters.certs import CertificateError, CertificateInfo, CertificateStore, inspect
from rivetr.adapters.eventstore.base import ANY_VERSION, EventMeta
from rivetr.domain import certificates, stacks
from rivetr.domain.access import Actor
from rivetr.domain.aggregates import CERTIFICATES, STACKS
from rivetr.domain.commands import InstallCertificate
from rivetr.domain.errors import InvalidCommand, NotFound
from rivetr.domain.events import CertificateFailed, CertificateRenewalAdvised, CertificateSource
from rivetr.domain.renewal import advised_renewal
from rivetr.domain.settings import host_of
from rivetr.domain.stack_commands import InstallStackCertificate
from rivetr.projections.certificates import CertificateView
from rivetr.service.commands.app_lookup import AppLookup
from rivetr.service.commands.handler import CommandHandler, folded

log = logging.getLogger(__name__)


class _Holder(NamedTuple):
    """What a certificate's facts are recorded with: its app's or its stack's."""

    name: str
    team: str
    resource: str | None
    stack: bool = False


NO_ARI_RECHECK = timedelta(days=1)  # a CA without renewal information may start offering it


class CertificateService:
    def __init__(
        self,
        handler: CommandHandler,
        lookup: AppLookup,
        store: CertificateStore,
        account: CertificateAuthority | None = None,
        staging: CertificateAuthority | None = None,
    ) -> None:
        self.handler = handler
        self.lookup = lookup
        self.store = store
        self.account = account
        self.staging = staging  # where a retry is rehearsed first, when configured
        self.challenges: dict[str, str] = {}  # token -> key authorization, served by the proxy
        self.probe_port = 80  # where the CA will look for the challenge answers

    async def issue(
        self, actor: Actor, app: str, domain: str, *, rehearse: bool = False
    ) -> CertificateInfo:
        """Order a certificate for `domain` from the ACME CA and serve it. With `rehearse`
        and a staging directory configured, the order is first made there (its certificate
        thrown away), and the real CA is asked only if that succeeded.

        A failure is recorded (`certificate.failed`, with the CA's error detail) and raised
        as InvalidCommand; the app keeps serving plain HTTP.
        """
        domain = domain.lower()
        state = await self.lookup.by_name(app)
        if not state.exists:
            raise NotFound(f"no application named {app!r}")
        if not certificates.serves(state, domain) or domain.startswith("*."):
            raise InvalidCommand(f"{domain} is not one of {app}'s domains (wildcards need DNS-01)")
        holder = _Holder(name=app, team=state.team, resource=state.app_id or None)
        issued, info = await self._order(actor, holder, domain, rehearse)
        await self._install(actor, app, domain, info, "acme")
        self.store.save(domain, issued.chain_pem, issued.key_pem)
        return info

    async def issue_for_stack(
        self, actor: Actor, stack_id: str, domain: str, *, rehearse: bool = False
    ) -> CertificateInfo:
        """What `issue` does for one of a compose stack's domains."""
        domain = domain.lower()
        stack = await folded(self.handler.store, STACKS.at(stack_id))
        stacks.require(stack)
        if domain not in {host_of(d) for d in stack.domains}:
            raise InvalidCommand(f"{domain} is not one of stack {stack.name}'s domains")
        holder = _Holder(name=stack.name, team=stack.team, resource=stack_id, stack=True)
        issued, info = await self._order(actor, holder, domain, rehearse)
        command = InstallStackCertificate(
            stack_id=stack_id,
            domain=domain,
            source="acme",
            not_before=info.not_before,
            not_after=info.not_after,
            issuer=info.issuer,
            serial=info.serial,
            fingerprint=info.fingerprint,
        )
        await self.handler.execute(
            actor,
            command,
            CERTIFICATES,
            domain,
            decide=partial(certificates.decide_install_for_stack, stack),
            resource=stack_id,
        )
        self.store.save(domain, issued.chain_pem, issued.key_pem)
        return info

    async def _order(
        self, actor: Actor, holder: _Holder, domain: str, rehearse: bool
    ) -> tuple[Issued, CertificateInfo]:
        """The certificate the CA issued for `domain`, read. A failure is recorded as
        `certificate.failed` of `holder` and raised as InvalidCommand."""
        assert self.account is not None
        account = self.account
        stage = "staging rehearsal: " if rehearse and self.staging is not None else ""
        elsewhere = await self.reaches_here(domain)
        if elsewhere is not None:  # the CA may see it otherwise (split DNS): order all the same
            log.warning("before ordering a certificate: %s", elsewhere)
        try:
            if stage:
                assert self.staging is not None
                await anyio.to_thread.run_sync(
                    self.staging.order, domain, self.challenges.__setitem__, self._withdraw
                )
                stage = ""
            issued = await anyio.to_thread.run_sync(
                account.order, domain, self.challenges.__setitem__, self._withdraw
            )
            return issued, inspect(domain, issued.chain_pem, issued.key_pem)
        except (AcmeError, CertificateError) as exc:
            detail = stage + str(exc) + (f" ({elsewhere})" if elsewhere else "")
            technical = exc.technical if isinstance(exc, AcmeError) else None
            failed = CertificateFailed(
                domain=domain,
                app=holder.name,
                source="acme",
                detail=detail,
                technical=technical,
                stack_id=holder.resource if holder.stack else None,
            )
            await self._record(actor, holder, domain, failed)
            raise InvalidCommand(f"no certificate for {domain}: {detail}") from None

    async def advise(self, actor: Actor, cert: CertificateView, spread: float) -> timedelta:
        """Ask the CA when to renew `cert` (ACME ARI) and record its advice when it changed;
        how long to wait before asking again."""
        chain = self.store.chain(cert.domain)
        if self.account is None or chain is None or cert.fingerprint is None:
            return NO_ARI_RECHECK
        try:
            window = await anyio.to_thread.run_sync(self.account.renewal_window, chain)
        except AcmeError as exc:
            log.warning("no renewal information for %s: %s", cert.domain, exc)
            return ARI_RETRY_AFTER
        if window is None:
            return NO_ARI_RECHECK
        renew_at = advised_renewal(window.start, window.end, spread).isoformat()
        if renew_at != cert.renew_at:
            advised = CertificateRenewalAdvised(
                domain=cert.domain,
                app=cert.app,
                fingerprint=cert.fingerprint,
                window_start=window.start.isoformat(),
                window_end=window.end.isoformat(),
                renew_at=renew_at,
            )
            await self._record(actor, await self._holder_of(cert), cert.domain, advised)
        return window.ask_again_after

    async def _record(
        self,
        actor: Actor,
        holder: _Holder,
        domain: str,
        event: CertificateFailed | CertificateRenewalAdvised,
    ) -> None:
        """Append a fact about a domain's certificate that no command decides."""
        meta = EventMeta(
            actor=actor.label,
            team=holder.team or None,
            source=actor.source,
            resource=holder.resource,
        )
        recorded = await self.handler.store.append(
            certificates.stream_id(domain), ANY_VERSION, [event], meta
        )
        if self.handler.runner is not None:  # read-your-writes, as for any command
            await self.handler.runner.wait_until(recorded[-1].position)

    async def _holder_of(self, cert: CertificateView) -> _Holder:
        """The app or stack a certificate serves (by the resource its facts were recorded
        with)."""
        app = await self.lookup.by_id(cert.app_id or "")
        if app.exists or not cert.app_id:
            return _Holder(name=cert.app, team=app.team, resource=app.app_id or None)
        stack = await folded(self.handler.store, STACKS.at(cert.app_id))
        return _Holder(name=cert.app, team=stack.team, resource=cert.app_id, stack=True)

    async def reaches_here(self, domain: str, port: int | None = None) -> str | None:
        """Whether http://<domain>/ reaches this Rivetr, tried the way the CA will: a probe
        token is published and fetched through the name. None when it came back; else what
        went wrong, to tell the user (it never stops an order: the CA's resolver may differ)."""
        port = port or self.probe_port
        token, key = f"rivetr-probe-{secrets.token_urlsafe(12)}", secrets.token_urlsafe(24)
        try:
            found = await anyio.to_thread.run_sync(socket.getaddrinfo, domain, port)
        except OSError:
            return f"{domain} does not resolve from this host: point it here first"
        addresses = ", ".join(sorted({str(info[4][0]) for info in found}))
        self.challenges[token] = key
        try:
            wrong = await anyio.to_thread.run_sync(_probe, domain, port, token, key)
        except OSError as exc:
            wrong = str(exc.strerror or exc)
        finally:
            self._withdraw(token)
        if wrong is None:
            return None
        return (
            f"{domain} resolves to {addresses}, where port {port} did not answer as this"
            f" Rivetr ({wrong}): point it here first"
        )

    def _withdraw(self, token: str) -> None:
        self.challenges.pop(token, None)

    async def _install(
        self, actor: Actor, app: str, domain: str, info: CertificateInfo, source: CertificateSource
    ) -> None:
        command = InstallCertificate(
            app=app,
            domain=domain,
            source=source,
            not_before=info.not_before,
            not_after=info.not_after,
            issuer=info.issuer,
            serial=info.serial,
            fingerprint=info.fingerprint,
        )
        state = await self.lookup.by_name(app)
        await self.handler.execute(
            actor,
            command,
            CERTIFICATES,
            domain,
            decide=partial(certificates.decide_install, state),
            resource=state.app_id or None,
        )

    async def upload(
        self, actor: Actor, app: str, domain: str, chain_pem: bytes, key_pem: bytes
    ) -> CertificateInfo:
        """Serve `domain` of `app` with this certificate from now on.

        Raises:
            InvalidCommand: the certificate cannot serve the domain (with why).
            Forbidden, NotFound: as for any app command.
        """
        domain = domain.lower()
        try:
            info = inspect(domain, chain_pem, key_pem)
        except CertificateError as exc:
            raise InvalidCommand(str(exc)) from None
        await self._install(actor, app, domain, info, "uploaded")
        self.store.save(domain, chain_pem, key_pem)
        return info


def _probe(domain: str, port: int, token: str, key: str) -> str | None:
    """Fetch the probe's challenge URL: None when our own answer came back, else what came."""
    connection = http.client.HTTPConnection(domain, port, timeout=3)
    try:
        connection.request("GET", f"/.well-known/acme-challenge/{token}")
        response = connection.getresponse()
        body = response.read(4096)
    finally:
        connection.close()
    if response.status != 200:
        return f"it answered HTTP {response.status}"
    return None if body == key.encode() else "another server answered"
