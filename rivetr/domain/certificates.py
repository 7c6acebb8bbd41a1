"""Which certificate serves which domain: a certificate is installed for one of its app's
domains (or a host a wildcard domain covers), or one of its compose stack's; the facts recorded
are the service's reading of the certificate, never the key."""

from __future__ import annotations

from rivetr.domain.application import AppState
from rivetr.domain.commands import InstallCertificate
from rivetr.domain.errors import InvalidCommand, NotFound
from rivetr.domain.events import CertificateInstalled, Event
from rivetr.domain.settings import host_of
from rivetr.domain.stack_commands import InstallStackCertificate
from rivetr.domain.stacks import StackState


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
    return [_installed(command, app.name)]


def decide_install_for_stack(
    stack: StackState, _: object, command: InstallStackCertificate
) -> list[Event]:
    if not stack.exists or stack.deleted:
        raise NotFound(f"no stack with id {command.stack_id!r}")
    if command.domain not in {host_of(d) for d in stack.domains}:
        domains = ", ".join(sorted({host_of(d) for d in stack.domains})) or "none"
        raise InvalidCommand(
            f"{command.domain} is not one of stack {stack.name}'s domains ({domains}): route it"
            " first"
        )
    return [_installed(command, stack.name, stack.stack_id)]


def _installed(
    command: InstallCertificate | InstallStackCertificate, name: str, stack_id: str | None = None
) -> CertificateInstalled:
    return CertificateInstalled(
        domain=command.domain,
        app=name,
        stack_id=stack_id,
        source=command.source,
        not_before=command.not_before,
        not_after=command.not_after,
        issuer=command.issuer,
        serial=command.serial,
        fingerprint=command.fingerprint,
    )
