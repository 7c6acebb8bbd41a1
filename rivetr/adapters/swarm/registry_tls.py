"""The certificates of the registry Rivetr runs on the manager. A CA made for that registry
alone signs two certificates: the registry's own, for the address the nodes reach it at, and
the one client certificate every node's engine presents to it. The registry takes no client
without it (TLS both ways), so it needs no account; the CA's key is dropped once both are
signed, so nothing can sign another."""

from __future__ import annotations

import http.client
import ipaddress
import ssl
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rivetr.adapters.swarm.base import RegistryCertificates

VALID_FOR = timedelta(days=3650)  # renewed by stopping it and running it again


def make_certificates(host: str, now: datetime | None = None) -> RegistryCertificates:
    """A new CA's certificate, and the registry's (for `host`, a name or an IP address) and
    the engines' client certificate it signed, each with its key."""
    # Imported here, as the secret box does: `cryptography` is ~8 MB of resident memory that a
    # service which never runs a registry should not pay at rest.
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    def name(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])

    def pem_key(key: ec.EllipticCurvePrivateKey) -> str:
        return key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()

    def subject_alt_name(host: str) -> x509.GeneralName:
        try:
            return x509.IPAddress(ipaddress.ip_address(host))
        except ValueError:
            return x509.DNSName(host)

    start = (now or datetime.now(UTC)) - timedelta(hours=1)  # a node's clock a little behind
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = name(f"Rivetr registry CA for {host}")
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + VALID_FOR)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )

    def signed(
        common: str, usage: x509.ObjectIdentifier, names: list[x509.GeneralName]
    ) -> tuple[str, str]:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(name(common))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + VALID_FOR)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        )
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        cert = builder.sign(ca_key, hashes.SHA256())
        return cert.public_bytes(serialization.Encoding.PEM).decode(), pem_key(key)

    cert, key = signed(host, ExtendedKeyUsageOID.SERVER_AUTH, [subject_alt_name(host)])
    client_cert, client_key = signed("rivetr-node", ExtendedKeyUsageOID.CLIENT_AUTH, [])
    return RegistryCertificates(
        ca=ca.public_bytes(serialization.Encoding.PEM).decode(),
        cert=cert,
        key=key,
        client_cert=client_cert,
        client_key=client_key,
    )


def probe(address: str, certificates: RegistryCertificates, timeout: float = 5.0) -> None:
    """`GET https://address/v2/` as a node's engine asks it: trusting the registry's CA alone,
    presenting the client certificate. Blocking.

    Raises OSError (ssl.SSLError among them: the registry is not the one made with these
    certificates) or ValueError (it answered other than 200)."""
    host, _, port = address.rpartition(":")
    context = ssl.create_default_context(cadata=certificates.ca)
    with tempfile.TemporaryDirectory(prefix="rivetr-registry-probe-") as private:
        # the ssl module reads a certificate chain from files alone
        cert_file, key_file = Path(private) / "client.cert", Path(private) / "client.key"
        cert_file.write_text(certificates.client_cert)
        key_file.touch(mode=0o600)
        key_file.write_text(certificates.client_key)
        context.load_cert_chain(cert_file, key_file)
    connection = http.client.HTTPSConnection(
        host.strip("[]"), int(port), context=context, timeout=timeout
    )
    try:
        connection.request("GET", "/v2/")
        answer = connection.getresponse()
        if answer.status != 200:
            raise ValueError(f"https://{address}/v2/ answered {answer.status} {answer.reason}")
    finally:
        connection.close()
