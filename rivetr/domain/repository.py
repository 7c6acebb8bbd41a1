"""What a repository URL names, read without any I/O: an https, http or ssh server (its host,
port and, when written as one, its address) or a path on this machine, or why it is refused.

Only a strict subset of what git takes is accepted, so that what is checked here is exactly what
git, curl and ssh will reach: no transport helpers (`ext::`, `fd::`), no option-like URLs, no
fragments, backslashes or second `@` that parsers disagree about.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Literal

import msgspec

from rivetr.domain.errors import InvalidCommand

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Kind = Literal["https", "http", "ssh", "local"]
DEFAULT_PORTS: dict[Kind, int] = {"https": 443, "http": 80, "ssh": 22}
_SCHEMES: dict[str, Kind] = {
    "https": "https",
    "http": "http",
    "ssh": "ssh",
    "git+ssh": "ssh",
    "ssh+git": "ssh",
}
# git's own rule (transport.c): `<transport>::<address>` runs git-remote-<transport>
_HELPER = re.compile(r"[A-Za-z0-9][A-Za-z0-9+.-]*::")
_SCHEME = re.compile(r"([A-Za-z0-9][A-Za-z0-9+.-]*)://")
_USER = re.compile(r"[A-Za-z0-9._~!$&'()*+,;=%-]+")  # no ':' (a password) and no '@'
_USERINFO = re.compile(r"[A-Za-z0-9._~!$&'()*+,;=%:-]*")
_HOST = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?")
_PORT = re.compile(r"[0-9]{1,5}")
_NUMBER = re.compile(r"0[xX][0-9A-Fa-f]*|0[0-7]*|[1-9][0-9]*")
_ALLOWED = "use https://host/path, ssh://host/path or user@host:path"
# refusals do not repeat the URL: it may hold a password
_NO_PATH = "the URL names no repository on its server (no path)"
_BAD_USER = "the user name before '@' is not one Rivetr accepts"
_LOOPBACK_NAMES = ("localhost", "localhost.localdomain")
# NAT64 (RFC 6052) carries an IPv4 address in its last 32 bits; its local-use range (RFC 8215)
# leads wherever the local translator says.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_LOCAL_NAT64 = ipaddress.IPv6Network("64:ff9b:1::/48")
_SHARED = ipaddress.IPv4Network("100.64.0.0/10")


class RepositoryRefused(InvalidCommand):
    """The URL is not one Rivetr fetches from; the message says why and what to write instead."""


class Repository(msgspec.Struct, frozen=True, kw_only=True):
    """A repository URL taken apart.

    `host` is lower-cased and without brackets; `address` is set when the host is written as an
    address in any form git's resolvers accept (`[::1]`, `127.1`, `0x7f000001`...). `path` is the
    absolute path of a local repository, None for a server.
    """

    url: str
    kind: Kind
    host: str | None = None
    port: int | None = None
    address: IPAddress | None = None
    path: str | None = None


def parse_repository(url: str) -> Repository:
    """Take `url` apart, or refuse it.

    Args:
        url: a repository URL as a user gave it.

    Returns:
        What the URL names: kind, host, port and literal address, or local path.

    Raises:
        RepositoryRefused: a form git would run a program for, a scheme other than https, http
            and ssh (file:// is a local path), a relative path, or anything ambiguous.
    """
    if not url:
        raise RepositoryRefused("a repository URL cannot be empty")
    if any(char.isspace() or ord(char) < 0x20 or ord(char) == 0x7F for char in url):
        raise RepositoryRefused("a repository URL cannot contain spaces or control characters")
    if url.startswith("-"):
        raise RepositoryRefused(
            "a repository URL cannot start with '-' (git reads it as an option)"
        )
    if "\\" in url:
        raise RepositoryRefused("a repository URL cannot contain a backslash")
    if (helper := _HELPER.match(url)) and not _SCHEME.match(url):
        raise RepositoryRefused(
            f"{helper.group()} runs a program (a git transport helper) and is never allowed: "
            f"{_ALLOWED}"
        )
    if scheme := _SCHEME.match(url):
        return _parse_url(url, scheme.group(1), url[scheme.end() :])
    colon, slash = url.find(":"), url.find("/")
    if colon == -1 or (slash != -1 and slash < colon):  # git's url_is_local_not_ssh
        return _local(url, url)
    return _parse_scp(url, url[:colon], url[colon + 1 :])


def address_scope(address: IPAddress) -> str | None:
    """Why `address` is not a public one ("loopback", "private"...), or None when it is.

    An IPv6 address that carries an IPv4 one (IPv4-mapped, NAT64, 6to4) is judged by that.
    """
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address_scope(address.ipv4_mapped)
        if address in _NAT64:
            return address_scope(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        if address in _LOCAL_NAT64:
            return "private"
        if address.sixtofour is not None and (inner := address_scope(address.sixtofour)):
            return inner
    checks = (
        ("loopback", address.is_loopback),
        ("unspecified", address.is_unspecified),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("shared (carrier-grade NAT)", address in _SHARED),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        ("site-local", isinstance(address, ipaddress.IPv6Address) and address.is_site_local),
    )
    scope = next((name for name, applies in checks if applies), None)
    return scope or (None if address.is_global else "non-public")


def name_scope(host: str) -> str | None:
    """ "loopback" for the names that mean this machine whatever DNS says (RFC 6761), else None."""
    name = host.lower()
    return "loopback" if name in _LOOPBACK_NAMES or name.endswith(".localhost") else None


def _parse_url(url: str, scheme: str, rest: str) -> Repository:
    if scheme != scheme.lower():
        raise RepositoryRefused(f"write the scheme in lower case ({scheme.lower()}://)")
    if scheme == "file":
        if not rest.startswith("/"):
            raise RepositoryRefused("a file:// URL names a path on this machine: file:///path")
        return _local(url, rest)
    if scheme == "git":
        raise RepositoryRefused("git:// is neither encrypted nor authenticated: use https or ssh")
    kind = _SCHEMES.get(scheme)
    if kind is None:
        raise RepositoryRefused(f"{scheme}:// is not a scheme Rivetr fetches from: {_ALLOWED}")
    if "?" in rest or "#" in rest:
        raise RepositoryRefused("a repository URL cannot have a query (?) or a fragment (#)")
    authority, slash, path = rest.partition("/")
    if not slash or not path:
        raise RepositoryRefused(_NO_PATH)
    userinfo, at, hostport = authority.rpartition("@")
    if "@" in userinfo:
        raise RepositoryRefused("a URL has at most one '@' (write one in a password as %40)")
    if at and kind == "ssh" and ":" in userinfo:
        raise RepositoryRefused("an ssh URL takes no password: give the app a deploy key")
    user_pattern = _USER if kind == "ssh" else _USERINFO
    if at and (not user_pattern.fullmatch(userinfo) or userinfo.startswith("-")):
        raise RepositoryRefused(_BAD_USER)
    host, port = _split_port(hostport)
    address = _address(host, bracketed=hostport.startswith("["))
    return Repository(
        url=url,
        kind=kind,
        host=host.lower(),
        port=DEFAULT_PORTS[kind] if port is None else port,
        address=address,
    )


def _parse_scp(url: str, login: str, path: str) -> Repository:
    user, at, host = login.rpartition("@")
    if at and (not _USER.fullmatch(user) or user.startswith("-")):
        raise RepositoryRefused(_BAD_USER)
    if host.startswith("["):
        raise RepositoryRefused("write an IPv6 address as ssh://user@[address]:port/path")
    if not path:
        raise RepositoryRefused(_NO_PATH)
    return Repository(
        url=url, kind="ssh", host=host.lower(), port=22, address=_address(host, bracketed=False)
    )


def _local(url: str, path: str) -> Repository:
    if not path.startswith("/"):
        raise RepositoryRefused(f"a local path must be absolute, not {path!r}")
    if "%" in path and url.startswith("file:"):
        raise RepositoryRefused("write a file:// URL without %-escapes, or give the path itself")
    return Repository(url=url, kind="local", path=path)


def _split_port(hostport: str) -> tuple[str, int | None]:
    if hostport.startswith("["):
        host, bracket, after = hostport[1:].partition("]")
        if not bracket or (after and not after.startswith(":")):
            raise RepositoryRefused(f"{hostport!r} is not a valid [address]:port")
        port_text = after[1:] if after else None
    else:
        host, colon, port_text = hostport.partition(":")
        port_text = port_text if colon else None
    if port_text is None:
        return host, None
    if not _PORT.fullmatch(port_text) or not 1 <= int(port_text) <= 65535:
        raise RepositoryRefused(f"{port_text!r} is not a port (1 to 65535)")
    return host, int(port_text)


def _address(host: str, *, bracketed: bool) -> IPAddress | None:
    """The address `host` is written as, None for a name; refuse what is neither."""
    if bracketed:
        try:
            if "%" not in host:
                return ipaddress.IPv6Address(host)
        except ValueError:
            pass
        raise RepositoryRefused(f"[{host}] is not an IPv6 address (zones are not accepted)")
    if not _HOST.fullmatch(host) or host.startswith("-") or ".." in host:
        raise RepositoryRefused(
            f"{host!r} is not a host name Rivetr accepts (ASCII letters, digits, '-', '.'; "
            "a name in another script is written in its xn-- form)"
        )
    numeric = _inet_aton(host)
    if numeric is not None:
        return numeric
    last = host.rpartition(".")[2]
    if _NUMBER.fullmatch(last):
        raise RepositoryRefused(f"{host!r} is neither a host name nor an IPv4 address")
    return None


def _inet_aton(host: str) -> ipaddress.IPv4Address | None:
    """The address the C library reads `host` as (1 to 4 parts, decimal, octal or hex), as curl
    and ssh would connect to it; None when it is not one."""
    parts = host.split(".")
    if not 1 <= len(parts) <= 4 or not all(_NUMBER.fullmatch(part) for part in parts):
        return None
    values = [_number(part) for part in parts]
    head, last = values[:-1], values[-1]
    if any(value > 255 for value in head) or last >= 1 << (8 * (5 - len(parts))):
        return None
    total = last
    for index, value in enumerate(head):
        total |= value << (8 * (3 - index))
    return ipaddress.IPv4Address(total)


def _number(part: str) -> int:
    if part[:2] in ("0x", "0X"):
        return int(part[2:] or "0", 16)
    if part.startswith("0") and len(part) > 1:
        return int(part[1:], 8)
    return int(part)
