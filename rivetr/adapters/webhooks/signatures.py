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


def hmac_sha256_shape(value: str | None, secret: str, *, prefix: str = "") -> SignatureCheck | None:
    """What a `<prefix><hex HMAC-SHA256>` header says before the body is read: "missing" or
    "invalid" when the header alone decides (absent; wrong prefix, not 64 hex digits; or no
    secret to check it with), None when it is well formed and only the body can tell."""
    if value is None:
        return "missing"
    value = value.strip()
    if not secret or not value.startswith(prefix):
        return "invalid"
    if _SHA256_HEX.fullmatch(value.removeprefix(prefix)) is None:
        return "invalid"
    return None


def check_hmac_sha256(
    value: str | None, secret: str, body: bytes, *, prefix: str = ""
) -> SignatureCheck:
    """Judge a `<prefix><hex HMAC-SHA256>` header value against the body.

    Hex is compared as bytes, so upper-case hex is as good as lower-case. An empty secret
    verifies nothing: it means no secret is configured, and an HMAC keyed with nothing is one
    anybody can compute."""
    shape = hmac_sha256_shape(value, secret, prefix=prefix)
    if shape is not None:
        return shape
    assert value is not None  # a missing header has its shape: "missing"
    given = bytes.fromhex(value.strip().removeprefix(prefix))
    return "valid" if hmac.compare_digest(given, hmac_sha256(secret, body)) else "invalid"


def check_token(value: str | None, secret: str) -> SignatureCheck:
    """Judge a shared token sent in clear (GitLab's `X-Gitlab-Token`); the body is not signed."""
    if value is None:
        return "missing"
    if not secret or not value:
        return "invalid"
    return "valid" if hmac.compare_digest(_utf8(value), _utf8(secret)) else "invalid"


def shape_of_all(shapes: Iterable[SignatureCheck | None]) -> SignatureCheck | None:
    """`all_of` before the body is read: "invalid" when one header present is malformed,
    "missing" when none is present, else None (the body decides)."""
    found = list(shapes)
    if "invalid" in found:
        return "invalid"
    return "missing" if all(shape == "missing" for shape in found) else None


def all_of(verdicts: Iterable[SignatureCheck]) -> SignatureCheck:
    """One verdict for several headers carrying the same signature: every header present must
    hold, and "missing" only when none is present."""
    present = [v for v in verdicts if v != "missing"]
    if not present:
        return "missing"
    return "valid" if all(v == "valid" for v in present) else "invalid"
