"""Bitbucket Cloud deliveries: `X-Event-Key` names the event ("repo:push"...) and
`X-Hub-Signature` carries `sha256=<hex HMAC-SHA256>` (GitHub's legacy header name, SHA-256 value).

Bitbucket lists no changed files, so its pushes never satisfy watch paths by themselves."""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from rivetr.adapters.webhooks import signatures
from rivetr.adapters.webhooks.base import Hook, MalformedPayload, decode, from_fork
from rivetr.adapters.webhooks.github import other_hook

PR_EVENTS = {
    "pullrequest:created": "opened",
    "pullrequest:updated": "synchronized",  # also fires for title edits; go-scm reads it so
    "pullrequest:fulfilled": "merged",
    "pullrequest:rejected": "closed",  # declined
}
_REF_PREFIXES = {"branch": "refs/heads/", "tag": "refs/tags/"}


class _Target(msgspec.Struct):
    hash: str | None = None
    message: str | None = None


class _RefState(msgspec.Struct):
    type: str
    name: str
    target: _Target | None = None


class _Change(msgspec.Struct):
    new: _RefState | None = None  # null: the ref was deleted
    old: _RefState | None = None  # null: the ref was created
    created: bool | None = None
    closed: bool | None = None


class _Push(msgspec.Struct):
    changes: list[_Change]


class _Href(msgspec.Struct):
    href: str | None = None


class _Links(msgspec.Struct):
    html: _Href | None = None


class _Repository(msgspec.Struct):
    links: _Links | None = None
    uuid: str | None = None
    full_name: str | None = None


class PushPayload(msgspec.Struct):
    push: _Push
    repository: _Repository | None = None


class _Name(msgspec.Struct):
    name: str | None = None


class _Endpoint(msgspec.Struct):
    branch: _Name | None = None
    commit: _Target | None = None  # a 12-character abbreviated hash in real payloads
    repository: _Repository | None = None


class _PullRequest(msgspec.Struct):
    id: int | None = None  # the number users see
    state: str | None = None
    source: _Endpoint | None = None
    destination: _Endpoint | None = None


class PullRequestPayload(msgspec.Struct):
    pullrequest: _PullRequest
    repository: _Repository | None = None


def _clone_url(repository: _Repository | None) -> str | None:
    html = repository.links.html if repository and repository.links else None
    return f"{html.href}.git" if html and html.href else None


def _hash(state: _RefState | None) -> str | None:
    return state.target.hash if state is not None and state.target is not None else None


def _push(event: str, body: bytes) -> Hook:
    what = f"bitbucket {event} payload"
    payload = decode(body, PushPayload, what)
    if not payload.push.changes:
        raise MalformedPayload(f"{what}: `push.changes` is empty, no ref moved")
    # One push may move several refs; Rivetr reads the first change only, as go-scm does.
    # Pushing several branches at once is rare, and each is then seen on its next push.
    change = payload.push.changes[0]
    current = change.new or change.old
    if current is None:
        raise MalformedPayload(f"{what}: a change with neither `new` nor `old`")
    prefix = _REF_PREFIXES.get(current.type)
    if prefix is None:
        raise MalformedPayload(f"{what}: unknown ref type {current.type!r}")
    deleted = change.new is None
    created = not deleted and (change.old is None or bool(change.created))
    target = change.new.target if change.new is not None else None
    is_tag = current.type == "tag"
    return Hook(
        provider="bitbucket",
        event=event,
        kind="push",
        action="deleted" if deleted else "created" if created else None,
        ref=prefix + current.name,
        branch=None if is_tag else current.name,
        tag=current.name if is_tag else None,
        before=_hash(change.old),
        after=_hash(change.new),
        commit_sha=_hash(change.new),
        commit_message=target.message if target is not None else None,
        changed_files=None,
        repo_url=_clone_url(payload.repository),
    )


def _pull_request(event: str, action: str, body: bytes) -> Hook:
    payload = decode(body, PullRequestPayload, f"bitbucket {event} payload")
    pr = payload.pullrequest
    source = pr.source or _Endpoint()
    target = pr.destination or _Endpoint()
    head, base = source.repository or _Repository(), target.repository or _Repository()
    return Hook(
        provider="bitbucket",
        event=event,
        kind="pull_request",
        action=action,
        # Bitbucket Cloud advertises no pull-request ref to fetch, so none is named
        commit_sha=source.commit.hash if source.commit else None,
        pr_number=pr.id,
        pr_source_branch=source.branch.name if source.branch else None,
        pr_target_branch=target.branch.name if target.branch else None,
        pr_merged=action == "merged" or pr.state == "MERGED",
        pr_from_fork=from_fork((head.uuid, base.uuid), (head.full_name, base.full_name)),
        pr_source_url=_clone_url(source.repository),
        repo_url=_clone_url(payload.repository),
    )


def event_name(headers: Mapping[str, str]) -> str | None:
    return headers.get("x-event-key") or None


def delivery_id(headers: Mapping[str, str]) -> str | None:
    return headers.get("x-request-uuid") or None


def verify(headers: Mapping[str, str], body: bytes, secret: str) -> signatures.SignatureCheck:
    value = headers.get("x-hub-signature")
    return signatures.check_hmac_sha256(value, secret, body, prefix="sha256=")


def check_headers(headers: Mapping[str, str], secret: str) -> signatures.SignatureCheck | None:
    return signatures.hmac_sha256_shape(headers.get("x-hub-signature"), secret, prefix="sha256=")


def parse(headers: Mapping[str, str], body: bytes) -> Hook:
    event = event_name(headers)
    if event is None:
        raise MalformedPayload("no X-Event-Key header: the delivery does not say what it is")
    if event == "repo:push":
        return _push(event, body)
    action = PR_EVENTS.get(event)
    if action is not None:
        return _pull_request(event, action, body)
    return other_hook("bitbucket", event, body)
