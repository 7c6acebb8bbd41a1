"""TOTP (RFC 6238) codes with `pyotp`, and one-time recovery codes.

A code is accepted in the 30-second step it belongs to or one step either side (clock drift),
and the step that matched is recorded so the same code never signs in twice. `pyotp` is
imported on first use: most services never see a second factor."""

from __future__ import annotations

import hmac
import secrets
import time
from typing import Any

from rivetr.service.commands.tokens import hash_secret

STEP_S = 30
RECOVERY_CODES = 10


def _pyotp() -> Any:
    import pyotp

    return pyotp


def new_secret() -> str:
    return str(_pyotp().random_base32())


def provisioning_uri(secret: str, email: str) -> str:
    """The otpauth:// URI an authenticator app reads (usually from a QR code)."""
    return str(_pyotp().TOTP(secret).provisioning_uri(name=email, issuer_name="Rivetr"))


def matching_step(secret: str, code: str, now: float | None = None) -> int | None:
    """The time step `code` belongs to, within one step of now; None when it matches none."""
    code = code.strip().replace(" ", "")
    if not (code.isascii() and code.isdigit()) or len(code) != 6:  # "²".isdigit() is true
        return None
    totp = _pyotp().TOTP(secret)
    current = int((time.time() if now is None else now) // STEP_S)
    found = None
    for step in (current - 1, current, current + 1):  # all three, so timing says nothing
        if hmac.compare_digest(totp.generate_otp(step), code):
            found = step
    return found


def code_at(secret: str, now: float) -> str:
    """The code an authenticator shows at `now` (for tests and the CLI)."""
    return str(_pyotp().TOTP(secret).generate_otp(int(now // STEP_S)))


def new_recovery_codes(count: int = RECOVERY_CODES) -> list[str]:
    return [f"{secrets.token_hex(4)}-{secrets.token_hex(4)}" for _ in range(count)]


def looks_like_recovery_code(code: str) -> bool:
    return "-" in code.strip()


def recovery_hash(code: str) -> str:
    return hash_secret(code.strip().lower())
