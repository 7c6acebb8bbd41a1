"""The git source adapter: fetch the one commit a deployment builds into a fresh work tree.

It drives the `git` CLI (see `gitcli.py`) with shallow fetches, and is the one place where git's
failures become a `SourceError` a user can act on.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import anyio
import anyio.to_thread
import msgspec

from rivetr.adapters.source.gitcli import (
    GitFailed,
    GitSession,
    fetchable,
    git_env,
    is_local,
    shown_url,
    ssh_command,
    token_header,
    write_key,
)

_SHA = re.compile(r"[0-9a-f]{4,64}")
_FULL_SHA_LENGTHS = (40, 64)  # SHA-1 and SHA-256 object names
_MESSAGE_MAX = 200
# stderr fragments (LC_ALL=C) -> what went wrong; the first match wins.
_NOT_SERVED = ("not our ref", "unadvertised object")
_ACCESS = (
    "does not appear to be a git repository",
    "repository not found",
    "not found",
    "authentication failed",
    "could not read username",
    "could not read password",
    "permission denied",
    "returned error: 401",
    "returned error: 403",
)
_CONNECT = ("failed to connect", "connection refused", "connection timed out", "unreachable")
_RESOLVE = ("could not resolve host",)
_HOST_KEY = ("host key verification failed",)
_TLS = ("ssl certificate problem", "certificate verification failed")
_KEY = ("load key", "invalid format")
_SCHEME = ("unsupported url protocol", "unable to find remote helper", "not allowed")


class SourceError(Exception):
    """The source could not be fetched; the message says why, `log` holds git's stderr."""

    def __init__(self, message: str, log: str = "") -> None:
        super().__init__(message)
        self.log = log


class Checkout(msgspec.Struct, frozen=True, kw_only=True):
    path: Path  # the work tree; its .git stays, builders ignore it
    commit_sha: str
    commit_message: str  # the subject line, at most 200 characters
    author: str  # "Name <email>"
    committed_at: str  # ISO 8601, with the committer's offset


async def fetch_source(
    url: str,
    *,
    branch: str,
    commit: str | None,
    dest: Path,
    deploy_key: str | None = None,
    token: str | None = None,
    timeout_s: float = 300.0,
    on_output: Callable[[str], None] | None = None,
) -> Checkout:
    """Fetch `commit` (or the tip of `branch`) of the repository at `url` into `dest`.

    Args:
        url: anything `git clone` takes: https://, ssh (`git@host:path`), a path, file://.
        branch: the branch to build; its tip when `commit` is None, and where to look for
            `commit` when the server will not serve that commit directly.
        commit: the exact commit to check out (full or abbreviated SHA), or None.
        dest: the work tree to create; anything already there is removed first.
        deploy_key: an SSH private key (its text) for ssh URLs.
        token: an access token for https URLs, sent as a Basic Authorization header to that
            host only; it never appears in the URL, the process list, the log or a message.
        timeout_s: the budget for the whole fetch; git and its helpers are killed past it.
        on_output: called on the event loop with each of git's progress lines.

    Returns:
        The checkout: its path, the commit's full SHA, subject line, author and date.

    Raises:
        SourceError: the repository, branch or commit cannot be fetched, git is missing,
            or the fetch timed out. `dest` does not exist afterwards.
    """
    where = shown_url(url)
    if not url or url.startswith("-"):
        raise SourceError(f"{where!r} is not a repository URL")
    if commit is not None:
        commit = commit.strip().lower()
        if not _SHA.fullmatch(commit):
            raise SourceError(f"commit {commit!r} is not a commit SHA (4 to 64 hex digits)")
    if shutil.which("git") is None:
        raise SourceError("git is not installed (no `git` command on PATH)")
    local = is_local(url)
    remote = fetchable(url)
    config = {"init.defaultBranch": "main"}
    secrets: tuple[str, ...] = ()
    if token and url.lower().startswith("https://"):
        key, value = token_header(url, token)
        config[key] = value
        secrets = (token, value.rpartition(" ")[2])
    key_dir: Path | None = None
    try:
        if deploy_key:
            key_dir = await anyio.to_thread.run_sync(write_key, deploy_key)
        ssh = ssh_command(key_dir / "deploy_key") if key_dir else None
        git = GitSession(git_env(config, ssh=ssh), secrets=secrets, on_output=on_output)
        with anyio.move_on_after(timeout_s):
            try:
                return await _fetch(git, remote, branch, commit, dest, local=local)
            except GitFailed as exc:
                message = _explain(exc, where, branch, commit, token=token, key=deploy_key)
                raise SourceError(message, git.log()) from exc
        raise SourceError(f"fetching {where} timed out after {timeout_s:g}s", git.log())
    except BaseException:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(_remove, dest)
        raise
    finally:
        if key_dir is not None:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(shutil.rmtree, key_dir, True)


async def _fetch(
    git: GitSession, remote: str, branch: str, commit: str | None, dest: Path, *, local: bool
) -> Checkout:
    await anyio.to_thread.run_sync(_prepare, dest)
    await git.run("check-ref-format", f"refs/heads/{branch}")
    await git.run("init", "--quiet", cwd=dest)
    await git.run("remote", "add", "origin", remote, cwd=dest)
    fetch = ("fetch", "--progress", "--no-tags", "origin")
    refspec = f"+refs/heads/{branch}:refs/remotes/origin/{branch}"
    if commit is not None and len(commit) not in _FULL_SHA_LENGTHS:
        await git.run(*fetch, refspec, cwd=dest)  # git cannot ask for an abbreviated SHA
    else:
        try:
            await git.run(*fetch, "--depth=1", commit or refspec, cwd=dest)
        except GitFailed as exc:
            # Protocol v2 servers (git's default since 2.26, GitHub, GitLab) hand out a commit
            # by SHA; v0 ones only advertised refs, dumb http nothing shallow: take the branch.
            if not _matches(exc.stderr, (*_NOT_SERVED, "does not support shallow")):
                raise
            await git.run(*fetch, refspec, cwd=dest)
    wanted = f"{commit or 'FETCH_HEAD'}^{{commit}}"
    sha = (await git.run("rev-parse", "--verify", "--quiet", wanted, cwd=dest)).strip()
    await git.run("checkout", "--quiet", "--detach", sha, cwd=dest)
    if (dest / ".gitmodules").exists():
        # Submodules reached by path only when the project itself is local: a remote
        # repository must not make us read other repositories on this machine.
        allow = ("-c", "protocol.file.allow=always") if local else ()
        submodule = ("submodule", "update", "--init", "--recursive", "--depth=1", "--progress")
        await git.run(*allow, *submodule, cwd=dest)
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


def _explain(
    exc: GitFailed,
    where: str,
    branch: str,
    commit: str | None,
    *,
    token: str | None,
    key: str | None,
) -> str:
    """What a failed git command means, in words a user can act on."""
    stderr = exc.stderr
    if exc.command == "check-ref-format":
        return f"{branch!r} is not a valid branch name"
    if exc.command == "rev-parse" or (commit and _matches(stderr, _NOT_SERVED)):
        return f"commit {commit} not found in {where} (branch {branch!r})"
    if exc.command == "submodule":
        why = _first_error(stderr)
        if "transport 'file' not allowed" in stderr:
            why = "a remote repository may not use submodules from this machine's disk"
        return f"the submodules of {where} could not be fetched: {why}"
    if "couldn't find remote ref" in stderr.lower():
        return f"branch {branch!r} not found in {where}"
    if "dubious ownership" in stderr.lower():
        return f"{where} belongs to another user: add it to git's safe.directory to fetch it"
    if _matches(stderr, _HOST_KEY):
        return f"the SSH host key of {where} is unknown or has changed (check known_hosts)"
    if key and _matches(stderr, _KEY):
        return "the deploy key is not a valid SSH private key"
    if _matches(stderr, _RESOLVE):
        return f"cannot resolve the host of {where}"
    if _matches(stderr, _CONNECT):
        return f"cannot connect to {where}"
    if _matches(stderr, _TLS):
        return f"the TLS certificate of {where} is not trusted"
    if _matches(stderr, _ACCESS):
        hint = "a private repository needs a token or a deploy key"
        if token or key:
            hint = "check the token" if token else "check the deploy key"
        return f"repository {where} not found or access denied ({hint})"
    if _matches(stderr, _SCHEME):
        return f"{where} is not a repository URL git can fetch"
    return f"git {exc.command} failed for {where}: {_first_error(stderr)}"


def _matches(stderr: str, fragments: tuple[str, ...]) -> bool:
    lowered = stderr.lower()
    return any(fragment in lowered for fragment in fragments)


def _first_error(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith(("fatal:", "error:"))]
    return (errors or lines or ["no error output"])[0]


def _prepare(dest: Path) -> None:
    _remove(dest)
    dest.mkdir(parents=True)


def _remove(dest: Path) -> None:
    if dest.is_symlink() or dest.is_file():
        dest.unlink()
    elif dest.exists():
        shutil.rmtree(dest)
