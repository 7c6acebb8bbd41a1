"""What a webhook delivery should do to an app (deploy a commit, open or close a preview, or
nothing) or to a compose stack (release a commit, or nothing), with the reason in words a user
reads when a push did not deploy. Pure: the adapter has parsed the payload and checked the
signature already."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Literal, Protocol

import msgspec

from rivetr.domain.application import AppState
from rivetr.domain.events import WebhookDecision
from rivetr.domain.stacks import StackState

SKIP_MARKERS = ("[skip ci]", "[ci skip]", "[skip deploy]")
PREVIEW_OPENS = frozenset({"opened", "reopened", "synchronized"})
PREVIEW_CLOSES = frozenset({"closed", "merged"})

Signature = Literal["valid", "invalid", "missing", "no secret"]


class HookFacts(Protocol):
    """The parts of a parsed delivery a decision needs (adapters.webhooks.Hook has them)."""

    @property
    def kind(self) -> str: ...
    @property
    def event(self) -> str: ...
    @property
    def action(self) -> str | None: ...
    @property
    def branch(self) -> str | None: ...
    @property
    def tag(self) -> str | None: ...
    @property
    def commit_sha(self) -> str | None: ...
    @property
    def commit_message(self) -> str | None: ...
    @property
    def changed_files(self) -> tuple[str, ...] | None: ...
    @property
    def pr_number(self) -> int | None: ...
    @property
    def pr_target_branch(self) -> str | None: ...
    @property
    def pr_from_fork(self) -> bool | None: ...


class PushTarget(Protocol):
    """What a push is judged against: an app's settings or a stack's."""

    @property
    def name(self) -> str: ...
    @property
    def branch(self) -> str: ...
    @property
    def watch_paths(self) -> tuple[str, ...]: ...


class Verdict(msgspec.Struct, frozen=True, kw_only=True):
    decision: WebhookDecision
    reason: str
    commit: str | None = None


def refusal(signature: Signature, kind: Literal["app", "stack"] = "app") -> Verdict | None:
    """Why a delivery to an app (or a stack) is refused before its body is even parsed, or
    None when it may go on."""
    match signature:
        case "valid":
            return None
        case "no secret":
            return Verdict(
                decision="refused",
                reason=f"the {kind}'s webhook is not enabled (no secret): nothing is accepted",
            )
        case "missing":
            return Verdict(decision="refused", reason="the delivery carries no signature")
        case _:
            return Verdict(
                decision="refused", reason=f"the signature does not match the {kind}'s secret"
            )


def judge(app: AppState, hook: HookFacts) -> Verdict:
    """The decision for a correctly signed delivery."""
    match hook.kind:
        case "ping":
            return Verdict(decision="ignored", reason="ping: the webhook is reachable")
        case "push":
            return _judge_push(app, hook)
        case "pull_request":
            return _judge_pull_request(app, hook)
    return Verdict(decision="ignored", reason=f"{hook.event!r} events do not deploy")


def judge_stack(stack: StackState, hook: HookFacts) -> Verdict:
    """The decision for a correctly signed delivery to a stack: a push to its branch releases
    the pushed commit ("deploy"); a stack has no previews, so pull requests deploy nothing."""
    match hook.kind:
        case "ping":
            return Verdict(decision="ignored", reason="ping: the webhook is reachable")
        case "push":
            if stack.git_url is None:
                return Verdict(
                    decision="ignored",
                    reason=f"{stack.name}'s compose file is inline now: pushes do not deploy it",
                )
            return _judge_push(stack, hook)
        case "pull_request":
            return Verdict(
                decision="ignored",
                reason=f"pull request #{hook.pr_number}: a stack has no preview deployments",
            )
    return Verdict(decision="ignored", reason=f"{hook.event!r} events do not deploy")


def _judge_push(app: PushTarget, hook: HookFacts) -> Verdict:
    if hook.tag is not None:
        return Verdict(decision="ignored", reason=f"tag {hook.tag}: tags do not deploy")
    if hook.branch is None:
        return Verdict(decision="ignored", reason="the push names no branch")
    if hook.action == "deleted":
        return Verdict(decision="ignored", reason=f"branch {hook.branch} was deleted")
    if hook.branch != app.branch:
        return Verdict(
            decision="ignored",
            reason=f"push to {hook.branch}; {app.name} deploys {app.branch}",
        )
    if hook.commit_sha is None:
        return Verdict(decision="ignored", reason="the push names no commit")
    marker = skip_marker(hook.commit_message)
    if marker is not None:
        return Verdict(decision="ignored", reason=f"{marker} in the head commit's message")
    if app.watch_paths:
        if hook.changed_files is None:
            return Verdict(
                decision="deploy",
                commit=hook.commit_sha,
                reason="the provider does not list changed files: watch paths not checked",
            )
        if not any_matches(app.watch_paths, hook.changed_files):
            return Verdict(
                decision="ignored",
                reason=f"no changed file matches the watch paths ({', '.join(app.watch_paths)})",
            )
    return Verdict(decision="deploy", commit=hook.commit_sha, reason=f"push to {hook.branch}")


def _judge_pull_request(app: AppState, hook: HookFacts) -> Verdict:
    number = hook.pr_number
    if not app.previews:
        return Verdict(decision="ignored", reason="preview deployments are off for this app")
    if app.preview_of is not None:
        return Verdict(decision="ignored", reason="a preview app has no previews of its own")
    if hook.pr_target_branch != app.branch:
        return Verdict(
            decision="ignored",
            reason=f"pull request #{number} targets {hook.pr_target_branch}, not {app.branch}",
        )
    if hook.action in PREVIEW_CLOSES:
        return Verdict(decision="close_preview", reason=f"pull request #{number} {hook.action}")
    if hook.pr_from_fork is not False and not app.previews_from_forks:
        # None: the payload does not say where the head lives, so it may be a fork's
        where = "comes from a fork" if hook.pr_from_fork else "may come from a fork"
        return Verdict(
            decision="ignored",
            reason=f"pull request #{number} {where}; this app does not deploy forks",
        )
    if hook.action in PREVIEW_OPENS and hook.commit_sha:
        marker = skip_marker(hook.commit_message)
        if marker is not None:
            return Verdict(decision="ignored", reason=f"{marker} in the head commit's message")
        return Verdict(
            decision="preview",
            commit=hook.commit_sha,
            reason=f"pull request #{number} {hook.action}",
        )
    return Verdict(
        decision="ignored", reason=f"pull request #{number} {hook.action}: nothing to deploy"
    )


def skip_marker(message: str | None) -> str | None:
    if message:
        lowered = message.lower()
        for marker in SKIP_MARKERS:
            if marker in lowered:
                return marker
    return None


def any_matches(globs: Sequence[str], paths: Iterable[str]) -> bool:
    patterns = [_glob(g) for g in globs]
    return any(p.fullmatch(path) for path in paths for p in patterns)


@lru_cache(maxsize=256)
def _glob(pattern: str) -> re.Pattern[str]:
    """`**` spans directories, `*` and `?` stay within one; a leading `/` is the repository
    root; a pattern ending in `/` means everything below that directory."""
    pattern = pattern.lstrip("/")
    if pattern.endswith("/"):
        pattern += "**"
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out))
