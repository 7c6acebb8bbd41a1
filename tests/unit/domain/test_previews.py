"""Previews of pull requests from forks, decided purely: a head deploys only once it is the
approved one, a new head waits again with the secrets taken back, an approval holds for the
head awaiting it and no other, and the fork's repository is fetched only from the parent's
git host."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rivetr.domain import previews
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
from rivetr.domain.previews import PreviewGate, decide_approval, decide_await, fork_source
from rivetr.domain.webhooks import Verdict

HEAD, NEW_HEAD = "a" * 40, "b" * 40
PARENT = AppState(
    app_id="w1",
    name="web",
    exists=True,
    previews=True,
    previews_from_forks=True,
    env={"K": "sealed"},
)
CREATED = AppCreated(app_id="p7", name="web-pr-7", preview_of="web", pr_number=7, branch="feature")


def held(commit: str) -> PreviewAwaitingApproval:
    return PreviewAwaitingApproval(
        name="web-pr-7", preview_of="web", parent_id="w1", pr_number=7, commit=commit
    )


def approved(commit: str) -> PreviewApproved:
    return PreviewApproved(name="web-pr-7", preview_of="web", pr_number=7, commit=commit)


def state(*events: Event) -> tuple[AppState, PreviewGate]:
    return previews.fold("p7", [CREATED, *events])


def approve(commit: str = HEAD, **secrets: object) -> ApprovePreview:
    return ApprovePreview(name="web-pr-7", preview_of="web", pr_number=7, commit=commit, **secrets)


def hold(commit: str) -> AwaitPreviewApproval:
    return AwaitPreviewApproval(
        name="web-pr-7", preview_of="web", parent_id="w1", pr_number=7, commit=commit
    )


PREVIEW = Verdict(decision="preview", commit=HEAD, reason="pull request #7 opened")


def test_a_head_deploys_only_when_it_is_the_approved_one() -> None:
    for gate in (PreviewGate(), PreviewGate(head=HEAD), PreviewGate(head=NEW_HEAD, approved=True)):
        pending = previews.admit(PREVIEW, gate, 7)
        assert (pending.decision, pending.commit) == ("pending_approval", HEAD)
        assert "pull request #7 comes from a fork: commit aaaaaaaaaaaa waits" in pending.reason

    approved_head = previews.admit(PREVIEW, PreviewGate(head=HEAD, approved=True), 7)

    assert (approved_head.decision, approved_head.commit) == ("preview", HEAD)
    ignored = Verdict(decision="ignored", reason="no")
    assert previews.admit(ignored, PreviewGate(), 7) is ignored


def test_the_gate_follows_the_preview_stream() -> None:
    assert state()[1] == PreviewGate()
    assert state(held(HEAD))[1] == PreviewGate(head=HEAD)
    assert state(held(HEAD), approved(HEAD))[1] == PreviewGate(head=HEAD, approved=True)
    # an approval of another head than the one waiting changes nothing
    assert state(held(HEAD), approved(NEW_HEAD))[1] == PreviewGate(head=HEAD)
    # a new head waits again; a preview deleted and opened again starts afresh
    assert state(held(HEAD), approved(HEAD), held(NEW_HEAD))[1] == PreviewGate(head=NEW_HEAD)
    reopened = state(held(HEAD), approved(HEAD), AppDeleted(name="web-pr-7"), CREATED)
    assert reopened[1] == PreviewGate()


def test_a_new_head_waits_once_and_takes_the_secrets_back() -> None:
    with_secrets = (
        msgspec.structs.replace(
            state()[0], env={"K": "sealed", "L": "sealed"}, git_token="sealed-token"
        ),
        PreviewGate(head=HEAD, approved=True),
    )

    events = decide_await(with_secrets, hold(NEW_HEAD))

    assert events == [
        held(NEW_HEAD),
        AppEnvChanged(name="web-pr-7", unset=["K", "L"]),
        AppGitCredentialsChanged(name="web-pr-7"),
    ]
    assert decide_await(state(), hold(HEAD)) == [held(HEAD)]  # nothing to take back
    assert decide_await(state(held(HEAD)), hold(HEAD)) == []  # this head waits already
    with pytest.raises(InvalidCommand):
        decide_await(previews.fold("web-pr-7", []), hold(HEAD))  # no preview


def test_approving_the_head_awaiting_approval_gives_the_preview_the_parents_secrets() -> None:
    events = decide_approval(
        PARENT, state(held(HEAD)), approve(env={"K": "sealed-for-preview"}, git_token="t")
    )

    assert events == [
        approved(HEAD),
        AppEnvChanged(name="web-pr-7", set={"K": "sealed-for-preview"}),
        AppGitCredentialsChanged(name="web-pr-7", token="t"),
    ]
    assert decide_approval(PARENT, state(held(HEAD)), approve()) == [approved(HEAD)]


@pytest.mark.parametrize(
    ("parent", "history", "commit", "refusal", "says"),
    [
        (PARENT, (held(HEAD), held(NEW_HEAD)), HEAD, InvalidCommand, f"{NEW_HEAD} is"),
        (PARENT, (held(HEAD),), NEW_HEAD, InvalidCommand, "not the head"),
        (PARENT, (), HEAD, InvalidCommand, "awaits no approval"),
        (PARENT, (held(HEAD), approved(HEAD)), HEAD, AlreadyExists, "approved already"),
        (
            msgspec.structs.replace(PARENT, previews_from_forks=False),
            (held(HEAD),),
            HEAD,
            InvalidCommand,
            "previews_from_forks",
        ),
    ],
)
def test_an_approval_of_anything_but_the_waiting_head_is_refused(
    parent: AppState,
    history: tuple[Event, ...],
    commit: str,
    refusal: type[Exception],
    says: str,
) -> None:
    with pytest.raises(refusal, match=says):
        decide_approval(parent, state(*history), approve(commit))


def test_an_approval_needs_that_apps_preview_of_that_pull_request() -> None:
    other = previews.fold(
        "p7",
        [AppCreated(app_id="p7", name="web-pr-7", preview_of="api", pr_number=7), held(HEAD)],
    )
    for preview in (other, previews.fold("p7", [held(HEAD)])):
        with pytest.raises(InvalidCommand, match="no preview of pull request #7"):
            decide_approval(PARENT, preview, approve())


def test_a_forks_preview_builds_its_approved_head_alone() -> None:
    for commit in (None, HEAD):  # any app that is no fork's preview builds what it is asked
        previews.check_deployable(PreviewGate(), commit)
        assert previews.pinned(PreviewGate(), commit) == commit
    approved_head = PreviewGate(head=HEAD, approved=True)
    assert previews.pinned(approved_head, None) == HEAD  # "Deploy now"
    previews.check_deployable(approved_head, HEAD)
    with pytest.raises(InvalidCommand, match="deploys only its approved head"):
        previews.check_deployable(approved_head, NEW_HEAD)
    for commit in (None, HEAD):
        assert previews.pinned(PreviewGate(head=HEAD), commit) == commit
        with pytest.raises(InvalidCommand, match="awaits a developer's approval"):
            previews.check_deployable(PreviewGate(head=HEAD), commit)


@pytest.mark.parametrize(
    ("parent", "fork", "fetched"),
    [
        ("https://github.com/o/r.git", "https://github.com/f/r.git", "https://github.com/f/r.git"),
        ("git@github.com:o/r.git", "https://github.com/f/r.git", "https://github.com/f/r.git"),
        ("ssh://git@GitHub.com/o/r", "https://github.com/f/r.git", "https://github.com/f/r.git"),
        # another host would be handed the parent's credentials once approved: not that
        ("https://github.com/o/r.git", "https://evil.test/f/r.git", "https://github.com/o/r.git"),
        ("https://github.com/o/r.git", "file:///etc/repo", "https://github.com/o/r.git"),
        ("https://github.com/o/r.git", "git@github.com:f/r.git", "https://github.com/o/r.git"),
        ("/srv/repos/r", "https://github.com/f/r.git", "/srv/repos/r"),
        ("https://github.com/o/r.git", None, "https://github.com/o/r.git"),
        ("https://github.com/o/r.git", "http://[github.com/f", "https://github.com/o/r.git"),
        ("HTTPS://github.com/o/r.git", "https://github.com./f", "HTTPS://github.com/o/r.git"),
        (None, "https://github.com/f/r.git", None),
    ],
)
def test_a_forks_preview_fetches_the_fork_only_on_the_parents_git_host(
    parent: str | None, fork: str | None, fetched: str | None
) -> None:
    assert fork_source(parent, fork) == fetched


@given(st.text(max_size=40), st.text(max_size=40))
def test_the_source_is_always_one_of_the_two_urls(parent: str, fork: str) -> None:
    assert fork_source(parent, fork) in (parent, fork)
