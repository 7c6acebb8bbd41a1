"""The built-in reverse proxy: host (and path prefix) routing to each app's live release."""

from rivetr.adapters.proxy.limits import ProxyLimits
from rivetr.adapters.proxy.routes import Balanced, Parked, Route, RouteTable, Upstream
from rivetr.adapters.proxy.server import ProxyServer

__all__ = ["Balanced", "Parked", "ProxyLimits", "ProxyServer", "Route", "RouteTable", "Upstream"]
