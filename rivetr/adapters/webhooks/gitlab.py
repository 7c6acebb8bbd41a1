"""GitLab deliveries: `X-Gitlab-Event` names the event ("Push Hook"...), and `X-Gitlab-Token`
carries the shared secret in clear; the body itself is not signed."""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from rivetr.adapters.webhooks import signatures
from rivetr.adapters.webhooks.base import (
    Hook,
    MalformedPayload,
    PushedCommit,
    decode,
    files_changed,
    from_fork,
    is_zero_sha,
    message_of,
    ref_names,
)
from rivetr.adapters.webhooks.github import other_hook

# the header's names and the body's object_kind for the events Rivetr acts on
_HEADER_KINDS = {
    "Push Hook": "push",
    "Tag Push Hook": "tag_push",
    "Merge Request Hook": "merge_request",
}
MR_ACTIONS = {"open": "opened", "reopen": "reopened", "close": "closed", "merge": "merged"}


class _ObjectKind(msgspec.Struct):
    object_kind: str | None = None


class _Project(msgspec.Struct):
    git_http_url: str | None = None
    path_with_namespace: str | None = None


class PushPayload(msgspec.Struct):
    ref: str
    after: str
    before: str | None = None
    # the commit to check out: differs from `after` for an annotated tag (whose `after` is
    # the tag object), null on a deletion
    checkout_sha: str | None = None
    commits: list[PushedCommit] | None = None  # oldest first, at most the newest 20
    total_commits_count: int | None = None
    project: _Project | None = None
    repository: _Project | None = None  # older payloads: same URL fields as `project`


class _LastCommit(msgspec.Struct):
    id: str | None = None
    message: str | None = None


class _Attributes(msgspec.Struct):
    iid: int | None = None  # the number users see; `id` is instance-wide
    action: str | None = None
    state: str | None = None
    source_branch: str | None = None
    target_branch: str | None = None
    oldrev: str | None = None  # only when the update pushed code
    last_commit: _LastCommit | None = None
    source_project_id: int | None = None  # where the head lives...
    target_project_id: int | None = None  # ...and where it would merge
    source: _Project | None = None
    target: _Project | None = None


class MergeRequestPayload(msgspec.Struct):
    object_attributes: _Attributes
    project: _Project | None = None


def _clone_url(*sources: _Project | None) -> str | None:
    for source in sources:
        if source is not None and source.git_http_url:
            return source.git_http_url
    return None


def _push(event: str, body: bytes) -> Hook:
    push = decode(body, PushPayload, f"gitlab {event} payload")
    deleted = is_zero_sha(push.after)
    created = not deleted and is_zero_sha(push.before)
    commit_sha = None if deleted else (push.checkout_sha or push.after)
    branch, tag = ref_names(push.ref)
    return Hook(
        provider="gitlab",
        event=event,
        kind="push",
        action="deleted" if deleted else "created" if created else None,
        ref=push.ref,
        branch=branch,
        tag=tag,
        before=push.before,
        after=push.after,
        commit_sha=commit_sha,
        # GitLab has no head_commit: find the checked-out commit in the list (oldest first,
        # so not simply the first entry)
        commit_message=None if deleted else message_of(push.commits, commit_sha, push.after),
        changed_files=files_changed(push.commits, created=created, total=push.total_commits_count),
        repo_url=_clone_url(push.project, push.repository),
    )


def _action(attributes: _Attributes) -> str | None:
    action = attributes.action
    if action == "update":
        # GitLab's "update" covers title edits too; `oldrev` marks new commits
        return "synchronized" if attributes.oldrev else "updated"
    return MR_ACTIONS.get(action, action) if action is not None else None


def _merge_request(event: str, body: bytes) -> Hook:
    payload = decode(body, MergeRequestPayload, f"gitlab {event} payload")
    attributes = payload.object_attributes
    last = attributes.last_commit or _LastCommit()
    number = attributes.iid
    source, target = attributes.source or _Project(), attributes.target or _Project()
    return Hook(
        provider="gitlab",
        event=event,
        kind="pull_request",
        action=_action(attributes),
        ref=f"refs/merge-requests/{number}/head" if number is not None else None,
        commit_sha=last.id,
        commit_message=last.message,
        pr_number=number,
        pr_source_branch=attributes.source_branch,
        pr_target_branch=attributes.target_branch,
        pr_merged=attributes.action == "merge" or attributes.state == "merged",
        pr_from_fork=from_fork(
            (attributes.source_project_id, attributes.target_project_id),
            (source.path_with_namespace, target.path_with_namespace),
        ),
        pr_source_url=source.git_http_url,
        repo_url=_clone_url(payload.project),
    )


def event_name(headers: Mapping[str, str]) -> str | None:
    return headers.get("x-gitlab-event") or None


def delivery_id(headers: Mapping[str, str]) -> str | None:
    # Idempotency-Key (17.4+) is stable across retries; the event UUID is the older header
    return headers.get("x-gitlab-event-uuid") or headers.get("idempotency-key") or None


def verify(headers: Mapping[str, str], body: bytes, secret: str) -> signatures.SignatureCheck:
    return signatures.check_token(headers.get("x-gitlab-token"), secret)


def check_headers(headers: Mapping[str, str], secret: str) -> signatures.SignatureCheck | None:
    return verify(headers, b"", secret)  # the token is the whole check: no body needed


def parse(headers: Mapping[str, str], body: bytes) -> Hook:
    header = event_name(headers)
    kind = _HEADER_KINDS.get(header) if header is not None else None
    if header is None or header == "System Hook":
        # a system hook (or a delivery without the header) says what it is in the body
        kind = decode(body, _ObjectKind, "gitlab payload").object_kind
    event = header or kind
    if event is None:
        raise MalformedPayload(
            "no X-Gitlab-Event header and no object_kind: the delivery does not say what it is"
        )
    match kind:
        case "push" | "tag_push":
            return _push(event, body)
        case "merge_request":
            return _merge_request(event, body)
        case _:
            return other_hook("gitlab", event, body)
