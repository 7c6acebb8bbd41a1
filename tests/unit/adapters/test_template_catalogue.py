"""The templates shipped in `rivetr/templates`: every one loads, its compose file is valid under
the official Compose schema and runnable under Rivetr's policy with nothing allowed (no host
escapes, pinned images, named volumes, health-gated dependencies), its variables match what the
compose file interpolates and resolve, and its logo is a small, inert SVG."""

from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema.validators import Draft7Validator, validator_for

from rivetr.adapters.template_catalogue import MalformedTemplate, TemplateCatalogue
from rivetr.domain.errors import NotFound
from rivetr.domain.templates import CATEGORIES, Template, resolve_variables

CATALOGUE = TemplateCatalogue.packaged()
TEMPLATES = CATALOGUE.templates
SLUGS = [template.slug for template in TEMPLATES]
PACKAGE = Path(__file__).resolve().parents[3] / "rivetr" / "templates"

# keys that reach the host or its kernel; all refused by Rivetr's policy unless an instance
# admin allows them, so a template never needs one
FORBIDDEN_KEYS = {
    "privileged",
    "cap_add",
    "devices",
    "device_cgroup_rules",
    "network_mode",
    "pid",
    "ipc",
    "uts",
    "userns_mode",
    "cgroup",
    "cgroup_parent",
    "security_opt",
    "use_api_socket",
    "volumes_from",
    "gpus",
    "runtime",
    # host files, and names that would clash between two stacks made from one template
    "env_file",
    "extends",
    "build",
    "container_name",
}
TOP_LEVEL_KEYS = {"services", "volumes"}
# `$$` (a literal dollar), `${NAME...}` or `$NAME`, as the Compose Specification reads them
INTERPOLATION = re.compile(r"\$(?:(\$)|\{([^}]*)\}|([A-Za-z_][A-Za-z0-9_]*))")
BRACED = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])(.*))?$", re.DOTALL)
SVG = "{http://www.w3.org/2000/svg}"


@cache
def compose(slug: str) -> dict[str, Any]:
    loaded = yaml.safe_load(CATALOGUE.compose(slug))
    assert isinstance(loaded, dict)
    return loaded


def strings(node: object) -> Iterator[str]:
    """Every string value in the loaded file (Compose interpolates values, not keys)."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from strings(item)


def interpolated(text: str) -> Iterator[tuple[str, bool]]:
    """(name, has a default) for each variable `text` interpolates."""
    for match in INTERPOLATION.finditer(text):
        escaped, braced, bare = match.groups()
        if escaped:
            continue
        if bare:
            yield bare, False
            continue
        parsed = BRACED.match(braced)
        assert parsed, f"unreadable interpolation ${{{braced}}}"
        name, modifier, rest = parsed.groups()
        assert "$" not in (rest or ""), f"nested interpolation in ${{{braced}}}"
        yield name, modifier in {":-", "-"}


def used_variables(slug: str) -> dict[str, bool]:
    """The variables the compose file uses, each with whether every use has a default."""
    used: dict[str, bool] = {}
    for text in strings(compose(slug)):
        leftover = INTERPOLATION.sub("", text)
        assert "$" not in leftover, f"a lone $ in {text!r}: write $$ for a literal one"
        for name, defaulted in interpolated(text):
            used[name] = used.get(name, True) and defaulted
    return used


def services(slug: str) -> dict[str, dict[str, Any]]:
    found = compose(slug)["services"]
    assert isinstance(found, dict)
    return found


# -- the catalogue


def test_at_least_thirty_templates_are_shipped() -> None:
    assert len(TEMPLATES) >= 30


def test_the_catalogue_is_loaded_once_and_sorted_by_name() -> None:
    assert TemplateCatalogue.packaged() is CATALOGUE
    assert [t.name.casefold() for t in TEMPLATES] == sorted(t.name.casefold() for t in TEMPLATES)


def test_every_directory_in_the_package_is_a_template() -> None:
    directories = {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert directories == set(SLUGS)


def test_every_category_has_a_template() -> None:
    assert {template.category for template in TEMPLATES} == set(CATEGORIES)


def test_the_plans_named_templates_are_there() -> None:
    for slug in ("grafana", "portainer", "uptime-kuma", "gitea", "n8n"):
        assert CATALOGUE.get(slug).slug == slug


def test_an_unknown_template_is_not_found() -> None:
    with pytest.raises(NotFound, match="no template 'nope'"):
        CATALOGUE.get("nope")
    with pytest.raises(NotFound):
        CATALOGUE.compose("nope")


def test_the_catalogue_searches_its_templates() -> None:
    assert [t.slug for t in CATALOGUE.search("postgresql", category="database-tools")] == [
        "adminer",
        "pgadmin",
    ]


def broken(tmp_path: Path, slug: str = "grafana") -> Path:
    shutil.copytree(PACKAGE / slug, tmp_path / slug)
    return tmp_path / slug


def test_a_template_with_an_unknown_key_fails_the_load_naming_its_directory(
    tmp_path: Path,
) -> None:
    directory = broken(tmp_path)
    metadata = directory / "template.toml"
    metadata.write_text('colour = "red"\n' + metadata.read_text())
    with pytest.raises(MalformedTemplate, match=r"rivetr/templates/grafana/template.toml.*colour"):
        TemplateCatalogue(tmp_path)


@pytest.mark.parametrize("missing", ["template.toml", "compose.yaml", "logo.svg"])
def test_a_template_missing_a_file_fails_the_load_naming_it(tmp_path: Path, missing: str) -> None:
    (broken(tmp_path) / missing).unlink()
    with pytest.raises(MalformedTemplate, match=f"rivetr/templates/grafana: no {missing}"):
        TemplateCatalogue(tmp_path)


def test_metadata_that_is_not_toml_fails_the_load(tmp_path: Path) -> None:
    (broken(tmp_path) / "template.toml").write_text("name = \n")
    with pytest.raises(MalformedTemplate, match=r"grafana/template\.toml"):
        TemplateCatalogue(tmp_path)


# -- every template


@pytest.fixture(scope="module")
def compose_schema(vectors_dir: Path) -> Draft7Validator:
    path = vectors_dir / "compose" / "compose-go" / "schema" / "compose-spec.json"
    if not path.is_file():
        pytest.skip(f"the official Compose schema is not at {path}")
    schema = json.loads(path.read_text())
    # the draft the schema declares (2020-12 today), Draft 7 if it says none
    validator: Draft7Validator = validator_for(schema, default=Draft7Validator)(schema)
    return validator


@pytest.mark.parametrize("slug", SLUGS)
def test_compose_file_is_valid_under_the_official_schema(
    slug: str, compose_schema: Draft7Validator
) -> None:
    problems = [
        f"{'.'.join(map(str, error.absolute_path))}: {error.message}"
        for error in compose_schema.iter_errors(compose(slug))
    ]
    assert not problems


@pytest.mark.parametrize("slug", SLUGS)
def test_compose_file_asks_nothing_of_the_host(slug: str) -> None:
    assert set(compose(slug)) <= TOP_LEVEL_KEYS
    for name, service in services(slug).items():
        forbidden = FORBIDDEN_KEYS & set(service)
        assert not forbidden, f"{name}: {sorted(forbidden)}"
        for port in service.get("ports", []):
            published = port.get("published") if isinstance(port, dict) else _published(port)
            assert published is None or int(published) >= 1024, (name, port)


def _published(port: object) -> str | None:
    parts = str(port).split("/")[0].split(":")
    return parts[-2] if len(parts) > 1 else None


@pytest.mark.parametrize("slug", SLUGS)
def test_compose_file_keeps_data_in_named_volumes_only(slug: str) -> None:
    declared = compose(slug).get("volumes") or {}
    for settings in declared.values():
        # a driver's options can bind a host path (`o: bind`)
        assert not settings, settings
    for name, service in services(slug).items():
        for volume in service.get("volumes", []):
            if isinstance(volume, dict):
                assert volume["type"] in {"volume", "tmpfs"}, (name, volume)
                source = volume.get("source")
            else:
                source = volume.split(":")[0] if ":" in volume else None
            assert source is None or source in declared, (name, volume)


@pytest.mark.parametrize("slug", SLUGS)
def test_every_image_is_pinned_to_a_version(slug: str) -> None:
    for name, service in services(slug).items():
        image = service["image"]
        repository, _, tag = image.rpartition(":")
        assert repository, (name, image)
        assert "/" not in tag, (name, image)
        assert "$" not in image, (name, image)
        assert tag not in {"", "latest", "stable", "main"}, (name, image)
        assert re.search(r"\d", tag), (name, image)


@pytest.mark.parametrize("slug", SLUGS)
def test_services_restart_and_wait_for_healthy_dependencies(slug: str) -> None:
    found = services(slug)
    for name, service in found.items():
        assert service.get("restart") == "unless-stopped", name
        depends_on = service.get("depends_on", {})
        assert isinstance(depends_on, dict), f"{name}: depends_on needs a condition"
        for dependency, condition in depends_on.items():
            assert condition == {"condition": "service_healthy"}, (name, dependency)
            assert "healthcheck" in found[dependency], f"{dependency} has no health check"


@pytest.mark.parametrize("slug", SLUGS)
def test_the_exposed_service_and_port_exist(slug: str) -> None:
    template = CATALOGUE.get(slug)
    service = services(slug).get(template.expose.service)
    assert service is not None, f"no service {template.expose.service}"
    assert str(template.expose.port) in [str(port) for port in service.get("expose", [])]


@pytest.mark.parametrize("slug", SLUGS)
def test_variables_match_what_the_compose_file_interpolates(slug: str) -> None:
    declared = set(CATALOGUE.get(slug).variables)
    used = used_variables(slug)
    assert declared - set(used) == set(), "declared but never used"
    undeclared = {name for name, defaulted in used.items() if not defaulted} - declared
    assert undeclared == set(), "used without a declaration or a default"


@pytest.mark.parametrize("slug", SLUGS)
def test_variables_resolve_with_only_the_inputs_given(slug: str) -> None:
    template = CATALOGUE.get(slug)
    inputs = {n: "given" for n, v in template.variables.items() if v.generate == "input"}
    values = resolve_variables(
        template,
        random_bytes=lambda count: bytes(range(count)),
        domain=f"{slug}.example.com",
        admin_email="admin@example.com",
        given=inputs,
    )
    assert set(values) == set(template.variables)
    assert all(value.value for value in values.values())


@pytest.mark.parametrize("slug", SLUGS)
def test_metadata_reads_as_a_catalogue_entry(slug: str) -> None:
    template: Template = CATALOGUE.get(slug)
    sentences = re.findall(r"[.!?](?:\s|$)", template.description)
    assert 1 <= len(sentences) <= 2, template.description
    assert template.tags
    assert all(tag == tag.lower() for tag in template.tags)
    assert all(variable.description for variable in template.variables.values())


@pytest.mark.parametrize("slug", SLUGS)
def test_the_logo_is_a_small_inert_svg(slug: str) -> None:
    data = CATALOGUE.logo(slug)
    assert len(data) < 2048
    root = ET.fromstring(data)
    assert root.tag == f"{SVG}svg"
    assert root.get("viewBox")
    for element in root.iter():
        assert element.tag.startswith(SVG), element.tag
        assert element.tag not in {f"{SVG}script", f"{SVG}foreignObject", f"{SVG}image"}
        for attribute, value in element.attrib.items():
            assert not attribute.lower().startswith("on"), attribute
            assert "href" not in attribute, attribute
            assert "url(" not in value, value
            assert "://" not in value, value
    assert b"<!ENTITY" not in data
    assert b"@import" not in data
