"""One contract for the source port: `FakeSource` must fetch as `GitSource` does from real git
repositories made in a temporary directory (marked `integration`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from rivetr.adapters.source.base import SourceError, SourceFetcher
from rivetr.adapters.source.fake import FakeSource
from rivetr.adapters.source.git import GitSource
from rivetr.adapters.source.policy import RepositoryPolicy
from tests.integration.git_helpers import git

pytestmark = pytest.mark.anyio


@dataclass
class Repositories:
    """The fetcher under test, and a way to commit to a repository it can fetch from."""

    source: SourceFetcher
    root: Path

    def commit(self, name: str, files: dict[str, str], message: str, branch: str = "main") -> str:
        """Commit `files` on `branch` of repository `name`; return the commit's SHA."""
        url = self.url(name)
        if isinstance(self.source, FakeSource):
            return self.source.commit(url, files, message, branch)
        path = Path(url)
        if not path.exists():
            path.mkdir(parents=True)
            git("init", "--quiet", f"--initial-branch={branch}", cwd=path)
        elif git("branch", "--show-current", cwd=path) != branch:
            git("checkout", "--quiet", "-B", branch, cwd=path)
        for file, text in files.items():
            (path / file).write_text(text)
        git("add", "--all", cwd=path)
        git("commit", "--quiet", "-m", message, cwd=path)
        return git("rev-parse", "HEAD", cwd=path)

    def url(self, name: str) -> str:
        return str(self.root / "repos" / name)

    async def fetch(self, name: str, branch: str = "main", commit: str | None = None) -> Path:
        dest = self.root / "work" / name
        checkout = await self.source.fetch(self.url(name), branch=branch, commit=commit, dest=dest)
        assert checkout.path == dest
        return dest


@pytest.fixture(params=["fake", pytest.param("git", marks=pytest.mark.integration)])
def repositories(request: pytest.FixtureRequest, tmp_path: Path) -> Repositories:
    if request.param == "fake":
        return Repositories(FakeSource(), tmp_path)
    return Repositories(GitSource(RepositoryPolicy(local_dirs=[str(tmp_path)])), tmp_path)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_the_tip_of_the_branch_is_fetched_with_its_sha_and_subject(
    repositories: Repositories,
) -> None:
    repositories.commit("app", {"index.html": "v1"}, "first")
    sha = repositories.commit("app", {"index.html": "v2"}, "second\n\nwith a body")
    dest = repositories.root / "work" / "app"

    checkout = await repositories.source.fetch(
        repositories.url("app"), branch="main", commit=None, dest=dest
    )

    assert (checkout.commit_sha, checkout.commit_message) == (sha, "second")
    assert (dest / "index.html").read_text() == "v2"
    assert "<" in checkout.author
    assert checkout.committed_at


async def test_an_earlier_commit_is_fetched_by_its_sha_or_an_abbreviation(
    repositories: Repositories,
) -> None:
    first = repositories.commit("app", {"index.html": "v1"}, "first")
    repositories.commit("app", {"index.html": "v2"}, "second")

    for wanted in (first, first[:10]):
        dest = await repositories.fetch("app", commit=wanted)
        assert (dest / "index.html").read_text() == "v1"


async def test_another_branch_is_fetched_by_name(repositories: Repositories) -> None:
    repositories.commit("app", {"index.html": "main"}, "on main")
    repositories.commit("app", {"index.html": "feature"}, "on a branch", branch="feature")

    dest = await repositories.fetch("app", branch="feature")

    assert (dest / "index.html").read_text() == "feature"


async def test_fetching_again_into_the_same_place_replaces_what_was_there(
    repositories: Repositories,
) -> None:
    repositories.commit("app", {"old.txt": "x"}, "first")
    repositories.commit("other", {"new.txt": "y"}, "elsewhere")
    dest = await repositories.fetch("app")

    checkout = await repositories.source.fetch(
        repositories.url("other"), branch="main", commit=None, dest=dest
    )

    assert (checkout.path / "new.txt").exists()
    assert not (checkout.path / "old.txt").exists()


async def test_an_unknown_branch_is_a_source_error(repositories: Repositories) -> None:
    repositories.commit("app", {"index.html": "v1"}, "first")

    with pytest.raises(SourceError, match="branch 'mian' not found"):
        await repositories.fetch("app", branch="mian")


async def test_an_unknown_commit_is_a_source_error(repositories: Repositories) -> None:
    repositories.commit("app", {"index.html": "v1"}, "first")
    missing = "0123456789abcdef0123456789abcdef01234567"

    with pytest.raises(SourceError, match=f"commit {missing} not found"):
        await repositories.fetch("app", commit=missing)
    assert not (repositories.root / "work" / "app").exists()


async def test_a_missing_repository_is_a_source_error(repositories: Repositories) -> None:
    with pytest.raises(SourceError, match="not found or access denied"):
        await repositories.fetch("nowhere")
