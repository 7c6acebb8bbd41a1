"""Every shipped template's compose file: valid under the official Compose schema, runnable
under Rivetr's policy with nothing allowed (no key that reaches the host, pinned images, named
volumes only, dependencies awaited healthy), and interpolating exactly the variables its
metadata declares."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema.protocols import Validator
from jsonschema.validators import Draft7Validator, validator_for

from rivetr.adapters.template_catalogue import TemplateCatalogue

CATALOGUE = TemplateCatalogue.packaged()
TEMPLATES = CATALOGUE.templates
SLUGS = [template.slug for template in TEMPLATES]

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


@pytest.fixture(scope="module")
def compose_schema(vectors_dir: Path) -> Validator:
    path = vectors_dir / "compose" / "compose-go" / "schema" / "compose-spec.json"
    if not path.is_file():
        pytest.skip(f"the official Compose schema is not at {path}")
    schema = json.loads(path.read_text())
    # the draft the schema declares (2020-12 today), Draft 7 if it says none
    validator: Validator = validator_for(schema, default=Draft7Validator)(schema)
    return validator


@pytest.mark.parametrize("slug", SLUGS)
def test_compose_file_is_valid_under_the_official_schema(
    slug: str, compose_schema: Validator
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
