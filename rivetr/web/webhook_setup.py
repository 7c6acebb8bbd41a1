"""What turning an app's (or a stack's) webhook on answers, to the API and the dashboard
alike: the secret (shown once), the payload URL for each git host, built on the `public_url`
setting, and a note when those URLs point at an address no git host can reach."""

from __future__ import annotations

import ipaddress
from typing import Any, Literal

import msgspec
from litestar import Request

from rivetr.adapters.webhooks.base import PROVIDERS


class WebhookSetup(msgspec.Struct, kw_only=True):
    secret: str  # shown this once: give it to the git host as the webhook's secret
    urls: dict[str, str]  # provider -> the payload URL to give it
    # why the URLs may not reach a git host, when they are built on a loopback address
    note: str | None = None


def webhook_setup(
    public_url: str | None,
    request: Request[Any, Any, Any],
    addressed: str,
    secret: str,
    *,
    kind: Literal["app", "stack"] = "app",
) -> WebhookSetup:
    """The URLs are built on `public_url` (the setting as it is now), else on the address
    asked; `addressed` is the app's name or the stack's id."""
    base = (public_url or str(request.base_url)).rstrip("/")
    note = None
    if public_url is None and _loopback(request.url.hostname):
        note = (
            f"these URLs use {base}, which no git host can reach: set public_url to the"
            " address this Rivetr is reached at from outside"
        )
    return WebhookSetup(
        secret=secret,
        urls={p: base + webhook_path(kind, p, addressed) for p in PROVIDERS},
        note=note,
    )


def webhook_path(kind: Literal["app", "stack"], provider: str, addressed: str) -> str:
    """Where a git host delivers: an app's URL names its provider then the app; a stack's
    starts with `stacks/`, where no provider is, so no app (not even one named "stacks")
    shares a URL or a route with a stack."""
    if kind == "stack":
        return f"/webhooks/stacks/{provider}/{addressed}"
    return f"/webhooks/{provider}/{addressed}"


def _loopback(host: str | None) -> bool:
    """Whether `host` names this machine only (so a git host could never deliver to it)."""
    if host is None or host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
