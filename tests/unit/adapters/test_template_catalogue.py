"""The templates shipped in `rivetr/templates`, as the catalogue loads them: at least thirty, each
with valid metadata whose variables resolve and a small, inert SVG logo; a malformed one stops
the load naming its directory. Their compose files are checked in test_template_compose.py."""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from rivetr.adapters.template_catalogue import MalformedTemplate, TemplateCatalogue
from rivetr.domain.errors import NotFound
from rivetr.domain.templates import CATEGORIES, Template, resolve_variables

CATALOGUE = TemplateCatalogue.packaged()
TEMPLATES = CATALOGUE.templates
SLUGS = [template.slug for template in TEMPLATES]
PACKAGE = Path(__file__).resolve().parents[3] / "rivetr" / "templates"
SVG = "{http://www.w3.org/2000/svg}"


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
