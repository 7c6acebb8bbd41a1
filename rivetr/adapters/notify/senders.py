"""The real notice sender: apprise (imported on the first notice, not at start: it costs some
10 MB and 0.1 s) for the chat, push and mail services, `signed_webhook` for generic webhooks.

A team chooses its channels' URLs, so where a notice goes is checked like a repository URL:
the hosts of the services that run anywhere (mail, Mattermost, ntfy, Gotify, a Teams workflow,
a webhook) must be public addresses unless the instance admin allows private ones
(`notify_allow_private`), or a team could make Rivetr post into the host's own network."""

from __future__ import annotations

import ipaddress
from typing import Any, Final
from urllib.parse import urlsplit

import anyio

from rivetr.adapters.notify import signed_webhook
from rivetr.adapters.notify.apprise_log import Captured
from rivetr.adapters.notify.base import Delivery, DeliveryFailed
from rivetr.adapters.source.policy import NameResolver, SystemResolver
from rivetr.domain.notification_events import ChannelKind
from rivetr.domain.repository import address_scope, name_scope

# the apprise plugin each kind is, by its class name
PLUGINS: Final[dict[ChannelKind, str]] = {
    "email": "NotifyEmail",
    "slack": "NotifySlack",
    "discord": "NotifyDiscord",
    "telegram": "NotifyTelegram",
    "mattermost": "NotifyMattermost",
    "teams": "NotifyWorkflows",
    "ntfy": "NotifyNtfy",
    "gotify": "NotifyGotify",
    "pushover": "NotifyPushover",
}
SEND_TIMEOUT_S = 30.0  # apprise's own are 4 s to connect and 4 s to read; SMTP's longer


class AppriseSender:
    def __init__(self, allow_private: bool = False, resolver: NameResolver | None = None) -> None:
        self.allow_private = allow_private
        self.resolver = resolver or SystemResolver()

    async def check(self, kind: ChannelKind, url: str) -> str | None:
        if kind == "webhook":
            host, port = _host_port(url)
            if host is None:
                return f"{url!r} names no host"
            return await self._public(host, port)
        plugin = await anyio.to_thread.run_sync(_instantiate, url)
        if plugin is None:
            return f"{_shown(url)} is not a URL apprise can send to (see its wiki for {kind})"
        if type(plugin).__name__ != PLUGINS[kind]:
            return f"{_shown(url)} is a {type(plugin).__name__[6:]} URL, not a {kind} one"
        host = _self_hosted(kind, plugin)
        if host is not None:
            return await self._public(host, int(getattr(plugin, "port", None) or 443))
        return None

    async def _public(self, host: str, port: int) -> str | None:
        """Why `host` may not be sent to, or None."""
        if self.allow_private:
            return None
        hint = "an instance admin can allow private addresses with notify_allow_private"
        try:
            addresses = [ipaddress.ip_address(host.strip("[]"))]
        except ValueError:
            if scope := name_scope(host):
                return f"{host} is a {scope} name ({hint})"
            addresses = await self.resolver.resolve(host, port)
            if not addresses:
                return f"{host} has no address"
        for address in addresses:
            if scope := address_scope(address):
                return f"{host} is a {scope} address ({hint})"
        return None

    async def send(self, delivery: Delivery) -> None:
        # checked again as it goes: a name may point elsewhere since the channel was set
        if refused := await self.check(delivery.kind, delivery.url):
            raise DeliveryFailed(refused)
        with anyio.fail_after(SEND_TIMEOUT_S + 5):
            if delivery.kind == "webhook":
                await signed_webhook.post(delivery)
                return
            await anyio.to_thread.run_sync(_notify, delivery, abandon_on_cancel=True)


def _instantiate(url: str) -> Any:
    import apprise

    return apprise.Apprise.instantiate(url, suppress_exceptions=True)


def _notify(delivery: Delivery) -> None:
    import apprise

    plugin = apprise.Apprise.instantiate(delivery.url, suppress_exceptions=True)
    if plugin is None:
        raise DeliveryFailed(f"{_shown(delivery.url)} is not a URL apprise can send to")
    notice = delivery.notice
    kind = apprise.NotifyType.FAILURE if notice.failure else apprise.NotifyType.INFO
    if notice.kind == "deployment.succeeded":
        kind = apprise.NotifyType.SUCCESS
    with Captured() as said:
        sent = plugin.notify(body=notice.body, title=notice.title, notify_type=kind)
    if not sent:
        reason = said[-1] if said else "the service did not take the notice"
        raise DeliveryFailed(reason)


def _self_hosted(kind: ChannelKind, plugin: Any) -> str | None:
    """The host a notice goes to where a URL chooses it (None: the service's own)."""
    if kind == "email":
        return str(plugin.smtp_host)
    if kind == "ntfy" and getattr(plugin, "mode", "") == "cloud":
        return None
    if kind in ("mattermost", "ntfy", "gotify", "teams"):
        return str(plugin.host)
    return None


def _host_port(url: str) -> tuple[str | None, int]:
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None, 0
    return parts.hostname, port


def _shown(url: str) -> str:
    """The URL's scheme and host only: the rest is the service's token."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}/…"
