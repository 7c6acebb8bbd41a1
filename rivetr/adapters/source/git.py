"""The git source adapter: fetch the one commit a deployment builds into a fresh work tree.

It drives the `git` CLI (see `gitcli.py`) with shallow fetches, and is the one place where git's
failures become a `SourceError` a user can act on.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import NamedTuple

import anyio
import anyio.to_thread

from rivetr.adapters.source.base import Checkout as Checkout
from rivetr.adapters.source.base import SourceError as SourceError
from rivetr.adapters.source.failures import NOT_SERVED, explain, matches
from rivetr.adapters.source.gitcli import (
    GitFailed,
    GitSession,
    git_env,
    shown_url,
    ssh_command,
    token_header,
    write_key,
)
from rivetr.adapters.source.policy import RepositoryPolicy, Unresolved, Vetted
from rivetr.adapters.source.reach import Unreachable, reach
from rivetr.adapters.source.submodules import SubmoduleRefused, update_submodules
from rivetr.domain.repository import RepositoryRefused, parse_repository

_SHA = re.compile(r"[0-9a-f]{4,64}")
_FULL_SHA_LENGTHS = (40, 64)  # SHA-1 and SHA-256 object names
_MESSAGE_MAX = 200
# a transfer slower than 1 byte/s for this long is abandoned (git's http.lowSpeedTime)
_STALL_S = 30


class GitSource:
    """The source port over git, within the instance's repository policy."""

    def __init__(self, policy: RepositoryPolicy) -> None:
        self.policy = policy

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
        return await fetch_source(
            url,
            policy=self.policy,
            branch=branch,
            commit=commit,
            dest=dest,
            deploy_key=deploy_key,
            token=token,
            on_output=on_output,
        )


async def fetch_source(
    url: str,
    *,
    policy: RepositoryPolicy,
    branch: str,
    commit: str | None,
    dest: Path,
    deploy_key: str | None = None,
    token: str | None = None,
    timeout_s: float = 300.0,
    connect_timeout_s: float = 10.0,
    on_output: Callable[[str], None] | None = None,
) -> Checkout:
    """Fetch `commit` (or the tip of `branch`) of the repository at `url` into `dest`.

    Args:
        url: https://, ssh:// or scp-style `user@host:path`; a local path or file:// URL and
            http:// only as far as `policy` allows.
        policy: the instance's rules, checked here again (the host's addresses, the real path)
            before git runs, and for each submodule before it is fetched.
        branch: the branch to build; its tip when `commit` is None, and where to look for
            `commit` when the server will not serve that commit directly.
        commit: the exact commit to check out (full or abbreviated SHA), or None.
        dest: the work tree to create; anything already there is removed first.
        deploy_key: an SSH private key (its text) for ssh URLs.
        token: an access token for https URLs, sent as a Basic Authorization header to that
            host only; it never appears in the URL, the process list, the log or a message.
        timeout_s: the budget for the whole fetch; git and its helpers are killed past it.
        connect_timeout_s: how long a server has to accept a connection (and for https a TLS
            handshake, for ssh its greeting).
        on_output: called on the event loop with each of git's progress lines.

    Returns:
        The checkout: its path, the commit's full SHA, subject line, author and date.

    Raises:
        SourceError: the URL is refused by the policy, the repository, branch or commit cannot
            be fetched, git is missing, or the fetch timed out. `dest` does not exist afterwards.
    """
    where = shown_url(url)
    if commit is not None:
        commit = commit.strip().lower()
        if not _SHA.fullmatch(commit):
            raise SourceError(f"commit {commit!r} is not a commit SHA (4 to 64 hex digits)")
    if shutil.which("git") is None:
        raise SourceError("git is not installed (no `git` command on PATH)")
    config = {
        "init.defaultBranch": "main",
        **policy.git_config(),
        "http.lowSpeedLimit": "1",
        "http.lowSpeedTime": str(_STALL_S),
    }
    secrets: tuple[str, ...] = ()
    if token and url.startswith("https://"):
        key, value = token_header(url, token)
        config[key] = value
        secrets = (token, value.rpartition(" ")[2])
    key_dir: Path | None = None
    try:
        if deploy_key:
            key_dir = await anyio.to_thread.run_sync(write_key, deploy_key)
        key_path = key_dir / "deploy_key" if key_dir else None
        ssh = ssh_command(key_path, connect_timeout_s=connect_timeout_s)
        git = GitSession(git_env(config, ssh=ssh), secrets=secrets, on_output=on_output)
        with anyio.move_on_after(timeout_s):
            admit = partial(_admit, git, policy, ssh=ssh, connect_timeout_s=connect_timeout_s)
            try:
                return await _fetch(git, await admit(url), branch, commit, dest, admit)
            except GitFailed as exc:
                message = explain(exc, where, branch, commit, token=token, key=deploy_key)
                raise SourceError(message, git.log()) from exc
            except SubmoduleRefused as exc:
                message = f"the submodules of {where} could not be fetched: {exc}"
                raise SourceError(message, git.log()) from None
        raise SourceError(f"fetching {where} timed out after {timeout_s:g}s", git.log())
    except BaseException:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(_remove, dest)
        raise
    finally:
        if key_dir is not None:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(shutil.rmtree, key_dir, True)


class _Admitted(NamedTuple):
    vetted: Vetted
    env: dict[str, str]  # for the git commands that reach it


async def _admit(
    git: GitSession,
    policy: RepositoryPolicy,
    url: str,
    *,
    ssh: str | None,
    connect_timeout_s: float,
) -> _Admitted:
    """Check `url` against the policy now, pin its addresses for git (curl for every later
    command; ssh for the commands given the env returned), and reach its server."""
    where = shown_url(url)
    try:
        vetted = await policy.vet(url, must_resolve=True)
    except RepositoryRefused as exc:
        raise SourceError(f"{where} is refused: {exc}") from None
    except Unresolved:
        raise SourceError(f"cannot resolve the host of {where}") from None
    if vetted.pin is not None:
        git.add_config("http.curloptResolve", vetted.pin)
    try:
        await reach(vetted, connect_timeout_s)
    except Unreachable as exc:
        raise SourceError(f"cannot connect to {where} ({exc})") from None
    env = {}
    if ssh is not None and (pin := vetted.ssh_pin) is not None:
        # ssh would resolve the name again; the host key is still looked up under the name
        address, host = pin
        env["GIT_SSH_COMMAND"] = f"{ssh} -o HostName={address} -o HostKeyAlias={host}"
    return _Admitted(vetted, env)


async def _fetch(
    git: GitSession,
    remote: _Admitted,
    branch: str,
    commit: str | None,
    dest: Path,
    admit: Callable[[str], Awaitable[_Admitted]],
) -> Checkout:
    await anyio.to_thread.run_sync(_prepare, dest)
    await git.run("check-ref-format", f"refs/heads/{branch}")
    await git.run("init", "--quiet", cwd=dest)
    await git.run("remote", "add", "origin", remote.vetted.target, cwd=dest)
    fetch = ("fetch", "--progress", "--no-tags", "origin")
    refspec = f"+refs/heads/{branch}:refs/remotes/origin/{branch}"
    if commit is not None and len(commit) not in _FULL_SHA_LENGTHS:
        # git cannot ask for an abbreviated SHA
        await git.run(*fetch, refspec, cwd=dest, env=remote.env)
    else:
        try:
            await git.run(*fetch, "--depth=1", commit or refspec, cwd=dest, env=remote.env)
        except GitFailed as exc:
            # Protocol v2 servers (git's default since 2.26, GitHub, GitLab) hand out a commit
            # by SHA; v0 ones only advertised refs, dumb http nothing shallow: take the branch.
            if not matches(exc.stderr, (*NOT_SERVED, "does not support shallow")):
                raise
            await git.run(*fetch, refspec, cwd=dest, env=remote.env)
    wanted = f"{commit or 'FETCH_HEAD'}^{{commit}}"
    sha = (await git.run("rev-parse", "--verify", "--quiet", wanted, cwd=dest)).strip()
    await git.run("checkout", "--quiet", "--detach", sha, cwd=dest)
    from_remote = remote.vetted.repository.kind != "local"
    await update_submodules(git, dest, partial(_check_submodule, admit, remote=from_remote))
    format_ = "--format=%H%x00%an%x00%ae%x00%cI%x00%B"
    shown = await git.run("show", "--no-patch", "--no-show-signature", format_, sha, cwd=dest)
    sha, name, email, committed_at, body = shown.split("\0", 4)
    subject = next(iter(body.strip().splitlines()), "")
    if len(subject) > _MESSAGE_MAX:
        subject = subject[: _MESSAGE_MAX - 1] + "…"
    return Checkout(
        path=dest,
        commit_sha=sha,
        commit_message=subject,
        author=f"{name} <{email}>",
        committed_at=committed_at,
    )


async def _check_submodule(
    admit: Callable[[str], Awaitable[_Admitted]], name: str, url: str, *, remote: bool
) -> dict[str, str]:
    """Refuse a submodule the policy refuses, and a local one in a remote repository: that
    must not make us read other repositories on this machine, allowed or not."""
    try:
        local = parse_repository(url).kind == "local"
    except RepositoryRefused:
        local = False  # admit says why
    if local and remote:
        reason = "a remote repository may not use submodules from this machine's disk"
        raise SubmoduleRefused(reason)
    try:
        return (await admit(url)).env
    except SourceError as exc:
        raise SubmoduleRefused(f"submodule {name}: {exc}") from None


def _prepare(dest: Path) -> None:
    _remove(dest)
    dest.mkdir(parents=True)


def _remove(dest: Path) -> None:
    if dest.is_symlink() or dest.is_file():
        dest.unlink()
    elif dest.exists():
        shutil.rmtree(dest)
