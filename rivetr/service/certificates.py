"""Installing certificates: check the chain and key can serve the domain, record the facts
(authorised like any command), then put the files where the proxy's TLS listener finds them."""

from __future__ import annotations

import socket
from functools import partial

import anyio.to_thread

from rivetr.adapters.acme import AcmeAccount, AcmeError
from rivetr.adapters.certs import CertificateError, CertificateInfo, CertificateStore, inspect
from rivetr.adapters.eventstore.base import ANY_VERSION, EventMeta
from rivetr.domain import certificates
from rivetr.domain.access import Actor
from rivetr.domain.commands import InstallCertificate
from rivetr.domain.errors import InvalidCommand, NotFound
from rivetr.domain.events import CertificateFailed, CertificateSource
from rivetr.service.apps import load_app
from rivetr.service.handler import CommandHandler


class CertificateService:
    def __init__(
        self,
        handler: CommandHandler,
        store: CertificateStore,
        account: AcmeAccount | None = None,
        staging: AcmeAccount | None = None,
    ) -> None:
        self.handler = handler
        self.store = store
        self.account = account
        self.staging = staging  # where a retry is rehearsed first, when configured
        self.challenges: dict[str, str] = {}  # token -> key authorization, served by the proxy

    async def issue(
        self, actor: Actor, app: str, domain: str, *, rehearse: bool = False
    ) -> CertificateInfo:
        """Order a certificate for `domain` from the ACME CA and serve it. With `rehearse`
        and a staging directory configured, the order is first made there (its certificate
        thrown away), and the real CA is asked only if that succeeded.

        A failure is recorded (`certificate.failed`, with the CA's error detail) and raised
        as InvalidCommand; the app keeps serving plain HTTP.
        """
        assert self.account is not None
        domain = domain.lower()
        state = await load_app(self.handler.store, app)
        if not state.exists:
            raise NotFound(f"no application named {app!r}")
        if not certificates.serves(state, domain) or domain.startswith("*."):
            raise InvalidCommand(f"{domain} is not one of {app}'s domains (wildcards need DNS-01)")
        account = self.account
        stage = "staging rehearsal: " if rehearse and self.staging is not None else ""
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
            info = inspect(domain, issued.chain_pem, issued.key_pem)
        except (AcmeError, CertificateError) as exc:
            detail = stage + str(exc)
            if not await _resolves(domain):
                detail += f" ({domain} does not resolve from this host: point it here first)"
            failed = CertificateFailed(domain=domain, app=app, source="acme", detail=detail)
            meta = EventMeta(actor=actor.label, team=state.team, source=actor.source)
            recorded = await self.handler.store.append(
                certificates.stream_id(domain), ANY_VERSION, [failed], meta
            )
            if self.handler.runner is not None:  # read-your-writes, as for any command
                await self.handler.runner.wait_until(recorded[-1].position)
            raise InvalidCommand(f"no certificate for {domain}: {detail}") from None
        await self._install(actor, app, domain, info, "acme")
        self.store.save(domain, issued.chain_pem, issued.key_pem)
        return info

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
        state = await load_app(self.handler.store, app)
        await self.handler.execute(
            actor,
            command,
            stream_id=certificates.stream_id(domain),
            fold=lambda history: None,
            decide=partial(certificates.decide_install, state),
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


async def _resolves(domain: str) -> bool:
    """Whether the name resolves at all from here: when it does not, say so with the failure
    (the CA's own resolver may still see it, so this never stops an order)."""
    try:
        await anyio.to_thread.run_sync(socket.getaddrinfo, domain, 80)
    except OSError:
        return False
    return True
