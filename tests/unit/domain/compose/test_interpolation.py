"""Interpolation follows the Compose Specification: every form of `${...}`, nesting, `$$`, unset
variables read as "" (and said), required ones refused with their message; Rivetr's own
`${{scope.KEY}}` references are left for deploy time."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rivetr.domain.compose.interpolation import TemplateError, interpolate, substitute
from rivetr.domain.compose.where import ComposeError, Location
from rivetr.domain.compose.yaml_source import parse_yaml

ENV = {"A": "a", "EMPTY": "", "PORT": "8080"}


@pytest.mark.parametrize(
    ("template", "value"),
    [
        ("$A", "a"),
        ("${A}", "a"),
        ("x$A-y", "xa-y"),
        ("$A$PORT", "a8080"),
        ("${UNSET:-d}", "d"),
        ("${EMPTY:-d}", "d"),
        ("${EMPTY-d}", ""),
        ("${UNSET-d}", "d"),
        ("${A:-d}", "a"),
        ("${A:+r}", "r"),
        ("${EMPTY:+r}", ""),
        ("${EMPTY+r}", "r"),
        ("${UNSET+r}", ""),
        ("${A:?never}", "a"),
        ("${EMPTY?set, so fine}", ""),
        ("${UNSET:-${A}}", "a"),
        ("${UNSET:-${ALSO_UNSET:-deep}}", "deep"),
        ("${UNSET:-a:b/c}", "a:b/c"),
        ("$$A", "$A"),
        ("$${A}", "${A}"),
        ("$$$$", "$$"),
        ("${A:-{x}}", "a}"),
        ("${{team.KEY}}", "${{team.KEY}}"),
        ("db=${{db.URL}}&p=$PORT", "db=${{db.URL}}&p=8080"),
        ("${UNSET:-${{project.HOST}}}", "${{project.HOST}}"),
        ("$${{team.KEY}}", "${{team.KEY}}"),
    ],
)
def test_each_form_substitutes_as_the_specification_says(template: str, value: str) -> None:
    assert substitute(template, ENV.get)[0] == value


def test_an_unset_variable_is_read_as_empty_and_named() -> None:
    assert substitute("a${NOPE}b$ALSO", ENV.get) == ("ab", ["NOPE", "ALSO"])
    assert substitute("${NOPE:-given}", ENV.get) == ("given", [])


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("${", "no variable name"),
        ("${A", "neither `}`"),
        ("${A:-x", "not closed"),
        ("${1bad}", "no variable name"),
        ("${A:x}", "neither `}`"),
        ("$1", "write `$$` for a `$`"),
        ("price: 5$", "write `$$` for a `$`"),
        ("${UNSET:?set it in the stack}", "required variable UNSET is missing a value: set it"),
        ("${EMPTY:?empty too}", "required variable EMPTY is missing a value: empty too"),
        ("${UNSET?unset}", "required variable UNSET is missing a value: unset"),
        ("${A:-${}}", "no variable name"),
    ],
)
def test_invalid_templates_and_missing_required_variables_are_refused(
    template: str, problem: str
) -> None:
    with pytest.raises(TemplateError) as refused:
        substitute(template, ENV.get)
    assert problem in str(refused.value)


def test_a_refusal_in_a_file_names_the_key_and_its_line() -> None:
    root, _ = parse_yaml(b"services:\n  web:\n    image: ${TAG:?TAG is the release}\n", "c.yaml")
    with pytest.raises(ComposeError) as refused:
        interpolate(root, ENV.get)
    assert refused.value.key == "services.web.image"
    assert refused.value.location == Location("c.yaml", 3)
    assert "TAG is the release" in str(refused.value)


def test_values_are_interpolated_and_keys_are_not() -> None:
    text = b"services:\n  $A:\n    labels: {$A: $A}\n    ports: [$PORT, 3]\n    x-n: ${NOPE}\n"
    root, _ = parse_yaml(text, "c.yaml")
    unset = interpolate(root, ENV.get)
    assert root == {"services": {"$A": {"labels": {"$A": "a"}, "ports": ["8080", 3], "x-n": ""}}}
    assert unset == [("NOPE", Location("c.yaml", 5))]


dollar_free = st.text(st.characters(blacklist_characters="$"))
names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True)
plain_defaults = st.text(st.characters(blacklist_characters="$}"), max_size=12)


@given(dollar_free)
def test_a_string_without_a_dollar_is_unchanged(text: str) -> None:
    assert substitute(text, {}.get) == (text, [])


@given(st.text())
def test_doubling_every_dollar_round_trips_any_text(text: str) -> None:
    assert substitute(text.replace("$", "$$"), ENV.get) == (text, [])


@given(names, plain_defaults, st.one_of(st.none(), st.text(max_size=8)))
def test_a_default_is_taken_exactly_when_the_variable_is_unset_or_empty(
    name: str, default: str, value: str | None
) -> None:
    env = {} if value is None else {name: value}
    assert substitute(f"${{{name}:-{default}}}", env.get)[0] == (value or default)
    assert substitute(f"${{{name}-{default}}}", env.get)[0] == (default if value is None else value)
