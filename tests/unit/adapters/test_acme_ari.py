"""ACME renewal information (RFC 9773): the certificate identifier, and reading Retry-After."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from acme.client import _renewal_info_path_component
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from rivetr.adapters.acme import ARI_RETRY_AFTER, _retry_after, ari_cert_id


def leaf(serial: int) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "shop.test")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=90))
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM)


# a serial whose top bit is set needs a leading zero byte in DER; one that is not, none
@pytest.mark.parametrize("serial", [0x7F12, 0x8F12, 0xFF, 0x01, 2**159 - 1])
def test_the_cert_id_is_the_one_the_acme_package_computes(serial: int) -> None:
    chain = leaf(serial)
    expected = _renewal_info_path_component(x509.load_pem_x509_certificate(chain))
    assert ari_cert_id(chain) == expected


def test_retry_after_reads_seconds_or_a_date_and_never_asks_sooner_than_a_minute() -> None:
    assert _retry_after("21600") == timedelta(hours=6)
    assert _retry_after("5") == timedelta(minutes=1)
    assert _retry_after(None) == ARI_RETRY_AFTER
    assert _retry_after("soon") == ARI_RETRY_AFTER
    later = _retry_after(format_datetime(datetime.now(UTC) + timedelta(hours=2), usegmt=True))
    assert timedelta(hours=1, minutes=58) < later <= timedelta(hours=2)
