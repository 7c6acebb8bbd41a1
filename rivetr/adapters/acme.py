"""Ordering certificates over ACME (RFC 8555) with HTTP-01 challenges, using certbot's `acme`
package. The package is blocking and heavy (cryptography, pyOpenSSL, josepy: ~10 MB resident),
so it is imported only when a certificate is ordered; the service goes further and runs these
calls in a child process (acme_process.py), so that it never keeps the package at all.

The challenge answers are published through a callback: the proxy serves
`/.well-known/acme-challenge/<token>` from the same map, on port 80 of every domain."""

from __future__ import annotations

import base64
import os
from collections.abc import Callable
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import msgspec

ORDER_TIMEOUT = timedelta(seconds=90)
ARI_RETRY_AFTER = timedelta(hours=6)  # when the CA does not say when to ask again (RFC 9773)


class AcmeError(Exception):
    """The order failed; the message says why in a sentence (the CA's own error type and detail
    when it answered), and `technical` holds what a library said, for whoever digs further."""

    def __init__(self, message: str, technical: str | None = None) -> None:
        super().__init__(message)
        self.technical = technical


# what a connection's failure says, read as the reason a user can act on
_UNREACHABLE_BECAUSE = (
    (
        ("NameResolutionError", "Name or service not known", "name resolution"),
        "its name does not resolve from this host (no DNS, or no way out to the internet?)",
    ),
    (("CERTIFICATE_VERIFY_FAILED",), "its TLS certificate is not trusted here (acme_ca_bundle?)"),
    (("Connection refused", "ConnectionRefused"), "it refused the connection"),
    (("timed out", "Timeout"), "it did not answer in time"),
)


def unreachable(url: str, exc: BaseException) -> AcmeError:
    """The CA at `url` could not be reached: one sentence saying why, the library's words kept
    as the technical detail."""
    technical = str(exc) or type(exc).__name__
    host = urlsplit(url).hostname or url
    reason = next(
        (why for marks, why in _UNREACHABLE_BECAUSE if any(m in technical for m in marks)),
        "the connection failed",
    )
    return AcmeError(f"the certificate authority at {host} cannot be reached: {reason}", technical)


class Issued(msgspec.Struct, frozen=True, kw_only=True):
    chain_pem: bytes
    key_pem: bytes


class RenewalWindow(msgspec.Struct, frozen=True, kw_only=True):
    """The CA's suggested renewal window for one certificate, and when to ask again."""

    start: datetime
    end: datetime
    ask_again_after: timedelta


class CertificateAuthority(Protocol):
    """An ACME account's two calls, both blocking: `AcmeAccount` in this process, or
    `AcmeProcess` (rivetr/adapters/acme_process.py), which runs each in a child process."""

    def order(
        self,
        domain: str,
        publish: Callable[[str, str], None],
        withdraw: Callable[[str], None],
    ) -> Issued: ...

    def renewal_window(self, chain_pem: bytes) -> RenewalWindow | None: ...


class AcmeAccount:
    """An ACME account: its key (made on first use, 0600 in the certificates folder) at one
    directory URL."""

    def __init__(
        self,
        directory_url: str,
        key_path: Path,
        *,
        email: str | None = None,
        ca_bundle: str | None = None,
    ) -> None:
        self.directory_url = directory_url
        self.key_path = key_path
        self.email = email
        self.ca_bundle = ca_bundle
        self._key: Any = None  # loaded once: parsing an RSA key checks it, ~50 ms each time

    def order(
        self,
        domain: str,
        publish: Callable[[str, str], None],
        withdraw: Callable[[str], None],
    ) -> Issued:
        """Order a certificate for `domain`, answering its HTTP-01 challenge through
        `publish(token, key_authorization)`; blocking.

        Raises:
            AcmeError: the CA refused, the validation failed, or it timed out.
        """
        from acme import challenges, client, crypto_util, errors, messages
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        account_key = self._account_key()
        # typed bool, but handed to requests' `verify`, which also takes a CA file's path
        verify: Any = self.ca_bundle or True
        net = client.ClientNetwork(account_key, user_agent="rivetr", verify_ssl=verify)
        tokens: list[str] = []
        try:
            directory = client.ClientV2.get_directory(self.directory_url, net)
            acme = client.ClientV2(directory, net=net)
            self._register(acme, messages, errors)
            key = ec.generate_private_key(ec.SECP256R1())
            key_pem = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            order = acme.new_order(crypto_util.make_csr(key_pem, [domain]))
            for authorization in order.authorizations:
                offered = authorization.body.challenges
                challenge = next(
                    (c for c in offered if isinstance(c.chall, challenges.HTTP01)), None
                )
                if challenge is None:
                    raise AcmeError(f"the CA offers no HTTP-01 challenge for {domain}")
                response, validation = challenge.response_and_validation(account_key)
                token = challenge.chall.encode("token")
                publish(token, validation)
                tokens.append(token)
                acme.answer_challenge(challenge, response)
            deadline = datetime.now() + ORDER_TIMEOUT  # the acme package compares naive times
            finished = acme.poll_and_finalize(order, deadline)
            return Issued(chain_pem=finished.fullchain_pem.encode(), key_pem=key_pem)
        except errors.ValidationError as exc:
            raise AcmeError(_validation_detail(exc)) from None
        except messages.Error as exc:
            raise AcmeError(f"{exc.typ}: {exc.detail}") from None
        except errors.TimeoutError:
            raise AcmeError(f"the CA did not finish the order in {ORDER_TIMEOUT}") from None
        except errors.Error as exc:
            raise AcmeError(str(exc) or type(exc).__name__) from None
        except OSError as exc:  # the directory cannot be reached (requests' errors are OSErrors)
            raise unreachable(self.directory_url, exc) from None
        finally:
            for token in tokens:
                withdraw(token)

    def renewal_window(self, chain_pem: bytes) -> RenewalWindow | None:
        """The renewal window the CA suggests for this certificate (ACME Renewal Information,
        RFC 9773); None when its directory offers none. Blocking.

        Raises:
            AcmeError: the CA could not be asked, or answered nonsense.
        """
        from acme import client, messages

        verify: Any = self.ca_bundle or True
        net = client.ClientNetwork(self._account_key(), user_agent="rivetr", verify_ssl=verify)
        try:
            directory = client.ClientV2.get_directory(self.directory_url, net)
            try:
                base = directory["renewalInfo"]
            except KeyError:
                return None
            response = net.get(f"{base}/{ari_cert_id(chain_pem)}", content_type="application/json")
            window = messages.RenewalInfo.from_json(response.json()).suggested_window
        except OSError as exc:
            raise unreachable(self.directory_url, exc) from None
        except Exception as exc:  # the acme package's and josepy's errors have no common base
            raise AcmeError(f"renewal information: {exc}") from None
        return RenewalWindow(
            start=window.start,
            end=window.end,
            ask_again_after=_retry_after(response.headers.get("Retry-After")),
        )

    def _register(self, acme: Any, messages: Any, errors: Any) -> None:
        if self.email:
            registration = messages.NewRegistration.from_data(
                email=self.email, terms_of_service_agreed=True
            )
        else:
            registration = messages.NewRegistration(terms_of_service_agreed=True)
        try:
            acme.new_account(registration)
        except errors.ConflictError as exc:  # the key has an account already: use it
            acme.net.account = messages.RegistrationResource(
                uri=exc.location, body=messages.Registration()
            )

    def _account_key(self) -> Any:
        if self._key is None:
            self._key = self._load_or_make_key()
        return self._key

    def _load_or_make_key(self) -> Any:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from josepy.jwk import JWKRSA

        if self.key_path.is_file():
            key = serialization.load_pem_private_key(self.key_path.read_bytes(), password=None)
        else:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            self.key_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as file:
                file.write(
                    key.private_bytes(
                        serialization.Encoding.PEM,
                        serialization.PrivateFormat.PKCS8,
                        serialization.NoEncryption(),
                    )
                )
        return JWKRSA(key=key)


def _validation_detail(exc: Any) -> str:
    """The first failed challenge's error, as the CA worded it."""
    for authorization in exc.failed_authzrs:
        for challenge in authorization.body.challenges:
            if challenge.error is not None:
                error = challenge.error
                return f"{authorization.body.identifier.value}: {error.typ}: {error.detail}"
    return "the CA could not validate the domain"


def ari_cert_id(chain_pem: bytes) -> str:
    """The leaf's ARI identifier: base64url(authority key identifier) "." base64url(serial)."""
    from cryptography import x509

    leaf = x509.load_pem_x509_certificate(chain_pem)
    authority = leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert authority.key_identifier is not None
    serial = leaf.serial_number
    serial_der = serial.to_bytes((serial.bit_length() + 8) // 8, "big")  # DER: a sign bit's room
    return f"{_b64url(authority.key_identifier)}.{_b64url(serial_der)}"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _retry_after(header: str | None) -> timedelta:
    if header and header.strip().isdigit():
        return max(timedelta(minutes=1), timedelta(seconds=int(header.strip())))
    if header:
        try:
            when = parsedate_to_datetime(header)
            return max(timedelta(minutes=1), when - datetime.now(when.tzinfo))
        except (TypeError, ValueError):
            pass
    return ARI_RETRY_AFTER
