"""What a failed git command means, in words a user can act on: git's error output (in English,
LC_ALL=C) read for the fragments that tell one failure from another."""

from __future__ import annotations

from rivetr.adapters.source.gitcli import GitFailed

# stderr fragments (LC_ALL=C) -> what went wrong; the first match wins.
NOT_SERVED = ("not our ref", "unadvertised object")
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
_STALLED = ("operation too slow",)
_REDIRECT = ("returned error: 301", "returned error: 302", "returned error: 307", "error: 308")


def explain(
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
    if exc.command == "rev-parse" or (commit and matches(stderr, NOT_SERVED)):
        return f"commit {commit} not found in {where} (branch {branch!r})"
    if exc.command == "submodule":
        why = _first_error(stderr)
        return f"the submodules of {where} could not be fetched: {why}"
    if matches(stderr, _REDIRECT):
        return f"{where} redirects elsewhere: set git_url to the repository's own address"
    if "couldn't find remote ref" in stderr.lower():
        return f"branch {branch!r} not found in {where}"
    if "dubious ownership" in stderr.lower():
        return f"{where} belongs to another user: add it to git's safe.directory to fetch it"
    if matches(stderr, _HOST_KEY):
        return f"the SSH host key of {where} is unknown or has changed (check known_hosts)"
    if key and matches(stderr, _KEY):
        return "the deploy key is not a valid SSH private key"
    if matches(stderr, _RESOLVE):
        return f"cannot resolve the host of {where}"
    if matches(stderr, _CONNECT):
        return f"cannot connect to {where}"
    if matches(stderr, _STALLED):
        return f"{where} stopped sending (the transfer stalled)"
    if matches(stderr, _TLS):
        return f"the TLS certificate of {where} is not trusted"
    if matches(stderr, _ACCESS):
        hint = "a private repository needs a token or a deploy key"
        if token or key:
            hint = "check the token" if token else "check the deploy key"
        return f"repository {where} not found or access denied ({hint})"
    if matches(stderr, _SCHEME):
        return f"{where} is not a repository URL git can fetch"
    return f"git {exc.command} failed for {where}: {_first_error(stderr)}"


def matches(stderr: str, fragments: tuple[str, ...]) -> bool:
    lowered = stderr.lower()
    return any(fragment in lowered for fragment in fragments)


def _first_error(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith(("fatal:", "error:"))]
    return (errors or lines or ["no error output"])[0]
