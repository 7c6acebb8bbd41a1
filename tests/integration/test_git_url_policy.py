"""The repository policy at fetch time, with real git: a refused URL never runs git against its
target nor opens a connection to it; an allowed one is fetched; a server that does not answer is
given up on within the connect timeout."""

from __future__ import annotations

import os
import shutil
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from rivetr.adapters.source.git import Checkout, SourceError, fetch_source
from rivetr.adapters.source.policy import RepositoryPolicy, StaticResolver
from rivetr.bootstrap import Services
from rivetr.config import Settings
from rivetr.domain.access import SYSTEM
from rivetr.domain.commands import CreateApp
from tests.engine import connect_real_engine
from tests.integration.deploy_helpers import AppRepo, private_https_repo, wait_for_status
from tests.integration.git_helpers import fake_ssh, git, make_repo, no_git_config

pytestmark = [pytest.mark.integration, pytest.mark.anyio]
PUBLIC = "140.82.112.3"  # an address the policy finds public; never connected to here


async def fetch(url: str, policy: RepositoryPolicy, tmp_path: Path, **options: Any) -> Checkout:
    """The tip of `main` of `url` into tmp_path/out."""
    return await fetch_source(
        url, policy=policy, branch="main", commit=None, dest=tmp_path / "out", **options
    )


@pytest.fixture(autouse=True)
def fresh_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    no_git_config(tmp_path, monkeypatch)


@pytest.fixture
def git_calls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[], list[str]]:
    """The git commands run from now on (their arguments), as the function returned says."""
    real = shutil.which("git")
    assert real is not None
    record, bin_dir = tmp_path / "git-calls", tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "git"
    wrapper.write_text(f'#!/bin/sh\nprintf \'%s\\n\' "$*" >> {record}\nexec {real} "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    record.touch()
    return lambda: record.read_text().splitlines()


class Listener:
    """A loopback port that counts the connections made to it and never answers them."""

    def __init__(self) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        # never closed under a blocked accept(): its descriptor could be reused by the next
        # test's server, whose connections that accept() would then take
        self.socket.settimeout(0.05)
        self.port = self.socket.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                self.accepted.append(self.socket.accept()[0])
            except TimeoutError:
                continue

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.socket.close()
        for connection in self.accepted:
            connection.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    silent = Listener()
    yield silent
    silent.close()


@pytest.fixture
def allowed(tmp_path: Path) -> Path:
    """tmp_path/allowed with a repository `app` in it; tmp_path/outside with `secret`."""
    make_repo(tmp_path / "allowed" / "app", [({"app.txt": "app\n"}, "app")])
    make_repo(tmp_path / "outside" / "secret", [({"password.txt": "hunter2\n"}, "secret")])
    return tmp_path / "allowed"


@pytest.mark.parametrize(
    "where",
    [
        "{outside}/secret",
        "file://{outside}/secret",
        "{allowed}/../outside/secret",
        "{allowed}/link",
    ],
)
async def test_a_local_repository_outside_the_allowed_directories_is_never_read(
    allowed: Path, tmp_path: Path, git_calls: Callable[[], list[str]], where: str
) -> None:
    (allowed / "link").symlink_to(tmp_path / "outside" / "secret")
    url = where.format(allowed=allowed, outside=tmp_path / "outside")
    policy = RepositoryPolicy(local_dirs=[allowed])

    with pytest.raises(SourceError, match=r"is refused: .* outside the directories") as caught:
        await fetch(url, policy, tmp_path)

    assert "git_local_dirs" in str(caught.value)
    assert git_calls() == []
    assert not (tmp_path / "out").exists()


async def test_without_allowed_directories_no_local_path_is_fetched(
    allowed: Path, tmp_path: Path, git_calls: Callable[[], list[str]]
) -> None:
    with pytest.raises(SourceError, match="local paths are not allowed on this instance"):
        await fetch(str(allowed / "app"), RepositoryPolicy(), tmp_path)

    assert git_calls() == []


async def test_a_repository_inside_an_allowed_directory_is_fetched_even_through_a_link(
    allowed: Path, tmp_path: Path
) -> None:
    (tmp_path / "alias").symlink_to(allowed)
    policy = RepositoryPolicy(local_dirs=[tmp_path / "alias"])

    checkout = await fetch(str(tmp_path / "alias" / "app"), policy, tmp_path)

    assert (checkout.path / "app.txt").read_text() == "app\n"


@pytest.mark.parametrize("url", ["fd::3", "ext::sh", "-uhttps://x/y", "git://127.0.0.1/x"])
async def test_a_transport_helper_or_an_option_is_refused_at_once_without_running_git(
    tmp_path: Path, git_calls: Callable[[], list[str]], url: str
) -> None:
    policy = RepositoryPolicy(local_dirs=["/"], allow_private=True)  # even the most open

    with pytest.raises(SourceError, match="is refused"):
        await fetch(url, policy, tmp_path)

    assert git_calls() == []


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://127.0.0.1:{port}/x.git", "127.0.0.1 is a loopback address"),
        ("https://localhost:{port}/x.git", "localhost is a loopback name"),
        ("https://2130706433:{port}/x.git", "2130706433 (127.0.0.1) is a loopback address"),
        ("https://[::ffff:127.0.0.1]:{port}/x.git", "is a loopback address"),
        ("https://rebound.test:{port}/x.git", "rebound.test resolves to a loopback address"),
        ("ssh://git@127.0.0.1:{port}/x.git", "127.0.0.1 is a loopback address"),
        ("http://127.0.0.1:{port}/x.git", "http:// is not encrypted"),
    ],
)
async def test_a_private_address_is_refused_before_anything_connects_to_it(
    listener: Listener, tmp_path: Path, git_calls: Callable[[], list[str]], url: str, reason: str
) -> None:
    policy = RepositoryPolicy(resolver=StaticResolver({"rebound.test": ["127.0.0.1"]}))

    with pytest.raises(SourceError, match="is refused") as caught:
        await fetch(url.format(port=listener.port), policy, tmp_path)

    assert reason in str(caught.value)
    assert "git_allow_private" in str(caught.value)
    assert listener.accepted == []
    assert git_calls() == []


async def test_a_name_that_now_resolves_to_loopback_is_refused_though_it_was_public_when_set(
    listener: Listener, tmp_path: Path, git_calls: Callable[[], list[str]]
) -> None:
    dns = StaticResolver({"repo.test": [PUBLIC]})
    policy = RepositoryPolicy(resolver=dns)
    url = f"https://repo.test:{listener.port}/app.git"
    await policy.vet(url, must_resolve=False)  # accepted when the app's git_url was set

    dns.answer("repo.test", ["127.0.0.1"])
    with pytest.raises(SourceError, match=r"repo\.test resolves to a loopback address"):
        await fetch(url, policy, tmp_path)

    assert listener.accepted == []
    assert git_calls() == []


async def test_a_name_with_no_address_at_fetch_time_is_not_handed_to_git(
    tmp_path: Path, git_calls: Callable[[], list[str]]
) -> None:
    policy = RepositoryPolicy(resolver=StaticResolver({}))

    with pytest.raises(SourceError, match=r"cannot resolve the host of https://gone\.test/x\.git"):
        await fetch("https://gone.test/x.git", policy, tmp_path)

    assert git_calls() == []


async def test_with_private_addresses_allowed_a_loopback_https_repository_is_fetched_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIT_SSL_NO_VERIFY", "1")  # the test server's certificate is self-signed
    repo = AppRepo(tmp_path / "repo")
    sha = repo.commit("private v1")
    # only the policy's resolver knows repo.test: git reaches it through the pinned address
    policy = RepositoryPolicy(
        allow_private=True, resolver=StaticResolver({"repo.test": ["127.0.0.1"]})
    )
    with private_https_repo(repo, tmp_path / "served", "t0ken") as url:
        by_name = url.replace("127.0.0.1", "repo.test")
        refused = RepositoryPolicy(resolver=policy.resolver)
        with pytest.raises(SourceError, match="resolves to a loopback address"):
            await fetch(by_name, refused, tmp_path)

        checkout = await fetch(by_name, policy, tmp_path, token="t0ken")

    assert checkout.commit_sha == sha


async def test_ssh_connects_to_the_address_checked_and_knows_the_host_key_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = fake_ssh(tmp_path, monkeypatch)
    monkeypatch.delenv("GIT_SSH_COMMAND", raising=False)
    policy = RepositoryPolicy(resolver=StaticResolver({"git.test": [PUBLIC]}))

    with pytest.raises(SourceError, match=r"cannot connect to git@git\.test:team/app\.git"):
        await fetch("git@git.test:team/app.git", policy, tmp_path, connect_timeout_s=7)

    arguments = record.read_text()
    assert f"-o HostName={PUBLIC} -o HostKeyAlias=git.test" in arguments
    assert "-o ConnectTimeout=7" in arguments
    assert "-o BatchMode=yes" in arguments


@pytest.mark.parametrize(
    ("url", "said"),
    [
        # no TLS handshake: given up on by Rivetr's own connection, which git 2.39 lacks
        ("https://127.0.0.1:{port}/x.git", "within 1 s"),
        # no greeting: given up on by ssh's ConnectTimeout
        ("ssh://git@127.0.0.1:{port}/x.git", "banner exchange"),
    ],
)
async def test_a_server_that_accepts_but_never_answers_is_given_up_on_at_the_connect_timeout(
    listener: Listener, tmp_path: Path, url: str, said: str
) -> None:
    if url.startswith("ssh") and shutil.which("ssh") is None:
        pytest.skip("no ssh client")
    policy = RepositoryPolicy(allow_private=True)

    with pytest.raises(SourceError, match="cannot connect to") as caught:
        await fetch(url.format(port=listener.port), policy, tmp_path, connect_timeout_s=1)

    assert said in f"{caught.value} {caught.value.log}"


def add_submodule(repo: Path, name: str, url: str) -> None:
    """Record a submodule at `url` without fetching it (as a hostile repository would)."""
    (repo / ".gitmodules").write_text(f'[submodule "{name}"]\n\tpath = {name}\n\turl = {url}\n')
    git("update-index", "--add", "--cacheinfo", f"160000,{'1' * 40},{name}", cwd=repo)
    git("add", ".gitmodules", cwd=repo)
    git("commit", "--quiet", "-m", f"Add {name}", cwd=repo)


@pytest.mark.parametrize(
    ("submodule", "reason"),
    [
        ("https://127.0.0.1:{port}/lib.git", "127.0.0.1 is a loopback address"),
        ("ext::sh -c touch% {marker}", "cannot contain spaces"),
        ("ext::sh", "runs a program"),
        ("../../outside/secret", "outside the directories"),
        ("{outside}/secret", "outside the directories"),
    ],
)
async def test_a_submodule_is_held_to_the_same_rules_before_it_is_fetched(
    allowed: Path, listener: Listener, tmp_path: Path, submodule: str, reason: str
) -> None:
    marker = tmp_path / "pwned"
    url = submodule.format(port=listener.port, marker=marker, outside=tmp_path / "outside")
    add_submodule(allowed / "app", "lib", url)
    policy = RepositoryPolicy(local_dirs=[allowed])

    with pytest.raises(SourceError, match=r"the submodules of .* could not be fetched") as caught:
        await fetch(str(allowed / "app"), policy, tmp_path)

    assert f"submodule lib: {url}" in str(caught.value) or "../" in url
    assert reason in str(caught.value)
    assert listener.accepted == []
    assert not marker.exists()
    assert not (tmp_path / "out").exists()


@pytest.mark.docker
async def test_a_deployment_fails_at_its_source_step_when_its_host_now_resolves_to_loopback(
    listener: Listener, tmp_path: Path
) -> None:
    await (await connect_real_engine()).close()  # the pipeline needs an engine before fetching
    dns = StaticResolver({"repo.test": [PUBLIC]})
    settings = Settings(
        data_dir=str(tmp_path / "data"), poll_interval_s=0.2, proxy_enabled=False, acme_auto=False
    )
    services = await Services.open(settings, resolver=dns)
    try:
        async with services.background():
            with anyio.fail_after(20):
                await services.engine.ready.wait()
            url = f"https://repo.test:{listener.port}/app.git"
            await services.apps.handle(SYSTEM, CreateApp(name="web", git_url=url))  # public then

            dns.answer("repo.test", ["127.0.0.1"])
            deployment_id = await services.deployments.request(SYSTEM, "web")
            await wait_for_status(services, deployment_id, {"failed"})
            failed = await services.read.deployments.by_id(deployment_id)
    finally:
        await services.close()

    assert failed is not None
    assert failed.failed_step == "source"
    assert "repo.test resolves to a loopback address" in (failed.failure_reason or "")
    assert listener.accepted == []
