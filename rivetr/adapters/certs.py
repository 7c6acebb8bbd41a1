"""Certificates on disk, and the TLS contexts the proxy picks from by SNI.

Each domain's chain and key live in `<data>/certs/<domain>.crt` and `.key`, written 0600
through a temporary file and a rename, so a reader never sees half a key. Only facts about a
certificate (expiry, issuer, fingerprint) reach the event log; keys never do. `cryptography` is
imported only here and only when a certificate is read, to keep the idle service small."""

from __future__ import annotations

import os
import ssl
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from rivetr.adapters.private_files import private_dir


class CertificateError(ValueError):
    """A certificate or key that cannot serve the domain (with the reason)."""


class CertificateInfo(msgspec.Struct, frozen=True, kw_only=True):
    domain: str
    not_before: str  # ISO 8601, UTC
    not_after: str
    issuer: str
    serial: str
    fingerprint: str  # SHA-256 of the leaf certificate, hex
    names: list[str]  # subject alternative names


def inspect(
    domain: str, chain_pem: bytes, key_pem: bytes, now: datetime | None = None
) -> CertificateInfo:
    """Check that the chain and key can serve `domain` now, and describe the leaf.

    Raises:
        CertificateError: unparsable PEM, a key that does not match, a name that does not
            cover the domain, or a certificate not valid now.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization

    try:
        leaf = x509.load_pem_x509_certificate(chain_pem)
    except ValueError as exc:
        raise CertificateError(f"the certificate is not PEM X.509: {exc}") from None
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError) as exc:
        raise CertificateError(f"the private key is not an unencrypted PEM key: {exc}") from None
    leaf_key = leaf.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    own_key = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if leaf_key != own_key:
        raise CertificateError("the private key does not belong to the certificate")
    try:
        sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        names = [str(n) for n in sans.value.get_values_for_type(x509.DNSName)]
    except x509.ExtensionNotFound:
        names = []
    if not any(covers(name, domain) for name in names):
        named = ", ".join(names) or "no host"
        raise CertificateError(f"the certificate names {named}, not {domain}")
    now = now or datetime.now(UTC)
    if not leaf.not_valid_before_utc <= now <= leaf.not_valid_after_utc:
        raise CertificateError(
            f"the certificate is valid from {leaf.not_valid_before_utc:%Y-%m-%d}"
            f" to {leaf.not_valid_after_utc:%Y-%m-%d}, not now"
        )
    return CertificateInfo(
        domain=domain,
        not_before=leaf.not_valid_before_utc.isoformat(),
        not_after=leaf.not_valid_after_utc.isoformat(),
        issuer=leaf.issuer.rfc4514_string(),
        serial=format(leaf.serial_number, "x"),
        fingerprint=leaf.fingerprint(hashes.SHA256()).hex(),
        names=names,
    )


def covers(name: str, domain: str) -> bool:
    """Whether a certificate name covers the domain (a wildcard, one label deep)."""
    name, domain = name.lower(), domain.lower()
    if name == domain:
        return True
    return name.startswith("*.") and domain.split(".", 1)[-1] == name[2:] and "." in domain


class CertificateStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._contexts: dict[str, ssl.SSLContext] = {}

    def save(self, domain: str, chain_pem: bytes, key_pem: bytes) -> None:
        private_dir(self.directory)
        for suffix, data in ((".key", key_pem), (".crt", chain_pem)):
            path = self.directory / f"{domain}{suffix}"
            partial = path.with_name(path.name + ".tmp")
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as file:
                file.write(data)
            os.replace(partial, path)
        self._contexts.pop(domain, None)

    def remove(self, domain: str) -> None:
        for suffix in (".crt", ".key"):
            (self.directory / f"{domain}{suffix}").unlink(missing_ok=True)
        self._contexts.pop(domain, None)

    def chain(self, domain: str) -> bytes | None:
        path = self.directory / f"{domain}.crt"
        return path.read_bytes() if path.is_file() else None

    def has(self, domain: str) -> bool:
        return (self.directory / f"{domain}.crt").is_file()

    def context(self, domain: str) -> ssl.SSLContext | None:
        """The TLS context serving `domain` (or a wildcard covering it), cached."""
        for candidate in (domain, "*." + domain.split(".", 1)[-1]):
            found = self._contexts.get(candidate)
            if found is not None:
                return found
            if self.has(candidate):
                context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                context.minimum_version = ssl.TLSVersion.TLSv1_2
                context.set_alpn_protocols(["http/1.1"])
                context.load_cert_chain(
                    self.directory / f"{candidate}.crt", self.directory / f"{candidate}.key"
                )
                self._contexts[candidate] = context
                return context
        return None

    def server_context(self) -> ssl.SSLContext:
        """The listener's context: it only picks the domain's own context by SNI; a client
        that names no host, or one without a certificate, fails the handshake."""
        listener = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        listener.minimum_version = ssl.TLSVersion.TLSv1_2

        def pick(tls: ssl.SSLObject, name: str | None, _: ssl.SSLContext) -> int | None:
            context = self.context(name.lower()) if name else None
            if context is None:
                return ssl.ALERT_DESCRIPTION_UNRECOGNIZED_NAME
            tls.context = context
            return None

        listener.sni_callback = pick
        return listener
