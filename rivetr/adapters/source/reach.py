"""Reaching an http(s) repository's server before git does, within a short timeout.

git 2.39 has no connect timeout for http: curl waits up to 300 s for a connection or a TLS
handshake that never completes (its low-speed limit only counts once the transfer has begun).
A server that does not answer here is given up on at once instead.
"""

from __future__ import annotations

import os
import ssl

import anyio

from rivetr.adapters.source.policy import Vetted

# with a proxy, curl never connects to the server itself
_PROXY_VARIABLES = ("https_proxy", "HTTPS_PROXY", "http_proxy", "all_proxy", "ALL_PROXY")


class Unreachable(Exception):
    """No address of the server accepted a connection (and a TLS handshake) in time."""


async def reach(vetted: Vetted, timeout_s: float) -> None:
    """Connect to the server of an http(s) repository, TLS included, then hang up.

    Only the addresses checked by the policy are tried (or, where private addresses are allowed
    and no address was pinned, the name); certificates are not judged here, git does that.

    Raises:
        Unreachable: no connection within `timeout_s`, or every one refused.
    """
    repo = vetted.repository
    if repo.kind not in ("https", "http") or any(os.environ.get(v) for v in _PROXY_VARIABLES):
        return
    assert repo.host is not None
    assert repo.port is not None
    targets = [str(address) for address in vetted.addresses] or [repo.host]
    with anyio.move_on_after(timeout_s):
        for target in targets:
            try:
                await _connect(target, repo.port, None if repo.kind == "http" else repo.host)
            except (OSError, ssl.SSLError, anyio.BrokenResourceError, anyio.EndOfStream):
                continue
            return
        raise Unreachable(f"{repo.host}:{repo.port} accepts no connection")
    raise Unreachable(f"no answer from {repo.host}:{repo.port} within {timeout_s:g} s")


async def _connect(target: str, port: int, tls_name: str | None) -> None:
    """Connect, shake hands over TLS when `tls_name` is given (sent as SNI), and hang up."""
    if tls_name is None:
        await (await anyio.connect_tcp(target, port)).aclose()
        return
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # trust is git's to judge, with its own settings
    stream = await anyio.connect_tcp(
        target, port, ssl_context=context, tls_hostname=tls_name, tls_standard_compatible=False
    )
    await stream.aclose()
