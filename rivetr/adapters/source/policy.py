"""Which repositories this instance fetches from: local paths only inside `git_local_dirs`,
servers only at public addresses unless `git_allow_private`. A URL is checked when it is set and
again right before each fetch (DNS answers change), where the addresses found are pinned for git.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

import anyio
import msgspec

from rivetr.domain.repository import (
    IPAddress,
    Repository,
    RepositoryRefused,
    address_scope,
    name_scope,
    parse_repository,
)

_RESOLVE_TIMEOUT_S = 10.0
_PRIVATE_HINT = "an instance admin can allow them with git_allow_private"


class Unresolved(Exception):
    """The host of a repository URL has no address now."""


class NameResolver(Protocol):
    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        """Every address `host` has now; empty when it has none (or no answer came in time)."""
        ...


class SystemResolver:
    """The C library's resolver (/etc/hosts, then DNS): what git, curl and ssh ask too."""

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        with anyio.move_on_after(_RESOLVE_TIMEOUT_S):
            try:
                found = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except OSError:  # socket.gaierror: no such name, or no DNS at all
                return []
            return list(dict.fromkeys(ipaddress.ip_address(entry[4][0]) for entry in found))
        return []


class StaticResolver:
    """A resolver answering from a table, for tests: names it does not know have no address."""

    def __init__(self, table: Mapping[str, Sequence[str]]) -> None:
        self.table: dict[str, list[IPAddress]] = {}
        for host, addresses in table.items():
            self.answer(host, addresses)

    def answer(self, host: str, addresses: Sequence[str]) -> None:
        """From now on, `host` has `addresses` (as a name's DNS answer changes)."""
        self.table[host.lower()] = [ipaddress.ip_address(address) for address in addresses]

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        return list(self.table.get(host.lower(), []))


class Vetted(msgspec.Struct, frozen=True, kw_only=True):
    """A repository found acceptable: what to hand git, and the addresses its host had."""

    repository: Repository
    target: str  # the URL, or for a local repository the real path that was checked
    addresses: tuple[IPAddress, ...] = ()

    @property
    def pin(self) -> str | None:
        """An `http.curloptResolve` entry making curl connect to the addresses checked, rather
        than resolve the name again (and perhaps get another answer); None when not needed."""
        repo = self.repository
        if repo.kind not in ("https", "http") or repo.address is not None or not self.addresses:
            return None
        shown = ",".join(f"[{a}]" if a.version == 6 else str(a) for a in self.addresses)
        return f"{repo.host}:{repo.port}:{shown}"

    @property
    def ssh_pin(self) -> tuple[str, str] | None:
        """(address, host name) for ssh to connect to the address checked while looking up
        the host key under the name; None when not needed (an address, or nothing resolved)."""
        repo = self.repository
        if repo.kind != "ssh" or repo.address is not None or not self.addresses:
            return None
        assert repo.host is not None
        return str(self.addresses[0]), repo.host


class RepositoryPolicy:
    """The instance's rules for repository URLs (see the module docstring)."""

    def __init__(
        self,
        *,
        local_dirs: Sequence[str | os.PathLike[str]] = (),
        allow_private: bool = False,
        resolver: NameResolver | None = None,
    ) -> None:
        self.local_dirs = tuple(Path(os.path.realpath(folder)) for folder in local_dirs)
        self.allow_private = allow_private
        self.resolver = resolver or SystemResolver()

    def git_config(self) -> dict[str, str]:
        """git settings that hold git itself to the same rules, for what it reaches on its own
        (submodules, redirects): only the transports allowed here, nothing else."""
        config = {
            "protocol.allow": "never",
            "protocol.https.allow": "always",
            "protocol.ssh.allow": "always",
        }
        if self.local_dirs:
            config["protocol.file.allow"] = "always"
        if self.allow_private:
            config["protocol.http.allow"] = "always"
        else:
            # a redirect leads to a host that was never checked
            config["http.followRedirects"] = "false"
        return config

    async def vet(self, url: str, *, must_resolve: bool) -> Vetted:
        """Check `url` against the rules.

        Args:
            url: the repository URL.
            must_resolve: whether a host without addresses is an error (at fetch time) or
                let through to be checked again then (when the URL is set).

        Raises:
            RepositoryRefused: the URL breaks a rule; the message says which.
            Unresolved: `must_resolve` and the host has no address.
        """
        repo = parse_repository(url)
        if repo.kind == "local":
            assert repo.path is not None
            return Vetted(repository=repo, target=self._local_path(repo.path))
        if repo.kind == "http" and not self.allow_private:
            raise RepositoryRefused(
                "http:// is not encrypted: use https:// (an instance admin can allow http:// "
                "on a trusted network with git_allow_private)"
            )
        assert repo.host is not None
        assert repo.port is not None
        if self.allow_private:
            # nothing to refuse; an http(s) name is still pinned to what it resolves to now,
            # while an ssh one may be an alias of ~/.ssh/config that only ssh knows
            pinned = must_resolve and repo.kind != "ssh" and repo.address is None
            found = await self._resolve(repo) if pinned else ()
            return Vetted(repository=repo, target=url, addresses=found)
        if repo.address is not None:
            if scope := address_scope(repo.address):
                shown = (
                    repo.host if repo.host == str(repo.address) else f"{repo.host} ({repo.address})"
                )
                raise RepositoryRefused(
                    f"{shown} is a {scope} address; this instance fetches only from public "
                    f"addresses ({_PRIVATE_HINT})"
                )
            return Vetted(repository=repo, target=url, addresses=(repo.address,))
        if scope := name_scope(repo.host):
            raise RepositoryRefused(
                f"{repo.host} is a {scope} name; this instance fetches only from public "
                f"addresses ({_PRIVATE_HINT})"
            )
        addresses = await self._resolve(repo)
        if not addresses and must_resolve:
            raise Unresolved(repo.host)
        for address in addresses:
            if scope := address_scope(address):
                raise RepositoryRefused(
                    f"{repo.host} resolves to a {scope} address; this instance fetches only "
                    f"from public addresses ({_PRIVATE_HINT})"
                )
        return Vetted(repository=repo, target=url, addresses=addresses)

    async def _resolve(self, repo: Repository) -> tuple[IPAddress, ...]:
        assert repo.host is not None
        assert repo.port is not None
        return tuple(await self.resolver.resolve(repo.host, repo.port))

    def _local_path(self, path: str) -> str:
        if not self.local_dirs:
            raise RepositoryRefused(
                "local paths are not allowed on this instance (an instance admin can allow "
                "directories with git_local_dirs)"
            )
        real = Path(os.path.realpath(path))
        if not any(real.is_relative_to(folder) for folder in self.local_dirs):
            raise RepositoryRefused(
                f"{path} is outside the directories this instance fetches local repositories "
                "from (git_local_dirs)"
            )
        return str(real)
