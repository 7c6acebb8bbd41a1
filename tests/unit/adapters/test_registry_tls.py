"""The certificates of the registry Rivetr runs: its own for the address the nodes reach it at
(an IP address or a name), a client one the engines present, both signed by a CA that can
sign nothing else (no path below it) and is good for nothing but signing."""

from __future__ import annotations

import ipaddress
import ssl

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.x509.oid import ExtendedKeyUsageOID

from rivetr.adapters.swarm.registry_tls import make_certificates


def _load(pem: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem.encode())


def _signed_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


@pytest.mark.parametrize(
    ("host", "named"),
    [
        ("10.0.0.1", x509.IPAddress(ipaddress.ip_address("10.0.0.1"))),
        ("fd00::1", x509.IPAddress(ipaddress.ip_address("fd00::1"))),
        ("manager.internal", x509.DNSName("manager.internal")),
    ],
)
def test_the_registry_is_named_by_its_address_and_both_are_the_cas(
    host: str, named: x509.GeneralName
) -> None:
    made = make_certificates(host)
    ca, cert, client = _load(made.ca), _load(made.cert), _load(made.client_cert)

    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert list(names) == [named]
    assert _signed_by(cert, ca)
    assert _signed_by(client, ca)
    constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert (constraints.ca, constraints.path_length) == (True, 0)
    usage = ca.extensions.get_extension_for_class(x509.KeyUsage).value
    assert (usage.key_cert_sign, usage.digital_signature) == (True, False)
    serves = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    presents = client.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(serves) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert list(presents) == [ExtendedKeyUsageOID.CLIENT_AUTH]


def test_each_run_makes_a_ca_of_its_own_and_keys_ssl_takes() -> None:
    first, second = make_certificates("10.0.0.1"), make_certificates("10.0.0.1")

    assert first.ca != second.ca
    assert not _signed_by(_load(second.cert), _load(first.ca))
    context = ssl.create_default_context(cadata=first.ca)  # a PEM ssl reads
    assert context.cert_store_stats()["x509_ca"] == 1
    assert repr(first) == "RegistryCertificates(...)"  # no key in a traceback
