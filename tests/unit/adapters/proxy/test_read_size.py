"""The proxy reads sockets 64 KiB at a time: asyncio's own 256 KiB reads each map fresh pages
(above glibc's mmap threshold), which made 1 MiB answers 1.7 x slower."""

from __future__ import annotations

import asyncio
import socket

import pytest

from rivetr.adapters.proxy.http import READ_SIZE, read_in_pieces

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_a_socket_transport_reads_at_most_64_kib_at_a_time() -> None:
    near, far = socket.socketpair()
    loop = asyncio.get_running_loop()
    transport, _ = await loop.connect_accepted_socket(asyncio.Protocol, near)
    try:
        assert transport.max_size > READ_SIZE  # type: ignore[attr-defined]
        read_in_pieces(transport)
        assert transport.max_size == READ_SIZE == 65536  # type: ignore[attr-defined]
    finally:
        transport.close()
        far.close()


def test_a_transport_without_the_setting_is_left_alone() -> None:
    read_in_pieces(object())  # uvloop's and TLS transports read into buffers of their own
