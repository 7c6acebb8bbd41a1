"""Git for the benchmarks' local repositories: a fixed identity and PATH, so that a commit
works on a machine with no git configuration and its hooks or aliases change nothing."""

from __future__ import annotations

import subprocess
from pathlib import Path

IDENTITY = {
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@rivetr.invalid",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@rivetr.invalid",
    "PATH": "/usr/bin:/bin",
}


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, env=IDENTITY, check=True, capture_output=True)


def first_commit(repo: Path) -> None:
    """`repo` (its files written) made a repository on `main` with them as its one commit."""
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "v1"]):
        git(repo, *args)
