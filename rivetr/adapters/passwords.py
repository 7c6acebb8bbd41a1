"""Password hashing with argon2id (`argon2-cffi`, RFC 9106 parameters): slow on purpose, so it
runs in a worker thread. Imported on first use: the service pays its memory only once someone
signs in with a password."""

from __future__ import annotations

from functools import cache
from typing import Any

import anyio.to_thread


@cache
def _hasher() -> Any:
    from argon2 import PasswordHasher

    return PasswordHasher()


@cache
def _decoy() -> str:
    # checked against when the address is unknown, so that a miss takes as long as a hit
    return str(_hasher().hash("rivetr decoy password"))


async def hash_password(password: str) -> str:
    return str(await anyio.to_thread.run_sync(_hasher().hash, password))


async def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches; with no hash (an unknown user) compare against a decoy."""

    def verify() -> bool:
        from argon2.exceptions import InvalidHashError, VerificationError

        try:
            return bool(_hasher().verify(password_hash or _decoy(), password)) and bool(
                password_hash
            )
        except (VerificationError, InvalidHashError):
            return False

    return await anyio.to_thread.run_sync(verify)
