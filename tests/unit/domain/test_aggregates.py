"""Each aggregate descriptor names streams of its own, folds its own history and, where it has a
decision of its own, decides with it."""

from __future__ import annotations

from rivetr.domain import aggregates, teams
from rivetr.domain.aggregates import ALL, APPS, CLAIMS, PREVIEWS, TEAMS
from rivetr.domain.commands import CreateTeam
from rivetr.domain.events import TeamCreated


def test_aggregates_name_distinct_streams() -> None:
    """Only a preview shares its app's stream (it is an app with a gate), and shared variables
    their team's or project's (a deleted team or project takes them with it), as a team's
    backup targets, its stacks' allowances and its notification channels do."""
    by_prefix: dict[str, list[str]] = {}
    for aggregate in ALL:
        by_prefix.setdefault(aggregate.stream_id("k").removesuffix("k"), []).append(aggregate.name)
    shared = {prefix: names for prefix, names in by_prefix.items() if len(names) > 1}
    assert shared == {
        "app-": ["app", "preview"],
        "team-": [
            "team",
            "team variables",
            "backup targets",
            "stack allowances",
            "notification channels",
        ],
        "project-": ["project", "project variables"],
    }
    assert len({a.name for a in ALL}) == len(ALL)


def test_the_claims_are_one_stream_whatever_the_key() -> None:
    assert CLAIMS.at().stream_id == CLAIMS.at("anything").stream_id == "claims"


def test_at_binds_the_key_to_stream_and_fold() -> None:
    stream = TEAMS.at("acme")
    state = stream.fold([TeamCreated(team="acme", name="Acme", owner="ann@example.com")])
    assert stream.stream_id == teams.stream_id("acme")
    assert state == teams.fold(
        "acme", [TeamCreated(team="acme", name="Acme", owner="ann@example.com")]
    )


def test_an_aggregate_decides_with_its_own_decision() -> None:
    state = TEAMS.at("acme").fold([])
    assert TEAMS.decide is not None
    events = TEAMS.decide(state, CreateTeam(team="acme", name="Acme", owner="ann@example.com"))
    assert [type(e) for e in events] == [TeamCreated]


def test_a_preview_folds_the_apps_stream_with_its_gate() -> None:
    assert PREVIEWS.at("a1").stream_id == APPS.at("a1").stream_id
    app, gate = PREVIEWS.at("a1").fold([])
    assert not app.exists
    assert gate == aggregates.previews.PreviewGate()
