"""A throwaway certificate authority for TLS tests: a CA and leaf certificates it signs."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


class ThrowawayCA:
    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(UTC)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(_name("Rivetr test CA"))
            .issuer_name(_name("Rivetr test CA"))
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(hours=1))
            .not_valid_after(now + timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        self.pem = self.cert.public_bytes(serialization.Encoding.PEM)

    def issue(
        self,
        *names: str,
        days: int = 10,
        starts: timedelta = timedelta(hours=-1),
        addresses: tuple[str, ...] = (),
    ) -> tuple[bytes, bytes]:
        """(chain PEM: leaf then CA, key PEM) for `names` (the first is its common name) and
        the IP `addresses` it answers at."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(UTC)
        leaf = (
            x509.CertificateBuilder()
            .subject_name(_name(names[0]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now + starts)
            .not_valid_after(now + timedelta(days=days))
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName(n) for n in names]
                    + [x509.IPAddress(ipaddress.ip_address(a)) for a in addresses]
                ),
                critical=False,
            )
            .sign(self.key, hashes.SHA256())
        )
        chain = leaf.public_bytes(serialization.Encoding.PEM) + self.pem
        return chain, _pem_key(key)
