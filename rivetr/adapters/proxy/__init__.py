"""The built-in reverse proxy: host routing to each app's live release."""

from rivetr.adapters.proxy.server import ProxyServer, RouteTable, Upstream

__all__ = ["ProxyServer", "RouteTable", "Upstream"]
