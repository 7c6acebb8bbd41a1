"""The specification's merge rules as `extends` applies them: mappings merged, lists appended,
commands replaced, keyed lists merged by key, unique lists kept unique, `!reset` and
`!override` honoured, and each value keeping the place it was written at."""

from __future__ import annotations

from typing import Any

import pytest

from rivetr.domain.compose.merge import merge_model, merge_service
from rivetr.domain.compose.nodes import Map, finish
from rivetr.domain.compose.where import Location
from rivetr.domain.compose.yaml_source import parse_yaml


def node(text: str, file: str = "c.yaml") -> Map:
    return parse_yaml(text.encode(), file)[0]


def merged(base: str, override: str) -> dict[str, Any]:
    result = Map()
    result.put("s", merge_service(node(base), node(override)), None)
    return finish(result)[0]["s"]


@pytest.mark.parametrize(
    ("base", "override", "expected"),
    [
        ("image: a\nuser: x", "image: b", {"image": "b", "user": "x"}),
        ("command: [a, b]", "command: c", {"command": "c"}),
        ("entrypoint: [a]", "entrypoint: [b]", {"entrypoint": ["b"]}),
        (
            "healthcheck: {test: [CMD, a], interval: 1s}",
            "healthcheck: {test: [CMD, b]}",
            {"healthcheck": {"test": ["CMD", "b"], "interval": "1s"}},
        ),
        ("dns: [1.1.1.1]", "dns: [8.8.8.8, 1.1.1.1]", {"dns": ["1.1.1.1", "8.8.8.8", "1.1.1.1"]}),
        (
            "environment: [A=1, B=2]",
            "environment: [B=3, C]",
            {"environment": ["A=1", "B=3", "C"]},
        ),
        (
            "environment: {A: '1', B: '2'}",
            "environment: [B=3]",
            {"environment": {"A": "1", "B": "3"}},
        ),
        ("labels: [a=1]", "labels: {b: '2'}", {"labels": {"a": "1", "b": "2"}}),
        (
            "volumes: ['./a:/data', 'v:/logs']",
            "volumes: ['./b:/data:ro', {type: volume, source: w, target: /cache}]",
            {
                "volumes": [
                    "./b:/data:ro",
                    "v:/logs",
                    {"type": "volume", "source": "w", "target": "/cache"},
                ]
            },
        ),
        (
            "ports: ['80:80', '443:443']",
            "ports: ['80:80', '81:81']",
            {"ports": ["80:80", "443:443", "81:81"]},
        ),
        ("expose: [3000]", "expose: [3000, 4000]", {"expose": [3000, 4000]}),
        ("cap_drop: [ALL]", "cap_drop: [ALL]", {"cap_drop": ["ALL"]}),
        (
            "secrets: [db]",
            "secrets: [{source: db, mode: 0400}]",
            {"secrets": [{"source": "db", "mode": 256}]},
        ),
        (
            "depends_on: [db]",
            "depends_on: {cache: {condition: service_healthy}}",
            {
                "depends_on": {
                    "db": {"condition": "service_started"},
                    "cache": {"condition": "service_healthy"},
                }
            },
        ),
        ("networks: [a]", "networks: [b, a]", {"networks": ["a", "b"]}),
        ("build: .", "build: {target: dev}", {"build": {"context": ".", "target": "dev"}}),
        (
            "ulimits: {nproc: 10, nofile: {soft: 1, hard: 2}}",
            "ulimits: {nofile: {hard: 3}}",
            {"ulimits": {"nproc": 10, "nofile": {"soft": 1, "hard": 3}}},
        ),
        (
            "logging: {driver: a, options: {x: '1'}}",
            "logging: {driver: b}",
            {"logging": {"driver": "b"}},
        ),
        (
            "logging: {driver: a, options: {x: '1'}}",
            "logging: {options: {y: '2'}}",
            {"logging": {"driver": "a", "options": {"x": "1", "y": "2"}}},
        ),
        ("x-meta: {a: 1}", "x-meta: {b: 2}", {"x-meta": {"b": 2}}),
        ("command: sleep", "command: !reset", {}),
        ("ports: ['80:80']", "ports: !reset []", {}),
        ("ports: ['80:80']", "ports: !override ['81:81']", {"ports": ["81:81"]}),
        ("environment: {A: '1'}", "environment: !override {B: '2'}", {"environment": {"B": "2"}}),
    ],
)
def test_a_service_merges_over_its_base_by_the_specification(
    base: str, override: str, expected: dict[str, Any]
) -> None:
    assert merged(base, override) == expected


def test_merged_values_keep_the_file_and_line_they_were_written_at() -> None:
    base = node("image: a\nports:\n  - '80:80'\n", "base.yaml")
    override = node("ports:\n  - '81:81'\n", "compose.yaml")
    root = Map()
    root.put("web", merge_service(base, override), Location("compose.yaml", 1))
    _, where = finish(root)
    assert where.of(("web", "image")) == Location("base.yaml", 1)
    assert where.of(("web", "ports")) == Location("compose.yaml", 1)
    assert where.of(("web", "ports", 0)) == Location("base.yaml", 3)
    assert where.of(("web", "ports", 1)) == Location("compose.yaml", 2)


def test_a_whole_file_merges_over_another_service_by_service() -> None:
    base = node("services:\n  web: {image: a, ports: ['80:80']}\nvolumes: {data: {}}\n")
    override = node("services:\n  web: {command: go}\n  db: {image: pg}\nvolumes: {logs: {}}\n")
    result = Map()
    result.put("m", merge_model(base, override), None)
    assert finish(result)[0]["m"] == {
        "services": {
            "web": {"image": "a", "ports": ["80:80"], "command": "go"},
            "db": {"image": "pg"},
        },
        "volumes": {"data": {}, "logs": {}},
    }
