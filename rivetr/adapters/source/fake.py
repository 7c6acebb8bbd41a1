"""`FakeSource`: an in-memory twin of the source port. Repositories are lists of commits (each
a set of files) that a test adds; a fetch writes the chosen commit's files into `dest` and
fails as git does for an unknown repository, branch or commit, or for a private one fetched
without its token."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path

import msgspec

from rivetr.adapters.source.base import Checkout, SourceError

AUTHOR = "Rivetr Tests <tests@rivetr.invalid>"


class FakeCommit(msgspec.Struct, frozen=True, kw_only=True):
    sha: str
    message: str
    files: dict[str, str]


class FakeSource:
    def __init__(self) -> None:
        self.repositories: dict[str, dict[str, list[FakeCommit]]] = {}  # url -> branch -> commits
        self.fetched: list[str] = []  # the SHA of every fetch, in order
        self.tokens: dict[str, str] = {}  # url -> the token a private repository takes
        self._failure: str | None = None

    def commit(self, url: str, files: dict[str, str], message: str, branch: str = "main") -> str:
        """Add a commit of `files` on top of `branch` of the repository at `url` (made when
        new); return its SHA."""
        commits = self.repositories.setdefault(url, {}).setdefault(branch, [])
        seed = f"{url}\n{branch}\n{len(commits)}\n{message}\n{sorted(files.items())}"
        sha = hashlib.sha1(seed.encode()).hexdigest()
        commits.append(FakeCommit(sha=sha, message=message, files=dict(files)))
        return sha

    def fail_next(self, message: str) -> None:
        """Make the next fetch raise SourceError(`message`)."""
        self._failure = message

    async def fetch(
        self,
        url: str,
        *,
        branch: str,
        commit: str | None,
        dest: Path,
        deploy_key: str | None = None,
        token: str | None = None,
        on_output: Callable[[str], None] | None = None,
    ) -> Checkout:
        if self._failure is not None:
            message, self._failure = self._failure, None
            raise SourceError(message)
        wanted = self.tokens.get(url)
        if wanted is not None and token != wanted:
            hint = (
                "check the token" if token else "a private repository needs a token or a deploy key"
            )
            raise SourceError(f"repository {url} not found or access denied ({hint})")
        chosen = self._find(url, branch, commit)
        _check_out(dest, chosen.files)
        if on_output is not None:
            on_output(f"HEAD is now at {chosen.sha[:7]} {chosen.message}")
        self.fetched.append(chosen.sha)
        return Checkout(
            path=dest,
            commit_sha=chosen.sha,
            commit_message=chosen.message.splitlines()[0][:200],
            author=AUTHOR,
            committed_at="2026-01-01T00:00:00+00:00",
        )

    def _find(self, url: str, branch: str, commit: str | None) -> FakeCommit:
        branches = self.repositories.get(url)
        if branches is None:
            raise SourceError(f"repository {url} not found or access denied")
        commits = branches.get(branch)
        if not commits:
            raise SourceError(f"branch {branch!r} not found in {url}")
        if commit is None:
            return commits[-1]
        wanted = commit.strip().lower()
        for candidate in reversed(commits):
            if candidate.sha.startswith(wanted):
                return candidate
        raise SourceError(f"commit {wanted} not found in {url}")


def _check_out(dest: Path, files: dict[str, str]) -> None:
    """`dest` afresh, holding `files` (a few small files: no worker thread needed)."""
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    for name, text in files.items():
        path = dest / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
