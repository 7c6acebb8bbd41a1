"""Properties of reference resolution over random variable graphs: the resolver agrees with a
plain textual expansion written here, and every cycle an app's values reach is found and
named as a real cycle of the graph."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rivetr.domain.references import LEVELS, UnresolvedReference, reached, resolve

KEYS = ("A", "B", "C", "D")
NODES = [(level, key) for level in LEVELS for key in KEYS]
_REF = re.compile(r"\$\{\{(\w+)\.(\w+)\}\}")

texts = st.text(alphabet="xyz:/@-", max_size=3)
nodes = st.sampled_from(NODES)


def ref(node: tuple[str, str]) -> str:
    return f"${{{{{node[0]}.{node[1]}}}}}"


def values_of(targets: st.SearchStrategy[tuple[str, str]]) -> st.SearchStrategy[str]:
    """A value: text and references to `targets`, at most two of them."""
    part = st.one_of(texts, targets.map(ref))
    return st.lists(part, max_size=3).map("".join).filter(lambda v: v.count("${{") <= 2)


@st.composite
def graphs(
    draw: st.DrawFn, only_defined: bool = False
) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    defined = draw(st.lists(nodes, unique=True, max_size=7))
    targets = st.sampled_from(defined) if only_defined and defined else nodes
    if only_defined and not defined:
        targets = st.nothing()
    scopes: dict[str, dict[str, str]] = {level: {} for level in LEVELS}
    for level, key in defined:
        scopes[level][key] = draw(values_of(targets))
    app = draw(st.dictionaries(st.sampled_from(["X", "Y", "Z"]), values_of(targets), max_size=3))
    return app, scopes


def expanded(value: str, scopes: dict[str, dict[str, str]]) -> str | None:
    """The reference implementation: replace references by their values' text until none is
    left; None when a name is unknown or the text never settles (a cycle)."""
    for _ in range(len(NODES) + 2):
        names = _REF.findall(value)
        if not names:
            return value
        if any(key not in scopes.get(scope, {}) for scope, key in names):
            return None
        value = _REF.sub(lambda m: scopes[m.group(1)][m.group(2)], value)
    return None


def edges(scopes: dict[str, dict[str, str]], node: tuple[str, str]) -> set[tuple[str, str]]:
    return {(s, k) for s, k in _REF.findall(scopes[node[0]][node[1]])}


@settings(max_examples=400, deadline=None)
@given(graphs())
def test_resolution_agrees_with_plain_expansion(
    graph: tuple[dict[str, str], dict[str, dict[str, str]]],
) -> None:
    app, scopes = graph
    expected = {name: expanded(value, scopes) for name, value in app.items()}
    try:
        resolution = resolve(app, scopes)
    except UnresolvedReference:
        assert None in expected.values()
        return
    assert resolution.values == expected
    assert {n for used in resolution.used.values() for n in used} == reached(app, scopes)


@settings(max_examples=400, deadline=None)
@given(graphs(only_defined=True))
def test_every_reached_cycle_is_found_and_named(
    graph: tuple[dict[str, str], dict[str, dict[str, str]]],
) -> None:
    app, scopes = graph
    has_cycle = any(
        node in _reachable_from(scopes, edges(scopes, node)) for node in reached(app, scopes)
    )
    if not has_cycle:
        resolve(app, scopes)
        return
    with pytest.raises(UnresolvedReference) as refused:
        resolve(app, scopes)
    chain = str(refused.value).removeprefix("reference cycle: ").split(" -> ")
    named = [tuple(link.split(".")) for link in chain]
    assert named[0] == named[-1]
    for here, there in itertools.pairwise(named):
        assert there in edges(scopes, here), f"{here} does not reference {there}"


@settings(max_examples=200, deadline=None)
@given(st.lists(nodes, unique=True, min_size=1, max_size=6), graphs(only_defined=True))
def test_a_cycle_planted_among_other_variables_is_found(
    cycle: list[tuple[str, str]], graph: tuple[dict[str, str], dict[str, dict[str, str]]]
) -> None:
    app, scopes = graph
    for here, there in zip(cycle, [*cycle[1:], cycle[0]], strict=True):
        scopes[here[0]][here[1]] = "x" + ref(there)
    app = {**app, "CYCLIC": ref(cycle[0])}
    with pytest.raises(UnresolvedReference, match=r"^reference cycle: "):
        resolve(app, scopes)


def _reachable_from(
    scopes: dict[str, dict[str, str]], start: set[tuple[str, str]]
) -> set[tuple[str, str]]:
    seen: set[tuple[str, str]] = set()
    waiting = list(start)
    while waiting:
        node = waiting.pop()
        if node not in seen and node[1] in scopes.get(node[0], {}):
            seen.add(node)
            waiting += edges(scopes, node)
    return seen
