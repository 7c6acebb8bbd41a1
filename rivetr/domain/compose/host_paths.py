"""Where a path a compose file names lands on the host: inside the stack's root, under a
prefix an instance admin allowed, or somewhere no stack may ever reach (the engine's socket and
data, `/proc`, `/etc`, Rivetr's own data). Pure: paths are compared as text after `..` is
folded, so a symlink inside the stack's checkout must be resolved by whoever mounts it."""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from typing import Final

# what a container must never see of its host, whatever an instance admin allowed: each path
# itself, anything under it, and anything above it (a bind of /var holds the engine's data)
NEVER: Final = ("/proc", "/sys", "/etc", "/root", "/run", "/var/lib/docker", "/var/lib/containers")
_WHY: Final = {
    "/proc": "the host's processes",
    "/sys": "the host's kernel settings",
    "/etc": "the host's configuration (set a time zone with TZ instead)",
    "/root": "the host's administrator's home",
    "/run": "the host's running services and their sockets (the engine's among them)",
}


def folded(path: str) -> str:
    """`path` with `.` and `..` folded and `/var/run` read as the `/run` it links to."""
    text = posixpath.normpath(path)
    if text.startswith("//"):  # POSIX keeps a leading `//`; the host does not
        text = "/" + text.lstrip("/")
    if text == "/var/run" or text.startswith("/var/run/"):
        text = "/run" + text[len("/var/run") :]
    return text


def within(path: str, root: str) -> bool:
    """`path` is `root` or below it, comparing whole components."""
    return path == root or path.startswith(root.rstrip("/") + "/")


def in_the_stack(path: str) -> str | None:
    """A path relative to the stack's root, folded (`./conf/../x` is `x`), or None when it is
    absolute, from a home directory (`~`), or leaves the root (`../..`)."""
    if path.startswith(("/", "~")):
        return None
    text = posixpath.normpath(path)
    if text == ".." or text.startswith("../"):
        return None
    return text


def never(path: str, data_dir: str) -> str | None:
    """Why no stack may bind the host's `path` (absolute), or None."""
    host = folded(path)
    if host == "/":
        return "the host's whole filesystem"
    for root, why in _never(data_dir):
        if within(host, root) or within(root, host):
            return why
    return None


def allowed(path: str, prefixes: Iterable[str]) -> bool:
    """The host's `path` is under one of the prefixes an instance admin allowed."""
    host = folded(path)
    return any(within(host, folded(prefix)) for prefix in prefixes if prefix.startswith("/"))


def _never(data_dir: str) -> list[tuple[str, str]]:
    found = [(root, _WHY.get(root, "the container engine's data")) for root in NEVER]
    if data_dir.startswith("/"):
        found.append((folded(data_dir), "Rivetr's own data"))
    return found
