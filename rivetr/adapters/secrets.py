"""Secrets at rest: env values and git credentials are sealed before they enter the event log.

A sealed value reads `rvs2:<key id>:<base64url ciphertext>`. The cipher is AES-SIV (RFC 5297,
from `cryptography`), deterministic on purpose: the same value sealed for the same place with the
same key gives the same text, so the domain can still see that an env var did not change (and
append nothing) without ever holding the plaintext. Each value is bound to its place (`context`,
e.g. `app:k3j9x2m4q8w7:env:DATABASE_URL`: the resource's id and the field) as associated data: a
sealed value moved to another app, field or variable does not open. `rvs1:` values were sealed
before apps had ids, bound to the app's name; they still open, where the caller says the name
is the right place (service/commands/secrets.py).

Keys live in `<data dir>/secrets.key` (0600, made on first use), one base64 key per line, the
newest first; `RIVETR_SECRET_KEY` (a base64 64-byte key) replaces the file. Values stored before
sealing existed (no `rvs1:` prefix) open as themselves; `rivetr secrets rotate` seals them.
"""

from __future__ import annotations

import base64
import hashlib
import os
import threading
from pathlib import Path
from typing import Any

PREFIX = "rvs2:"  # bound to a resource's id and field
NAME_BOUND_PREFIX = "rvs1:"  # bound to an app's name: sealed before apps had ids
KEY_BYTES = 64  # AES-SIV with AES-256: two 256-bit keys


class SecretError(Exception):
    """A sealed value cannot be opened: unknown key, or tampered with, or moved."""


def key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:8]


def new_key() -> bytes:
    return os.urandom(KEY_BYTES)


def is_sealed(value: str) -> bool:
    return value.startswith((PREFIX, NAME_BOUND_PREFIX))


def is_name_bound(value: str) -> bool:
    return value.startswith(NAME_BOUND_PREFIX)


class SecretBox:
    """Seals and opens values with the keys of one data directory."""

    def __init__(self, key_file: Path, env_key: str | None = None) -> None:
        self.key_file = key_file
        self._env_key = env_key
        self._keys: list[bytes] | None = None
        self._lock = threading.Lock()

    def seal(self, context: str, value: str) -> str:
        """`value` sealed for `context` with the newest key. Whatever `value` holds is sealed,
        even text that looks sealed: a sealed value is never taken from outside as it is."""
        key = self._load()[0]
        ciphertext = _cipher(key).encrypt(value.encode(), [context.encode()])
        return f"{PREFIX}{key_id(key)}:{base64.urlsafe_b64encode(ciphertext).decode()}"

    def open(self, context: str, value: str) -> str:
        """The plaintext of a sealed `value`; an unsealed (older) value is returned as it is.

        Raises:
            SecretError: the key it was sealed with is not here, or it was altered or moved.
        """
        if not is_sealed(value):
            return value
        wanted, _, body = value[len(PREFIX) :].partition(":")  # both prefixes are 5 long
        key = self._find(wanted)
        try:
            ciphertext = base64.urlsafe_b64decode(body.encode())
            return str(_cipher(key).decrypt(ciphertext, [context.encode()]).decode())
        except Exception as exc:  # InvalidTag, a bad base64 body
            raise SecretError(
                f"the secret for {context} does not open with key {wanted}: altered or moved"
            ) from exc

    def rotate(self) -> str:
        """Make a new newest key (older ones stay, to open what they sealed); return its id."""
        if self._env_key:
            raise SecretError("RIVETR_SECRET_KEY is set: rotate by changing it, not the file")
        with self._lock:
            keys = self._read_file()
            key = new_key()
            self._write_file([key, *keys])
            self._keys = [key, *keys]
        return key_id(key)

    @property
    def current_key_id(self) -> str:
        return key_id(self._load()[0])

    def _find(self, wanted: str) -> bytes:
        for reload in (False, True):  # another process (the CLI) may have rotated meanwhile
            if reload:
                with self._lock:
                    self._keys = None
            for key in self._load():
                if key_id(key) == wanted:
                    return key
        raise SecretError(
            f"a secret was sealed with key {wanted}, which {self.key_file} does not hold"
        )

    def _load(self) -> list[bytes]:
        with self._lock:
            if self._keys is None:
                if self._env_key:
                    self._keys = [_decode_key(self._env_key, "RIVETR_SECRET_KEY")]
                else:
                    self._keys = self._read_file() or self._create_file()
            return self._keys

    def _read_file(self) -> list[bytes]:
        if not self.key_file.exists():
            return []
        lines = self.key_file.read_text().split()
        return [_decode_key(line, str(self.key_file)) for line in lines]

    def _create_file(self) -> list[bytes]:
        key = new_key()
        self._write_file([key])
        return [key]

    def _write_file(self, keys: list[bytes]) -> None:
        self.key_file.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.key_file.with_suffix(".tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write("".join(base64.b64encode(key).decode() + "\n" for key in keys))
        os.replace(temporary, self.key_file)


def _decode_key(text: str, where: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except ValueError as exc:
        raise SecretError(f"{where}: a key must be base64") from exc
    if len(key) != KEY_BYTES:
        raise SecretError(f"{where}: a key must be {KEY_BYTES} bytes, base64-encoded")
    return key


def _cipher(key: bytes) -> Any:
    # Imported here: `cryptography` adds ~10 MB of resident memory, paid only once a secret is
    # sealed or opened, not by an idle service without any.
    from cryptography.hazmat.primitives.ciphers.aead import AESSIV

    return AESSIV(key)
