"""What a webhook delivery says, in Rivetr's terms, whichever git host sent it.

Each provider module turns its own headers and JSON into a `Hook`; `signatures` checks the
delivery's authentication on the raw body before anything is parsed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal, TypeVar

import msgspec

from rivetr.domain.settings import Branch, CommitId, GitUrl, PrNumber

Provider = Literal["github", "gitlab", "gitea", "bitbucket"]
PROVIDERS: tuple[Provider, ...] = ("github", "gitlab", "gitea", "bitbucket")

# push: a ref moved (a branch or a tag pushed, created or deleted)
# pull_request: a pull/merge request opened, updated, closed...
# ping: the host checking the hook works
# ignored: any other event (issues, pipelines, comments...): acknowledged, never deployed
HookKind = Literal["push", "pull_request", "ping", "ignored"]

ZERO_SHA = "0" * 40


class MalformedPayload(ValueError):
    """The body is not JSON, or not the shape its event type promises."""


RefName = Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]
Word = Annotated[str, msgspec.Meta(max_length=64)]  # an action's name, as the provider spells it


class Hook(msgspec.Struct, frozen=True, kw_only=True):
    """What a delivery says. The provider modules build it from their typed payloads; `parse`
    then checks it against these types, so a value the log could not keep (a pull request
    numbered past 2**31, a commit that is no commit id, a branch git would refuse) is a
    malformed payload, whichever provider sent it."""

    provider: Provider
    event: str  # the provider's own event name, as its header gave it ("push", "Push Hook"...)
    kind: HookKind
    # go-scm's vocabulary: created / deleted for a ref; opened / synchronized / updated /
    # closed / merged / reopened for a pull request; None for an ordinary push
    action: Word | None = None
    ref: RefName | None = None  # full: refs/heads/main, refs/tags/v1
    branch: Branch | None = None
    tag: RefName | None = None
    before: CommitId | None = None
    after: CommitId | None = None
    commit_sha: CommitId | None = None  # the commit to deploy (a push's head, a PR's head)
    commit_message: str | None = None  # of that commit, where the payload carries it
    # files added, modified or removed by the push's commits; None when the payload does not
    # list them (then watch paths cannot be checked)
    changed_files: tuple[str, ...] | None = None
    pr_number: PrNumber | None = None
    pr_source_branch: Branch | None = None
    pr_target_branch: Branch | None = None
    pr_merged: bool = False
    # whether the pull request's head lives in another repository than its base (a fork);
    # None when the payload does not say, which is treated as a fork
    pr_from_fork: bool | None = None
    pr_source_url: GitUrl | None = None  # where the head lives: its repository's clone URL
    repo_url: str | None = None  # https clone URL


def checked(hook: Hook) -> Hook:
    """`hook` once its values are checked against their types (building a Struct checks none).

    Raises:
        MalformedPayload: naming the first value out of bounds.
    """
    try:
        return msgspec.convert(msgspec.to_builtins(hook), Hook)
    except msgspec.ValidationError as exc:
        raise MalformedPayload(f"{hook.provider} {hook.event} payload: {exc}") from exc


# --- helpers the provider modules share -------------------------------------------------------

T = TypeVar("T")


class AnyObject(msgspec.Struct):
    """Any JSON object: decoding into it proves the body is one without keeping any of it."""


class PushedCommit(msgspec.Struct):
    """A commit as GitHub, Gitea and GitLab push payloads list it (the same shape in all
    three)."""

    id: str | None = None
    message: str | None = None
    added: list[str] | None = None
    modified: list[str] | None = None
    removed: list[str] | None = None


def decode(body: bytes, shape: type[T], what: str) -> T:
    """Decode `body` into `shape`; every way it can fail becomes one `MalformedPayload`.

    `what` names the payload ("github push payload") so the message says which shape was
    expected, next to msgspec's own account of where the body strayed from it."""
    try:
        return msgspec.json.decode(body, type=shape)
    except msgspec.ValidationError as exc:
        raise MalformedPayload(f"{what}: {exc}") from exc
    except msgspec.DecodeError as exc:
        raise MalformedPayload(f"{what}: the body is not JSON ({exc})") from exc
    except RecursionError as exc:  # msgspec gives up on thousands of nested objects
        raise MalformedPayload(f"{what}: the JSON is nested too deeply") from exc


def is_zero_sha(sha: str | None) -> bool:
    """The all-zeros id git hosts send for a ref that did not exist before (or no longer does).

    Any length counts, so SHA-256 repositories (64 zeros) are recognised as well as SHA-1."""
    return sha is not None and sha != "" and sha.strip("0") == ""


def ref_names(ref: str) -> tuple[str | None, str | None]:
    """(branch, tag) named by a full ref; both None for other refs (notes, pull heads...)."""
    if ref.startswith("refs/heads/"):
        return ref.removeprefix("refs/heads/") or None, None
    if ref.startswith("refs/tags/"):
        return None, ref.removeprefix("refs/tags/") or None
    return None, None


def files_changed(
    commits: Sequence[PushedCommit] | None, *, created: bool, total: int | None = None
) -> tuple[str, ...] | None:
    """Every path the push's commits added, modified or removed, sorted and deduplicated.

    None (cannot be judged) when the payload does not list commits or a commit's files (old
    Gitea payloads), when it lists fewer commits than were pushed (`total` is GitLab's and
    Gitea's real count; both cut the list short), or when the ref was just created: a new
    ref's `commits` hold only what is new to the repository, not what the branch carries, so
    watch paths must not veto its first deploy."""
    if commits is None or created or (total is not None and total > len(commits)):
        return None
    paths: set[str] = set()
    for commit in commits:
        groups = (commit.added, commit.modified, commit.removed)
        if all(group is None for group in groups):
            return None
        for group in groups:
            paths.update(group or ())
    return tuple(sorted(paths))


def from_fork(*pairs: tuple[object, object]) -> bool | None:
    """Whether a pull request's head lives in another repository than its base, judged by the
    first (head, base) pair of identifiers (an id, then a full name) the payload gives on both
    sides; None when it gives none, for the caller to treat as a fork."""
    for head, base in pairs:
        if head is not None and base is not None:
            if isinstance(head, str) and isinstance(base, str):
                return head.lower() != base.lower()
            return head != base
    return None


def message_of(commits: Sequence[PushedCommit] | None, *shas: str | None) -> str | None:
    """The message of the first listed commit whose id is one of `shas` (in that order)."""
    for sha in shas:
        if sha:
            for commit in commits or ():
                if commit.id == sha:
                    return commit.message
    return None
