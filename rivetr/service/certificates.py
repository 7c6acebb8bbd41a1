"""Installing certificates: check the chain and key can serve the domain, record the facts
(authorised like any command), then put the files where the proxy's TLS listener finds them."""

from __future__ import annotations

from functools import partial

from rivetr.adapters.certs import CertificateError, CertificateInfo, CertificateStore, inspect
from rivetr.domain import certificates
from rivetr.domain.access import Actor
from rivetr.domain.commands import InstallCertificate
from rivetr.domain.errors import InvalidCommand
from rivetr.service.apps import load_app
from rivetr.service.handler import CommandHandler


class CertificateService:
    def __init__(self, handler: CommandHandler, store: CertificateStore) -> None:
        self.handler = handler
        self.store = store

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
        command = InstallCertificate(
            app=app,
            domain=domain,
            source="uploaded",
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
        self.store.save(domain, chain_pem, key_pem)
        return info
