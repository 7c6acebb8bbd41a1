"""The instance's rules for repository URLs, decided with a resolver answering from a table."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

import pytest

from rivetr.adapters.source.policy import RepositoryPolicy, StaticResolver, Unresolved
from rivetr.domain.repository import RepositoryRefused

pytestmark = pytest.mark.anyio

DNS = StaticResolver(
    {
        "github.com": ["140.82.112.3"],
        "rebound.example": ["127.0.0.1"],
        "metadata.example": ["169.254.169.254"],
        "split.example": ["140.82.112.4", "10.0.0.7"],  # one public answer, one internal
        "v6.example": ["2606:4700::6810:84e5", "140.82.112.5"],
    }
)


def strict() -> RepositoryPolicy:
    return RepositoryPolicy(resolver=DNS)


async def test_a_public_name_is_accepted_with_its_addresses_pinned_for_curl() -> None:
    vetted = await strict().vet("https://GitHub.com/me/web.git", must_resolve=True)

    assert vetted.target == "https://GitHub.com/me/web.git"
    assert vetted.addresses == (ipaddress.ip_address("140.82.112.3"),)
    assert vetted.pin == "github.com:443:140.82.112.3"


async def test_ipv6_answers_are_bracketed_in_the_pin() -> None:
    vetted = await strict().vet("https://v6.example:8443/x", must_resolve=True)

    assert vetted.pin == "v6.example:8443:[2606:4700::6810:84e5],140.82.112.5"


async def test_ssh_urls_are_checked_and_pinned_for_ssh_not_curl() -> None:
    vetted = await strict().vet("git@github.com:me/web.git", must_resolve=True)

    assert vetted.pin is None
    assert vetted.ssh_pin == ("140.82.112.3", "github.com")
    assert (await strict().vet("git@140.82.112.3:me/web.git", must_resolve=True)).ssh_pin is None
    with pytest.raises(RepositoryRefused, match=r"rebound\.example resolves to a loopback"):
        await strict().vet("git@rebound.example:me/web.git", must_resolve=True)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://rebound.example/x", "rebound.example resolves to a loopback address"),
        ("https://metadata.example/x", "resolves to a link-local address"),
        ("https://split.example/x", "split.example resolves to a private address"),
        ("https://localhost/x", "localhost is a loopback name"),
        ("https://127.0.0.1:8080/x", "127.0.0.1 is a loopback address"),
        ("https://2130706433/x", "2130706433 (127.0.0.1) is a loopback address"),
        ("https://10.0.0.1/x", "10.0.0.1 is a private address"),
        ("http://github.com/me/web.git", "http:// is not encrypted"),
    ],
)
async def test_non_public_addresses_are_refused_before_anything_connects(
    url: str, reason: str
) -> None:
    with pytest.raises(RepositoryRefused, match=re.escape(reason)) as refused:
        await strict().vet(url, must_resolve=False)

    assert "git_allow_private" in str(refused.value)


async def test_a_name_without_address_passes_when_set_but_not_when_fetched() -> None:
    vetted = await strict().vet("https://new.example/x", must_resolve=False)
    assert vetted.addresses == ()

    with pytest.raises(Unresolved):
        await strict().vet("https://new.example/x", must_resolve=True)


async def test_allowing_private_addresses_allows_them_and_plain_http() -> None:
    policy = RepositoryPolicy(allow_private=True, resolver=DNS)

    for url in ("http://127.0.0.1:9/x", "git@10.0.0.1:x", "git@rebound.example:x"):
        vetted = await policy.vet(url, must_resolve=True)
        assert vetted.target == url
        assert vetted.pin is None
        assert vetted.ssh_pin is None  # an ssh name may be an alias only ssh knows
    pinned = await policy.vet("https://rebound.example/x", must_resolve=True)
    assert pinned.pin == "rebound.example:443:127.0.0.1"  # git goes where the name led now
    unknown = await policy.vet("https://new.example/x", must_resolve=True)
    assert unknown.pin is None  # git may know better (a proxy)
    assert policy.git_config()["protocol.http.allow"] == "always"
    assert "http.followRedirects" not in policy.git_config()


async def test_git_itself_is_held_to_the_allowed_transports() -> None:
    config = strict().git_config()

    assert config == {
        "protocol.allow": "never",
        "protocol.https.allow": "always",
        "protocol.ssh.allow": "always",
        "http.followRedirects": "false",
    }


async def test_local_paths_are_refused_unless_an_instance_admin_allows_directories(
    tmp_path: Path,
) -> None:
    with pytest.raises(RepositoryRefused, match=r"local paths are not allowed .*git_local_dirs"):
        await strict().vet(str(tmp_path), must_resolve=True)
    with pytest.raises(RepositoryRefused, match="local paths are not allowed"):
        await strict().vet("file:///etc", must_resolve=True)


@pytest.fixture
def allowed(tmp_path: Path) -> Path:
    folder = tmp_path / "srv" / "git"
    (folder / "web").mkdir(parents=True)
    (tmp_path / "secret").mkdir()
    (folder / "escape").symlink_to(tmp_path / "secret")
    (tmp_path / "alias").symlink_to(folder)
    return folder


async def test_a_path_inside_an_allowed_directory_is_fetched_by_its_real_path(
    allowed: Path, tmp_path: Path
) -> None:
    policy = RepositoryPolicy(local_dirs=[tmp_path / "alias"], resolver=DNS)

    vetted = await policy.vet(str(tmp_path / "alias" / "web"), must_resolve=True)
    by_url = await policy.vet((allowed / "web").as_uri(), must_resolve=True)

    assert vetted.target == by_url.target == str(allowed / "web")
    assert policy.git_config()["protocol.file.allow"] == "always"


@pytest.mark.parametrize("inside", ["escape", "web/../../../secret", "../git-other"])
async def test_a_path_resolving_outside_the_allowed_directories_is_refused(
    allowed: Path, inside: str
) -> None:
    policy = RepositoryPolicy(local_dirs=[allowed], resolver=DNS)

    with pytest.raises(RepositoryRefused, match=r"outside the directories .*git_local_dirs"):
        await policy.vet(f"{allowed}/{inside}", must_resolve=True)
    with pytest.raises(RepositoryRefused, match=r"local paths are not allowed|outside"):
        await policy.vet("/etc/passwd", must_resolve=True)
