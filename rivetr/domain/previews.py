"""Previews of pull requests from forks: anyone who can open a pull request controls its code,
so a fork's preview starts with none of its parent's secrets and deploys a head commit only
once a developer has approved that very commit; a new head waits again, and the preview gives
the secrets back meanwhile. Pure: the state is folded from the preview app's own stream."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

import msgspec

from rivetr.domain import application
from rivetr.domain.application import AppState
from rivetr.domain.commands import ApprovePreview, AwaitPreviewApproval
from rivetr.domain.errors import AlreadyExists, InvalidCommand
from rivetr.domain.events import (
    AppCreated,
    AppDeleted,
    AppEnvChanged,
    AppGitCredentialsChanged,
    Event,
    PreviewApproved,
    PreviewAwaitingApproval,
)
from rivetr.domain.scopes import carried
from rivetr.domain.webhooks import Verdict


class PreviewGate(msgspec.Struct, frozen=True, kw_only=True):
    """A fork's preview as far as approval goes: the head commit that awaits (or was given)
    approval, None for a preview whose pull request comes from the parent's repository."""

    head: str | None = None
    approved: bool = False


def evolve(gate: PreviewGate, event: Event) -> PreviewGate:
    match event:
        case AppCreated() | AppDeleted():
            return PreviewGate()  # a preview opened again starts with nothing approved
        case PreviewAwaitingApproval():
            return PreviewGate(head=event.commit)
        case PreviewApproved() if event.commit == gate.head:
            return msgspec.structs.replace(gate, approved=True)
    return gate


def fold(app_id: str, events: Iterable[Event]) -> tuple[AppState, PreviewGate]:
    """The app `app_id` (a preview, or any app) and its gate, from its stream (the events of
    that app alone: see `application.fold`)."""
    app, gate = application.initial_state(app_id), PreviewGate()
    mine = False
    for event in events:
        if isinstance(event, AppCreated):
            mine = event.app_id == app_id
        if mine:
            app, gate = application.evolve(app, event), evolve(gate, event)
    return app, gate


def admit(verdict: Verdict, gate: PreviewGate, pr_number: int | None) -> Verdict:
    """The verdict for a preview of a fork's pull request: it deploys the head only when that
    head is the one approved; otherwise the head waits for a developer's approval."""
    if verdict.decision != "preview" or verdict.commit is None:
        return verdict
    short = verdict.commit[:12]
    if gate.approved and gate.head == verdict.commit:
        return msgspec.structs.replace(
            verdict, reason=f"{verdict.reason}; commit {short}, from a fork, is approved"
        )
    return Verdict(
        decision="pending_approval",
        commit=verdict.commit,
        reason=(
            f"pull request #{pr_number} comes from a fork: commit {short} waits for a"
            " developer's approval before it deploys with the app's secrets"
        ),
    )


def decide_await(state: tuple[AppState, PreviewGate], command: AwaitPreviewApproval) -> list[Event]:
    """Hold the preview at a new head: recorded once per head, and the parent's secrets taken
    back, so nothing deployed from here on (a "Deploy now" included) runs unreviewed code with
    them. The release already running keeps the environment it was started with.

    Raises:
        InvalidCommand: the preview does not exist, or belongs to another app.
    """
    preview, gate = state
    _require_preview(preview, command.preview_of, command.pr_number)
    if gate.head == command.commit:
        return []  # this head waits already (or was approved): a repeated delivery
    held = PreviewAwaitingApproval(
        name=preview.name,
        preview_of=command.preview_of,
        parent_id=command.parent_id,
        pr_number=command.pr_number,
        commit=command.commit,
    )
    events: list[Event] = [held]
    if preview.env:
        events.append(AppEnvChanged(name=preview.name, unset=sorted(preview.env)))
    if preview.git_token is not None or preview.deploy_key is not None:
        events.append(AppGitCredentialsChanged(name=preview.name))
    return events


def decide_approval(
    parent: AppState, state: tuple[AppState, PreviewGate], command: ApprovePreview
) -> list[Event]:
    """Approve the head awaiting approval: the preview takes the parent's env values and git
    credentials (given in the command, sealed for the preview) to deploy that commit.

    Raises:
        InvalidCommand: the app does not take forks, nothing awaits approval, or `commit` is
            not the head that does (the pull request moved on: that head needs a review).
        AlreadyExists: that head is approved already.
    """
    preview, gate = state
    number = command.pr_number
    if not parent.previews_from_forks:
        raise InvalidCommand(
            f"{parent.name!r} does not deploy pull requests from forks (previews_from_forks)"
        )
    _require_preview(preview, parent.name, number)
    if gate.head is None:
        raise InvalidCommand(f"pull request #{number} of {parent.name!r} awaits no approval")
    if command.commit != gate.head:
        raise InvalidCommand(
            f"commit {command.commit} is not the head of pull request #{number}:"
            f" {gate.head} is, and that is the commit to review and approve"
        )
    if gate.approved:
        raise AlreadyExists(f"commit {gate.head} of pull request #{number} is approved already")
    events: list[Event] = [
        PreviewApproved(
            name=preview.name, preview_of=parent.name, pr_number=number, commit=command.commit
        )
    ]
    stale = sorted(set(preview.env) - set(command.env))
    if command.env or stale:
        events.append(AppEnvChanged(name=preview.name, set=dict(command.env), unset=stale))
        events += carried(preview.name, set(command.env), parent.env_scopes)
    if command.git_token or command.deploy_key or preview.git_token or preview.deploy_key:
        events.append(
            AppGitCredentialsChanged(
                name=preview.name, token=command.git_token, deploy_key=command.deploy_key
            )
        )
    return events


def pinned(gate: PreviewGate, commit: str | None) -> str | None:
    """The commit a deployment asking for `commit` builds: a fork's approved head when it
    names none ("Deploy now"), since the branch may have moved on to code nobody reviewed,
    with the webhook saying so lost on the way."""
    return gate.head if commit is None and gate.approved else commit


def check_deployable(gate: PreviewGate, commit: str | None) -> None:
    """Whether a deployment from source may build `commit`: any, for an app that is no fork's
    preview; for a fork's preview, only its approved head.

    Raises:
        InvalidCommand: the head awaits approval, or another commit is asked for.
    """
    if gate.head is None:
        return
    if not gate.approved:
        raise InvalidCommand(
            f"commit {gate.head} of this pull request from a fork awaits a developer's"
            " approval: nothing deploys before it"
        )
    if commit != gate.head:
        raise InvalidCommand(
            f"a preview of a pull request from a fork deploys only its approved head, {gate.head}"
        )


def fork_source(parent_url: str | None, fork_url: str | None) -> str | None:
    """The repository a fork's preview fetches from: the fork's clone URL when it is http(s) on
    the parent's git host, else the parent's URL (from which GitHub, GitLab and Gitea also
    serve a pull request's head commit by its id).

    The host must match because an approval gives the preview the parent's git credentials,
    and they must go to no other host than the parent's."""
    if parent_url is None or fork_url is None or not fork_url.startswith(("http://", "https://")):
        return parent_url
    host = _host(fork_url)
    return fork_url if host is not None and host == _host(parent_url) else parent_url


def _host(url: str) -> str | None:
    """The host of an http(s) or ssh URL, or of scp-like `user@host:path`; None for others."""
    try:
        parts = urlsplit(url)
    except ValueError:  # "http://[": not a URL anything could be fetched from
        return None
    if parts.scheme in ("http", "https", "ssh", "git+ssh"):
        return parts.hostname
    if "://" in url:
        return None  # another scheme (file://...): no host to compare
    head, colon, _ = url.partition(":")
    if colon and "/" not in head:
        return head.rpartition("@")[2].lower() or None
    return None


def _require_preview(preview: AppState, parent: str, pr_number: int) -> None:
    if not preview.exists or preview.preview_of != parent or preview.pr_number != pr_number:
        raise InvalidCommand(f"{parent!r} has no preview of pull request #{pr_number}")
