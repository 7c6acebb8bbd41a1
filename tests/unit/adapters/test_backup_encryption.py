"""Backup encryption as a stream: what goes in comes out, output starts before input ends, and
a truncated, reordered or altered backup, or the wrong passphrase, is refused with its cause."""

from __future__ import annotations

import hashlib
import itertools
import os
import random
import tracemalloc
from collections.abc import AsyncIterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rivetr.adapters.backup_targets.encryption import (
    HEADER,
    SEGMENT,
    TAG,
    DamagedBackup,
    WrongBackupKey,
    decrypt,
    encrypt,
)
from rivetr.adapters.backup_targets.memory import InMemoryTarget

pytestmark = pytest.mark.anyio
CHEAP = 10  # scrypt's cost in these tests: the format, not the stretching, is under test
PASSPHRASE = "correct horse battery staple"
MiB = 1 << 20


async def chunked(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def listed(chunks: list[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


async def sealed(data: bytes, secret: str | bytes = PASSPHRASE, size: int = 10_000) -> bytes:
    return b"".join([c async for c in encrypt(chunked(data, size), secret, scrypt_log_n=CHEAP)])


async def opened(data: bytes, secret: str | bytes = PASSPHRASE, size: int = 7_000) -> bytes:
    return b"".join([c async for c in decrypt(chunked(data, size), secret)])


@pytest.mark.parametrize("length", [0, 1, SEGMENT - 1, SEGMENT, SEGMENT + 1, 3 * SEGMENT + 5])
async def test_a_backup_round_trips_through_encryption(length: int) -> None:
    data = os.urandom(length)
    ciphertext = await sealed(data)
    segments = max(1, -(-length // SEGMENT))
    assert len(ciphertext) == HEADER + length + segments * TAG
    assert await opened(ciphertext) == data


async def test_a_raw_key_round_trips_and_a_passphrase_cannot_open_it() -> None:
    key = os.urandom(32)
    ciphertext = await sealed(b"rows", key)
    assert await opened(ciphertext, key) == b"rows"
    with pytest.raises(WrongBackupKey, match="encrypted with a key"):
        await opened(ciphertext, PASSPHRASE)


@settings(max_examples=25, deadline=None)
@given(st.binary(max_size=3 * SEGMENT), st.integers(1, 2 * SEGMENT), st.integers(1, 2 * SEGMENT))
async def test_any_chunking_round_trips(data: bytes, into: int, out_of: int) -> None:
    assert await opened(await sealed(data, size=into), size=out_of) == data


async def test_encryption_streams_without_waiting_for_the_end() -> None:
    async def endless() -> AsyncIterator[bytes]:
        for _ in itertools.count():
            yield b"x" * 4096

    stream = encrypt(endless(), PASSPHRASE, scrypt_log_n=CHEAP)
    outputs = [await anext(stream) for _ in range(4)]
    await stream.aclose()
    assert [len(out) for out in outputs] == [HEADER] + [SEGMENT + TAG] * 3


async def test_the_wrong_passphrase_is_refused_as_such() -> None:
    ciphertext = await sealed(b"secret rows")
    with pytest.raises(WrongBackupKey, match="does not open this backup"):
        await opened(ciphertext, "tr0ub4dor&3")


async def test_a_backup_cut_at_a_segment_boundary_is_refused() -> None:
    ciphertext = await sealed(os.urandom(3 * SEGMENT + 100))
    cut = ciphertext[: HEADER + 2 * (SEGMENT + TAG)]
    with pytest.raises(DamagedBackup, match=r"truncated.*segment 1"):
        await opened(cut)


@pytest.mark.parametrize("keep", [HEADER, HEADER + 10, HEADER + SEGMENT + TAG + 5])
async def test_a_backup_cut_anywhere_else_is_refused(keep: int) -> None:
    ciphertext = await sealed(os.urandom(2 * SEGMENT + 100))
    with pytest.raises(DamagedBackup, match="truncated"):
        await opened(ciphertext[:keep])


async def test_an_altered_byte_is_refused() -> None:
    ciphertext = bytearray(await sealed(os.urandom(2 * SEGMENT)))
    ciphertext[HEADER + SEGMENT + 3] ^= 1
    with pytest.raises(DamagedBackup, match="altered"):
        await opened(bytes(ciphertext))


async def test_reordered_segments_are_refused() -> None:
    ciphertext = await sealed(os.urandom(3 * SEGMENT))
    size = SEGMENT + TAG
    first, second = (
        ciphertext[HEADER : HEADER + size],
        ciphertext[HEADER + size : HEADER + 2 * size],
    )
    swapped = ciphertext[:HEADER] + second + first + ciphertext[HEADER + 2 * size :]
    with pytest.raises(DamagedBackup, match="reordered"):
        await opened(swapped)


@pytest.mark.parametrize("data", [b"", b"PGDMP\x01\x0e\x00 a plain dump", b"RVTRENC1short"])
async def test_something_not_encrypted_is_refused(data: bytes) -> None:
    with pytest.raises(DamagedBackup, match="not an encrypted Rivetr backup"):
        await opened(data)


async def test_an_altered_header_is_refused() -> None:
    ciphertext = bytearray(await sealed(b"rows"))
    ciphertext[HEADER - 20] ^= 1  # in the nonce prefix
    with pytest.raises(DamagedBackup, match="altered"):
        await opened(bytes(ciphertext))


async def test_an_encrypted_backup_passes_through_a_target_at_the_default_cost() -> None:
    target = InMemoryTarget()
    data = os.urandom(SEGMENT + 1)
    stored = await target.put("db/one.dump.enc", encrypt(chunked(data, 4096), PASSPHRASE))
    assert stored.size == HEADER + len(data) + 2 * TAG
    assert b"".join([c async for c in decrypt(target.get("db/one.dump.enc"), PASSPHRASE)]) == data


async def test_the_format_is_byte_for_byte_what_earlier_versions_wrote(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Backups already in targets must keep opening: with its randomness fixed, today's code
    # writes exactly what the first version did (digests taken from that version's output).
    monkeypatch.setattr(os, "urandom", lambda n: bytes(range(n)))
    data = random.Random(18).randbytes(3 * SEGMENT + 5)
    written = {
        "key": await sealed(data, bytes(range(32))),
        "passphrase": await sealed(data),
    }

    assert {kind: hashlib.sha256(out).hexdigest() for kind, out in written.items()} == {
        "key": "3f784a4aae72268ffad888e42260f517b5e861864bb39dc51ce0172f0f80146b",
        "passphrase": "9693526fe8fd48412f425bdc2e2e463887d4aebec609ea3e3a933fff688d9244",
    }
    assert await opened(written["key"], bytes(range(32))) == data


async def _peak(stream: AsyncIterator[bytes]) -> int:
    """The most Python memory held while `stream` is read to its end (what it yields is
    counted and dropped)."""
    tracemalloc.start()
    try:
        async for _ in stream:
            pass
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


async def test_large_chunks_are_encrypted_and_decrypted_a_segment_at_a_time() -> None:
    # A dump or a download may come in chunks of a MiB or more; neither direction copies a
    # whole chunk into a buffer of its own.
    key, chunk = os.urandom(32), MiB
    plain = [os.urandom(chunk) for _ in range(4)]
    ciphertext = b"".join([c async for c in encrypt(listed(plain), key)])
    cut = [ciphertext[start : start + chunk] for start in range(0, len(ciphertext), chunk)]

    # Three segments are held at most: the one being filled, the one sealed or opened from it,
    # and the one yielded before, which the reader still holds while it asks for the next.
    bound = 6 * (SEGMENT + TAG)
    assert await _peak(encrypt(listed(plain), key)) < bound < chunk / 2
    assert await _peak(decrypt(listed(cut), key)) < bound
