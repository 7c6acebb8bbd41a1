"""Optional encryption of a backup as it streams to its target: AES-256-GCM in 64 KiB segments
(the STREAM construction), so a backup is held a segment at a time and a truncated, reordered or
altered one is refused rather than restored.

Each segment's nonce is a random prefix, the segment's number and a flag set only on the last
one: dropping segments at the end, moving one, or cutting the stream at a segment boundary all
fail authentication. A passphrase is stretched with scrypt (its salt and cost in the header);
a 32-byte key is used as it is. A key check in the header tells a wrong key from an altered
backup.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import anyio.to_thread

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"RVTRENC1"
SEGMENT = 64 * 1024
TAG = 16
PASSPHRASE, RAW_KEY = 1, 2
# scrypt's cost as log2(N), r=8, p=1: 2**15 takes ~0.1 s and 32 MiB once per backup. A header
# may ask for more, up to a bound, so a crafted backup cannot make a restore take forever.
SCRYPT_LOG_N = 15
MAX_SCRYPT_LOG_N = 20
# magic, kind, log2 N, salt, nonce prefix; then the key check
_LAYOUT = struct.Struct("!8sBB16s7s")
KEY_CHECK = 16
HEADER = _LAYOUT.size + KEY_CHECK


class BackupDecryptionError(Exception):
    """A backup could not be decrypted; the message says why."""


class WrongBackupKey(BackupDecryptionError):
    """The passphrase or key given is not the one the backup was encrypted with."""


class DamagedBackup(BackupDecryptionError):
    """The encrypted backup was truncated, reordered or altered, or is not one at all."""


@dataclass(frozen=True)
class _Keys:
    aead: AESGCM
    check: bytes


def _derive(secret: str | bytes, kind: int, log_n: int, salt: bytes) -> _Keys:
    # Imported here, as the secret box does: `cryptography` is ~7 MB of resident memory that
    # an instance pays only once it encrypts or decrypts a backup, not at start.
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.hashes import SHA256
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    if kind == PASSPHRASE:
        assert isinstance(secret, str)
        master = Scrypt(salt=salt, length=32, n=2**log_n, r=8, p=1).derive(secret.encode())
    else:
        assert isinstance(secret, bytes)
        master = secret
    keys = HKDF(SHA256(), length=64, salt=salt, info=b"rivetr backup v1").derive(master)
    return _Keys(AESGCM(keys[:32]), keys[32:])


def _key_check(keys: _Keys) -> bytes:
    """Proof of the key alone; the rest of the header is bound to every segment as its
    associated data, so an altered header reads as an altered backup, not a wrong key."""
    return hmac.new(keys.check, MAGIC, hashlib.sha256).digest()[:KEY_CHECK]


def _kind(secret: str | bytes) -> int:
    if isinstance(secret, str):
        if not secret:
            raise ValueError("an empty passphrase encrypts nothing")
        return PASSPHRASE
    if len(secret) != 32:
        raise ValueError("an encryption key is 32 bytes")
    return RAW_KEY


def _nonce(prefix: bytes, number: int, last: bool) -> bytes:
    if number >= 2**32:
        raise ValueError("a backup this large cannot be encrypted in one stream")
    return prefix + struct.pack("!IB", number, last)


async def _blocks(
    stream: AsyncIterable[bytes], size: int, first: bytes | memoryview = b""
) -> AsyncIterator[tuple[memoryview, bool]]:
    """`first` then `stream` cut into blocks of `size` bytes, each with whether it is the last
    (an empty stream gives one empty last block). A block is given only once a byte after it
    has been seen, so the last one is known when it is given; every block is a view of one
    buffer of `size` bytes, good until the next is asked for, so a stream of any chunking holds
    one block and the chunk being cut."""
    # Never resized: each block is written over the one before, in place.
    whole, filled = memoryview(bytearray(size)), 0

    async def pieces() -> AsyncIterator[bytes | memoryview]:
        yield first
        async for chunk in stream:
            yield chunk

    async for chunk in pieces():
        view = memoryview(chunk)
        while view:
            if filled == size:
                yield whole, False
                filled = 0
            taken = min(len(view), size - filled)
            whole[filled : filled + taken] = view[:taken]
            filled, view = filled + taken, view[taken:]
    yield whole[:filled], True


async def encrypt(
    chunks: AsyncIterable[bytes], secret: str | bytes, *, scrypt_log_n: int = SCRYPT_LOG_N
) -> AsyncIterator[bytes]:
    """`chunks` encrypted with `secret` (a passphrase, or a 32-byte key), segment by segment."""
    kind = _kind(secret)
    salt, prefix = os.urandom(16), os.urandom(7)
    keys = await anyio.to_thread.run_sync(_derive, secret, kind, scrypt_log_n, salt)
    head = _LAYOUT.pack(MAGIC, kind, scrypt_log_n, salt, prefix)
    header = head + _key_check(keys)
    yield header
    number = 0
    # A segment is sealed only once more data follows it: the last one carries the flag.
    async for block, last in _blocks(chunks, SEGMENT):
        yield keys.aead.encrypt(_nonce(prefix, number, last), block, header)
        number += 1


async def decrypt(chunks: AsyncIterable[bytes], secret: str | bytes) -> AsyncIterator[bytes]:
    """The plaintext of an encrypted backup, segment by segment.

    Raises:
        WrongBackupKey: `secret` is not the backup's passphrase or key.
        DamagedBackup: the stream is truncated, reordered, altered or not an encrypted backup;
            the plaintext yielded before it was found must be thrown away.
    """
    kind = _kind(secret)
    stream = aiter(chunks)
    buffer, rest = bytearray(), memoryview(b"")
    async for chunk in stream:
        taken = HEADER - len(buffer)
        buffer += memoryview(chunk)[:taken]
        if len(buffer) == HEADER:
            rest = memoryview(chunk)[taken:]  # the segments' first bytes, not copied
            break
    if len(buffer) < HEADER or not buffer.startswith(MAGIC):
        raise DamagedBackup("this is not an encrypted Rivetr backup, or its header is cut off")
    header = bytes(buffer)
    _, stored_kind, log_n, salt, prefix = _LAYOUT.unpack(header[: _LAYOUT.size])
    if stored_kind != kind:
        raise WrongBackupKey(
            "this backup was encrypted with a "
            + ("passphrase" if stored_kind == PASSPHRASE else "key")
            + ", not the kind of secret given"
        )
    if stored_kind == PASSPHRASE and not 10 <= log_n <= MAX_SCRYPT_LOG_N:
        raise DamagedBackup("the backup's header asks for an unreasonable key derivation cost")
    keys = await anyio.to_thread.run_sync(_derive, secret, kind, log_n, salt)
    if not hmac.compare_digest(_key_check(keys), header[_LAYOUT.size :]):
        raise WrongBackupKey("the passphrase or key does not open this backup")

    from cryptography.exceptions import InvalidTag

    number = 0

    def opened(segment: bytes | memoryview, last: bool) -> bytes:
        try:
            return keys.aead.decrypt(_nonce(prefix, number, last), segment, header)
        except InvalidTag:
            raise DamagedBackup(
                f"the backup was truncated, reordered or altered (segment {number})"
            ) from None

    async for block, last in _blocks(stream, SEGMENT + TAG, rest):
        if last and len(block) < TAG:
            raise DamagedBackup(f"the backup was truncated (segment {number})")
        yield opened(block, last)
        number += 1
