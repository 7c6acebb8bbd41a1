"""Which certificate serves which domain: a certificate is installed for one of its app's
domains (or a host a wildcard domain covers); the facts recorded are the service's reading of
the certificate, never the key."""

from __future__ import annotations

from rivetr.domain.application import AppState
from rivetr.domain.commands import InstallCertificate
from rivetr.domain.errors import InvalidCommand, NotFound
from rivetr.domain.events import CertificateInstalled, Event
from rivetr.domain.settings import host_of


def stream_id(domain: str) -> str:
    return f"cert-{domain}"


def serves(app: AppState, domain: str) -> bool:
    """Whether `domain` is one of the app's domains (or under one of its wildcards)."""
    for own in {host_of(d) for d in app.domains}:
        if own == domain:
            return True
        if own.startswith("*.") and domain.split(".", 1)[-1] == own[2:]:
            return True
    return False


def decide_install(app: AppState, _: object, command: InstallCertificate) -> list[Event]:
    if not app.exists:
        raise NotFound(f"no application named {command.app!r}")
    if not serves(app, command.domain):
        domains = ", ".join(sorted({host_of(d) for d in app.domains})) or "none"
        raise InvalidCommand(
            f"{command.domain} is not one of {app.name}'s domains ({domains}): add it first"
        )
    return [
        CertificateInstalled(
            domain=command.domain,
            app=app.name,
            source=command.source,
            not_before=command.not_before,
            not_after=command.not_after,
            issuer=command.issuer,
            serial=command.serial,
            fingerprint=command.fingerprint,
        )
    ]
