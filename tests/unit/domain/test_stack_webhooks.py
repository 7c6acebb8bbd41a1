"""A compose stack's webhook: turned on (a sealed secret, rotated by turning it on again) only
for a stack from a repository, turned off, and what a signed delivery does to the stack: a push
to its branch (touching its watch paths, when it has some) releases the pushed commit; pull
requests, other branches, tags and pings release nothing, each saying why."""

from __future__ import annotations

import msgspec
import pytest

from rivetr.domain import stacks
from rivetr.domain.access import Permission, required_permission
from rivetr.domain.errors import InvalidCommand, NotFound
from rivetr.domain.stack_commands import DisableStackWebhook, SetStackWebhookSecret
from rivetr.domain.stack_events import StackWebhookDisabled, StackWebhookSecretSet
from rivetr.domain.stacks import StackState
from rivetr.domain.webhooks import judge_stack, refusal
from tests.unit.domain.test_webhooks import SHA, Facts

STACK = StackState(
    stack_id="st0000000001",
    exists=True,
    name="blog",
    team="acme",
    git_url="https://git.example.com/blog.git",
    branch="main",
)
INLINE = msgspec.structs.replace(STACK, git_url=None, compose="services: {}")


def turn_on(state: StackState, secret: str) -> list[object]:
    command = SetStackWebhookSecret(stack_id=state.stack_id, secret=secret)
    return list(stacks.decide_webhook_secret(state, command))


def test_turning_the_webhook_on_records_the_sealed_secret_and_again_rotates_it() -> None:
    [first] = turn_on(STACK, "rvs2:k:one")
    assert first == StackWebhookSecretSet(stack_id=STACK.stack_id, secret="rvs2:k:one")
    on = stacks.evolve(STACK, first)  # type: ignore[arg-type]
    assert on.webhook_secret == "rvs2:k:one"

    [second] = turn_on(on, "rvs2:k:two")
    assert second == StackWebhookSecretSet(
        stack_id=STACK.stack_id, secret="rvs2:k:two", rotated=True
    )


def test_turning_it_off_forgets_the_secret_and_off_again_changes_nothing() -> None:
    on = stacks.evolve(STACK, StackWebhookSecretSet(stack_id=STACK.stack_id, secret="s"))
    off_command = DisableStackWebhook(stack_id=STACK.stack_id)

    [off] = stacks.decide_webhook_disabled(on, off_command)
    assert off == StackWebhookDisabled(stack_id=STACK.stack_id)
    assert stacks.evolve(on, off).webhook_secret is None
    assert stacks.decide_webhook_disabled(stacks.evolve(on, off), off_command) == []


def test_an_inline_stack_has_no_repository_to_push_to() -> None:
    with pytest.raises(InvalidCommand, match="inline stack has no repository") as refused:
        turn_on(INLINE, "rvs2:k:one")
    assert refused.value.field == "git_url"


def test_a_stack_that_is_not_there_has_no_webhook() -> None:
    gone = msgspec.structs.replace(STACK, deleted=True)
    with pytest.raises(NotFound):
        turn_on(gone, "rvs2:k:one")
    with pytest.raises(NotFound):
        stacks.decide_webhook_disabled(
            StackState(stack_id="st0000000009"), DisableStackWebhook(stack_id="st0000000009")
        )


def test_whoever_manages_the_stack_turns_its_webhook_on_and_off() -> None:
    assert required_permission(SetStackWebhookSecret(stack_id="s", secret="x")) == (
        Permission.MANAGE_APPS
    )
    assert required_permission(DisableStackWebhook(stack_id="s")) == Permission.MANAGE_APPS


@pytest.mark.parametrize(
    ("facts", "decision", "reason"),
    [
        (Facts(), "deploy", "push to main"),
        (Facts(branch="develop"), "ignored", "push to develop; blog deploys main"),
        (Facts(branch=None, tag="v1"), "ignored", "tag v1: tags do not deploy"),
        (Facts(action="deleted", commit_sha=None), "ignored", "branch main was deleted"),
        (Facts(commit_message="wip [skip ci]"), "ignored", "[skip ci] in the head commit"),
        (Facts(kind="ping", event="ping"), "ignored", "ping: the webhook is reachable"),
        (Facts(kind="ignored", event="issues"), "ignored", "'issues' events do not deploy"),
        (
            Facts(kind="pull_request", action="opened", pr_number=7, pr_target_branch="main"),
            "ignored",
            "pull request #7: a stack has no preview deployments",
        ),
    ],
)
def test_what_a_signed_delivery_does_to_a_stack(facts: Facts, decision: str, reason: str) -> None:
    verdict = judge_stack(STACK, facts)
    assert verdict.decision == decision
    assert reason in verdict.reason
    assert verdict.commit == (SHA if decision == "deploy" else None)


def test_a_stacks_watch_paths_let_only_matching_pushes_release() -> None:
    watching = msgspec.structs.replace(STACK, watch_paths=("deploy/**", "compose.yaml"))

    assert judge_stack(watching, Facts(changed_files=("compose.yaml",))).decision == "deploy"
    assert judge_stack(watching, Facts(changed_files=("deploy/a/b.env",))).decision == "deploy"
    ignored = judge_stack(watching, Facts(changed_files=("README.md",)))
    assert (ignored.decision, ignored.reason) == (
        "ignored",
        "no changed file matches the watch paths (deploy/**, compose.yaml)",
    )
    unlisted = judge_stack(watching, Facts(changed_files=None))  # Bitbucket lists none
    assert unlisted.decision == "deploy"
    assert "watch paths not checked" in unlisted.reason


def test_a_stack_whose_file_became_inline_is_not_deployed_by_a_push() -> None:
    verdict = judge_stack(INLINE, Facts())
    assert (verdict.decision, verdict.reason) == (
        "ignored",
        "blog's compose file is inline now: pushes do not deploy it",
    )


def test_refusals_name_the_stack() -> None:
    off = refusal("no secret", "stack")
    wrong = refusal("invalid", "stack")
    assert off is not None
    assert off.reason.startswith("the stack's webhook is not enabled")
    assert wrong is not None
    assert wrong.reason == "the signature does not match the stack's secret"
    assert refusal("valid", "stack") is None
