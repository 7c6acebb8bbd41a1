"""The heads the proxy forwards: hop-by-hop headers dropped, the framing it sets itself."""

from __future__ import annotations

from rivetr.adapters.proxy.http import forwarded_head, head_bytes, response_head

ANSWER = [
    (b"Content-Type", b"text/plain"),
    (b"Connection", b"keep-alive"),
    (b"Keep-Alive", b"timeout=5"),
    (b"content-length", b"6"),
    (b"Set-Cookie", b"a=1"),
]


def test_the_hop_by_hop_headers_are_dropped_and_the_framing_is_told() -> None:
    lines, length, chunked = forwarded_head(ANSWER)
    assert lines == [b"Content-Type: text/plain", b"content-length: 6", b"Set-Cookie: a=1"]
    assert (length, chunked) == (True, False)
    assert forwarded_head([(b"Transfer-Encoding", b"chunked")]) == ([], False, True)


def test_a_head_ends_with_one_blank_line_with_headers_or_without() -> None:
    assert head_bytes(204, []) == b"HTTP/1.1 204 No Content\r\n\r\n"
    assert head_bytes(200, [b"A: b"], chunked=True, keep=False) == (
        b"HTTP/1.1 200 OK\r\nA: b\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )


def test_a_status_without_a_reason_keeps_its_number() -> None:
    assert head_bytes(599, []) == b"HTTP/1.1 599 \r\n\r\n"


def test_an_upgrade_answer_says_the_protocol() -> None:
    head = response_head(
        101, [(b"Upgrade", b"websocket"), (b"Connection", b"Upgrade")], upgrade=b"websocket"
    )
    assert head == (
        b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
    )
