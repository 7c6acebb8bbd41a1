"""Taking repository URLs apart: what each names, and the forms refused before any I/O."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from rivetr.domain.errors import InvalidCommand
from rivetr.domain.repository import (
    Repository,
    RepositoryRefused,
    address_scope,
    name_scope,
    parse_repository,
)


@pytest.mark.parametrize(
    ("url", "kind", "host", "port"),
    [
        ("https://github.com/me/web.git", "https", "github.com", 443),
        ("https://GitHub.com:8443/me/web", "https", "github.com", 8443),
        ("https://user@git.example.com/me/web.git", "https", "git.example.com", 443),
        (
            "https://x-access-token:s3cr3t@git.example.com/me/web.git",
            "https",
            "git.example.com",
            443,
        ),
        ("http://git.internal/me/web.git", "http", "git.internal", 80),
        ("ssh://git@github.com/me/web.git", "ssh", "github.com", 22),
        ("ssh://git@github.com:2222/me/web.git", "ssh", "github.com", 2222),
        ("git+ssh://git@github.com/me/web.git", "ssh", "github.com", 22),
        ("git@github.com:me/web.git", "ssh", "github.com", 22),
        ("github.com:me/web.git", "ssh", "github.com", 22),
        ("https://[2606:4700::1]/me/web", "https", "2606:4700::1", 443),
    ],
)
def test_server_urls_name_their_host_and_port(url: str, kind: str, host: str, port: int) -> None:
    repo = parse_repository(url)

    assert (repo.kind, repo.host, repo.port, repo.path) == (kind, host, port, None)


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("/srv/git/web", "/srv/git/web"),
        ("/srv/git/a:b", "/srv/git/a:b"),  # a slash before the colon: a path, as git reads it
        ("file:///srv/git/web", "/srv/git/web"),
        ("/etc/passwd", "/etc/passwd"),
        ("file:///etc", "/etc"),
    ],
)
def test_paths_and_file_urls_are_local_repositories(url: str, path: str) -> None:
    assert parse_repository(url) == Repository(url=url, kind="local", path=path)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("fd::3", "transport helper"),
        ("ext::sh -c touch% /tmp/pwned", "spaces"),
        ("ext::sh", "transport helper"),
        ("FD::3", "transport helper"),
        ("persistent-https::x", "transport helper"),
        ("-uhttps://x/y", "start with '-'"),
        ("--upload-pack=touch /tmp/x", "spaces"),
        ("--upload-pack=touch", "start with '-'"),
        ("../../x", "must be absolute"),
        ("./x", "must be absolute"),
        ("repo", "must be absolute"),
        ("~/repo", "must be absolute"),
        ("HTTPS://github.com/me/web", "lower case"),
        ("File:///etc", "lower case"),
        ("git://github.com/me/web", "neither encrypted"),
        ("ftp://example.com/x", "not a scheme"),
        ("file://etc/passwd", "file:///path"),
        ("file:///srv/%2e%2e/etc", "%-escapes"),
        ("https://github.com", "no path"),
        ("https://github.com/", "no path"),
        ("https://a@b@github.com/x", "at most one '@'"),
        ("https://github.com#@127.0.0.1/x", "fragment"),
        ("https://127.0.0.1?@github.com/x", "query"),
        ("https://github.com\\@127.0.0.1/x", "backslash"),
        ("https://github.com:0/x", "port"),
        ("https://github.com:99999/x", "port"),
        ("https://github.com:/x", "port"),
        ("https://[fe80::1%25eth0]/x", "zones"),
        ("https://[::1/x", "[address]:port"),
        ("https://-github.com/x", "host name"),
        ("https://gith\u00fcb.com/x", "xn--"),
        ("https://a..b/x", "host name"),
        ("https://1.2.3.999/x", "neither a host name nor"),
        ("ssh://-oProxyCommand=touch@host/x", "user name"),
        ("ssh://user:password@host/x", "takes no password"),
        ("https://us er@host/x", "spaces"),
        ("https://-user@host/x", "user name"),
        ("-oProxyCommand=x@host:repo", "start with '-'"),
        ("[::1]:repo", "ssh://user@[address]"),
        ("-user@host:repo", "start with '-'"),
        ("us/er@host:repo", "must be absolute"),
        ("git@host:", "no path"),
        ("https://github.com/me/web\n", "control"),
        ("", "empty"),
    ],
)
def test_dangerous_or_ambiguous_urls_are_refused_with_a_reason(url: str, reason: str) -> None:
    with pytest.raises(RepositoryRefused, match=re.escape(reason)) as refused:
        parse_repository(url)

    assert isinstance(refused.value, InvalidCommand)  # a 422 in the API


@pytest.mark.parametrize(
    ("url", "address", "scope"),
    [
        ("git@127.0.0.1:x", "127.0.0.1", "loopback"),
        ("https://[::1]/x", "::1", "loopback"),
        ("https://10.0.0.1/x", "10.0.0.1", "private"),
        ("https://169.254.169.254/latest", "169.254.169.254", "link-local"),
        ("https://2130706433/x", "127.0.0.1", "loopback"),
        ("https://0x7f.1/x", "127.0.0.1", "loopback"),
        ("https://0177.0.0.1/x", "127.0.0.1", "loopback"),
        ("https://127.1/x", "127.0.0.1", "loopback"),
        ("https://0x7f000001/x", "127.0.0.1", "loopback"),
        ("https://10.1.1/x", "10.1.0.1", "private"),
        ("https://[::ffff:127.0.0.1]/x", "::ffff:127.0.0.1", "loopback"),
        ("https://[::ffff:a9fe:a9fe]/x", "::ffff:a9fe:a9fe", "link-local"),
        ("https://[64:ff9b::10.0.0.1]/x", "64:ff9b::a00:1", "private"),
        ("https://[2002:7f00:1::1]/x", "2002:7f00:1::1", "loopback"),
        ("https://[fd00::1]/x", "fd00::1", "private"),
        ("https://[fe80::1]/x", "fe80::1", "link-local"),
        ("https://0.0.0.0/x", "0.0.0.0", "unspecified"),
        ("https://0/x", "0.0.0.0", "unspecified"),
        ("https://100.64.0.1/x", "100.64.0.1", "shared (carrier-grade NAT)"),
        ("https://224.0.0.1/x", "224.0.0.1", "multicast"),
        ("ssh://git@192.168.1.1:2222/x", "192.168.1.1", "private"),
    ],
)
def test_addresses_in_any_spelling_are_read_and_found_non_public(
    url: str, address: str, scope: str
) -> None:
    repo = parse_repository(url)

    assert repo.address == ipaddress.ip_address(address)
    assert address_scope(repo.address) == scope


@pytest.mark.parametrize(
    "address", ["140.82.112.3", "2606:4700::6810:84e5", "::ffff:8.8.8.8", "64:ff9b::808:808"]
)
def test_public_addresses_have_no_scope(address: str) -> None:
    assert address_scope(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    "host", ["localhost", "LOCALHOST", "app.localhost", "localhost.localdomain"]
)
def test_names_of_this_machine_are_loopback_whatever_dns_says(host: str) -> None:
    assert name_scope(host) == "loopback"
    assert name_scope("github.com") is None
    assert parse_repository(f"https://{host}/x").address is None  # a name, judged by name


@given(st.text(max_size=60))
@example("https://[::1]:/x")
@example("git@:x")
@example("a@:x")
@example("0x:x")
def test_any_text_is_taken_apart_or_refused_never_crashes(text: str) -> None:
    try:
        repo = parse_repository(text)
    except RepositoryRefused:
        return
    if repo.kind == "local":
        assert (repo.path or "").startswith("/")
    else:
        assert repo.port
        assert repo.host
        assert not repo.host.startswith("-")


hosts = st.from_regex(
    r"[a-z][a-z0-9-]{0,10}(\.[a-z][a-z0-9-]{0,10}){0,2}\.[a-z]{2,6}", fullmatch=True
)
users = st.from_regex(r"[A-Za-z0-9._~-]{1,10}", fullmatch=True)


@given(
    scheme=st.sampled_from(["https", "http", "ssh"]),
    user=st.none() | users,
    host=hosts,
    port=st.none() | st.integers(1, 65535),
    path=st.from_regex(r"[A-Za-z0-9._/-]{1,20}", fullmatch=True),
)
def test_the_host_read_is_the_one_a_standard_url_parser_reads(
    scheme: str, user: str | None, host: str, port: int | None, path: str
) -> None:
    login = f"{user}@" if user else ""
    url = f"{scheme}://{login}{host}{f':{port}' if port else ''}/{path}"
    if user and user.startswith("-"):
        return

    repo = parse_repository(url)

    split = urlsplit(url)
    assert (repo.host, repo.port) == (split.hostname, split.port or repo.port)
    assert repo.address is None


@given(st.ip_addresses(v=4))
def test_every_c_library_spelling_of_an_address_reads_as_that_address(
    address: ipaddress.IPv4Address,
) -> None:
    number = int(address)
    a, b, c, d = address.packed
    spellings = [
        str(number),
        hex(number),
        f"{a}.{(b << 16) | (c << 8) | d}",
        f"{a:#o}.{b:#x}.{(c << 8) | d}".replace("0o", "0"),
        f"{a}.{b}.{c}.{d:#x}",
    ]
    for spelling in spellings:
        repo = parse_repository(f"https://{spelling}/x")
        assert repo.address == address, spelling
        assert address_scope(repo.address) == address_scope(address)


@given(st.ip_addresses(v=4))
def test_an_ipv4_mapped_address_is_judged_as_the_ipv4_one(address: ipaddress.IPv4Address) -> None:
    mapped = ipaddress.IPv6Address(f"::ffff:{address}")

    assert address_scope(mapped) == address_scope(address)
    assert parse_repository(f"https://[{mapped}]/x").address == mapped
