"""Authenticity checks on a delivery's raw body: HMAC-SHA256 signatures (GitHub, Gitea/Forgejo,
Bitbucket Cloud) and GitLab's shared token, all compared in constant time.

A check never raises: a header that is absent is "missing", one that is present but cannot be
right (wrong prefix, not hex, wrong length, empty) is "invalid"."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from typing import Literal

SignatureCheck = Literal["valid", "invalid", "missing"]

_SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")


def _utf8(text: str) -> bytes:
    # surrogatepass: header values decoded leniently upstream may hold lone surrogates; they
    # must make the comparison fail, not raise UnicodeEncodeError
    return text.encode("utf-8", "surrogatepass")


def hmac_sha256(secret: str, body: bytes) -> bytes:
    """HMAC-SHA256 of the raw body keyed with the secret's UTF-8 bytes (every provider's rule)."""
    return hmac.new(_utf8(secret), body, hashlib.sha256).digest()


def hmac_sha256_hex(secret: str, body: bytes) -> str:
    """The lower-case hex form providers put in their signature headers."""
    return hmac_sha256(secret, body).hex()


def check_hmac_sha256(
    value: str | None, secret: str, body: bytes, *, prefix: str = ""
) -> SignatureCheck:
    """Judge a `<prefix><hex HMAC-SHA256>` header value against the body.

    Hex is compared as bytes, so upper-case hex is as good as lower-case. An empty secret
    verifies nothing: it means no secret is configured, and an HMAC keyed with nothing is one
    anybody can compute."""
    if value is None:
        return "missing"
    value = value.strip()
    if not secret or not value.startswith(prefix):
        return "invalid"
    given = value.removeprefix(prefix)
    if _SHA256_HEX.fullmatch(given) is None:
        return "invalid"
    expected = hmac_sha256(secret, body)
    return "valid" if hmac.compare_digest(bytes.fromhex(given), expected) else "invalid"


def check_token(value: str | None, secret: str) -> SignatureCheck:
    """Judge a shared token sent in clear (GitLab's `X-Gitlab-Token`); the body is not signed."""
    if value is None:
        return "missing"
    if not secret or not value:
        return "invalid"
    return "valid" if hmac.compare_digest(_utf8(value), _utf8(secret)) else "invalid"


def all_of(verdicts: Iterable[SignatureCheck]) -> SignatureCheck:
    """One verdict for several headers carrying the same signature: every header present must
    hold, and "missing" only when none is present."""
    present = [v for v in verdicts if v != "missing"]
    if not present:
        return "missing"
    return "valid" if all(v == "valid" for v in present) else "invalid"
