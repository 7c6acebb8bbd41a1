"""The source port: fetch the one commit a deployment builds into a fresh work tree."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import msgspec


class SourceError(Exception):
    """The source could not be fetched; the message says why, `log` holds the fetcher's output."""

    def __init__(self, message: str, log: str = "") -> None:
        super().__init__(message)
        self.log = log


class Checkout(msgspec.Struct, frozen=True, kw_only=True):
    path: Path  # the work tree; its .git stays, builders ignore it
    commit_sha: str
    commit_message: str  # the subject line, at most 200 characters
    author: str  # "Name <email>"
    committed_at: str  # ISO 8601, with the committer's offset


class SourceFetcher(Protocol):
    """Where an app's code comes from (git today)."""

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
        """Fetch `commit` (full or abbreviated SHA; the tip of `branch` when None) of the
        repository at `url` into `dest`, created afresh.

        Raises:
            SourceError: the repository, branch or commit cannot be fetched (the message says
                why, for the user); `dest` does not exist afterwards.
        """
        ...
