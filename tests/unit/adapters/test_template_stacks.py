"""Every template, its variables resolved as a deploy resolves them, is a compose file Rivetr
runs with nothing allowed: read, typed, checked, within the security policy, every key one
Rivetr honours, and its exposed service there to be routed to."""

from __future__ import annotations

import pytest

from rivetr.adapters.template_catalogue import TemplateCatalogue
from rivetr.domain.compose.allowances import Allowances
from rivetr.domain.compose.sources import InMemorySources
from rivetr.domain.compose.stack_file import read_stack_file
from rivetr.domain.templates import resolve_variables

CATALOGUE = TemplateCatalogue.packaged()


def counting(size: int) -> bytes:
    return bytes(range(size % 256)) + bytes(size - size % 256)


@pytest.mark.parametrize("slug", [t.slug for t in CATALOGUE.templates])
def test_a_template_resolves_and_runs_under_the_policy_with_nothing_allowed(slug: str) -> None:
    template = CATALOGUE.get(slug)
    inputs = {n: "given" for n, v in template.variables.items() if v.generate == "input"}
    values = resolve_variables(
        template,
        random_bytes=counting,
        domain=f"{slug}.example.com",
        admin_email="admin@example.com",
        given=inputs,
    )
    stack = read_stack_file(
        InMemorySources({"compose.yaml": CATALOGUE.compose(slug)}),
        "compose.yaml",
        variables={name: v.value for name, v in values.items()},
        allowances=Allowances(),
        data_dir="/var/lib/rivetr",
    )
    assert template.expose.service in stack.project.services
    assert stack.host_ports == []  # reached through the proxy only
    assert [w for w in stack.warnings if "is not set" in w] == []
    started = [name for wave in stack.waves for name in wave]
    assert sorted(started) == sorted(stack.project.services)
