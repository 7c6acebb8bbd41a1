"""A project's consistency and its start order."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rivetr.domain.compose.checks import check, start_order
from rivetr.domain.compose.model import ComposeProject
from rivetr.domain.compose.normalise import read_model
from rivetr.domain.compose.refusals import ComposeRefusals
from rivetr.domain.compose.service import Dependency, Service
from rivetr.domain.compose.where import ComposeError, Location, Where

from .loaded import load


def checked(text: str) -> ComposeProject:
    data, where = load(text)
    project = read_model(data, where)
    check(project, where)
    return project


def refusal(text: str) -> ComposeError:
    with pytest.raises(ComposeError) as raised:
        checked(text)
    return raised.value


@pytest.mark.parametrize("name", ["-web", "web app", "w" * 64, "_x"])
def test_a_service_name_that_cannot_be_an_address_is_refused(name: str) -> None:
    error = refusal(f"services:\n  '{name}':\n    image: x\n")
    assert error.key == f"services.{name}"
    assert "service name" in error.problem


@pytest.mark.parametrize("kind", ["volumes", "networks", "secrets", "configs"])
def test_a_top_level_name_that_could_pass_for_a_path_is_refused(kind: str) -> None:
    error = refusal(f"services: {{}}\n{kind}:\n  /etc: {{labels: {{a: b}}}}\n")
    assert error.key == f"{kind}./etc"
    assert "letters, digits" in error.problem


def test_a_service_needs_an_image_or_a_build() -> None:
    error = refusal("services:\n  web:\n    command: x\n")
    assert (error.key, error.location) == ("services.web", Location("compose.yaml", 2))
    assert "neither an image nor a build" in error.problem
    checked("services:\n  web:\n    build: .\n")


def test_a_dependency_on_an_unknown_service_is_refused_unless_not_required() -> None:
    error = refusal("services:\n  web:\n    image: x\n    depends_on: [db]\n")
    assert (error.key, error.location) == (
        "services.web.depends_on.db",
        Location("compose.yaml", 4),
    )
    assert "undefined service 'db'" in error.problem
    project = checked(
        "services:\n  web:\n    image: x\n    depends_on:\n"
        "      db: {condition: service_started, required: false}\n"
    )
    assert start_order(project) == [["web"]]


def test_links_and_shared_namespaces_are_dependencies_too() -> None:
    project = checked(
        "services:\n  web:\n    image: x\n    links: ['db:database']\n"
        "  side:\n    image: x\n    network_mode: service:web\n  db:\n    image: x\n"
    )
    assert start_order(project) == [["db"], ["web"], ["side"]]
    error = refusal("services:\n  web:\n    image: x\n    links: [elsewhere]\n")
    assert "undefined service 'elsewhere'" in error.problem


@pytest.mark.parametrize(
    ("text", "key", "kind"),
    [
        ("    networks: [back]\n", "services.web.networks.back", "network 'back'"),
        ("    volumes: ['data:/d']\n", "services.web.volumes[0]", "volume 'data'"),
        ("    secrets: [pw]\n", "services.web.secrets[0]", "secret 'pw'"),
        ("    configs: [{source: c, target: /c}]\n", "services.web.configs[0]", "config 'c'"),
        (
            "    build: {context: ., secrets: [pw]}\n",
            "services.web.build.secrets[0]",
            "secret 'pw'",
        ),
    ],
)
def test_what_a_service_uses_must_be_declared_at_the_top_level(
    text: str, key: str, kind: str
) -> None:
    error = refusal("services:\n  web:\n    image: x\n" + text)
    assert error.key == key
    assert kind in error.problem


def test_the_default_network_and_binds_and_anonymous_volumes_need_no_declaration() -> None:
    checked(
        "services:\n  web:\n    image: x\n    networks: [default]\n"
        "    volumes: [./conf:/conf, /cache, 'data:/data']\nvolumes:\n  data:\n"
    )


def test_every_problem_is_listed_at_once() -> None:
    error = refusal("services:\n  a:\n    command: x\n  b:\n    image: x\n    depends_on: [c]\n")
    assert isinstance(error, ComposeRefusals)
    assert [one.key for one in error.refusals] == ["services.a", "services.b.depends_on.c"]
    assert error.key == "services.a"
    assert len(str(error).splitlines()) == 2


def test_a_cycle_is_named_as_compose_go_names_it_on_its_first_edge() -> None:
    error = refusal(
        "services:\n  b:\n    image: x\n    depends_on: [c]\n"
        "  a:\n    image: x\n    depends_on: [b]\n  c:\n    image: x\n    depends_on: [b]\n"
    )
    assert error.problem == "dependency cycle detected: b -> c -> b"
    assert (error.key, error.location) == ("services.b.depends_on.c", Location("compose.yaml", 4))


def test_waves_start_what_is_ready_together() -> None:
    project = checked(
        "services:\n  web:\n    image: x\n    depends_on: [api, cache]\n"
        "  api:\n    image: x\n    depends_on: [db]\n  cache:\n    image: x\n"
        "  db:\n    image: x\n  worker:\n    image: x\n    depends_on: [db]\n"
    )
    assert start_order(project) == [["cache", "db"], ["api", "worker"], ["web"]]


@given(st.dictionaries(st.sampled_from("abcdefgh"), st.sets(st.sampled_from("abcdefgh"))))
def test_an_acyclic_project_starts_each_service_after_what_it_needs(
    edges: dict[str, set[str]],
) -> None:
    # keep only edges to earlier names: acyclic whatever hypothesis draws
    services = {
        name: Service(
            image="x",
            depends_on={
                other: Dependency(condition="service_started")
                for other in needs
                if other < name and other in edges
            },
        )
        for name, needs in edges.items()
    }
    project = ComposeProject(services=services)
    check(project, Where())
    waves = start_order(project)
    wave_of = {name: index for index, wave in enumerate(waves) for name in wave}
    assert set(wave_of) == set(services)
    for name, service in services.items():
        assert all(wave_of[other] < wave_of[name] for other in service.depends_on)
