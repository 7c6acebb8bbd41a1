"""Fetching a checkout's submodules one level at a time, each URL checked before git uses it.

A repository chooses its submodules' URLs: left to `git submodule update --recursive`, they
would reach whatever the repository names (this machine's disk, an internal address).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path

from rivetr.adapters.source.gitcli import GitFailed, GitSession

_MAX_DEPTH = 8


class SubmoduleRefused(Exception):
    """A submodule is not fetched; the message says which and why."""


async def update_submodules(
    git: GitSession,
    root: Path,
    check: Callable[[str, str], Awaitable[Mapping[str, str]]],
    depth: int = 0,
) -> None:
    """Fetch the submodules of the work tree at `root` at their recorded commits, then theirs.

    `check(name, url)` is awaited for every submodule's URL (relative ones made absolute by
    git) before any is fetched; it raises SubmoduleRefused to stop, or returns the environment
    to fetch that submodule with.
    """
    if not (root / ".gitmodules").exists():
        return
    if depth >= _MAX_DEPTH:
        raise SubmoduleRefused(f"submodules nest deeper than {_MAX_DEPTH} levels")
    await git.run("submodule", "init", cwd=root)
    paths = dict(await _config(git, root, "--file=.gitmodules", r"^submodule\..*\.path$"))
    checked = []
    for key, url in await _config(git, root, "--local", r"^submodule\..*\.url$"):
        name = key.removeprefix("submodule.").removesuffix(".url")
        env = await check(name, url)
        if (path := paths.get(f"submodule.{name}.path")) is not None:
            checked.append((path, env))
    for path, env in checked:
        update = ("submodule", "update", "--depth=1", "--progress", "--", path)
        await git.run(*update, cwd=root, env=env)
        inner = root / path  # git keeps submodule paths inside the work tree
        if (inner / ".git").exists():
            await update_submodules(git, inner, check, depth + 1)


async def _config(git: GitSession, root: Path, where: str, pattern: str) -> list[tuple[str, str]]:
    try:
        listed = await git.run("config", where, "--null", "--get-regexp", pattern, cwd=root)
    except GitFailed as exc:
        if exc.returncode == 1:  # no such key
            return []
        raise
    entries = [entry.partition("\n") for entry in listed.split("\0") if entry]
    return [(key, value) for key, _, value in entries]
