"""A compose file's YAML is read as Compose's Go YAML v3 reads it, with the line of every key and
item, and hostile files (10 MB, a billion laughs, deep anchors, deep nesting, 1,000 services) are
refused before they are expanded, in bounded memory."""

from __future__ import annotations

import math
import tracemalloc
from collections.abc import Callable

import pytest

from rivetr.domain.compose.bounds import MAX_DEPTH, MAX_FILE_BYTES, MAX_SERVICES
from rivetr.domain.compose.nodes import finish
from rivetr.domain.compose.where import ComposeError, Location
from rivetr.domain.compose.yaml_source import parse_yaml, resolve_plain
from tests.compose_bombs import billion_laughs, deep_anchors, nested, services


def read(text: str) -> dict[str, object]:
    return finish(parse_yaml(text.encode(), "compose.yaml")[0])[0]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("yes", "yes"),
        ("no", "no"),
        ("on", "on"),
        ("off", "off"),
        ("y", "y"),
        ("true", True),
        ("False", False),
        ("~", None),
        ("null", None),
        ("", None),
        ("0440", 0o440),
        ("0o17", 15),
        ("0x1F", 31),
        ("0b101", 5),
        ("-0x10", -16),
        ("1_000", 1000),
        ("+5", 5),
        ("08", 8.0),
        ("1e3", 1000.0),
        (".5", 0.5),
        ("1.", 1.0),
        (".inf", math.inf),
        ("-.Inf", -math.inf),
        ("1:20", "1:20"),
        ("8080:80", "8080:80"),
        ("10s", "10s"),
        ("2001-12-14", "2001-12-14"),
        ("-", "-"),
    ],
)
def test_plain_scalars_resolve_as_go_yaml_v3_does(text: str, value: object) -> None:
    assert resolve_plain(text) == value


def test_quoted_and_str_tagged_scalars_stay_text() -> None:
    data = read("a: '0440'\nb: \"true\"\nc: !!str 12\nd: !!int '12'\ne: !!float 1\n")
    assert data == {"a": "0440", "b": "true", "c": "12", "d": 12, "e": 1.0}


def test_every_key_and_item_has_its_line() -> None:
    root, _ = parse_yaml(
        b"services:\n  web:\n    ports:\n      - 80:80\n      - 443:443\n", "c.yml"
    )
    _, where = finish(root)
    assert where.of(("services", "web")) == Location("c.yml", 2)
    assert where.of(("services", "web", "ports", 1)) == Location("c.yml", 5)


def test_anchors_aliases_and_merge_keys_expand_into_copies_placed_where_written() -> None:
    text = (
        "x-base: &base\n"
        "  image: nginx\n"
        "  environment: {A: '1'}\n"
        "services:\n"
        "  web:\n"
        "    <<: *base\n"
        "    image: mine\n"
        "  db: *base\n"
    )
    root, _ = parse_yaml(text.encode(), "compose.yaml")
    data, where = finish(root)
    assert data["services"] == {
        "web": {"image": "mine", "environment": {"A": "1"}},
        "db": {"image": "nginx", "environment": {"A": "1"}},
    }
    assert where.of(("services", "web", "image")) == Location("compose.yaml", 7)
    assert where.of(("services", "web", "environment", "A")) == Location("compose.yaml", 3)
    services = root["services"]
    assert services["web"]["environment"] is not services["db"]["environment"]


def test_a_merge_key_takes_a_list_of_mappings_the_first_winning() -> None:
    text = "a: &a {x: 1, y: 1}\nb: &b {y: 2, z: 2}\nc:\n  <<: [*a, *b]\n"
    assert read(text)["c"] == {"x": 1, "y": 1, "z": 2}


def test_reset_drops_a_key_and_override_keeps_its_value() -> None:
    data = read("services:\n  web:\n    command: !reset\n    ports: !override ['80:80']\n")
    assert data == {"services": {"web": {"ports": ["80:80"]}}}


@pytest.mark.parametrize(
    ("text", "problem", "line"),
    [
        ("a: 1\na: 2\n", "the key 'a' is written twice (line 1)", 2),
        ("a: !!python/object:os.system x\n", "tag:yaml.org,2002:python/object:os.system", 1),
        ("a: !custom x\n", "the tag !custom is not read", 1),
        ("a: 1\n---\nb: 2\n", "one YAML document", 2),
        ("- a\n- b\n", "a compose file is a mapping", 1),
        ("a:\n  - !reset x\n", "not a list item", 2),
        ("a: *nothing\n", "names no anchor", 1),
        ("? [a]\n: 1\n", "keys are text", 1),
        ("a: [\n", "not valid YAML", 2),
    ],
)
def test_what_is_not_plain_compose_data_is_refused_with_its_line(
    text: str, problem: str, line: int
) -> None:
    with pytest.raises(ComposeError) as refused:
        parse_yaml(text.encode(), "compose.yaml")
    assert problem in str(refused.value)
    assert refused.value.location == Location("compose.yaml", line)


HOSTILE: dict[str, tuple[Callable[[], bytes], str]] = {
    "10 MB": (lambda: b"a: " + b"x" * (10 << 20), f"may hold {MAX_FILE_BYTES:,}"),
    "billion laughs": (billion_laughs, "each alias counted as what it names"),
    "deep anchors": (deep_anchors, "each alias counted as what it names"),
    "deep nesting": (lambda: nested(5000), "nest"),
    "nesting past the bound": (lambda: nested(MAX_DEPTH + 1), f"deeper than {MAX_DEPTH}"),
    "1,000 services": (lambda: services(1000), f"a stack may hold {MAX_SERVICES}"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_files_are_refused_before_they_are_expanded(name: str) -> None:
    make, problem = HOSTILE[name]
    content = make()
    tracemalloc.start()
    try:
        with pytest.raises(ComposeError) as refused:
            parse_yaml(content, "bomb.yaml")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert problem in str(refused.value)
    assert peak < 64 << 20, f"{peak:,} bytes held while refusing {name}"
