"""References in variable values: what they say, how they resolve, and what is refused."""

from __future__ import annotations

import re

import pytest

from rivetr.domain.references import (
    MAX_DEPTH,
    Reference,
    UnresolvedReference,
    parse,
    reached,
    resolve,
)


def levels(
    team: dict[str, str] | None = None,
    project: dict[str, str] | None = None,
    environment: dict[str, str] | None = None,
) -> dict[str, dict[str, str]]:
    return {"team": team or {}, "project": project or {}, "environment": environment or {}}


def test_a_value_is_read_as_text_and_references() -> None:
    assert parse("postgres://${{team.USER}}@${{ environment.HOST }}/db") == [
        "postgres://",
        Reference("team", "USER"),
        "@",
        Reference("environment", "HOST"),
        "/db",
    ]


def test_a_doubled_dollar_is_the_text_itself() -> None:
    assert parse("run: $${{ secrets.TOKEN }}") == ["run: ${{ secrets.TOKEN }}"]
    assert resolve({"CI": "$${{team.X}}"}, levels()).values == {"CI": "${{team.X}}"}


def test_plain_values_resolve_to_themselves_using_nothing() -> None:
    resolution = resolve({"PORT": "8080", "PATH_TEMPLATE": "${HOME}/x"}, levels())
    assert resolution.values == {"PORT": "8080", "PATH_TEMPLATE": "${HOME}/x"}
    assert resolution.used == {"PORT": [], "PATH_TEMPLATE": []}


def test_references_resolve_through_every_level_and_record_where_from() -> None:
    resolution = resolve(
        {"DATABASE_URL": "postgres://${{project.DB_USER}}@${{environment.DB_HOST}}/app"},
        levels(
            team={"DOMAIN": "example.com"},
            project={"DB_USER": "shop"},
            environment={"DB_HOST": "db.${{team.DOMAIN}}"},
        ),
    )
    assert resolution.values == {"DATABASE_URL": "postgres://shop@db.example.com/app"}
    assert resolution.used == {
        "DATABASE_URL": [("environment", "DB_HOST"), ("project", "DB_USER"), ("team", "DOMAIN")]
    }


def test_a_cycle_across_levels_is_refused_naming_it() -> None:
    with pytest.raises(UnresolvedReference) as refused:
        resolve(
            {"URL": "${{project.A}}"},
            levels(project={"A": "${{environment.B}}"}, environment={"B": "x${{project.A}}"}),
        )
    assert "project.A -> environment.B -> project.A" in str(refused.value)


def test_an_unknown_variable_is_refused_naming_the_chain() -> None:
    with pytest.raises(UnresolvedReference) as refused:
        resolve({"URL": "${{project.A}}"}, levels(project={"A": "${{team.MISSING}}"}))
    assert str(refused.value) == "URL -> project.A -> team.MISSING: no team variable MISSING"


def test_a_resource_that_gives_no_variables_is_refused() -> None:
    with pytest.raises(UnresolvedReference, match="'db' is not team, project or environment"):
        resolve({"URL": "${{db.URL}}"}, levels())


def test_a_resource_given_as_a_scope_resolves() -> None:
    scopes = {**levels(), "db": {"URL": "postgres://db"}}
    assert resolve({"URL": "${{db.URL}}"}, scopes).used == {"URL": [("db", "URL")]}


def test_a_broken_reference_is_refused_not_taken_as_text() -> None:
    with pytest.raises(UnresolvedReference, match=re.escape("X: '${{team.'")):
        resolve({"X": "${{team."}, levels())


def test_references_nested_too_deep_are_refused() -> None:
    chain = {f"V{i}": f"${{{{team.V{i + 1}}}}}" for i in range(MAX_DEPTH + 2)}
    chain[f"V{MAX_DEPTH + 2}"] = "end"
    with pytest.raises(UnresolvedReference, match="deeper than"):
        resolve({"X": "${{team.V0}}"}, levels(team=chain))


def test_a_value_that_would_explode_is_refused() -> None:
    doubling = {f"V{i}": f"${{{{team.V{i + 1}}}}}${{{{team.V{i + 1}}}}}" for i in range(40)}
    doubling["V40"] = "x"
    with pytest.raises(UnresolvedReference, match="more than"):
        resolve({"X": "${{team.V0}}"}, levels(team=doubling))


def test_reached_walks_through_cycles_and_unknown_names_without_failing() -> None:
    scopes = levels(project={"A": "${{environment.B}}"}, environment={"B": "${{project.A}}"})
    assert reached({"X": "${{project.A}} ${{team.GONE}} ${{broken"}, scopes) == set()
    assert reached({"X": "${{project.A}} ${{team.GONE}}"}, scopes) == {
        ("project", "A"),
        ("environment", "B"),
        ("team", "GONE"),
    }
