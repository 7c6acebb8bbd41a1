"""Webhook decisions: which pushes deploy, which are acknowledged and why, and when a pull
request opens or closes a preview."""

from __future__ import annotations

import msgspec
import pytest

from rivetr.domain.application import AppState, decide_preview, preview_name
from rivetr.domain.commands import OpenPreview
from rivetr.domain.errors import AlreadyExists
from rivetr.domain.events import AppCreated
from rivetr.domain.webhooks import any_matches, judge, refusal, skip_marker

SHA = "a" * 40


class Facts(msgspec.Struct, frozen=True, kw_only=True):
    kind: str = "push"
    event: str = "push"
    action: str | None = None
    branch: str | None = "main"
    tag: str | None = None
    commit_sha: str | None = SHA
    commit_message: str | None = "Fix the thing"
    changed_files: tuple[str, ...] | None = ("src/app.py",)
    pr_number: int | None = None
    pr_target_branch: str | None = None
    pr_from_fork: bool | None = False


APP = AppState(app_id="a1", name="web", exists=True, branch="main", webhook_secret="rvs1:k:x")


@pytest.mark.parametrize(
    ("facts", "decision", "reason"),
    [
        (Facts(), "deploy", "push to main"),
        (Facts(branch="develop"), "ignored", "push to develop; web deploys main"),
        (Facts(branch=None, tag="v1"), "ignored", "tag v1: tags do not deploy"),
        (Facts(action="deleted", commit_sha=None), "ignored", "branch main was deleted"),
        (Facts(commit_message="wip [skip ci]"), "ignored", "[skip ci] in the head commit"),
        (Facts(commit_message="Docs [CI SKIP]"), "ignored", "[ci skip]"),
        (Facts(commit_message="x\n\n[skip deploy]"), "ignored", "[skip deploy]"),
        (Facts(kind="ping", event="ping"), "ignored", "ping"),
        (Facts(kind="ignored", event="issues"), "ignored", "'issues' events do not deploy"),
    ],
)
def test_pushes(facts: Facts, decision: str, reason: str) -> None:
    verdict = judge(APP, facts)
    assert verdict.decision == decision
    assert reason in verdict.reason
    assert verdict.commit == (SHA if decision == "deploy" else None)


def test_watch_paths_let_only_matching_pushes_deploy() -> None:
    app = msgspec.structs.replace(APP, watch_paths=("src/**", "Dockerfile"))

    assert judge(app, Facts(changed_files=("src/deep/x.py",))).decision == "deploy"
    assert judge(app, Facts(changed_files=("Dockerfile",))).decision == "deploy"
    skipped = judge(app, Facts(changed_files=("docs/readme.md",)))
    assert skipped.decision == "ignored"
    assert "watch paths (src/**, Dockerfile)" in skipped.reason
    unknown = judge(app, Facts(changed_files=None))  # Bitbucket does not list files
    assert unknown.decision == "deploy"
    assert "not checked" in unknown.reason


@pytest.mark.parametrize(
    ("glob", "path", "matches"),
    [
        ("src/**", "src/a/b/c.py", True),
        ("src/*", "src/a/b.py", False),
        ("src/*", "src/b.py", True),
        ("**/*.py", "app.py", True),
        ("**/*.py", "a/b/app.py", True),
        ("/api/", "api/x/y", True),
        ("api/", "apix/y", False),
        ("docs/?.md", "docs/a.md", True),
        ("a.b", "axb", False),
    ],
)
def test_globs(glob: str, path: str, matches: bool) -> None:
    assert any_matches([glob], [path]) is matches


def test_refusals_before_parsing() -> None:
    assert refusal("valid") is None
    assert "not enabled" in refusal("no secret").reason  # type: ignore[union-attr]
    assert "no signature" in refusal("missing").reason  # type: ignore[union-attr]
    assert "does not match" in refusal("invalid").reason  # type: ignore[union-attr]


def pr(action: str, target: str = "main", fork: bool | None = False) -> Facts:
    return Facts(
        kind="pull_request",
        event="pull_request",
        action=action,
        branch=None,
        pr_number=7,
        pr_target_branch=target,
        pr_from_fork=fork,
    )


@pytest.mark.parametrize(
    ("fork", "reason"),
    [
        (True, "pull request #7 comes from a fork; this app does not deploy forks"),
        # the payload does not say where the head lives: it may be a fork's, so it is one
        (None, "pull request #7 may come from a fork; this app does not deploy forks"),
    ],
)
def test_a_forks_pull_request_is_ignored_unless_the_app_takes_forks(
    fork: bool | None, reason: str
) -> None:
    app = msgspec.structs.replace(APP, previews=True)
    forks_too = msgspec.structs.replace(app, previews_from_forks=True)

    assert judge(app, pr("opened", fork=fork)) == judge(app, pr("synchronized", fork=fork))
    ignored = judge(app, pr("opened", fork=fork))
    assert (ignored.decision, ignored.reason, ignored.commit) == ("ignored", reason, None)
    assert judge(app, pr("opened", fork=False)).decision == "preview"
    # forks on: the same preview decision as for a branch (the approval is decided later)
    assert judge(forks_too, pr("opened", fork=fork)).decision == "preview"
    # and a fork's preview closes with its pull request whatever the setting says now
    assert judge(app, pr("closed", fork=fork)).decision == "close_preview"


def test_pull_requests_open_and_close_previews_only_when_previews_are_on() -> None:
    assert judge(APP, pr("opened")).decision == "ignored"
    app = msgspec.structs.replace(APP, previews=True)

    for action in ("opened", "reopened", "synchronized"):
        verdict = judge(app, pr(action))
        assert (verdict.decision, verdict.commit) == ("preview", SHA)
    for action in ("closed", "merged"):
        assert judge(app, pr(action)).decision == "close_preview"
    assert judge(app, pr("updated")).decision == "ignored"
    assert "targets develop" in judge(app, pr("opened", target="develop")).reason


def test_a_preview_takes_the_parents_settings_and_prefixed_domains() -> None:
    parent = msgspec.structs.replace(
        APP,
        team="acme",
        port=3000,
        domains=("web.example.com", "*.shop.example.com", "example.com/api"),
    )
    name = preview_name("web", 7)
    command = OpenPreview(name=name, preview_of="web", pr_number=7, branch="feature")

    [created] = decide_preview(parent, AppState(app_id="p1", name=name), command)

    assert isinstance(created, AppCreated)
    assert (created.name, created.team, created.port, created.branch) == (
        "web-pr-7",
        "acme",
        3000,
        "feature",
    )
    assert created.domains == [
        "pr-7.web.example.com",
        "pr-7.shop.example.com",
        "pr-7.example.com/api",
    ]
    assert (created.app_id, created.preview_of, created.pr_number) == ("p1", "web", 7)
    with pytest.raises(AlreadyExists):  # a preview is a new app, with an id of its own
        decide_preview(parent, AppState(app_id="p1", name=name, exists=True), command)


def test_a_preview_name_stays_a_dns_label() -> None:
    name = preview_name("a" * 63, 12345)
    assert len(name) <= 63
    assert name.endswith("-pr-12345")


def test_skip_markers_are_case_insensitive() -> None:
    assert skip_marker("Release [Skip Deploy]") == "[skip deploy]"
    assert skip_marker(None) is None
