"""GitHub deliveries: `X-GitHub-Event` names the event and `X-Hub-Signature-256` signs the body.

Gitea and Forgejo copy GitHub's payload shapes, so `gitea` builds its hooks with the payload
types and builders defined here, under its own provider name."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import msgspec

from rivetr.adapters.webhooks import signatures
from rivetr.adapters.webhooks.base import (
    AnyObject,
    Hook,
    MalformedPayload,
    Provider,
    PushedCommit,
    decode,
    files_changed,
    from_fork,
    is_zero_sha,
    message_of,
    ref_names,
)

# go-scm's vocabulary; an action missing here ("labeled", "assigned"...) is passed through
PR_ACTIONS = {
    "opened": "opened",
    "synchronize": "synchronized",
    "synchronized": "synchronized",  # Gitea's spelling
    "reopened": "reopened",
    "edited": "updated",
}


class Repository(msgspec.Struct):
    clone_url: str | None = None
    id: int | None = None
    full_name: str | None = None


class PushPayload(msgspec.Struct):
    ref: str
    after: str
    before: str | None = None
    # Gitea sends neither flag: the zero shas say the same thing
    created: bool | None = None
    deleted: bool | None = None
    head_commit: PushedCommit | None = None  # null on a deletion; absent in older Gitea payloads
    commits: list[PushedCommit] | None = None
    total_commits: int | None = None  # Gitea: the real count when `commits` was cut short
    repository: Repository | None = None


class RefPayload(msgspec.Struct):
    """A `create` or `delete` event: a bare ref name and what kind of ref it is."""

    ref_type: str
    ref: str | None = None  # GitHub sends null for ref_type "repository"
    sha: str | None = None  # Gitea's create event names the commit; GitHub's does not
    repository: Repository | None = None


class Branch(msgspec.Struct):
    ref: str | None = None
    sha: str | None = None
    repo: Repository | None = None  # null on GitHub once a fork is deleted


class PullRequest(msgspec.Struct):
    number: int | None = None
    merged: bool | None = None
    head: Branch | None = None  # the branch with the changes: the source
    base: Branch | None = None  # the branch they would merge into: the target


class PullRequestPayload(msgspec.Struct):
    action: str
    pull_request: PullRequest
    number: int | None = None
    before: str | None = None  # on "synchronize": the head before and after the new commits
    after: str | None = None
    repository: Repository | None = None


def _clone_url(repository: Repository | None) -> str | None:
    return repository.clone_url if repository is not None else None


def push_hook(provider: Provider, event: str, body: bytes) -> Hook:
    """A push: a branch or tag moved, was created (zero `before`) or deleted (zero `after`)."""
    push = decode(body, PushPayload, f"{provider} {event} payload")
    deleted = bool(push.deleted) or is_zero_sha(push.after)
    created = not deleted and (bool(push.created) or is_zero_sha(push.before))
    branch, tag = ref_names(push.ref)
    commit_sha = None if deleted else push.after
    message = None
    if commit_sha is not None:
        head = push.head_commit
        message = head.message if head is not None else message_of(push.commits, commit_sha)
    return Hook(
        provider=provider,
        event=event,
        kind="push",
        action="deleted" if deleted else "created" if created else None,
        ref=push.ref,
        branch=branch,
        tag=tag,
        before=push.before,
        after=push.after,
        commit_sha=commit_sha,
        commit_message=message,
        changed_files=files_changed(push.commits, created=created, total=push.total_commits),
        repo_url=_clone_url(push.repository),
    )


def ref_event_hook(provider: Provider, event: str, body: bytes, *, deleted: bool) -> Hook:
    """A `create` / `delete` event, told as the push of a created / deleted ref."""
    what = f"{provider} {event} payload"
    payload = decode(body, RefPayload, what)
    if payload.ref_type not in ("branch", "tag"):
        # e.g. GitHub's create event for a new repository: no ref moved
        return Hook(provider=provider, event=event, kind="ignored")
    if not payload.ref:
        raise MalformedPayload(f"{what}: a {payload.ref_type} event without its `ref` name")
    prefix = "refs/heads/" if payload.ref_type == "branch" else "refs/tags/"
    ref = prefix + payload.ref.removeprefix(prefix)
    branch, tag = ref_names(ref)
    return Hook(
        provider=provider,
        event=event,
        kind="push",
        action="deleted" if deleted else "created",
        ref=ref,
        branch=branch,
        tag=tag,
        before=payload.sha if deleted else None,
        after=None if deleted else payload.sha,
        commit_sha=None if deleted else payload.sha,
        repo_url=_clone_url(payload.repository),
    )


def pull_request_hook(provider: Provider, event: str, body: bytes) -> Hook:
    """A pull request event; "closed" becomes "merged" when the pull request was merged.

    The event needs its action and its pull request; what the pull request leaves out
    (number, head, base) stays None for the caller to judge."""
    payload = decode(body, PullRequestPayload, f"{provider} {event} payload")
    pr = payload.pull_request
    merged = bool(pr.merged)
    if payload.action == "closed" and merged:
        action = "merged"
    else:
        action = PR_ACTIONS.get(payload.action, payload.action)
    number = pr.number if pr.number is not None else payload.number
    head = pr.head or Branch()
    base = pr.base or Branch()
    head_repo, base_repo = head.repo or Repository(), base.repo or Repository()
    return Hook(
        provider=provider,
        event=event,
        kind="pull_request",
        action=action,
        # fetchable from the base repository even when the head branch lives in a fork
        ref=f"refs/pull/{number}/head" if number is not None else None,
        before=payload.before,
        after=payload.after,
        commit_sha=head.sha,
        pr_number=number,
        pr_source_branch=head.ref,
        pr_target_branch=base.ref,
        pr_merged=merged,
        pr_from_fork=from_fork(
            (head_repo.id, base_repo.id), (head_repo.full_name, base_repo.full_name)
        ),
        pr_source_url=head_repo.clone_url,
        repo_url=_clone_url(payload.repository),
    )


def other_hook(
    provider: Provider, event: str, body: bytes, kind: Literal["ping", "ignored"] = "ignored"
) -> Hook:
    """An event that needs nothing from its body, which must still be a JSON object."""
    decode(body, AnyObject, f"{provider} {event} payload")
    return Hook(provider=provider, event=event, kind=kind)


def event_name(headers: Mapping[str, str]) -> str | None:
    return headers.get("x-github-event") or None


def delivery_id(headers: Mapping[str, str]) -> str | None:
    return headers.get("x-github-delivery") or None


def verify(headers: Mapping[str, str], body: bytes, secret: str) -> signatures.SignatureCheck:
    # only the SHA-256 header: GitHub keeps the SHA-1 `X-Hub-Signature` for old integrations,
    # and accepting it as a fallback would let a downgraded signature through
    value = headers.get("x-hub-signature-256")
    return signatures.check_hmac_sha256(value, secret, body, prefix="sha256=")


def check_headers(headers: Mapping[str, str], secret: str) -> signatures.SignatureCheck | None:
    return signatures.hmac_sha256_shape(
        headers.get("x-hub-signature-256"), secret, prefix="sha256="
    )


def parse(headers: Mapping[str, str], body: bytes) -> Hook:
    event = event_name(headers)
    if event is None:
        raise MalformedPayload("no X-GitHub-Event header: the delivery does not say what it is")
    match event:
        case "push":
            return push_hook("github", event, body)
        case "create" | "delete":
            return ref_event_hook("github", event, body, deleted=event == "delete")
        case "pull_request":
            return pull_request_hook("github", event, body)
        case "ping":
            return other_hook("github", event, body, kind="ping")
        case _:
            return other_hook("github", event, body)
